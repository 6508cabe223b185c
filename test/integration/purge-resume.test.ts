import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, type Entry, type StreamsClient } from "../../pkg/client/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { createLevelStoreFactory } from "../../store/level/index.js";
import { attachStreamz, createWsProvider } from "../../transport/ws/index.js";
import { collect, failureOf, records } from "../support/data.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded } from "../support/waits.js";

/**
 * A segment purged (sequences start again at 1) and written again past a reader's position, over a
 * real WebSocket server on LevelDB: the reader's offset carries its entry's commit position, which
 * the store keeps with the entry, so a resume tells the new life from the old one — after the SDK
 * reconnects, and after the server restarts on the same data (docs/lifecycle.md).
 */
const SECRET = "purge-resume-secret-of-at-least-32-bytes!";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Server {
  port: number;
  stop(): Promise<void>;
}

/** A server over LevelDB in `dataDir`, on `port` (0: any free one). */
async function serve(dataDir: string, port = 0): Promise<Server> {
  const manager = createNodeManager({ storeFactory: createLevelStoreFactory({ dataDir }), idleEviction: false, retention: false });
  const http = createServer((_request, response) => response.writeHead(404).end());
  const streamz = attachStreamz(http, { manager, authenticator: createJwtAuthenticator({ secrets: [SECRET] }) });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  let stopped: Promise<void> | undefined;
  const server = {
    port: (http.address() as AddressInfo).port,
    stop: () =>
      (stopped ??= (async () => {
        await streamz.close();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        await manager.close();
      })()),
  };
  cleanups.push(() => server.stop());
  return server;
}

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "streamkit-purge-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function connect(port: number): StreamsClient {
  const token = () => signToken({ secret: SECRET, scopes: ["streamkit::*"], subject: "purge-resume", ttlSec: 3600 });
  const client = createClient(createWsProvider(`ws://127.0.0.1:${port}`, { token }), { retry: { initialDelayMs: 20, maxDelayMs: 200 } });
  cleanups.push(() => client.close());
  return client;
}

/** How a follow from `offset` ends: the error it ends with (or "ended"), and what it delivered. */
async function resumeFollow(client: StreamsClient, storeId: string, segment: string, offset: string): Promise<{ seen: number[]; end: unknown }> {
  const seen: number[] = [];
  const abort = new AbortController();
  const run = (async () => {
    try {
      for await (const entry of client.consumeSegment(storeId, { space: "s", segment, offset, follow: true }, { signal: abort.signal })) {
        seen.push(entry.sequence);
        // The same life: the entry after the offset's is all this test wants to see.
        abort.abort();
      }
      return "ended";
    } catch (error) {
      return error;
    }
  })();
  return { seen, end: await bounded(run, `the follow of ${segment} from ${offset} to end`) };
}

const lastOffset = async (client: StreamsClient, storeId: string, segment: string): Promise<string> =>
  (await collect(client.consumeSegment(storeId, { space: "s", segment }))).at(-1)?.offset ?? "";

describe("resuming a segment purged and written again past the reader, over WebSocket on LevelDB", () => {
  it("ends the SDK's own resume of a follow with not_found after its connection dropped", { timeout: 30_000 }, async () => {
    const server = await serve(await dataDir());
    await using proxy = await TcpProxy.start({ host: "127.0.0.1", port: server.port });
    const writer = connect(server.port);
    const reader = connect(proxy.port);
    const storeId = crypto.randomUUID();
    await writer.produce(storeId, "s", "g", records(1, 5));

    const seen: Entry[] = [];
    let fiveTaken: () => void = () => undefined;
    const taken = new Promise<void>((resolve) => (fiveTaken = resolve));
    const following = (async (): Promise<unknown> => {
      try {
        for await (const entry of reader.consumeSegment(storeId, { space: "s", segment: "g", follow: true })) {
          seen.push(entry);
          if (seen.length === 5) fiveTaken();
        }
        return "ended";
      } catch (error) {
        return error;
      }
    })();
    await bounded(taken, "the follower's 5 entries");

    // The follower hears nothing of this: its connection is down, and the SDK resumes after entry 5 once it is back.
    proxy.cut();
    await writer.deleteSegment(storeId, "s", "g", { purge: true });
    await writer.produce(storeId, "s", "g", records(1, 10));
    proxy.restore();
    expect(await bounded(following, "the resumed follow to end")).toMatchObject({ kind: "not_found", code: "permanent" });
    expect(seen.map((entry) => entry.sequence)).toEqual([1, 2, 3, 4, 5]);
  });

  it("ends a follow resumed after a server restart between the purge and the resume with not_found; an unpurged segment resumes", { timeout: 30_000 }, async () => {
    const dir = await dataDir();
    const first = await serve(dir);
    const before = connect(first.port);
    const storeId = crypto.randomUUID();
    for (const segment of ["g", "k", "kept"]) await before.produce(storeId, "s", segment, records(1, 5));
    // Space t's only segment is purged with the space's last position: positions must go on after the restart all the same.
    await before.produce(storeId, "t", "only", records(1, 5));
    const offsets = { g: await lastOffset(before, storeId, "g"), k: await lastOffset(before, storeId, "k"), kept: await lastOffset(before, storeId, "kept") };
    const onlyOffset = (await collect(before.consumeSegment(storeId, { space: "t", segment: "only" }))).at(-1)?.offset ?? "";
    await before.deleteSegment(storeId, "s", "g", { purge: true });
    await before.deleteSegment(storeId, "s", "k", { purge: true });
    await before.deleteSegment(storeId, "t", "only", { purge: true });
    // k is written again before the restart, g after it.
    await before.produce(storeId, "s", "k", records(1, 10));
    await before.produce(storeId, "s", "kept", records(6, 1));
    await first.stop();

    const second = await serve(dir);
    const after = connect(second.port);
    await after.produce(storeId, "s", "g", records(1, 10));
    for (const segment of ["g", "k"] as const) {
      const resumed = await resumeFollow(after, storeId, segment, offsets[segment]);
      expect(resumed.end, segment).toMatchObject({ kind: "not_found", code: "permanent" });
      expect(resumed.seen, segment).toEqual([]);
    }
    await after.produce(storeId, "t", "only", records(1, 10));
    expect(await failureOf(() => collect(after.consumeSegment(storeId, { space: "t", segment: "only", offset: onlyOffset })))).toMatchObject({ kind: "not_found" });
    // The segment that was not purged resumes right after the offset's entry, across the restart.
    const kept = await resumeFollow(after, storeId, "kept", offsets.kept);
    expect(kept).toMatchObject({ seen: [6], end: expect.objectContaining({ kind: "cancelled" }) });
  });
});
