import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import { createLevelStoreFactory } from "./index.js";

describe("createLevelStoreFactory", () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "streamkit-level-factory-"));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("opens a store again while its previous instance is still closing, with everything in it", async () => {
    const factory = createLevelStoreFactory({ dataDir });
    const id = randomUUID();
    const first = await factory.open(id);
    // Enough in flight that the first instance is still closing when the second is opened.
    const payload = new Uint8Array(1024);
    const pending = [0, 1, 2, 3].map((batch) =>
      first.produce("s", "g", Array.from({ length: 1000 }, (_, i) => ({ sequence: batch * 1000 + i + 1, payload }))),
    );
    const closing = first.close();
    const second = await factory.open(id);
    try {
      await closing;
      expect((await Promise.all(pending)).map((status) => status.lastSequence)).toEqual([1000, 2000, 3000, 4000]);
      expect((await second.segmentStatus("s", "g"))?.lastSequence).toBe(4000);
    } finally {
      await second.close();
    }
  });

  it("refuses a second open instance of one store with unavailable", async () => {
    const factory = createLevelStoreFactory({ dataDir });
    const id = randomUUID();
    const store = await factory.open(id);
    try {
      const error = await factory.open(id).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(StreamsError);
      expect((error as StreamsError).kind).toBe("unavailable");
    } finally {
      await store.close();
    }
  });

  it("takes store ids in any case, reports them in lower case, and rejects non-UUIDs", async () => {
    const factory = createLevelStoreFactory({ dataDir, nodeId: "node-7" });
    const id = randomUUID();
    const store = await factory.open(id.toUpperCase());
    try {
      expect(store.storeId).toBe(id);
      await store.produce("s", "g", [{ sequence: 1, payload: new Uint8Array([1]) }]);
      expect((await store.peek("s", "g"))?.trx.node).toBe("node-7");
    } finally {
      await store.close();
    }
    await expect(factory.open("../escape")).rejects.toMatchObject({ kind: "invalid_argument" });
  });

  it("rejects bad options with TypeError", () => {
    expect(() => createLevelStoreFactory({ dataDir: "" })).toThrow(TypeError);
    expect(() => createLevelStoreFactory({ dataDir, nodeId: "" })).toThrow(TypeError);
  });
});
