import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runVerb, startTestServer, type TestServer } from "./verbs-support.js";

let server: TestServer;
const encoder = new TextEncoder();
const records = (count: number) => Array.from({ length: count }, (_, i) => ({ sequence: i + 1, payload: encoder.encode(`r${i + 1}`) }));

beforeAll(async () => {
  server = await startTestServer();
  await using client = server.client();
  await client.produce(server.storeId, "orders", "o-1", records(10));
  await client.produce(server.storeId, "orders", "o-2", records(3));
  await client.produce(server.storeId, "audit", "log", records(2));
});

afterAll(async () => {
  await server?.close();
});

async function ok(args: string[]): Promise<unknown> {
  const result = await runVerb(args, { env: server.env });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as unknown;
}

async function refused(args: string[], code: number): Promise<string> {
  const result = await runVerb(args, { env: server.env });
  expect(result.code).toBe(code);
  expect(result.stdout).toBe("");
  return result.stderr;
}

// Each case spawns several verbs through tsx; on two busy cores one took 50 s (2026-12-06).
describe("streamkit truncate, close, retention and delete", { timeout: 120_000 }, () => {
  it("truncates a segment with --before and --yes, and refuses without them", async () => {
    expect(await refused(["truncate", "orders", "o-1", "--before", "4"], 2)).toMatch(/--yes/);
    expect(await refused(["truncate", "orders", "o-1", "--yes"], 2)).toMatch(/--before/);
    expect(await ok(["truncate", "orders", "o-1", "--before", "4", "--yes"])).toMatchObject({ firstSequence: 4, lastSequence: 10 });
    await using client = server.client();
    const first = await client.consumeSegment(server.storeId, { space: "orders", segment: "o-1" })[Symbol.asyncIterator]().next();
    expect(first.value).toMatchObject({ sequence: 4 });
    expect(await refused(["consume", "orders", "o-1", "--from", "2"], 1)).toMatch(/out_of_range.*firstSequence/);
  });

  it("closes a segment; a publish to it then fails with failed_precondition", async () => {
    expect(await ok(["close", "orders", "o-2"])).toMatchObject({ lastSequence: 3, closed: true });
    const late = await runVerb(["publish", "orders", "o-2"], { env: server.env, input: "late\n" });
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/failed_precondition/);
  });

  it("shows, sets and clears a space's retention", async () => {
    expect(await ok(["retention", "audit"])).toEqual({});
    expect(await ok(["retention", "audit", "--max-entries", "5", "--max-age-ms", "0"])).toEqual({ maxEntriesPerSegment: 5 });
    expect(await ok(["retention", "audit"])).toEqual({ maxEntriesPerSegment: 5 });
    expect(await ok(["retention", "audit", "--clear"])).toEqual({});
    expect(await refused(["retention", "audit", "--max-bytes", "-1"], 2)).toMatch(/max-bytes/);
  });

  it("purges a segment with --purge, after which its sequences start at 1 again", async () => {
    expect(await refused(["delete", "--all", "--purge", "--yes"], 2)).toMatch(/--purge/);
    expect(await refused(["delete", "audit", "log", "--purge"], 2)).toMatch(/--yes/);
    expect(await ok(["delete", "audit", "log", "--purge", "--yes"])).toMatchObject({ segment: "log", lastSequence: 2, deleted: true });
    await using client = server.client();
    expect(await client.getSegments(server.storeId, "audit")).toEqual([]);
    expect((await client.publish(server.storeId, "audit", "log", encoder.encode("again"))).lastSequence).toBe(1);
  });

  it("deletes a segment, a space and the store, each only with --yes", async () => {
    expect(await refused(["delete", "orders", "o-1"], 2)).toMatch(/--yes/);
    expect(await ok(["delete", "orders", "o-1", "--yes"])).toMatchObject({ segment: "o-1", lastSequence: 10, deleted: true });
    expect(await ok(["delete", "orders", "--yes"])).toEqual([expect.objectContaining({ segment: "o-2", deleted: true })]);
    expect(await refused(["delete", "orders", "--yes"], 1)).toMatch(/not_found/);
    expect(await refused(["delete", "--yes"], 2)).toMatch(/--all/);
    expect(await ok(["delete", "--all", "--yes"])).toEqual({ deleted: server.storeId });
    await using client = server.client();
    expect(await client.getSpaces(server.storeId)).toEqual([]);
  });
});
