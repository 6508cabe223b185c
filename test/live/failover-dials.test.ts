import { createServer, type Server } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createWsProvider, type WsProviderOptions } from "../../transport/ws/index.js";
import { type Instances, startInstances } from "../support/instances.js";
import { bounded } from "../support/waits.js";
import { DialRecorder } from "./failover-recorder.js";

const STORE = "7d4c1b2a-3e5f-4a6b-8c9d-0e1f2a3b4c5d";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function instances(count: number): Promise<Instances> {
  const started = await startInstances(count);
  cleanups.push(() => started.close());
  return started;
}

function client(urls: Parameters<typeof createWsProvider>[0], options: WsProviderOptions): StreamsClient {
  const made = createClient(createWsProvider(urls, options));
  cleanups.push(() => made.close());
  return made;
}

/** A TCP server that accepts connections and never answers (a hung instance). */
async function hanging(): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("WebSocket provider with several addresses", () => {
  it("moves on to the next address when a dial is refused, and state.url names the one in use", async () => {
    const set = await instances(1);
    const [live] = set.instances;
    const dead = await set.deadUrl();
    const refusing = await set.refusing();
    const failures: [string, number, string | undefined][] = [];
    const sdk = client([dead, refusing.url, live!.url], {
      randomize: false,
      onDialFailure: (error, attempt, url) => failures.push([error.kind, attempt, url]),
    });
    expect(sdk.state).toEqual({ status: "connecting", reconnects: 0 });
    expect(await bounded(sdk.getSpaces(STORE), "getSpaces")).toEqual([]);
    expect(failures).toEqual([
      ["unavailable", 1, dead],
      ["unavailable", 2, refusing.url],
    ]);
    expect(sdk.state).toEqual({ status: "connected", reconnects: 0, url: live!.url });
    expect(refusing.upgrades()).toBe(1);
  });

  it("moves on when a dial outlasts connectTimeoutMs", async () => {
    const set = await instances(1);
    const hung = await hanging();
    const failures: string[] = [];
    const sdk = client(`${hung}, ${set.instances[0]!.url}`, {
      randomize: false,
      connectTimeoutMs: 200,
      onDialFailure: (error, _attempt, url) => failures.push(`${url}: ${error.message}`),
    });
    await bounded(sdk.getSpaces(STORE), "getSpaces");
    expect(failures).toEqual([`${hung}: connect timed out after 200 ms`]);
    expect(sdk.state.url).toBe(set.instances[0]!.url);
  });

  it("after a going-away close dials another address at once, with a fresh token", async () => {
    const set = await instances(2);
    const [a, b] = set.instances;
    const log = new DialRecorder();
    let tokens = 0;
    const sdk = client([a!.url, b!.url], { randomize: false, logger: log, token: () => `token-${++tokens}` });
    await bounded(sdk.getSpaces(STORE), "getSpaces on a");
    expect(sdk.state).toEqual({ status: "connected", reconnects: 0, url: a!.url });
    await a!.goAway();
    await log.until("websocket connected", 2);
    expect(sdk.state).toEqual({ status: "connected", reconnects: 1, url: b!.url });
    expect(log.dials).toEqual([a!.url, b!.url]);
    expect(log.named("websocket dial waits for the address's backoff")).toEqual([]);
    expect(tokens).toBe(2);
    expect(await bounded(sdk.getSpaces(STORE), "getSpaces on b")).toEqual([]);
  });

  it("asks a urls function before every dial, and backs off when it fails", async () => {
    const set = await instances(2);
    const [a, b] = set.instances;
    let current: string[] | Error = [a!.url];
    const log = new DialRecorder();
    let calls = 0;
    const failures: [string, number, string | undefined][] = [];
    const sdk = client(
      async () => {
        calls++;
        if (current instanceof Error) throw current;
        return current;
      },
      {
        retry: { initialDelayMs: 1, jitter: 0 },
        logger: log,
        onDialFailure: (error, attempt, url) => {
          failures.push([error.kind, attempt, url]);
          // After two failed calls the registry answers again, naming only b.
          if (attempt === 2) current = [b!.url];
        },
      },
    );
    await bounded(sdk.getSpaces(STORE), "getSpaces on a");
    expect(sdk.state.url).toBe(a!.url);
    expect(calls).toBe(1);
    current = new Error("registry down");
    expect(a!.dropConnections()).toBe(1);
    await log.until("websocket connected", 2);
    await bounded(sdk.getSpaces(STORE), "getSpaces on b");
    expect(sdk.state).toEqual({ status: "connected", reconnects: 1, url: b!.url });
    expect(failures).toEqual([
      ["unavailable", 1, undefined],
      ["unavailable", 2, undefined],
    ]);
    expect(calls).toBe(4);
  });
});

describe("a dead address is not redialed hot", () => {
  it("waits out its own backoff, 1 s then 2 s then 4 s, while the client fails over between live ones", async () => {
    const set = await instances(2);
    const refusing = await set.refusing();
    const [b, c] = set.instances;
    const log = new DialRecorder();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const start = Date.now();
    const sdk = client([refusing.url, b!.url, c!.url], {
      randomize: false,
      logger: log,
      retry: { initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 60_000, jitter: 0 },
    });
    await bounded(sdk.getSpaces(STORE), "the first connection");
    const byUrl = new Map([
      [b!.url, b!],
      [c!.url, c!],
    ]);
    // Cut the connection in use 16 times (8 s of fake time); whenever the client waits for a backoff, let that much fake time pass.
    for (let cut = 0; cut < 16; cut++) {
      const inUse = byUrl.get(sdk.state.url ?? "");
      if (inUse === undefined) throw new Error(`connected to ${sdk.state.url}`);
      let from = log.events.length;
      expect(inUse.dropConnections()).toBe(1);
      for (;;) {
        const event = await log.next(from, ["websocket connected", "websocket dial waits for the address's backoff"]);
        from = log.events.indexOf(event) + 1;
        if (event.msg === "websocket connected") break;
        await vi.advanceTimersByTimeAsync(event.waitMs ?? 0);
      }
    }
    const deadDials = log.named("websocket dialing").filter((event) => event.url === refusing.url).map((event) => event.at - start);
    // Each retry of the dead address comes only once its backoff is over (fake time, so exact).
    expect(deadDials).toEqual([0, 1_000, 3_000, 7_000]);
    expect(refusing.upgrades()).toBe(deadDials.length);
    // Meanwhile every cut was followed by a connection to a live instance, the other one at once when it was free.
    expect(log.named("websocket connected")).toHaveLength(17);
    expect(log.named("websocket connected").every((event) => event.url === b!.url || event.url === c!.url)).toBe(true);
  });
});
