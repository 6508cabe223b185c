import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runVerb, startTestServer, type TestServer } from "./verbs-support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

const consumeAll = async (space: string, segment: string) => {
  const read = await runVerb(["consume", space, segment], { env: server.env });
  expect(read.stderr).toBe("");
  expect(read.code).toBe(0);
  return jsonLines(read.stdout);
};

describe("streamkit produce", () => {
  it("raw: each stdin line is a payload, byte for byte, and consume prints them back", async () => {
    const lines = ["plain", "", "  spaced  ", "ünïcødé ✓ 🚀", '{"not":"parsed"}', "tab\there"];
    const produced = await runVerb(["produce", "raw", "s-1"], { env: server.env, input: `${lines.join("\n")}\n` });
    expect(produced.stderr).toBe(""); // no progress line: stderr is not a terminal
    expect(produced.code).toBe(0);
    expect(JSON.parse(produced.stdout)).toMatchObject({
      produced: lines.length,
      status: { space: "raw", segment: "s-1", firstSequence: 1, lastSequence: lines.length },
    });
    const entries = await consumeAll("raw", "s-1");
    expect(entries.map((entry) => entry.payload)).toEqual(lines);
    expect(entries.map((entry) => entry.sequence)).toEqual(lines.map((_, index) => index + 1));
    for (const entry of entries) {
      expect(Object.keys(entry)).toEqual(["space", "segment", "sequence", "timestamp", "offset", "metadata", "payload"]);
      expect(entry).toMatchObject({ space: "raw", segment: "s-1", metadata: {} });
    }
  });

  it("raw: CRLF line ends, a last line without a break, and bytes that are not UTF-8 (printed as base64)", async () => {
    const invalid = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const input = Buffer.concat([Buffer.from("dos line\r\n"), invalid, Buffer.from("\nno break at the end")]);
    const produced = await runVerb(["produce", "raw", "s-2"], { env: server.env, input });
    expect(produced.code).toBe(0);
    const entries = await consumeAll("raw", "s-2");
    expect(entries.map((entry) => entry.payload)).toEqual(["dos line", { base64: invalid.toString("base64") }, "no break at the end"]);
  });

  it("json: text and base64 payloads with metadata; blank lines skipped", async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const input = [
      JSON.stringify({ payload: "hello", metadata: { type: "greeting", lang: "en" } }),
      "",
      JSON.stringify({ payload: { base64: bytes.toString("base64") } }),
      JSON.stringify({ payload: "ünïcødé", metadata: {} }),
    ].join("\n");
    const produced = await runVerb(["produce", "json", "s-1", "--format", "json"], { env: server.env, input });
    expect(produced.stderr).toBe("");
    expect(produced.code).toBe(0);
    expect(JSON.parse(produced.stdout)).toMatchObject({ produced: 3, status: { lastSequence: 3 } });
    const entries = await consumeAll("json", "s-1");
    expect(entries.map(({ payload, metadata }) => ({ payload, metadata }))).toEqual([
      { payload: "hello", metadata: { type: "greeting", lang: "en" } },
      { payload: { base64: bytes.toString("base64") }, metadata: {} },
      { payload: "ünïcødé", metadata: {} },
    ]);
  });

  it("continues from the segment's head, in batches of --batch-size, reading --file", async () => {
    const first = await runVerb(["produce", "batches", "s-1"], { env: server.env, input: "a\nb\n" });
    expect(first.code).toBe(0);
    const file = join(server.dataDir, "records.txt");
    await writeFile(file, "c\nd\ne\nf\ng\n");
    const second = await runVerb(["produce", "batches", "s-1", "--file", file, "--batch-size", "2"], { env: server.env });
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      produced: 5,
      status: expect.objectContaining({ firstSequence: 1, lastSequence: 7 }),
    });
    const entries = await consumeAll("batches", "s-1");
    expect(entries.map((entry) => [entry.sequence, entry.payload])).toEqual(["a", "b", "c", "d", "e", "f", "g"].map((payload, index) => [index + 1, payload]));
    // Batches of two commit separately: a,b | c,d | e,f | g.
    await using client = server.client();
    const transactions: string[] = [];
    for await (const entry of client.consumeSegment(server.storeId, { space: "batches", segment: "s-1" })) transactions.push(entry.trx!.id);
    expect(new Set(transactions).size).toBe(4);
    expect(transactions[2]).toBe(transactions[3]);
    expect(transactions[3]).not.toBe(transactions[4]);
  });

  it("empty input produces nothing and says so", async () => {
    const produced = await runVerb(["produce", "empty", "s-1"], { env: server.env, input: "" });
    expect(produced.code).toBe(0);
    expect(JSON.parse(produced.stdout)).toEqual({ produced: 0, status: null });
  });

  it("a taken sequence fails with sequence_conflict (exit 1) and leaves the segment as it was", async () => {
    await runVerb(["produce", "conflict", "s-1"], { env: server.env, input: "one\ntwo\n" });
    const clash = await runVerb(["produce", "conflict", "s-1", "--start-sequence", "2"], { env: server.env, input: "other\n" });
    expect(clash.code).toBe(1);
    expect(clash.stdout).toBe("");
    expect(clash.stderr).toMatch(/^streamkit produce: sequence_conflict: .*"expected":3,"actual":2/m);
    expect((await consumeAll("conflict", "s-1")).map((entry) => entry.payload)).toEqual(["one", "two"]);
    const next = await runVerb(["produce", "conflict", "s-1", "--start-sequence", "3"], { env: server.env, input: "three\n" });
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ produced: 1, status: { lastSequence: 3 } });
  });

  it("a malformed json line is a usage error naming the line (exit 2)", async () => {
    const cases: [string, RegExp][] = [
      ['{"payload":"ok"}\n{"payload":', /line 2: not JSON: .*; records before it may have been produced \(`streamkit peek` shows the head\)/],
      ['{"payload":1}', /line 1: "payload" must be a string or \{ "base64": "<base64>" \}/],
      ['{"payload":{"base64":"***"}}', /line 1: "payload" must be/],
      ['{"payload":"x","metadata":{"n":1}}', /line 1: "metadata" must be an object of strings/],
      ['{"payload":"x","sequence":4}', /line 1: unknown field "sequence"/],
      ['{"metadata":{}}', /line 1: "payload" is missing/],
      ["[1]", /line 1: must be a JSON object/],
    ];
    const results = await Promise.all(
      cases.map(([input], index) => runVerb(["produce", "bad", `s-${index}`, "--format", "json"], { env: server.env, input })),
    );
    results.forEach((result, index) => {
      expect(result.code, cases[index]![0]).toBe(2);
      expect(result.stderr).toMatch(cases[index]![1]);
    });
    // Lines are checked as they stream in: a bad first line sends nothing.
    await using client = server.client();
    for (let index = 1; index < cases.length; index++) expect((await client.peek(server.storeId, "bad", `s-${index}`)).sequence).toBe(0);
  });
});

describe("streamkit publish", () => {
  it("publishes each line in order at the next sequence, after what is there", async () => {
    await runVerb(["produce", "pub", "s-1"], { env: server.env, input: "first\n" });
    const published = await runVerb(["publish", "pub", "s-1"], { env: server.env, input: "second\nthird\n" });
    expect(published.stderr).toBe("");
    expect(published.code).toBe(0);
    expect(JSON.parse(published.stdout)).toMatchObject({ published: 2, status: { space: "pub", segment: "s-1", lastSequence: 3 } });
    const json = await runVerb(["publish", "pub", "s-1", "--format", "json"], {
      env: server.env,
      input: JSON.stringify({ payload: "fourth", metadata: { k: "v" } }),
    });
    expect(json.code).toBe(0);
    const entries = await consumeAll("pub", "s-1");
    expect(entries.map(({ sequence, payload, metadata }) => [sequence, payload, metadata])).toEqual([
      [1, "first", {}],
      [2, "second", {}],
      [3, "third", {}],
      [4, "fourth", { k: "v" }],
    ]);
  });
});
