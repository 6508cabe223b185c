import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY, retryDelay } from "../../pkg/client/retry-policy.js";
import type { SegmentStatus } from "../../pkg/client/index.js";
import { heartbeatIntervalMs } from "../../pkg/server/live/subscriptions.js";
import { SubscriptionHeads } from "../../pkg/server/live/subscriptions-heads.js";

const at = (segment: string, lastSequence: number): SegmentStatus => ({
  space: "s",
  segment,
  firstSequence: 1,
  firstTimestamp: 1,
  lastSequence,
  lastTimestamp: lastSequence,
});

describe("SubscriptionHeads", () => {
  it("coalesces per segment (latest wins), keeps arrival order across segments, and never goes back", () => {
    const heads = new SubscriptionHeads();
    expect(heads.offer(at("a", 1))).toBe(true);
    expect(heads.offer(at("b", 1))).toBe(true);
    expect(heads.offer(at("a", 3))).toBe(true);
    expect(heads.offer(at("a", 2))).toBe(false); // older than pending
    expect(heads.take()).toEqual(at("a", 3));
    expect(heads.offer(at("a", 3))).toBe(false); // already sent
    expect(heads.take()).toEqual(at("b", 1));
    expect(heads.take()).toBeUndefined();
    expect(heads.hasPending).toBe(false);
    expect(heads.sent("a")).toEqual(at("a", 3));
  });

  it("admits a snapshot at or above the head sent, and the snapshot supersedes pending updates it covers", () => {
    const heads = new SubscriptionHeads();
    expect(heads.admitSnapshot(at("a", 0))).toBe(true);
    heads.offer(at("a", 2));
    expect(heads.admitSnapshot(at("a", 4))).toBe(true);
    expect(heads.hasPending).toBe(false);
    expect(heads.admitSnapshot(at("a", 4))).toBe(true); // a fresh snapshot may repeat a head
    expect(heads.admitSnapshot(at("a", 3))).toBe(false);
    heads.offer(at("a", 6));
    expect(heads.admitSnapshot(at("a", 5))).toBe(true);
    expect(heads.take()).toEqual(at("a", 6)); // still newer than the snapshot
  });
});

describe("heartbeat interval", () => {
  it("0 or absent means none; otherwise clamped to 1–300 s", () => {
    expect([heartbeatIntervalMs(undefined), heartbeatIntervalMs(0)]).toEqual([undefined, undefined]);
    expect([0.5, 1, 2.5, 300, 1000].map(heartbeatIntervalMs)).toEqual([1_000, 1_000, 2_500, 300_000, 300_000]);
  });
});

describe("resubscribe backoff", () => {
  it("retries a dropped working subscription at once, then backs off exponentially up to 5 s, honouring retryAfterMs", () => {
    const middle = () => 0.5; // no jitter
    expect([0, 1, 2, 3, 10].map((failures) => retryDelay(DEFAULT_RETRY_POLICY, failures, undefined, middle))).toEqual([0, 100, 200, 400, 5_000]);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 1, 30_000, middle)).toBe(30_000);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 1, undefined, () => 0)).toBe(80);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 1, undefined, () => 1)).toBe(120);
  });
});
