import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type ClientStream,
  decodeAny,
  encodeMessage,
  type Message,
  MessageTypes,
  type Provider,
  StreamsError,
} from "../api/internal/index.js";
import { createClient } from "./index.js";

const STORE = "5b0e9c1a-3d2f-4e8b-a6c7-1f2e3d4c5b6a";
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const producer = { id: "p", epoch: 0 };

/** One lane stream played by the test: it records what the client sent and answers or breaks on demand. */
class ScriptedStream implements ClientStream {
  readonly received: Message[] = [];
  #answers: (Uint8Array | StreamsError)[] = [];
  #wake: (() => void) | undefined;

  constructor(first: Uint8Array) {
    this.received.push(decodeAny(first) as Message);
  }

  async send(message: Uint8Array): Promise<void> {
    this.received.push(decodeAny(message) as Message);
  }

  async receive(): Promise<Uint8Array | undefined> {
    while (this.#answers.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
    const next = this.#answers.shift();
    if (next instanceof StreamsError) throw next;
    return next;
  }

  end(): void {}
  cancel(): void {}

  /** Payloads of the publishes the client sent on this stream, in order. */
  get payloads(): string[] {
    const payloads = this.received.flatMap((message) => {
      if (message.$type === MessageTypes.publishBatch) return message.publishes.map((item) => item.payload);
      return message.$type === MessageTypes.publish ? [message.payload] : [];
    });
    return payloads.map((payload) => new TextDecoder().decode(payload));
  }

  /** The connection dropped: the stream fails with `unavailable`. */
  drop(): void {
    this.#push(new StreamsError("unavailable", "connection lost"));
  }

  answer(lastSequences: number[]): void {
    const results = lastSequences.map((lastSequence) => ({ firstSequence: lastSequence, firstTimestamp: 1, lastSequence, lastTimestamp: 1 }));
    this.#push(encodeMessage({ $type: MessageTypes.publishResults, results }));
  }

  #push(answer: Uint8Array | StreamsError): void {
    this.#answers.push(answer);
    this.#wake?.();
  }
}

function scriptedProvider() {
  const streams: ScriptedStream[] = [];
  const provider: Provider = {
    open: (_storeId, first) => {
      const stream = new ScriptedStream(first);
      streams.push(stream);
      return stream;
    },
    state: { status: "connected", reconnects: 0 },
    close: async () => undefined,
  };
  return { provider, streams };
}

/** Runs the client's microtasks and due timers (fake timers: no real waiting). */
const settle = async (): Promise<void> => {
  await vi.advanceTimersByTimeAsync(0);
};

afterEach(() => {
  vi.useRealTimers();
});

describe("idempotent publish retries", () => {
  it("counts each call's attempts on its own: a call out of attempts fails alone, a newer one in the same lane is still retried", async () => {
    vi.useFakeTimers();
    const { provider, streams } = scriptedProvider();
    const client = createClient(provider, { retry: { maxAttempts: 1, initialDelayMs: 100, maxDelayMs: 100, jitter: 0 } });

    const old = client.publish(STORE, "s", "g", bytes("old"), { producer });
    const oldFailure = old.catch((error: unknown) => error);
    await settle();
    streams[0]?.drop(); // old: its first retry
    await settle();
    // Made while old waits for its retry: it goes out with old, on the next lane.
    const young = client.publish(STORE, "s", "g", bytes("young"), { producer });
    await settle();
    expect(streams).toHaveLength(2);
    expect(streams[1]?.payloads).toEqual(["old", "young"]);

    streams[1]?.drop(); // old is out of attempts (a second retry); young has one left
    await vi.advanceTimersByTimeAsync(100);
    expect(await oldFailure).toMatchObject({ kind: "unavailable" });
    expect(streams).toHaveLength(3);
    expect(streams[2]?.payloads).toEqual(["young"]);
    streams[2]?.answer([2]);
    expect((await young).lastSequence).toBe(2);
  });

  it("paces a retry by the attempts of the calls it sends, not of a call that has failed out", async () => {
    vi.useFakeTimers();
    const { provider, streams } = scriptedProvider();
    const client = createClient(provider, { retry: { maxAttempts: 1, initialDelayMs: 10_000, maxDelayMs: 10_000, jitter: 0 } });

    const old = client.publish(STORE, "s", "g", bytes("old"), { producer });
    const oldFailure = old.catch((error: unknown) => error);
    await settle();
    streams[0]?.drop();
    await settle();
    const young = client.publish(STORE, "s", "g", bytes("young"), { producer });
    await settle();
    streams[1]?.drop();
    await settle();
    expect(await oldFailure).toMatchObject({ kind: "unavailable" });
    // young's first retry goes at once (the policy's first delay is none), not after old's 10 s.
    expect(streams).toHaveLength(3);
    streams[2]?.answer([2]);
    expect((await young).lastSequence).toBe(2);
  });
  it("fails the calls waiting for a retry at once when the client closes, and leaves no timer behind", async () => {
    vi.useFakeTimers();
    const { provider, streams } = scriptedProvider();
    const client = createClient(provider, { retry: { maxAttempts: 5, initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 } });

    const failure = client.publish(STORE, "s", "g", bytes("a"), { producer }).catch((error: unknown) => error);
    await settle();
    streams[0]?.drop(); // the first retry goes at once
    await settle();
    streams[1]?.drop(); // the second waits 60 s
    await settle();
    // Made during the wait: queued behind it.
    const joined = client.publish(STORE, "s", "g", bytes("b"), { producer }).catch((error: unknown) => error);
    await settle();
    expect(vi.getTimerCount()).toBe(1);

    await client.close();
    // Settled without the timer firing, with what calls in flight get on close.
    const pending = settle().then(() => "still waiting");
    for (const error of [await Promise.race([failure, pending]), await Promise.race([joined, pending])]) {
      expect(error).toBeInstanceOf(StreamsError);
      expect(error).toMatchObject({ kind: "unavailable", message: "client is closed" });
    }
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(streams).toHaveLength(2);
  });
});
