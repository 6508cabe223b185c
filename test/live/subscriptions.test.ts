import { afterEach, describe, expect, it, vi } from "vitest";
import { type SegmentStatus, StreamsError } from "../../pkg/client/index.js";
import { bytes, failureOf, records, useHarness } from "../support/data.js";
import { configurations } from "../support/matrix.js";
import { StatusRecorder } from "./subscriptions-recorder.js";
import { bounded } from "../support/waits.js";

const zeros = { firstSequence: 0, firstTimestamp: 0, lastSequence: 0, lastTimestamp: 0 };

/** Only the heartbeat timer is faked: transports, waits and backoff keep real time. */
const fakeHeartbeatTimers = () => vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });

describe.each(configurations)("status subscriptions ($name)", (configuration) => {
  const harness = useHarness(configuration);

  afterEach(() => {
    vi.useRealTimers();
  });

  it("a named segment: the snapshot first, then live updates of that segment only", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const [head] = await client.produce(storeId, "orders", "o-1", records(1, 3));
    const recorder = new StatusRecorder();
    const subscription = await client.subscribeToSegment(storeId, "orders", "o-1", recorder.listener);
    // Established means the snapshot has been delivered.
    expect(recorder.statuses).toEqual([head]);
    expect(subscription.state).toMatchObject({ status: "connected", reconnects: 0 });
    expect(subscription.state.lastMessageAt).toBeGreaterThan(0);

    await client.publish(storeId, "orders", "o-2", bytes("other segment"));
    const published = await client.publish(storeId, "orders", "o-1", bytes("four"));
    await recorder.untilSequence("o-1", 4);
    const [batch] = await client.produce(storeId, "orders", "o-1", records(5, 3));
    await recorder.untilSequence("o-1", 7);

    expect(recorder.statuses.every((status) => status.segment === "o-1" && status.heartbeat === undefined)).toBe(true);
    expect(recorder.statuses).toContainEqual(published);
    expect(recorder.statuses.at(-1)).toEqual(batch);
    expect(isIncreasing(recorder.sequencesOf("o-1"))).toBe(true);
    await subscription.unsubscribe();
    expect(await subscription.closed).toBeUndefined();
    expect(subscription.state.status).toBe("closed");
  });

  it("a named segment with no entries gives a status with lastSequence 0, then its first entry", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const recorder = new StatusRecorder();
    await using _subscription = await client.subscribeToSegment(storeId, "orders", "empty", recorder.listener);
    expect(recorder.statuses).toEqual([{ space: "orders", segment: "empty", ...zeros }]);
    const first = await client.publish(storeId, "orders", "empty", bytes("one"));
    await recorder.untilSequence("empty", 1);
    expect(recorder.statuses.at(-1)).toEqual(first);
    expect(first).toMatchObject({ firstSequence: 1, lastSequence: 1 });
  });

  it("a space (`*`): one status per existing segment, then updates of any of its segments and none of other spaces", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const heads: SegmentStatus[] = [];
    for (const [segment, count] of [["c", 1], ["a", 3], ["b", 2]] as const) {
      heads.push(...(await client.produce(storeId, "orders", segment, records(1, count))));
    }
    await client.produce(storeId, "invoices", "a", records(1, 5));
    const recorder = new StatusRecorder();
    await using _subscription = await client.subscribeToSpace(storeId, "orders", recorder.listener);
    const bySegment = (x: SegmentStatus, y: SegmentStatus) => (x.segment < y.segment ? -1 : 1);
    expect([...recorder.statuses].sort(bySegment)).toEqual([...heads].sort(bySegment));

    await client.publish(storeId, "invoices", "a", bytes("elsewhere"));
    const created = await client.publish(storeId, "orders", "d", bytes("new segment"));
    const grown = await client.publish(storeId, "orders", "a", bytes("a-4"));
    await recorder.untilSequence("d", 1);
    await recorder.untilSequence("a", 4);
    expect(recorder.statuses.slice(3)).toEqual(expect.arrayContaining([created, grown]));
    expect(recorder.statuses.every((status) => status.space === "orders")).toBe(true);
  });

  it("a space with no segments is established with an empty snapshot, then sees its first segment", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const recorder = new StatusRecorder();
    await using subscription = await client.subscribeToSpace(storeId, "fresh", recorder.listener);
    expect(recorder.statuses).toEqual([]);
    expect(subscription.state.status).toBe("connected");
    const first = await client.publish(storeId, "fresh", "s", bytes("x"));
    await recorder.untilSequence("s", 1);
    expect(recorder.statuses).toEqual([first]);
  });

  it("updates are coalesced for a slow listener and a head never goes back", async () => {
    const { client, connect, newStoreId } = harness();
    const storeId = newStoreId();
    const producer = connect();
    await producer.produce(storeId, "hot", "x", records(1, 1));
    await producer.produce(storeId, "hot", "y", records(1, 1));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const recorder = new StatusRecorder();
    // The listener holds the first live update until every publish is done: meanwhile the server keeps at most one pending status per segment.
    await using _subscription = await client.subscribeToSpace(storeId, "hot", async (status) => {
      recorder.listener(status);
      if (recorder.statuses.length === 3) await gate;
    });
    const publishes = 300;
    for (let i = 0; i < publishes; i++) await producer.publish(storeId, "hot", i % 2 === 0 ? "x" : "y", bytes(`p${i}`));
    release();
    const last = 1 + publishes / 2;
    await recorder.untilSequence("x", last);
    await recorder.untilSequence("y", last);
    for (const segment of ["x", "y"]) {
      const sequences = recorder.sequencesOf(segment);
      expect(isIncreasing(sequences)).toBe(true);
      expect(sequences.at(-1)).toBe(last);
    }
    expect(recorder.updates.length).toBeLessThan(publishes);
  });

  it("unsubscribe stops delivery; a listener is not called after it resolves", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const recorder = new StatusRecorder();
    const subscription = await client.subscribeToSegment(storeId, "s", "g", recorder.listener);
    await client.publish(storeId, "s", "g", bytes("1"));
    await recorder.untilSequence("g", 1);
    await subscription.unsubscribe();
    await subscription.unsubscribe(); // idempotent
    const seen = recorder.statuses.length;

    // A second subscription delivers the later publishes, so the first has had every chance to.
    const witness = new StatusRecorder();
    await using _witness = await client.subscribeToSegment(storeId, "s", "g", witness.listener);
    await client.publish(storeId, "s", "g", bytes("2"));
    await client.publish(storeId, "s", "g", bytes("3"));
    await witness.untilSequence("g", 3);
    expect(recorder.statuses.length).toBe(seen);
    expect(await subscription.closed).toBeUndefined();
    expect(subscription.state.status).toBe("closed");
  });

  it("aborting the signal ends an established subscription with cancelled, without calling onError", async () => {
    const { client, newStoreId } = harness();
    const controller = new AbortController();
    const onError = vi.fn();
    const subscription = await client.subscribeToSegment(newStoreId(), "s", "g", () => undefined, { signal: controller.signal, onError });
    controller.abort("done");
    const closed = await bounded(subscription.closed, "closed");
    expect(closed).toBeInstanceOf(StreamsError);
    expect([closed?.kind, closed?.cause]).toEqual(["cancelled", "done"]);
    expect(onError).not.toHaveBeenCalled();
    expect(subscription.state.status).toBe("closed");

    const aborted = AbortSignal.abort("before");
    const early = (await failureOf(() => client.subscribeToSpace(newStoreId(), "s", () => undefined, { signal: aborted }))) as StreamsError;
    expect([early.kind, early.cause]).toEqual(["cancelled", "before"]);
  });

  it("a listener that throws ends the subscription with internal, reported to onError", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const errors: StreamsError[] = [];
    const subscription = await client.subscribeToSegment(
      storeId,
      "s",
      "g",
      (status) => {
        if (status.lastSequence === 1) throw new Error("listener bug");
      },
      { onError: (error) => errors.push(error) },
    );
    await client.publish(storeId, "s", "g", bytes("1"));
    const closed = await bounded(subscription.closed, "closed");
    expect(closed?.kind).toBe("internal");
    expect((closed?.cause as Error).message).toBe("listener bug");
    expect(errors).toEqual([closed]);
    expect(subscription.state.status).toBe("closed");
  });

  it("invalid names are invalid_argument from the server; wrong argument types are TypeErrors", async () => {
    const { client, newStoreId } = harness();
    const storeId = newStoreId();
    const listener = () => undefined;
    for (const [space, segment, field] of [
      ["", "g", "space"],
      ["*", "g", "space"],
      ["s", "", "segment"],
      ["s", "a\u0001b", "segment"],
      ["s".repeat(257), "g", "space"],
    ] as const) {
      const error = (await failureOf(() => client.subscribeToSegment(storeId, space, segment, listener))) as StreamsError;
      expect(error).toBeInstanceOf(StreamsError);
      expect([error.kind, error.message.includes(field)]).toEqual(["invalid_argument", true]);
    }
    expect(((await failureOf(() => client.subscribeToSpace(storeId, "", listener))) as StreamsError).kind).toBe("invalid_argument");
    const negative = (await failureOf(() =>
      client.subscribeToSpace(storeId, "s", listener, { heartbeatIntervalSeconds: -1 }),
    )) as StreamsError;
    expect([negative.kind, negative.message.includes("heartbeatIntervalSeconds")]).toEqual(["invalid_argument", true]);

    const wrong = (call: () => unknown) => failureOf(call);
    const untyped = client as unknown as { [method: string]: (...args: unknown[]) => Promise<unknown> };
    expect(await wrong(() => untyped.subscribeToSegment!(42, "s", "g", listener))).toBeInstanceOf(TypeError);
    expect(await wrong(() => untyped.subscribeToSegment!(storeId, "s", 7, listener))).toBeInstanceOf(TypeError);
    expect(await wrong(() => untyped.subscribeToSegment!(storeId, "s", "g", "not a function"))).toBeInstanceOf(TypeError);
    expect(await wrong(() => untyped.subscribeToSpace!(storeId, "s", listener, { heartbeatIntervalSeconds: "5" }))).toBeInstanceOf(TypeError);
    expect(await wrong(() => untyped.subscribeToSpace!(storeId, "s", listener, { onError: 1 }))).toBeInstanceOf(TypeError);
    expect(await wrong(() => untyped.subscribeToSpace!(storeId, "s", listener, { signal: {} }))).toBeInstanceOf(TypeError);
    expect(await wrong(() => untyped.subscribeToSpace!(storeId, "s", listener, "options"))).toBeInstanceOf(TypeError);
  });

  describe("heartbeats", () => {
    it("a space subscription's heartbeats are flagged and carry segment `*` with zeros", async () => {
      const { client, newStoreId } = harness();
      const storeId = newStoreId();
      await client.produce(storeId, "s", "g", records(1, 2));
      fakeHeartbeatTimers();
      const recorder = new StatusRecorder();
      await using _subscription = await client.subscribeToSpace(storeId, "s", recorder.listener, { heartbeatIntervalSeconds: 2 });
      await vi.advanceTimersByTimeAsync(2_000);
      await recorder.untilHeartbeats(1);
      expect(recorder.heartbeats).toEqual([{ space: "s", segment: "*", ...zeros, heartbeat: true }]);
      await vi.advanceTimersByTimeAsync(2_000);
      await recorder.untilHeartbeats(2);
      expect(recorder.updates.map((status) => status.segment)).toEqual(["g"]);
    });

    it("a named segment's heartbeat carries that segment's head", async () => {
      const { client, newStoreId } = harness();
      const storeId = newStoreId();
      const [head] = await client.produce(storeId, "s", "g", records(1, 2));
      fakeHeartbeatTimers();
      const recorder = new StatusRecorder();
      await using _subscription = await client.subscribeToSegment(storeId, "s", "g", recorder.listener, { heartbeatIntervalSeconds: 1 });
      await vi.advanceTimersByTimeAsync(1_000);
      await recorder.untilHeartbeats(1);
      expect(recorder.heartbeats).toEqual([{ ...head, heartbeat: true }]);
      const next = await client.publish(storeId, "s", "g", bytes("3"));
      await recorder.untilSequence("g", 3);
      await vi.advanceTimersByTimeAsync(1_000);
      await recorder.untilHeartbeats(2);
      expect(recorder.heartbeats[1]).toEqual({ ...next, heartbeat: true });
    });

    /** Advances to just before `ms`, proves no heartbeat came (a live update on the same stream follows any earlier heartbeat), then crosses `ms`. */
    async function expectFirstHeartbeatAt(ms: number, heartbeatIntervalSeconds: number | undefined): Promise<StatusRecorder> {
      const { client, newStoreId } = harness();
      const storeId = newStoreId();
      fakeHeartbeatTimers();
      const recorder = new StatusRecorder();
      const options = heartbeatIntervalSeconds === undefined ? {} : { heartbeatIntervalSeconds };
      const subscription = await client.subscribeToSegment(storeId, "s", "g", recorder.listener, options);
      await vi.advanceTimersByTimeAsync(ms - 1);
      await client.publish(storeId, "s", "g", bytes("sync"));
      await recorder.untilSequence("g", 1);
      expect(recorder.heartbeats).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await recorder.untilHeartbeats(1);
      await subscription.unsubscribe();
      return recorder;
    }

    it("an interval below 1 s is clamped to 1 s (0.5 → 1)", async () => {
      const recorder = await expectFirstHeartbeatAt(1_000, 0.5);
      expect(recorder.heartbeats).toHaveLength(1);
    });

    it("an interval above 300 s is clamped to 300 s (1000 → 300)", async () => {
      const recorder = await expectFirstHeartbeatAt(300_000, 1000);
      expect(recorder.heartbeats).toHaveLength(1);
    });

    it("0 or absent means no heartbeats", async () => {
      for (const interval of [0, undefined]) {
        const { client, newStoreId } = harness();
        const storeId = newStoreId();
        fakeHeartbeatTimers();
        const recorder = new StatusRecorder();
        const options = interval === undefined ? {} : { heartbeatIntervalSeconds: interval };
        await using _subscription = await client.subscribeToSegment(storeId, "s", "g", recorder.listener, options);
        await vi.advanceTimersByTimeAsync(3_600_000);
        await client.publish(storeId, "s", "g", bytes("sync"));
        await recorder.untilSequence("g", 1);
        expect(recorder.heartbeats).toEqual([]);
        vi.useRealTimers();
      }
    });
  });
});

function isIncreasing(values: number[]): boolean {
  return values.every((value, i) => i === 0 || value > values[i - 1]!);
}
