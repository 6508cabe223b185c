import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runVerb, startTestServer, type TestServer } from "./verbs-support.js";

let server: TestServer;
const encoder = new TextEncoder();

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
      [["consume", "--space", "orders", "--space", "payments", "--from", "p1"], /give <space>=<offset>/],
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
    expect(JSON.parse(await read(["peek", "orders", "o-1"]))).toMatchObject({ space: "orders", segment: "o-1", sequence: 5, payload: "o1-5", offset: "s5" });
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

  it("spaces and segments as JSON, sorted", async () => {
    expect(JSON.parse(await read(["spaces"]))).toEqual(["blobs", "orders", "payments"]);
    expect(JSON.parse(await read(["segments", "orders"]))).toEqual(["o-1", "o-2"]);
    expect(JSON.parse(await read(["segments", "nowhere"]))).toEqual([]);
  });

  it("spaces and segments as tables", async () => {
    const spaces = (await read(["spaces", "--output", "table"])).split("\n");
    expect(spaces[0]).toMatch(/^SPACE\s+SEGMENTS\s+ENTRIES\s+LAST WRITE$/);
    expect(spaces[2]).toMatch(/^orders\s+2\s+7\s+\d{4}-\d\d-\d\dT/);
    expect(await read(["segments", "orders", "-o", "table"])).toBe("SEGMENT\no-1\no-2\n");
  });
});
