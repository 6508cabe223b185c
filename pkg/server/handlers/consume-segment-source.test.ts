import { afterEach, describe, expect, it } from "vitest";
import { dropSchema, randomSchema } from "../../../test/support/pg-schema.js";
import { postgres, skipping } from "../../../test/support/services.js";
import { createMemoryStoreFactory } from "../../../store/memory/index.js";
import { createPostgresStoreFactoryWith } from "../../../store/postgres/factory.js";
import type { Store, StoredEntry } from "../../../store/types.js";
import { SegmentReadSource } from "./consume-segment-source.js";

const STORE = "2a4c6e8f-1b3d-4f5a-8c7e-9d0b2f4a6c8e";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A follow resumed after entry 10 at position 100 (the offset `s10_2s`). */
function resumed(store: Store): SegmentReadSource {
  const time = { min: 0, max: Number.MAX_SAFE_INTEGER };
  return new SegmentReadSource(store, {
    space: "s",
    segment: "g",
    fromSequence: 11,
    maxSequence: Infinity,
    time,
    limit: Infinity,
    follow: true,
    after: { sequence: 10, position: 100 },
  });
}

/** A live entry before the read's position, made visible after the entry it resumed after. */
const entry9: StoredEntry = { space: "s", segment: "g", sequence: 9, timestamp: 1, trx: { id: "t", node: "n", number: 1 }, payload: new Uint8Array(), metadata: {}, position: 101 };

describe("a segment follow's live check for a segment written again", () => {
  it("ends the follow on a store whose positions rise with sequences (lifecycle)", async () => {
    const store = await createMemoryStoreFactory().open(STORE);
    cleanups.push(() => store.close());
    expect(store.features.lifecycle).toBe(true);
    expect(() => resumed(store).takeLive([entry9])).toThrow(expect.objectContaining({ kind: "not_found" }));
  });

  skipping(postgres, "the live check in PostgreSQL's xid ordering");
  it.skipIf(postgres.url === undefined)("is skipped in PostgreSQL's xid ordering, where a lower sequence may commit later", async () => {
    const connectionString = postgres.url ?? "";
    const schema = randomSchema("sk_xid");
    cleanups.push(() => dropSchema(connectionString, schema));
    const factory = createPostgresStoreFactoryWith({ connectionString, schema, pool: { max: 1 } }, { ordering: "xid" });
    cleanups.push(() => factory.close());
    const store = await factory.open(STORE);
    cleanups.push(() => store.close());
    expect(store.features.lifecycle).not.toBe(true);
    expect(resumed(store).takeLive([entry9])).toEqual({ taken: [], gap: false });
  });
});
