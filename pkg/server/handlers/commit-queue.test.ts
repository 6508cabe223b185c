import { describe, expect, it } from "vitest";
import type { SegmentStatus } from "../../api/index.js";
import { CommitQueue } from "./commit-queue.js";

/** A commit the test resolves or rejects when it chooses. */
function pendingCommit(): { promise: Promise<SegmentStatus>; resolve: (lastSequence: number) => void; reject: (error: Error) => void } {
  let resolve!: (lastSequence: number) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<SegmentStatus>((res, rej) => {
    resolve = (lastSequence) =>
      res({ space: "s", segment: "g", firstSequence: lastSequence, firstTimestamp: 0, lastSequence, lastTimestamp: 0 });
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Runs every callback already queued (promise reactions included); no timer. */
async function settleTurn(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe("CommitQueue", () => {
  it("acknowledges each commit in order as soon as it and the ones before it are done", async () => {
    const acknowledged: number[] = [];
    const queue = new CommitQueue(8, async (status) => {
      acknowledged.push(status.lastSequence);
    });
    const [first, second, third] = [pendingCommit(), pendingCommit(), pendingCommit()];
    await queue.add(first.promise);
    await queue.add(second.promise);
    await queue.add(third.promise);
    second.resolve(2);
    await settleTurn();
    expect(acknowledged).toEqual([]); // the first is not durable yet
    first.resolve(1);
    await settleTurn();
    expect(acknowledged).toEqual([1, 2]); // not held back until `depth` are in flight
    third.resolve(3);
    await queue.drain();
    expect(acknowledged).toEqual([1, 2, 3]);
  });

  it("waits in add while `depth` commits are unacknowledged", async () => {
    const queue = new CommitQueue(2, async () => undefined);
    const [first, second] = [pendingCommit(), pendingCommit()];
    await queue.add(first.promise);
    let added = false;
    const adding = queue.add(second.promise).then(() => {
      added = true;
    });
    await settleTurn();
    expect(added).toBe(false);
    first.resolve(1);
    await adding;
    second.resolve(2);
    await queue.drain();
  });

  it("rejects with the first failure, and acknowledges none after it", async () => {
    const acknowledged: number[] = [];
    const queue = new CommitQueue(8, async (status) => {
      acknowledged.push(status.lastSequence);
    });
    const failure = new Error("batch 2 failed");
    const commits = [pendingCommit(), pendingCommit(), pendingCommit()];
    for (const commit of commits) await queue.add(commit.promise);
    commits[2]?.resolve(3);
    commits[1]?.reject(failure);
    commits[0]?.resolve(1);
    await expect(queue.drain()).rejects.toBe(failure);
    expect(acknowledged).toEqual([1]);
  });

  it("settle, after an acknowledgement failed, still waits for a later commit in flight", async () => {
    // A failed send does not stop the store's ProduceChain: batch 3 may still be committing when
    // the handler settles, and must not land after the handler has returned.
    const sendFailure = new Error("send failed");
    const acknowledged: number[] = [];
    const queue = new CommitQueue(8, async (status) => {
      acknowledged.push(status.lastSequence);
      throw sendFailure;
    });
    const commits = [pendingCommit(), pendingCommit(), pendingCommit()];
    for (const commit of commits) await queue.add(commit.promise);
    commits[0]?.resolve(1);
    commits[1]?.resolve(2);
    await settleTurn();
    expect(acknowledged).toEqual([1]); // batch 1's acknowledgement failed; batch 2 is not acknowledged

    let settled = false;
    const settling = queue.settle().then(() => {
      settled = true;
    });
    await settleTurn();
    expect(settled).toBe(false); // batch 3 is still committing
    commits[2]?.resolve(3);
    await settling;
    expect(acknowledged).toEqual([1]);
  });

  it("drain rejects with the acknowledgement failure once the commits have settled", async () => {
    const sendFailure = new Error("send failed");
    const queue = new CommitQueue(8, async () => {
      throw sendFailure;
    });
    const [first, second] = [pendingCommit(), pendingCommit()];
    await queue.add(first.promise);
    await queue.add(second.promise);
    first.resolve(1);
    await expect(queue.drain()).rejects.toBe(sendFailure);
    let settled = false;
    const settling = queue.settle().then(() => {
      settled = true;
    });
    await settleTurn();
    expect(settled).toBe(false);
    second.reject(new Error("batch 2 failed"));
    await settling;
  });
});
