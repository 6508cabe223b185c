import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLevelStoreFactory } from "../store/level/index.js";
import type { StoredEntry } from "../store/types.js";
import {
  PRODUCER_BATCH_SIZE,
  PRODUCER_SEGMENTS,
  PRODUCER_SPACE,
  parseAckLine,
  producerPayload,
} from "./fixtures/producer-data.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const producerScript = join(root, "test", "fixtures", "producer.ts");
/** Bound on waiting for a producer's acknowledgements (startup included). */
const ACK_WAIT_MS = 20_000;

/** Highest acknowledged sequence per segment. */
type Acks = Map<string, number>;

/** Runs the producer until it has acknowledged `wanted` batches, then kills it with SIGKILL. */
async function produceThenKill(dataDir: string, storeId: string, wanted: number, acks: Acks): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", producerScript, dataDir, storeId], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
  try {
    await waitForAcks(child, wanted, acks, exited, () => stderr);
  } finally {
    child.kill("SIGKILL");
  }
  expect(await exited).toBe("SIGKILL");
}

function waitForAcks(child: ChildProcess, wanted: number, acks: Acks, exited: Promise<unknown>, stderr: () => string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`only ${seen} of ${wanted} acks within ${ACK_WAIT_MS} ms\n${stderr()}`)), ACK_WAIT_MS);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const ack = parseAckLine(line);
      if (ack === undefined) return;
      acks.set(ack.segment, Math.max(acks.get(ack.segment) ?? 0, ack.lastSequence));
      if (++seen === wanted) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`producer exited after ${seen} of ${wanted} acks\n${stderr()}`));
    });
  });
}

describe("durability across kill -9", () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "streamkit-durability-"));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  // Two producer runs, each bounded by ACK_WAIT_MS.
  it("keeps every acknowledged batch intact and no partial batch, across two kills", { timeout: 3 * ACK_WAIT_MS }, async () => {
    const storeId = randomUUID();
    const acks: Acks = new Map();
    for (const wanted of [40, 60]) {
      await produceThenKill(dataDir, storeId, wanted, acks);

      const store = await createLevelStoreFactory({ dataDir }).open(storeId);
      try {
        let total = 0;
        for (const segment of PRODUCER_SEGMENTS) {
          const status = await store.segmentStatus(PRODUCER_SPACE, segment);
          const last = status?.lastSequence ?? 0;
          expect(last).toBeGreaterThanOrEqual(acks.get(segment) ?? 0);
          expect(last % PRODUCER_BATCH_SIZE).toBe(0);
          const entries: StoredEntry[] = [];
          for await (const entry of store.readSegment({ space: PRODUCER_SPACE, segment })) entries.push(entry);
          expect(entries.map((entry) => entry.sequence)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
          for (const entry of entries) expect(entry.payload).toEqual(producerPayload(segment, entry.sequence));
          // Each batch is one commit: one trx per batch of entries, a new one for the next batch.
          for (let start = 0; start < entries.length; start += PRODUCER_BATCH_SIZE) {
            const batch = entries.slice(start, start + PRODUCER_BATCH_SIZE);
            expect(new Set(batch.map((entry) => entry.trx.id)).size).toBe(1);
            if (start > 0) expect(batch[0]?.trx.id).not.toBe(entries[start - 1]?.trx.id);
          }
          total += last;
        }
        const space: StoredEntry[] = [];
        for await (const entry of store.readSpace({ space: PRODUCER_SPACE })) space.push(entry);
        expect(space).toHaveLength(total);
        for (let i = 1; i < space.length; i++) expect(space[i]?.position).toBeGreaterThan(space[i - 1]?.position ?? Infinity);
      } finally {
        await store.close();
      }
    }
  });
});
