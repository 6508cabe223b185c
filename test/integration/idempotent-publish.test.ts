import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createClient, type Entry, type SegmentStatus, type StreamsClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { logEntry, runCli, type ServeProcess } from "../cli/child.js";
import { bytes, collect, failureOf, text } from "../support/data.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded } from "../support/waits.js";

/**
 * Idempotent publish over the WebSocket (docs/protocol.md, Idempotent publish): a real `streamkit
 * serve` on LevelDB behind a TCP proxy. The proxy holds back the server's answers, the test sees the
 * publishes committed through a connection of its own, then the connection is cut (or the server
 * killed) before any acknowledgement arrived: the SDK sends the publishes again, and each is stored
 * once and answered with the sequence it was first stored at.
 */
let dataDir: string;
const running = new Set<ServeProcess>();
const clients: StreamsClient[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "streamkit-idem-"));
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const serve of running) {
    if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill("SIGKILL");
    await serve.exit();
  }
  running.clear();
  await rm(dataDir, { recursive: true, force: true });
});

/** `streamkit serve` on the test's data directory, anonymous requests granted every store; resolves with its port. */
async function serve(port = 0, ...flags: string[]): Promise<number> {
  const process = runCli(["serve", "--port", String(port), "--data-dir", dataDir, "--log-pretty", "false", "--anonymous-scopes", "streamkit::*", ...flags]);
  running.add(process);
  return Number(new URL((await logEntry(process, "listening")).url as string).port);
}

function client(port: number): StreamsClient {
  const made = createClient(createWsProvider(`ws://127.0.0.1:${port}/streamz`, { retry: { initialDelayMs: 50, maxDelayMs: 500 } }));
  clients.push(made);
  return made;
}

/** Resolves once `count` entries of the segment are committed, read live through the server at `port`. */
async function committed(port: number, storeId: string, segment: string, count: number): Promise<Entry[]> {
  const observer = client(port);
  const entries: Entry[] = [];
  const controller = new AbortController();
  const reading = (async () => {
    for await (const entry of observer.consumeSegment(storeId, { space: "s", segment, follow: true, signal: controller.signal })) {
      entries.push(entry);
      if (entries.length >= count) return;
    }
  })();
  await bounded(reading, () => `${count} committed entries (saw ${entries.length})`);
  controller.abort();
  await observer.close();
  return entries;
}

const producer = { id: "orders-writer", epoch: 0 };

describe("idempotent publish over the WebSocket", () => {
  it("stores publishes once when the connection drops between their commit and their acknowledgements", { timeout: 60_000 }, async () => {
    // One producer state kept per store: the two segments' states take turns, read again from the data.
    const port = await serve(0, "--max-producers", "1");
    await using proxy = await TcpProxy.start({ host: "127.0.0.1", port });
    const storeId = randomUUID();
    const publisher = client(proxy.port);
    // A first publish opens the connection and the lane.
    expect((await publisher.publish(storeId, "s", "g", bytes("m-0"), { producer })).lastSequence).toBe(1);

    proxy.holdReplies();
    const pending: Promise<SegmentStatus>[] = [];
    for (let i = 1; i <= 20; i++) pending.push(publisher.publish(storeId, "s", i % 2 === 0 ? "g" : "h", bytes(`m-${i}`), { producer }));
    await committed(port, storeId, "g", 11);
    await committed(port, storeId, "h", 10);
    proxy.cut();
    proxy.restore();

    const acks = await bounded(Promise.all(pending), "the acknowledgements after the reconnect");
    const g = await collect(publisher.consumeSegment(storeId, { space: "s", segment: "g" }));
    const h = await collect(publisher.consumeSegment(storeId, { space: "s", segment: "h" }));
    expect(g.map((entry) => text(entry.payload))).toEqual(["m-0", ...[2, 4, 6, 8, 10, 12, 14, 16, 18, 20].map((i) => `m-${i}`)]);
    expect(h.map((entry) => text(entry.payload))).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19].map((i) => `m-${i}`));
    // Each acknowledgement names the sequence its publish was first stored at.
    const stored = new Map([...g, ...h].map((entry) => [text(entry.payload), `${entry.segment}:${entry.sequence}`]));
    acks.forEach((ack, index) => expect(`${ack.segment}:${ack.lastSequence}`).toBe(stored.get(`m-${index + 1}`)));
    // The producer carries on after its retried publishes.
    expect((await publisher.publish(storeId, "s", "g", bytes("m-21"), { producer })).lastSequence).toBe(12);
  });

  it("stores a publish once when the server is killed after its commit and restarted on the same data", { timeout: 60_000 }, async () => {
    const port = await serve();
    await using proxy = await TcpProxy.start({ host: "127.0.0.1", port });
    const storeId = randomUUID();
    const publisher = client(proxy.port);
    await publisher.publish(storeId, "s", "g", bytes("before"), { producer });

    proxy.holdReplies();
    const pending = publisher.publish(storeId, "s", "g", bytes("once"), { producer });
    await committed(port, storeId, "g", 2);
    const first = [...running][0] as ServeProcess;
    first.child.kill("SIGKILL");
    expect((await first.exit()).signal).toBe("SIGKILL");
    running.delete(first);
    proxy.cut();
    proxy.restore();
    await serve(port);

    expect((await bounded(pending, "the acknowledgement from the restarted server")).lastSequence).toBe(2);
    const entries = await collect(publisher.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries.map((entry) => text(entry.payload))).toEqual(["before", "once"]);
    expect(entries[1]?.metadata).toMatchObject({ "ds.producer": producer.id, "ds.epoch": "0", "ds.seq": "1" });
  });

  it("fences a producer whose epoch is older than the segment's latest", { timeout: 30_000 }, async () => {
    const port = await serve();
    const storeId = randomUUID();
    const current = client(port);
    const zombie = client(port);
    await zombie.publish(storeId, "s", "g", bytes("old"), { producer: { id: "w", epoch: 1 } });
    await current.publish(storeId, "s", "g", bytes("new"), { producer: { id: "w", epoch: 2 } });
    const fenced = await failureOf(() => zombie.publish(storeId, "s", "g", bytes("late"), { producer: { id: "w", epoch: 1 } }));
    expect(fenced).toMatchObject({ kind: "failed_precondition", code: "permanent", message: expect.stringMatching(/fenced: epoch 1 is older than its current epoch 2/) });
    expect((await collect(current.consumeSegment(storeId, { space: "s", segment: "g" }))).map((entry) => text(entry.payload))).toEqual(["old", "new"]);
  });
});
