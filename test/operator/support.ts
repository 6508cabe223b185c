import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { type RunningServer, startServer, type StartServerOptions } from "../../pkg/cli/index.js";
import type { OperatorStatus } from "../../pkg/server/index.js";
import { signToken } from "../../pkg/server/auth/index.js";

/** Bound on every wait in these tests. */
export const WAIT_MS = 10_000;
export const SECRET = "operator-tests-secret-of-at-least-32-bytes";

export const mintToken = (scopes: string[], subject = "operator-test"): Promise<string> =>
  signToken({ secret: SECRET, scopes, subject, ttlSec: 600 });

export interface ServerFixture {
  dir(): string;
  start(options?: StartServerOptions, config?: Parameters<typeof startServer>[0]): Promise<RunningServer>;
}

/** Servers started by a test (memory store, JWT secret, silent logs), closed after it with their temp dir. */
export function useServers(): ServerFixture {
  let dir: string | undefined;
  const servers: RunningServer[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-operator-"));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return {
    dir: () => {
      if (dir === undefined) throw new Error("no temp dir yet");
      return dir;
    },
    async start(options = {}, config = {}) {
      if (dir === undefined) throw new Error("no temp dir yet");
      const server = await startServer(
        { port: 0, dataDir: join(dir, "data"), store: "memory", logLevel: "silent", auth: { jwtSecret: SECRET }, ...config },
        options,
      );
      servers.push(server);
      return server;
    },
  };
}

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** One request; the body parsed as JSON when the answer says it is JSON, else the text. */
export async function call<T = unknown>(url: string, init: RequestInit = {}): Promise<Answer<T>> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(WAIT_MS) });
  const text = await response.text();
  const isJson = response.headers.get("content-type")?.startsWith("application/json") === true;
  return { status: response.status, headers: response.headers, body: (isJson ? JSON.parse(text) : text) as T };
}

export const getStatus = async (base: string): Promise<OperatorStatus> => (await call<OperatorStatus>(`${base}/api/status`)).body;

/** Polls `read` until `check` accepts its value (bounded); for state that settles asynchronously, like a socket close. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (check(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

/** Metric samples of a Prometheus text exposition: `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

export interface SseEvent {
  event: string | undefined;
  data: string;
  id: string | undefined;
  /** A comment line (`: heartbeat`), when the block was one. */
  comment: string | undefined;
}

/** Reads a server-sent event stream with fetch: events are taken one by one, every wait bounded. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #abort: AbortController;
  readonly #decoder = new TextDecoder();
  readonly status: number;
  readonly headers: Headers;
  #buffer = "";

  private constructor(response: Response, abort: AbortController) {
    if (response.body === null) throw new Error("the answer has no body");
    this.#reader = response.body.getReader();
    this.#abort = abort;
    this.status = response.status;
    this.headers = response.headers;
  }

  static async open(url: string, init: RequestInit = {}): Promise<SseReader> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error("no answer")), WAIT_MS);
    try {
      return new SseReader(await fetch(url, { ...init, signal: abort.signal }), abort);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next event (or comment) `accept` takes, skipping others; fails after WAIT_MS or 10,000 events. */
  async next(accept: (event: SseEvent) => boolean, what: string): Promise<SseEvent> {
    const deadline = Date.now() + WAIT_MS;
    for (let seen = 0; seen < 10_000; seen++) {
      const event = await this.#read(deadline, what);
      if (accept(event)) return event;
    }
    throw new Error(`no ${what} within 10,000 events`);
  }

  /** The next status event whose status `accept` takes. */
  async nextStatus(accept: (status: OperatorStatus) => boolean, what: string): Promise<OperatorStatus> {
    const event = await this.next((candidate) => candidate.event === "status" && accept(JSON.parse(candidate.data) as OperatorStatus), what);
    return JSON.parse(event.data) as OperatorStatus;
  }

  close(): void {
    this.#abort.abort();
  }

  async #read(deadline: number, what: string): Promise<SseEvent> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return parseBlock(block);
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), Math.max(1, deadline - Date.now()));
      });
      try {
        const chunk = await Promise.race([this.#reader.read(), timeout]);
        if (chunk.done) throw new Error(`the stream ended while waiting for ${what}`);
        this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

function parseBlock(block: string): SseEvent {
  const event: SseEvent = { event: undefined, data: "", id: undefined, comment: undefined };
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) event.comment = line.slice(1).trim();
    else if (line.startsWith("event:")) event.event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    else if (line.startsWith("id:")) event.id = line.slice(3).trim();
  }
  event.data = data.join("\n");
  return event;
}
