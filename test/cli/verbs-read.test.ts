import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runVerb, startTestServer, type TestServer } from "./verbs-support.js";

let server: TestServer;
const encoder = new TextEncoder();
/** Tests that run several CLI processes: each takes seconds to start on a loaded CI machine. */
const PROCESSES_TIMEOUT_MS = 90_000;

/** orders/o-1: 1..5, orders/o-2: 1..2, payments/p-1: 1..2, committed in that order. */
beforeAll(async () => {
  server = await startTestServer();
  await using client = server.client();
  const records = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, index) => ({ sequence: index + 1, payload: encoder.encode(`${prefix}-${index + 1}`) }));
  await client.produce(server.storeId, "orders", "o-1", records("o1", 5));
  await client.produce(server.storeId, "orders", "o-2", records("o2", 2));
  await client.produce(server.storeId, "payments", "p-1", records("p1", 2));
  await client.publish(server.storeId, "blobs", "b-1", new Uint8Array([0xde, 0xad, 0xbe, 0xef]), { metadata: { kind: "binary" } });
});

afterAll(async () => {
  await server?.close();
});

async function read(args: string[]) {
  const result = await runVerb(args, { env: server.env });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return result.stdout;
}

const payloads = (stdout: string) => jsonLines(stdout).map((entry) => entry.payload);

describe("streamkit consume", () => {
  it("a segment from a sequence, with a limit", async () => {
    expect(payloads(await read(["consume", "orders", "o-1", "--from", "2", "--limit", "2"]))).toEqual(["o1-2", "o1-3"]);
    expect(payloads(await read(["consume", "orders", "o-1", "--limit", "0"]))).toEqual(["o1-1", "o1-2", "o1-3", "o1-4", "o1-5"]);
  });

  it("resumes right after an entry's offset", async () => {
    const [, second] = jsonLines(await read(["consume", "orders", "o-1", "--limit", "2"]));
    expect(second).toMatchObject({ sequence: 2, payload: "o1-2" });
    expect(payloads(await read(["consume", "orders", "o-1", "--from", second!.offset as string]))).toEqual(["o1-3", "o1-4", "o1-5"]);
  });

  it("a space in commit order, resumed from an offset", async () => {
    const entries = jsonLines(await read(["consume", "orders"]));
    expect(entries.map((entry) => `${entry.segment as string}:${entry.sequence as number}`)).toEqual(["o-1:1", "o-1:2", "o-1:3", "o-1:4", "o-1:5", "o-2:1", "o-2:2"]);
    expect(payloads(await read(["consume", "orders", "--from", entries[4]!.offset as string]))).toEqual(["o2-1", "o2-2"]);
  });

  it("several spaces with --space, each from its own offset", async () => {
    const all = jsonLines(await read(["consume", "--space", "orders", "--space", "payments"]));
    expect(all).toHaveLength(9);
    expect(new Set(all.map((entry) => entry.space))).toEqual(new Set(["orders", "payments"]));
    const ordersOffset = jsonLines(await read(["consume", "orders", "--limit", "6"]))[5]!.offset as string;
    const paymentsOffset = jsonLines(await read(["consume", "payments", "--limit", "1"]))[0]!.offset as string;
    const resumed = jsonLines(
      await read(["consume", "--space", "orders", "--space", "payments", "--from", `orders=${ordersOffset}`, "--from", `payments=${paymentsOffset}`]),
    );
    expect(resumed.map((entry) => entry.payload).sort()).toEqual(["o2-2", "p1-2"]);
  });

  it("payloads as text, base64 or whichever fits", async () => {
    const [auto] = jsonLines(await read(["consume", "blobs", "b-1"]));
    expect(auto).toMatchObject({ payload: { base64: "3q2+7w==" }, metadata: { kind: "binary" } });
    expect(jsonLines(await read(["consume", "orders", "o-1", "--limit", "1", "--payload", "base64"]))[0]!.payload).toEqual({
      base64: Buffer.from("o1-1").toString("base64"),
    });
    expect(jsonLines(await read(["consume", "blobs", "b-1", "--payload", "text"]))[0]!.payload).toBe("\u07ad\ufffd\ufffd");
  });

  it("a missing segment reads nothing", async () => {
    expect(await read(["consume", "orders", "nope"])).toBe("");
  });

  it("refuses arguments that cannot make a read (exit 2)", async () => {
    const cases: [string[], RegExp][] = [
      [["consume"], /give a space/],
      [["consume", "orders", "o-1", "--space", "payments"], /a segment can be read from one space only/],
      [["consume", "orders", "--from", "3"], /--from: a sequence needs a segment/],
      [["consume", "orders", "o-1", "--from", "p3"], /--from: is a space offset, expected a segment offset/],
      [["consume", "--space", "orders", "--space", "payments", "--from", "p1"], /give <space>=<from>/],
      [["consume", "orders", "--limit", "-1"], /--limit/],
      [["consume", "orders", "--payload", "hex"], /--payload: must be one of auto, text, base64/],
      [["consume", "*"], /space: '\*' is reserved/],
    ];
    const results = await Promise.all(cases.map(([args]) => runVerb(args, { env: server.env })));
    results.forEach((result, index) => {
      expect(result.code, cases[index]![0].join(" ")).toBe(2);
      expect(result.stderr).toMatch(cases[index]![1]);
    });
  });
});

describe("streamkit peek, spaces, segments", () => {
  it("peek prints the latest entry, or the empty placeholder", async () => {
    expect(JSON.parse(await read(["peek", "orders", "o-1"]))).toMatchObject({ space: "orders", segment: "o-1", sequence: 5, payload: "o1-5", offset: expect.stringMatching(/^s5_[0-9a-z]+$/) });
    expect(JSON.parse(await read(["peek", "orders", "empty"]))).toEqual({
      space: "orders",
      segment: "empty",
      sequence: 0,
      timestamp: 0,
      offset: "",
      metadata: {},
      payload: "",
    });
  });

  it("spaces and segments as JSON, sorted, with the fields of their tables", { timeout: PROCESSES_TIMEOUT_MS }, async () => {
    const [spacesOut, segmentsOut, nowhereOut] = await Promise.all([read(["spaces"]), read(["segments", "orders"]), read(["segments", "nowhere"])]);
    const spaces = JSON.parse(spacesOut) as { space: string; segments: number; entries: number; lastTimestamp: number }[];
    expect(spaces.map((space) => space.space)).toEqual(["blobs", "orders", "payments"]);
    expect(spaces[1]).toEqual({ space: "orders", segments: 2, entries: 7, lastTimestamp: expect.any(Number) });
    const segments = JSON.parse(segmentsOut) as Record<string, unknown>[];
    expect(segments).toEqual([
      { segment: "o-1", firstSequence: 1, lastSequence: 5, firstTimestamp: expect.any(Number), lastTimestamp: expect.any(Number), state: "open" },
      { segment: "o-2", firstSequence: 1, lastSequence: 2, firstTimestamp: expect.any(Number), lastTimestamp: expect.any(Number), state: "open" },
    ]);
    expect(JSON.parse(nowhereOut)).toEqual([]);
  });

  it("spaces and segments as tables: every field, times as ISO 8601", { timeout: PROCESSES_TIMEOUT_MS }, async () => {
    const iso = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
    const [spacesTable, segmentsTable] = await Promise.all([read(["spaces", "--output", "table"]), read(["segments", "orders", "-o", "table"])]);
    const spaces = spacesTable.split("\n");
    expect(spaces[0]).toMatch(/^SPACE\s+SEGMENTS\s+ENTRIES\s+LAST TIMESTAMP$/);
    expect(spaces[2]).toMatch(new RegExp(`^orders\\s+2\\s+7\\s+${iso}$`));
    const segments = segmentsTable.split("\n");
    expect(segments[0]).toMatch(/^SEGMENT\s+FIRST SEQUENCE\s+LAST SEQUENCE\s+FIRST TIMESTAMP\s+LAST TIMESTAMP\s+STATE$/);
    expect(segments[1]).toMatch(new RegExp(`^o-1\\s+1\\s+5\\s+${iso}\\s+${iso}\\s+open$`));
    expect(segments[2]).toMatch(new RegExp(`^o-2\\s+1\\s+2\\s+${iso}\\s+${iso}\\s+open$`));
    expect(segments).toHaveLength(4);
  });

  it("--store still names the store on client commands, with a note to use --store-id", { timeout: PROCESSES_TIMEOUT_MS }, async () => {
    const { STREAMKIT_STORE_ID: storeId, ...env } = server.env;
    const result = await runVerb(["spaces", "--store", storeId!], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/--store is deprecated here .*use --store-id/);
    expect((JSON.parse(result.stdout) as unknown[]).length).toBe(3);
  });
});
