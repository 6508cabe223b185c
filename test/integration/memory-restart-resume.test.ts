import { afterEach, describe, expect, it } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { createInProcProvider } from "../../transport/inproc/index.js";
import { collect, records } from "../support/data.js";
import { bounded } from "../support/waits.js";

const STORE = "7d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b1a";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server on a fresh memory store, as after a restart: no data, positions from 1 again. */
async function server(): Promise<{ client: StreamsClient; close(): Promise<void> }> {
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false, retention: false });
  const client = createClient(createInProcProvider(manager));
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await client.close();
      await manager.close();
    })());
  cleanups.push(close);
  return { client, close };
}

/**
 * A memory store loses everything on a restart, so a segment offset from before it names an entry
 * the segment no longer has: the resume ends with not_found, saying so without claiming a purge
 * (docs/lifecycle.md, "Reads never skip silently").
 */
describe("resuming a segment offset after a restart of a server on the memory store", () => {
  it.each([
    ["the segment is missing", 0],
    ["the segment was written again short of the offset", 3],
  ])("ends with not_found when %s, naming the entry, not a purge", { timeout: 30_000 }, async (_case, rewritten) => {
    const before = await server();
    await before.client.produce(STORE, "s", "g", records(1, 5));
    const fifth = (await collect(before.client.consumeSegment(STORE, { space: "s", segment: "g" }))).at(-1);
    expect(fifth?.sequence).toBe(5);
    await before.close();

    const after = await server();
    if (rewritten > 0) await after.client.produce(STORE, "s", "g", records(1, rewritten));
    const failure = await bounded(
      collect(after.client.consumeSegment(STORE, { space: "s", segment: "g", follow: true, offset: fifth?.offset ?? "" })).then(
        () => "ended",
        (error: unknown) => error,
      ),
      "the resumed follow to end",
    );
    expect(failure).toMatchObject({ kind: "not_found", code: "permanent" });
    const message = (failure as Error).message;
    expect(message).toContain("no longer has entry 5 at position");
    expect(message).toContain("(deleted, purged or lost)");
    expect(message).not.toMatch(/was purged/);
  });
});
