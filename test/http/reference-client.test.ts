import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ByteChunk,
  DurableStream,
  IdempotentProducer,
  type JsonBatch,
  StaleEpochError,
  stream,
} from "@durable-streams/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/auth/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { logEntry, runCli, type ServeProcess } from "../cli/child.js";
import { dropSchema, randomSchema } from "../support/pg-schema.js";
import { postgres, skipping } from "../support/services.js";
import { Conditions } from "../support/waits.js";

/**
 * The Durable Streams project's reference client, `@durable-streams/client`, against a real
 * `streamkit serve` (docs/http.md): it creates, appends (plain, JSON, idempotent producer), reads
 * catch-up, follows live by long-poll and SSE, closes and deletes, with our WebSocket SDK writing to
 * and reading the same streams. HTTP requests are anonymous (`--anonymous-scopes`), the WebSocket
 * client signs a token with the server's secret.
 */
vi.setConfig({ testTimeout: 60_000 });

const SECRET = "reference-client-test-secret-long-enough-for-hs256";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** How long a live read waits for what the test appended: a bound against hanging, not a speed check. */
const LIVE_WAIT_MS = 30_000;

/** The offset after `position` data entries (docs/http.md, Offsets). */
const offset = (position: number): string => `0000000000000000_${String(position).padStart(16, "0")}`;

interface Server {
  baseUrl: string;
  ws: StreamsClient;
  stop: () => Promise<void>;
}

async function startServe(name: string, extra: readonly string[], cleanup: () => Promise<void> = async () => undefined): Promise<Server> {
  const dataDir = await mkdtemp(join(tmpdir(), `streamkit-dsclient-${name}-`));
  const serve: ServeProcess = runCli(
    ["serve", "--port", "0", "--data-dir", dataDir, "--log-pretty", "false", "--anonymous-scopes", "streamkit::*", ...extra],
    { STREAMKIT_JWT_SECRET: SECRET },
  );
  const baseUrl = (await logEntry(serve, "listening")).url as string;
  const ws = createClient(createWsProvider(baseUrl.replace("http:", "ws:"), { token: () => signToken({ secret: SECRET, scopes: ["streamkit::*"], ttlSec: 300 }) }));
  return {
    baseUrl,
    ws,
    stop: async () => {
      await ws.close();
      serve.child.kill("SIGTERM");
      await serve.exit();
      await rm(dataDir, { recursive: true, force: true });
      await cleanup();
    },
  };
}

const pgSchema = randomSchema("sk_dsclient");
const backends = [
  { name: "LevelDB", skip: false, start: () => startServe("level", []) },
  {
    name: "PostgreSQL",
    skip: skipping(postgres, "the reference client on PostgreSQL"),
    start: () =>
      startServe(
        "pg",
        ["--store", "postgres", "--postgres-url", postgres.url ?? "", "--postgres-schema", pgSchema, "--postgres-pool-max", "4", "--bus", "postgres"],
        () => dropSchema(postgres.url ?? "", pgSchema),
      ),
  },
];

/** What a live subscription has delivered, with bounded waits on it. */
class Received<T> {
  readonly chunks: T[] = [];
  readonly #conditions = new Conditions();

  add = (chunk: T): void => {
    this.chunks.push(chunk);
    this.#conditions.check();
  };

  until(ready: (chunks: readonly T[]) => boolean, what: string): Promise<void> {
    return this.#conditions.until(() => ready(this.chunks), () => `${what}; received ${JSON.stringify(this.chunks)}`, LIVE_WAIT_MS);
  }
}

/** A fetch for the reference client that records the `live` mode of each request it sends. */
function recordingFetch(): { fetch: typeof globalThis.fetch; live: (string | null)[] } {
  const live: (string | null)[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    live.push(new URL(input instanceof Request ? input.url : input).searchParams.get("live"));
    return globalThis.fetch(input, init);
  };
  return { fetch, live };
}

const itemsOf = <T>(batches: readonly JsonBatch<T>[]): T[] => batches.flatMap((batch) => batch.items);
const textOf = (chunks: readonly ByteChunk[]): string => chunks.map((chunk) => decoder.decode(chunk.data)).join("");

describe.each(backends)("@durable-streams/client against streamkit serve on $name", ({ skip, start }) => {
  let server: Server;
  /** A stream of its own per test, addressed by store, space and segment so the WebSocket SDK reaches it. */
  const storeId = randomUUID();
  const url = (segment: string): string => `${server.baseUrl}/v1/stream/${storeId}/ref/${segment}`;
  const options = (segment: string) => ({ url: url(segment), warnOnHttp: false });

  beforeAll(async () => {
    if (!skip) server = await start();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it.skipIf(skip)("creates a JSON stream, appends single and batched messages and reads them back with their offsets", async () => {
    const handle = await DurableStream.create({ ...options("json"), contentType: "application/json" });
    expect(await handle.head()).toMatchObject({ exists: true, contentType: "application/json", offset: offset(0), streamClosed: false });

    await handle.append(JSON.stringify({ n: 1 }));
    // Appends made while one is in flight go in one POST, as a JSON array the server flattens.
    await Promise.all([2, 3, 4].map((n) => handle.append(JSON.stringify({ n }))));
    // A JSON array appended as one message is one message (the client wraps it in another array).
    await handle.append(JSON.stringify([5, 6]));
    // A WebSocket publish to the stream's segment is one more message.
    await server.ws.publish(storeId, "ref", "json", encoder.encode(JSON.stringify({ n: 7, via: "ws" })));

    const expected = [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, [5, 6], { n: 7, via: "ws" }];
    const all = await stream({ ...options("json"), live: false });
    expect(await all.json()).toEqual(expected);
    expect(all.offset).toBe(offset(6));
    expect(all.upToDate).toBe(true);

    // Resuming from an offset the server gave reads only what follows it.
    const rest = await handle.stream({ offset: offset(4), live: false });
    expect(await rest.json()).toEqual(expected.slice(4));
    expect(rest.offset).toBe(offset(6));
    expect(await handle.head()).toMatchObject({ offset: offset(6) });

    // And the WebSocket SDK reads the HTTP appends as entries of the segment, one per message.
    const entries = [];
    for await (const entry of server.ws.consumeSegment(storeId, { space: "ref", segment: "json" })) entries.push(JSON.parse(decoder.decode(entry.payload)) as unknown);
    expect(entries).toEqual(expected);

    // Creating it again with the same configuration is idempotent; with another content type, 409.
    await DurableStream.create({ ...options("json"), contentType: "application/json" });
    await expect(DurableStream.create({ ...options("json"), contentType: "text/plain" })).rejects.toMatchObject({ status: 409 });
  });

  it.skipIf(skip)("appends to a byte stream with an initial body, a stream body and Stream-Seq, and refuses a lower Stream-Seq", async () => {
    const handle = await DurableStream.create({ ...options("bytes"), contentType: "text/plain", body: "hello", batching: false });
    await handle.append(" world", { seq: "0001" });
    await handle.append(encoder.encode("!"), { seq: "0002" });
    // 0.2.6's retrying fetch throws every 4xx as a FetchError before its error mapping (CONFLICT_SEQ,
    // StreamClosedError) runs, so the refusal is checked by its status.
    await expect(handle.append("late", { seq: "0001" })).rejects.toMatchObject({ status: 409 });
    async function* lines() {
      yield "\nline 1";
      yield encoder.encode("\nline 2");
    }
    await handle.appendStream(lines());

    const read = await handle.stream({ live: false });
    expect(await read.text()).toBe("hello world!\nline 1\nline 2");
    // Four stored appends (the initial body, two appends, the streamed body): four entries.
    expect(read.offset).toBe(offset(4));
    const entries = [];
    for await (const entry of server.ws.consumeSegment(storeId, { space: "ref", segment: "bytes" })) entries.push(decoder.decode(entry.payload));
    expect(entries).toEqual(["hello", " world", "!", "\nline 1\nline 2"]);
  });

  it.skipIf(skip)("pipes a ReadableStream into writable(), whose producer stamps the entries and closes the stream", async () => {
    const handle = await DurableStream.create({ ...options("writable"), contentType: "text/plain" });
    const source = new ReadableStream<string>({
      start(controller) {
        for (const part of ["a", "b", "c"]) controller.enqueue(part);
        controller.close();
      },
    });
    await source.pipeTo(handle.writable({ producerId: "piper" }));
    const read = await handle.stream({ live: false });
    expect(await read.text()).toBe("abc");
    const entries = [];
    for await (const entry of server.ws.consumeSegment(storeId, { space: "ref", segment: "writable" })) entries.push(entry);
    expect(entries.map((entry) => decoder.decode(entry.payload)).join("")).toBe("abc");
    // Closing the writable closes the stream (the client's producer.close()): a marker entry, not data.
    expect(read.streamClosed).toBe(true);
    expect(read.offset).toBe(offset(entries.length - 1));
    expect(entries.at(-1)?.metadata).toMatchObject({ "ds.close": "1" });
    expect(entries.map((entry) => entry.metadata["ds.producer"])).toEqual(entries.map(() => "piper"));
  });

  it.skipIf(skip)("forks a stream at an offset through the create headers", async () => {
    const source = await DurableStream.create({ ...options("fork-source"), contentType: "application/json", body: JSON.stringify([{ n: 1 }, { n: 2 }, { n: 3 }]) });
    const forkHeaders = { "Stream-Forked-From": new URL(url("fork-source")).pathname, "Stream-Fork-Offset": offset(2) };
    await DurableStream.create({ ...options("fork"), contentType: "application/json", headers: forkHeaders });
    const fork = await DurableStream.connect(options("fork"));
    await fork.append(JSON.stringify({ n: "fork" }));
    await source.append(JSON.stringify({ n: 4 }));

    const forked = await fork.stream({ live: false });
    expect(await forked.json()).toEqual([{ n: 1 }, { n: 2 }, { n: "fork" }]);
    expect(forked.offset).toBe(offset(3));
    const original = await source.stream({ live: false });
    expect(await original.json()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect(original.offset).toBe(offset(4));
  });

  it.skipIf(skip)("writes through the idempotent producer once per sequence, fenced by a newer epoch on either API", async () => {
    const handle = await DurableStream.create({ ...options("producer"), contentType: "application/json" });
    const errors: Error[] = [];
    const first = new IdempotentProducer(handle, "orders-writer", { epoch: 0, onError: (error) => errors.push(error) });
    for (let n = 1; n <= 5; n++) first.append(JSON.stringify({ n }));
    await first.flush();
    expect(errors).toEqual([]);
    expect(first.nextSeq).toBeGreaterThan(0);

    // A newer epoch of the same producer fences the older one.
    const second = new IdempotentProducer(handle, "orders-writer", { epoch: 1, onError: (error) => errors.push(error) });
    second.append(JSON.stringify({ n: 6 }));
    await second.flush();
    first.append(JSON.stringify({ n: "zombie" }));
    await first.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StaleEpochError);
    expect(errors[0]).toMatchObject({ currentEpoch: 1 });

    // The WebSocket's idempotent publish shares the producer state: epoch 0 is fenced there too…
    await expect(server.ws.publish(storeId, "ref", "producer", encoder.encode("{}"), { producer: { id: "orders-writer", epoch: 0 } })).rejects.toMatchObject({
      kind: "failed_precondition",
    });
    // …and a newer epoch over the WebSocket fences the HTTP producer's epoch 1.
    await server.ws.publish(storeId, "ref", "producer", encoder.encode(JSON.stringify({ n: 7, via: "ws" })), { producer: { id: "orders-writer", epoch: 2 } });
    second.append(JSON.stringify({ n: "fenced" }));
    await second.flush();
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatchObject({ currentEpoch: 2 });

    // An autoClaim producer takes the next epoch and closes the stream with a final message.
    const third = new IdempotentProducer(handle, "orders-writer", { epoch: 0, autoClaim: true, onError: (error) => errors.push(error) });
    third.append(JSON.stringify({ n: 8 }));
    await third.flush();
    expect(third.epoch).toBe(3);
    const closed = await third.close(JSON.stringify({ n: 9, last: true }));
    expect(errors).toHaveLength(2);
    expect(closed.finalOffset).toBe(offset(9));

    const read = await handle.stream({ live: false });
    expect(await read.json()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }, { n: 7, via: "ws" }, { n: 8 }, { n: 9, last: true }]);
    expect(read.offset).toBe(offset(9));
    expect(read.streamClosed).toBe(true);
    // Closing again without a body is idempotent; an append is refused with the final offset.
    expect((await handle.close()).finalOffset).toBe(offset(9));
    // What StreamClosedError would be made of (see the Stream-Seq case for why it is a FetchError).
    await expect(handle.append(JSON.stringify({ n: 10 }))).rejects.toMatchObject({
      status: 409,
      headers: { "stream-closed": "true", "stream-next-offset": offset(9) },
    });
  });

  it.skipIf(skip)("follows a byte stream by long-poll, receiving appends from the reference client and the WebSocket SDK, until it is closed", async () => {
    const handle = await DurableStream.create({ ...options("long-poll"), contentType: "application/octet-stream", body: encoder.encode("before;"), batching: false });
    const tail = (await handle.head()) as { offset?: string };
    expect(tail.offset).toBe(offset(1));

    const requests = recordingFetch();
    const live = await stream({ ...options("long-poll"), offset: tail.offset, live: "long-poll", fetch: requests.fetch });
    const received = new Received<ByteChunk>();
    live.subscribeBytes(received.add);

    await handle.append(encoder.encode("http-1;"));
    await received.until((chunks) => textOf(chunks) === "http-1;", "the reference client's append");
    await server.ws.publish(storeId, "ref", "long-poll", encoder.encode("ws-2;"));
    await received.until((chunks) => textOf(chunks) === "http-1;ws-2;", "the WebSocket publish");
    await server.ws.produce(storeId, "ref", "long-poll", [{ sequence: 4, payload: encoder.encode("ws-3;") }]);
    await received.until((chunks) => textOf(chunks) === "http-1;ws-2;ws-3;", "the WebSocket produce");
    const dataChunks = received.chunks.filter((chunk) => chunk.data.byteLength > 0);
    expect(dataChunks.at(-1)?.offset).toBe(offset(4));

    expect((await handle.close({ body: encoder.encode("last") })).finalOffset).toBe(offset(5));
    await received.until((chunks) => chunks.some((chunk) => chunk.streamClosed), "the close");
    expect(textOf(received.chunks)).toBe("http-1;ws-2;ws-3;last");
    expect(received.chunks.at(-1)).toMatchObject({ offset: offset(5), streamClosed: true, upToDate: true });
    await live.closed;
    expect(live.streamClosed).toBe(true);
    expect(requests.live.slice(1)).toContain("long-poll");
    expect(requests.live).not.toContain("sse");
  });

  it.skipIf(skip)("follows a JSON stream by SSE, receiving appends from the reference client and the WebSocket SDK, until it is closed", async () => {
    const handle = await DurableStream.create({ ...options("sse"), contentType: "application/json", body: JSON.stringify([{ n: 0 }]) });
    const requests = recordingFetch();
    const live = await stream<{ n: number; via?: string }>({ ...options("sse"), offset: "-1", live: "sse", fetch: requests.fetch });
    const received = new Received<JsonBatch<{ n: number; via?: string }>>();
    live.subscribeJson(received.add);
    await received.until((batches) => itemsOf(batches).length === 1, "the catch-up");

    await handle.append(JSON.stringify({ n: 1 }));
    await received.until((batches) => itemsOf(batches).length === 2, "the reference client's append");
    await server.ws.publish(storeId, "ref", "sse", encoder.encode(JSON.stringify({ n: 2, via: "ws" })));
    await received.until((batches) => itemsOf(batches).length === 3, "the WebSocket publish");
    expect(itemsOf(received.chunks)).toEqual([{ n: 0 }, { n: 1 }, { n: 2, via: "ws" }]);
    expect(received.chunks.at(-1)?.offset).toBe(offset(3));

    await handle.close();
    await received.until((batches) => batches.some((batch) => batch.streamClosed), "the close");
    expect(itemsOf(received.chunks)).toEqual([{ n: 0 }, { n: 1 }, { n: 2, via: "ws" }]);
    expect(received.chunks.at(-1)).toMatchObject({ offset: offset(3), streamClosed: true });
    await live.closed;
    // A catch-up request, then SSE: the appends came over it.
    expect(requests.live[0]).toBeNull();
    expect(requests.live.slice(1)).toContain("sse");
    expect(requests.live).not.toContain("long-poll");
  });

  it.skipIf(skip)("follows a binary stream by SSE in base64", async () => {
    const bytes = Uint8Array.from([0, 255, 10, 13, 128]);
    const handle = await DurableStream.create({ ...options("sse-binary"), contentType: "application/octet-stream", batching: false });
    const live = await handle.stream({ offset: "now", live: "sse" });
    const received = new Received<ByteChunk>();
    live.subscribeBytes(received.add);
    await handle.append(bytes);
    await server.ws.publish(storeId, "ref", "sse-binary", Uint8Array.from([1, 2]));
    const all = (chunks: readonly ByteChunk[]) => chunks.flatMap((chunk) => [...chunk.data]);
    await received.until((chunks) => all(chunks).length === 7, "both appends");
    expect(all(received.chunks)).toEqual([0, 255, 10, 13, 128, 1, 2]);
    expect(received.chunks.at(-1)?.offset).toBe(offset(2));
    live.cancel();
  });

  it.skipIf(skip)("deletes a stream, after which it is gone and its URL can hold a new, empty stream", async () => {
    const handle = await DurableStream.create({ ...options("deleted"), contentType: "text/plain", body: "old" });
    await handle.delete();
    expect(await handle.head()).toEqual({ exists: false });
    expect(await DurableStream.head(options("deleted"))).toEqual({ exists: false });
    await expect(stream({ ...options("deleted"), live: false })).rejects.toMatchObject({ status: 404 });
    await expect(DurableStream.delete(options("deleted"))).rejects.toMatchObject({ status: 404 });
    await expect(handle.append("more")).rejects.toMatchObject({ status: 404 });

    const again = await DurableStream.create({ ...options("deleted"), contentType: "text/plain" });
    await again.append("new");
    const read = await again.stream({ live: false });
    expect(await read.text()).toBe("new");
  });
});
