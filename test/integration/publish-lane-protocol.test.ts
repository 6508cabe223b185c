import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ClientStream,
  decodeAny,
  encodeMessage,
  type ErrorInfo,
  MAX_PUBLISH_BATCH,
  type Message,
  MessageTypes,
  type PublishResult,
  type Response,
  StreamsError,
} from "../../pkg/api/internal/index.js";
import { createClient } from "../../pkg/client/index.js";
import { createNodeManager, type StoreNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { bytes, collect, text } from "../support/data.js";
import { bounded } from "../support/waits.js";

// The publish lane as a client other than the SDK speaks it (docs/protocol.md): raw messages on one stream.

type Answer = PublishResult | { refused: ErrorInfo };

let manager: StoreNodeManager | undefined;

afterEach(async () => {
  await manager?.close();
  manager = undefined;
});

function openLane(storeId: string, first: Message): ClientStream {
  manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
  return createInProcProvider(manager).open(storeId, encodeMessage(first));
}

const publish = (segment: string, payload: string): Message => ({ $type: MessageTypes.publish, space: "s", segment, payload: bytes(payload) });

/** Reads answers until `count` publishes are answered; a publish_error answers one message (counted as one). */
async function answers(stream: ClientStream, count: number): Promise<Answer[]> {
  const collected: Answer[] = [];
  while (collected.length < count) {
    const bytes = await bounded(stream.receive(), `answer ${collected.length + 1} of ${count}`);
    if (bytes === undefined) throw new Error("the lane ended early");
    const message = decodeAny(bytes) as Response;
    if (message.$type === MessageTypes.publishResults) collected.push(...message.results);
    else if (message.$type === MessageTypes.publishError) collected.push({ refused: message.error });
    else throw new Error(`unexpected answer ${message.$type}`);
  }
  return collected;
}

const outcome = (answer: Answer): string | number =>
  "refused" in answer ? `refused ${answer.refused.kind}` : "error" in answer ? `failed ${answer.error.kind}` : answer.lastSequence;

describe("publish lane protocol", () => {
  it("answers a publish_batch in order, each bad publish failing alone", async () => {
    const storeId = randomUUID();
    const lane = openLane(storeId, { ...publish("g", "p0"), lane: true } as Message);
    await lane.send(
      encodeMessage({
        $type: MessageTypes.publishBatch,
        publishes: [
          { space: "s", segment: "g", payload: bytes("a") },
          { space: "s", segment: "*", payload: bytes("bad name") },
          { space: "s", segment: "g", payload: "not bytes" as unknown as Uint8Array },
          { space: "s", segment: "g", payload: bytes("b"), metadata: { k: "v" } },
          7 as unknown as { space: string; segment: string; payload: Uint8Array },
        ],
      }),
    );
    expect((await answers(lane, 6)).map(outcome)).toEqual([1, 2, "failed invalid_argument", "failed invalid_argument", 3, "failed invalid_argument"]);
    lane.end();
    expect(await bounded(lane.receive(), "the lane's end")).toBeUndefined();

    const client = createClient(createInProcProvider(manager as StoreNodeManager));
    const entries = await collect(client.consumeSegment(storeId, { space: "s", segment: "g" }));
    expect(entries.map((entry) => [text(entry.payload), entry.metadata])).toEqual([
      ["p0", {}],
      ["a", {}],
      ["b", { k: "v" }],
    ]);
    await client.close();
  });

  it("refuses a message it cannot take with one publish_error, and carries on", async () => {
    const lane = openLane(randomUUID(), { ...publish("g", "p0"), lane: true } as Message);
    await lane.send(encodeMessage({ $type: MessageTypes.publishBatch, publishes: [] }));
    await lane.send(encodeMessage({ $type: MessageTypes.publishBatch, publishes: Array.from({ length: MAX_PUBLISH_BATCH + 1 }, () => ({})) } as Message));
    await lane.send(encodeMessage({ $type: MessageTypes.getSpaces }));
    await lane.send(new Uint8Array([0xc1, 0xff]));
    await lane.send(encodeMessage(publish("h", "after")));
    expect((await answers(lane, 6)).map(outcome)).toEqual([
      1,
      "refused invalid_argument",
      "refused invalid_argument",
      "refused invalid_argument",
      "refused invalid_argument",
      1,
    ]);
    lane.end();
    expect(await bounded(lane.receive(), "the lane's end")).toBeUndefined();
  });

  it("does not let a publish_batch open a stream", async () => {
    const lane = openLane(randomUUID(), { $type: MessageTypes.publishBatch, publishes: [{ space: "s", segment: "g", payload: bytes("x") }] });
    const error = await bounded(
      lane.receive().then(
        () => undefined,
        (reason: unknown) => reason,
      ),
      "the refusal",
    );
    expect(error).toBeInstanceOf(StreamsError);
    expect((error as StreamsError).kind).toBe("invalid_argument");
  });
});
