import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logEntry, runCli, type ServeProcess } from "../cli/child.js";

/** The heap the attacked server runs with: small, so growth without bound kills it quickly. */
export const HEAP_MB = 96;

export interface Target {
  readonly serve: ServeProcess;
  /** http://127.0.0.1:port */
  readonly url: string;
  /** ws://127.0.0.1:port/streamz */
  readonly streamzUrl: string;
  /** A valid token for every store (the dev token). */
  readonly token: string;
  /** Fetches a JSON endpoint (loopback is trusted for operator endpoints). */
  json<T>(path: string): Promise<T>;
  /** V8 heap used and resident set size, from /metrics. */
  memory(): Promise<{ heapUsed: number; rss: number }>;
  /** Whether the process is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

function metric(text: string, name: string): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name} `));
  if (line === undefined) throw new Error(`/metrics has no ${name}`);
  return Number(line.slice(name.length + 1));
}

/** A real `streamkit serve` process with its heap capped at HEAP_MB, on a level store in a temp dir. */
export async function startTarget(flags: readonly string[] = []): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), "streamkit-hostile-"));
  const serve = runCli(["serve", "--port", "0", "--data-dir", dataDir, "--log-pretty", "false", ...flags], {}, {
    nodeArgs: [`--max-old-space-size=${HEAP_MB}`],
  });
  const listening = await logEntry(serve, "listening");
  const url = listening.url as string;
  const token = (await logEntry(serve, "dev token")).token as string;
  const get = async (path: string): Promise<Response> => {
    const response = await fetch(url + path);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response;
  };
  return {
    serve,
    url,
    streamzUrl: `${url.replace(/^http/, "ws")}/streamz`,
    token,
    json: async <T>(path: string) => (await (await get(path)).json()) as T,
    async memory() {
      const text = await (await get("/metrics")).text();
      return { heapUsed: metric(text, "nodejs_heap_size_used_bytes"), rss: metric(text, "process_resident_memory_bytes") };
    },
    alive: () => serve.child.exitCode === null && serve.child.signalCode === null,
    async stop() {
      if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill("SIGKILL");
      await serve.exit();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
