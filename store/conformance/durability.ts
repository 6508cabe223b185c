import assert from "node:assert/strict";
import type { SegmentStatus } from "../../pkg/api/index.js";
import type { Store } from "../types.js";
import type { StoreSuiteContext } from "./context.js";
import { bytes, collect, expectCommitOrder, records, text } from "./support.js";

const SEGMENTS = ["a", "b", "c", "d"];
const BATCHES = 20;
const PUBLISHES = 50;

/** Payloads of acknowledged writes, by `segment:sequence`. */
type Written = Map<string, string>;

function note(written: Written, status: SegmentStatus, texts: readonly string[]): void {
  texts.forEach((payload, i) => written.set(`${status.segment}:${status.lastSequence - texts.length + 1 + i}`, payload));
}

/**
 * One wave of writes into `written`: per segment, `batches` batches of 3 from sequence `from` (issued
 * together when `together`, else one after another), and PUBLISHES publishes to segment p, all at once.
 */
function wave(store: Store, written: Written, tag: string, from: number, batches: number, together: boolean): Promise<unknown> {
  const produces = SEGMENTS.map(async (segment) => {
    const commit = async (i: number): Promise<void> => {
      const batch = records(from + 3 * i, from + 3 * i + 2, `${tag}${segment}`);
      note(written, await store.produce("s", segment, batch), batch.map((record) => text(record.payload)));
    };
    if (together) await Promise.all(Array.from({ length: batches }, (_, i) => commit(i)));
    else for (let i = 0; i < batches; i++) await commit(i);
  });
  const publishes = Array.from({ length: PUBLISHES }, async (_, i) => {
    const payload = `${tag}p${i}`;
    note(written, await store.publish("s", "p", bytes(payload)), [payload]);
  });
  return Promise.all([...produces, ...publishes]);
}

/** What the store holds, by `segment:sequence`. */
async function contents(store: Store): Promise<Written> {
  const entries = await collect(store.readSpace({ space: "s" }));
  expectCommitOrder(entries);
  return new Map(entries.map((entry) => [`${entry.segment}:${entry.sequence}`, text(entry.payload)]));
}

/**
 * Durability, for backends that declare `durable`: every acknowledged write, including those in
 * flight when the store was asked to close, is there once the store and its factory are closed and the
 * data is opened through a new factory (as a restarted process would).
 */
export function describeDurabilityConformance(context: StoreSuiteContext): void {
  context.suite.itIf(context.features.durable)("keeps every acknowledged write, including those in flight at close, through a new factory", async () => {
    const store = context.store();
    const pipelined = context.features.pipelinedProduce === true;
    const written: Written = new Map();
    await wave(store, written, "w1-", 1, BATCHES, pipelined);
    // The second wave is in flight when close is called: close waits for it and every write is acknowledged.
    const second = pipelined ? BATCHES : 1;
    const inFlight = wave(store, written, "w2-", 3 * BATCHES + 1, second, true);
    await Promise.all([store.close(), inFlight]);
    assert.strictEqual(written.size, SEGMENTS.length * (BATCHES + second) * 3 + 2 * PUBLISHES);

    const restarted = await context.restart(store);
    assert.deepStrictEqual(await contents(restarted), written);
    for (const segment of SEGMENTS) assert.strictEqual((await restarted.segmentStatus("s", segment))?.lastSequence, 3 * (BATCHES + second));
    assert.strictEqual((await restarted.segmentStatus("s", "p"))?.lastSequence, 2 * PUBLISHES);
  });
}
