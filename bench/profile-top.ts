// Prints the heaviest frames of a V8 CPU profile (`node --cpu-prof`, or STREAMKIT_BENCH_SERVER_PROFILE):
// self time per function and per file, as shares of the busy (not idle) samples, between `fromS` and
// `toS` seconds after the profile began (default: all of it), after a timeline of busy samples per
// second that shows where the measured section lies (a server's start-up is mostly module loading).
//   node --import tsx bench/profile-top.ts <file.cpuprofile> [top=25] [fromS=0] [toS=∞]
import { readFile } from "node:fs/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds between samples. */
  timeDeltas: number[];
}

const [file, topArg = "25", fromArg = "0", toArg = "Infinity"] = process.argv.slice(2);
if (file === undefined) throw new TypeError("usage: profile-top.ts <file.cpuprofile> [top] [fromS] [toS]");
const top = Number(topArg);
const [from, to] = [Number(fromArg) * 1e6, Number(toArg) * 1e6];
const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
const idle = new Set(profile.nodes.filter((node) => node.callFrame.functionName === "(idle)").map((node) => node.id));
const hits = new Map<number, number>();
const perSecond: number[] = [];
let at = 0;
for (const [index, id] of profile.samples.entries()) {
  at += profile.timeDeltas[index] ?? 0;
  if (idle.has(id)) continue;
  const second = Math.floor(at / 1e6);
  perSecond[second] = (perSecond[second] ?? 0) + 1;
  if (at >= from && at <= to) hits.set(id, (hits.get(id) ?? 0) + 1);
}
process.stdout.write(`busy samples per second: ${Array.from(perSecond, (count = 0, second) => `${second}s:${count}`).join(" ")}\n`);

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const count = hits.get(node.id) ?? 0;
  if (count === 0) continue;
  total += count;
  const { functionName, url, lineNumber } = node.callFrame;
  // Paths shortened to the part a reader recognises: the package's own folders, or node_modules/<name>.
  const where = url.replace(/^.*\/node_modules\//, "node_modules/").replace(/^.*\/(pkg|transport|store|bus)\//, "$1/");
  const fn = `${functionName || "(anonymous)"} ${where === "" ? "" : `${where}:${lineNumber + 1}`}`.trim();
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + count);
  const place = where === "" ? `(${functionName})` : where;
  byFile.set(place, (byFile.get(place) ?? 0) + count);
}

const print = (title: string, table: Map<string, number>) => {
  process.stdout.write(`${title}\n`);
  for (const [name, count] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((count / total) * 100).toFixed(1).padStart(5)} %  ${name}\n`);
  }
};
process.stdout.write(`${total} busy samples in the window\n`);
print("self time by function:", byFunction);
print("self time by file:", byFile);
