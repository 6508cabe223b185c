// Prints the heaviest frames of a V8 CPU profile (`node --cpu-prof`, or STREAMKIT_BENCH_SERVER_PROFILE):
// self time per function and per file, as shares of the samples.
//   node --import tsx bench/profile-top.ts <file.cpuprofile> [top=25]
import { readFile } from "node:fs/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

const [file, topArg = "25"] = process.argv.slice(2);
if (file === undefined) throw new TypeError("usage: profile-top.ts <file.cpuprofile> [top]");
const top = Number(topArg);
const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
const hits = new Map<number, number>();
if (profile.samples !== undefined) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
else for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);

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
process.stdout.write(`${total} samples\n`);
print("self time by function:", byFunction);
print("self time by file:", byFile);
