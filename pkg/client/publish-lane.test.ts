import { describe, expect, it } from "vitest";
import {
  type ClientStream,
  decodeAny,
  encodeMessage,
  type Message,
  MessageTypes,
  type Provider,
  type PublishResult,
  StreamsError,
} from "../api/internal/index.js";
import { createClient } from "./index.js";

const STORE = "0c3f6a52-7a1e-4f0e-9d49-7b9d3c2a1e55";
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A server played by the test: it sees each message the lane sends and answers what it is told. */
function scriptedServer(maxMessageBytes?: number) {
  const received: Message[] = [];
  const answers: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  const stream: ClientStream = {
    send: async (message) => {
      received.push(decodeAny(message) as Message);
    },
    receive: async () => {
      while (answers.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return answers.shift();
    },
    end: () => undefined,
    cancel: () => undefined,
  };
  const provider: Provider = {
    open: (_storeId, first) => {
      received.push(decodeAny(first) as Message);
      return stream;
    },
    state: { status: "connected", reconnects: 0 },
    maxMessageBytes,
    close: async () => undefined,
  };
  const answer = (message: Message): void => {
    answers.push(encodeMessage(message));
    wake?.();
  };
  return { provider, received, answer };
}

const head = (lastSequence: number): PublishResult => ({ firstSequence: 1, firstTimestamp: 5, lastSequence, lastTimestamp: 5 });

describe("publish lane client", () => {
  it("sends a burst as one publish_batch and settles calls from answers that span messages", async () => {
    const server = scriptedServer();
    const client = createClient(server.provider);
    const first = client.publish(STORE, "s", "a", bytes("1"));
    const burst = [client.publish(STORE, "s", "a", bytes("2")), client.publish(STORE, "s", "b", bytes("3"), { metadata: { k: "v" } })];
    await Promise.resolve(); // the burst leaves at the end of this turn
    expect(server.received.map((message) => message.$type)).toEqual([MessageTypes.publish, MessageTypes.publishBatch]);
    expect(server.received[1]).toMatchObject({
      publishes: [
        { space: "s", segment: "a" },
        { space: "s", segment: "b", metadata: { k: "v" } },
      ],
    });
    // Two answers for three publishes: the first and the batch's first, then the batch's second.
    server.answer({ $type: MessageTypes.publishResults, results: [head(1), head(2)] });
    server.answer({ $type: MessageTypes.publishResults, results: [{ error: new StreamsError("resource_exhausted", "too big").toInfo() }] });
    expect(await first).toEqual({ space: "s", segment: "a", ...head(1) });
    expect(await burst[0]).toEqual({ space: "s", segment: "a", ...head(2) });
    await expect(burst[1]).rejects.toMatchObject({ kind: "resource_exhausted" });
  });

  it("keeps a batch under 64 KiB and under the transport's message limit", async () => {
    const sizes = (received: Message[]) =>
      received.map((message) => (message.$type === MessageTypes.publishBatch ? message.publishes.length : message.$type));
    const server = scriptedServer();
    const client = createClient(server.provider);
    void client.publish(STORE, "s", "a", bytes("open"));
    for (let i = 0; i < 5; i++) void client.publish(STORE, "s", "a", new Uint8Array(20_000));
    await Promise.resolve();
    expect(sizes(server.received)).toEqual([MessageTypes.publish, 3, 2]);

    const tight = scriptedServer(1_000);
    const limited = createClient(tight.provider);
    void limited.publish(STORE, "s", "a", bytes("open"));
    for (let i = 0; i < 7; i++) void limited.publish(STORE, "s", "a", new Uint8Array(200));
    const tooLarge = limited.publish(STORE, "s", "a", new Uint8Array(5_000)); // over the limit even alone
    const alone = limited.publish(STORE, "s", "a", new Uint8Array(900)); // over any batch, under the limit
    await Promise.resolve();
    expect(sizes(tight.received)).toEqual([MessageTypes.publish, 3, 3, MessageTypes.publish, MessageTypes.publish]);
    await expect(tooLarge).rejects.toMatchObject({ kind: "resource_exhausted" });
    void alone;
  });

  it("fails every publish of a message the server refused with publish_error, and only those", async () => {
    const server = scriptedServer();
    const client = createClient(server.provider);
    const first = client.publish(STORE, "s", "a", bytes("1"));
    const refused = [client.publish(STORE, "s", "a", bytes("2")), client.publish(STORE, "s", "a", bytes("3"))];
    await Promise.resolve();
    const later = client.publish(STORE, "s", "a", bytes("4"));
    await Promise.resolve();
    server.answer({ $type: MessageTypes.publishResults, results: [head(1)] });
    server.answer({ $type: MessageTypes.publishError, error: new StreamsError("invalid_argument", "malformed batch").toInfo() });
    server.answer({ $type: MessageTypes.publishResults, results: [head(2)] });
    expect((await first).lastSequence).toBe(1);
    for (const call of refused) await expect(call).rejects.toMatchObject({ kind: "invalid_argument", message: expect.stringContaining("malformed batch") });
    expect((await later).lastSequence).toBe(2);
  });
});
