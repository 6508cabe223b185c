import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import type { StreamsClient } from "../../pkg/client/index.js";
import { postgres, skipping } from "../support/services.js";
import { bounded } from "../support/waits.js";
import { Cluster, type Instance } from "./cluster.js";

const skip = skipping(postgres, "lifecycle through serve on PostgreSQL");

const records = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ sequence: from + i, payload: Buffer.from(`e${from + i}`) }));

async function sequencesOf(entries: AsyncIterable<{ sequence: number }>): Promise<number[]> {
  const seen: number[] = [];
  for await (const entry of entries) seen.push(entry.sequence);
  return seen;
}

async function failureOf(run: () => Promise<unknown>): Promise<StreamsError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof StreamsError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

/**
 * Two `streamkit serve --store postgres` processes over WebSocket, with retention defaults from the
 * config file (docs/configuration.md, `retention`): what one instance removes, the other's readers
 * are told of; a segment closed on one ends the other's follow reader.
 */
describe.skipIf(skip)("lifecycle through streamkit serve --store postgres, two processes", () => {
  let cluster: Cluster;
  let dir: string;
  let a: Instance;
  let b: Instance;
  let atA: StreamsClient;
  let atB: StreamsClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamkit-pglife-"));
    const config = join(dir, "config.json");
    await writeFile(config, JSON.stringify({ retention: { audit: { maxEntriesPerSegment: 5 } } }));
    // Sweeps only when asked (the operator endpoint), so the test knows when one ran.
    const extraArgs = ["--config", config, "--retention-sweep-interval-ms", "3600000"];
    cluster = new Cluster({ postgresUrl: postgres.url ?? "", adminPostgresUrl: postgres.url ?? "", bus: { kind: "postgres" }, extraArgs });
    // One at a time: two processes compiling at once on a busy machine can outlast a start's bound.
    [a, b] = [await cluster.start(), await cluster.start()];
    [atA, atB] = [cluster.client(a), cluster.client(b)];
  }, 120_000);

  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("enforces the config file's retention default; a reader on the other instance resuming in the removed range is told so", async () => {
    const storeId = randomUUID();
    await atA.produce(storeId, "audit", "g", records(1, 20));
    await atA.produce(storeId, "other", "g", records(1, 20));
    expect(await sequencesOf(atB.consumeSegment(storeId, { space: "audit", segment: "g" }))).toHaveLength(20);
    const response = await fetch(`${a.url}/api/admin/stores/${storeId}/sweep`, {
      method: "POST",
      headers: { authorization: `Bearer ${await cluster.token()}` },
    });
    expect(await response.json()).toMatchObject({ ok: true, sweptEntries: 15 });
    expect(await sequencesOf(atB.consumeSegment(storeId, { space: "audit", segment: "g" }))).toEqual([16, 17, 18, 19, 20]);
    const error = await failureOf(() => sequencesOf(atB.consumeSegment(storeId, { space: "audit", segment: "g", minSequence: 3 })));
    expect(error).toMatchObject({ kind: "out_of_range", details: { firstSequence: 16 } });
    expect(await sequencesOf(atB.consumeSegment(storeId, { space: "other", segment: "g" }))).toHaveLength(20);
    // A space's own retention replaces its default.
    await atB.setRetention(storeId, "audit", { maxEntriesPerSegment: 2 });
    await fetch(`${a.url}/api/admin/stores/${storeId}/sweep`, { method: "POST", headers: { authorization: `Bearer ${await cluster.token()}` } });
    expect(await sequencesOf(atB.consumeSegment(storeId, { space: "audit", segment: "g" }))).toEqual([19, 20]);
    expect((await atB.getStatus(storeId)).spaces).toEqual([
      expect.objectContaining({ space: "audit", entryCount: 2 }),
      expect.objectContaining({ space: "other", entryCount: 20 }),
    ]);
  });

  it("ends a follow reader on one instance when the segment is closed on the other, and refuses later writes there", async () => {
    const storeId = randomUUID();
    await atA.produce(storeId, "s", "g", records(1, 3));
    const seen: number[] = [];
    const following = (async () => {
      for await (const entry of atB.consumeSegment(storeId, { space: "s", segment: "g", follow: true })) seen.push(entry.sequence);
    })();
    await atA.produce(storeId, "s", "g", records(4, 5));
    expect(await atA.closeSegment(storeId, "s", "g")).toMatchObject({ lastSequence: 5, closed: true });
    await bounded(following, "the follow reader on the other instance to end");
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(await failureOf(() => atB.publish(storeId, "s", "g", Buffer.from("late")))).toMatchObject({ kind: "failed_precondition" });
    // A deleted segment's sequences are not reused, whichever instance produces next.
    await atA.produce(storeId, "s", "h", records(1, 2));
    await atB.deleteSegment(storeId, "s", "h");
    expect(await failureOf(() => atA.produce(storeId, "s", "h", records(1, 1)))).toMatchObject({ kind: "sequence_conflict", details: { expected: 3 } });
  });
});
