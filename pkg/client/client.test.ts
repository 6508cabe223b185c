import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import type { ClientStream, Provider, Record } from "../api/index.js";
import { createNodeManager } from "../server/index.js";
import type { NodeManager } from "../server/types.js";
import { createClient, type StreamsClient } from "./index.js";

const record = (sequence: number, size = 1): Record => ({ sequence, payload: new Uint8Array(size).fill(sequence % 256) });
const MiB = 1024 * 1024;

/**
 * The real in-process provider, with a log of what each stream does and, optionally, replies held
 * back until the client half-closes its stream.
 */
function probe(inner: Provider, options: { holdRepliesUntilEnd?: boolean } = {}) {
  const log: string[] = [];
  let opens = 0;
  const provider: Provider = {
    open(storeId, first): ClientStream {
      opens++;
      const stream = inner.open(storeId, first);
      let ended: () => void = () => {};
      const halfClosed = new Promise<void>((resolve) => (ended = resolve));
      return {
        send: (message) => {
          log.push("send");
          return stream.send(message);
        },
        receive: async () => {
          if (options.holdRepliesUntilEnd) await halfClosed;
          const message = await stream.receive();
          log.push(message === undefined ? "server-end" : "reply");
          return message;
        },
        end: () => {
          log.push("end");
          ended();
          stream.end();
        },
        cancel: (reason) => stream.cancel(reason),
      };
    },
    get state() {
      return inner.state;
    },
    close: () => inner.close(),
  };
  return { provider, log, opens: () => opens };
}

describe("createClient over the in-process transport", () => {
  let manager: NodeManager;
  let plain: StreamsClient;
  const storeId = "6f1c1b4e-8f5e-4c7a-9f55-2b8f6d3f9a01";

  beforeEach(() => {
    manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    plain = createClient(createInProcProvider(manager));
  });

  afterEach(async () => {
    await plain.close();
    await manager.close();
  });

  it("pipelines batches on one stream: every batch is sent before any status is read", async () => {
    const { provider, log, opens } = probe(createInProcProvider(manager), { holdRepliesUntilEnd: true });
    const client = createClient(provider);
    const statuses = await client.produce(storeId, "s", "g", [1, 2, 3, 4, 5].map((i) => record(i)), { batchSize: 1 });
    expect(statuses.map((s) => s.lastSequence)).toEqual([1, 2, 3, 4, 5]);
    expect(opens()).toBe(1);
    expect(log).toEqual(["send", "send", "send", "send", "send", "end", "reply", "reply", "reply", "reply", "reply", "server-end"]);
    await client.close();
  });

  it("opens no stream for an empty input", async () => {
    const { provider, opens } = probe(createInProcProvider(manager));
    const client = createClient(provider);
    expect(await client.produce(storeId, "s", "g", [])).toEqual([]);
    expect(await client.produce(storeId, "s", "g", new Set<Record>())).toEqual([]);
    expect(opens()).toBe(0);
    await client.close();
  });

  it("sends nothing for wrong argument types", async () => {
    const { provider, opens } = probe(createInProcProvider(manager));
    const client = createClient(provider);
    const loose = client as unknown as { [method: string]: (...args: unknown[]) => unknown };
    await expect(loose.produce!(storeId, "s", "g", [record(1), { sequence: 2 }])).rejects.toThrow(TypeError);
    await expect(loose.publish!(storeId, "s", "g", [1, 2])).rejects.toThrow(TypeError);
    expect(() => loose.consume!(storeId, { offsets: { s: "" }, limit: "all" })).toThrow(TypeError);
    expect(() => loose.consumeSegment!(storeId, { space: "s", segment: "g", signal: new AbortController().signal }, { signal: 1 })).toThrow(
      TypeError,
    );
    expect(opens()).toBe(0);
    expect(() => createClient(provider, { batchSize: -1 })).toThrow(TypeError);
    expect(() => createClient(provider, { retry: { jitter: 2 } })).toThrow(/options.retry.jitter/);
    expect(() => createClient(provider, { retry: { maxDelayMs: -1 } })).toThrow(TypeError);
    await client.close();
  });

  it("refuses names UTF-8 cannot carry (lone surrogates) with invalid_argument, sending nothing", async () => {
    const { provider, opens } = probe(createInProcProvider(manager));
    const client = createClient(provider);
    await expect(client.publish(storeId, "s\ud800", "g", new Uint8Array(1))).rejects.toMatchObject({ kind: "invalid_argument" });
    await expect(client.peek(storeId, "s", "\udc00g")).rejects.toMatchObject({ kind: "invalid_argument" });
    const iterable = client.consume(storeId, { offsets: { "\ud83d": "" } });
    await expect(iterable[Symbol.asyncIterator]().next()).rejects.toMatchObject({ kind: "invalid_argument" });
    expect(opens()).toBe(0);
    // A well-formed pair is fine.
    await client.publish(storeId, "s\ud83d\ude00", "g", new Uint8Array(1));
    expect(await client.getSpaces(storeId)).toEqual(["s\u{1F600}"]);
    await client.close();
  });

  it("rejects with the source's own error once the batches already sent have committed", async () => {
    const failure = new Error("source broke");
    function* source() {
      for (let i = 1; i <= 5; i++) yield record(i);
      throw failure;
    }
    await expect(plain.produce(storeId, "s", "g", source(), { batchSize: 2 })).rejects.toBe(failure);
    expect((await plain.peek(storeId, "s", "g")).sequence).toBe(4);
    // The last partial batch [5] was never sent: the source failed while it was being filled.
  });

  it("splits batches at the byte budget so each fits a frame", async () => {
    const input = [1, 2, 3].map((i) => record(i, 3 * MiB));
    const statuses = await plain.produce(storeId, "s", "big", input);
    expect(statuses.map((s) => s.lastSequence)).toEqual([1, 2, 3]);
  });

  it("uses the client's default batch size", async () => {
    const client = createClient(createInProcProvider(manager), { batchSize: 4 });
    const statuses = await client.produce(storeId, "s", "h", [1, 2, 3, 4, 5, 6].map((i) => record(i)));
    expect(statuses.map((s) => s.lastSequence)).toEqual([4, 6]);
    await client.close();
  });

  it("hands payloads out as plain Uint8Arrays", async () => {
    await plain.publish(storeId, "s", "p", new Uint8Array([1, 2, 3]));
    const peeked = await plain.peek(storeId, "s", "p");
    expect(peeked.payload.constructor).toBe(Uint8Array);
    expect(peeked.payload).toEqual(new Uint8Array([1, 2, 3]));
  });
});
