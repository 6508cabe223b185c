// The Durable Streams reference Node server (`@durable-streams/server`, file-backed: LMDB plus
// append-only logs, an fdatasync per append) in a process of its own, as a peer for the HTTP bench
// rows. Run as a program it starts the server on a free loopback port and prints its URL on stdout;
// `startReferenceChild()` runs it and waits for that line.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { rssOf, stopChild } from "./serve-child.js";

const START_MS = 60_000;

export interface ReferenceChild {
  /** http://127.0.0.1:<port> */
  url: string;
  rss(): Promise<number>;
  stop(): Promise<void>;
}

export async function startReferenceChild(): Promise<ReferenceChild> {
  const self = fileURLToPath(import.meta.url);
  const compiled = extname(self) === ".js";
  const dataDir = await mkdtemp(join(tmpdir(), "streamkit-bench-ds-reference-"));
  const child: ChildProcess = spawn(process.execPath, [...(compiled ? [] : ["--import", "tsx"]), self, "serve", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the reference server did not start in ${START_MS} ms:\n${output}`)), START_MS);
    const collect = (chunk: string) => {
      output += chunk;
      const address = /^listening (\S+)$/m.exec(output)?.[1];
      if (address === undefined) return;
      clearTimeout(timer);
      resolve(address);
    };
    child.stdout?.setEncoding("utf8").on("data", collect);
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output = `${output}${chunk}`.slice(-100_000)));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the reference server exited:\n${output}`));
    });
  });
  const pid = child.pid as number;
  return {
    url,
    rss: () => rssOf(pid),
    stop: () => stopChild(child, exited, dataDir),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "serve") {
  const { DurableStreamTestServer } = await import("@durable-streams/server");
  // Compression off: the bench client does not ask for it, and our server does not compress either.
  const server = new DurableStreamTestServer({ host: "127.0.0.1", port: 0, dataDir: process.argv[3], compression: false });
  const url = await server.start();
  process.stdout.write(`listening ${url}\n`);
  process.once("SIGTERM", () => void server.stop().finally(() => process.exit(0)));
}
