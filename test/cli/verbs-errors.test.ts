import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort, runVerb, startTestServer, type TestServer } from "./verbs-support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

const CLIENT_VERBS: readonly (readonly string[])[] = [
  ["produce", "orders", "o-1"],
  ["publish", "orders", "o-1"],
  ["consume", "orders", "o-1"],
  ["tail", "orders", "o-1"],
  ["peek", "orders", "o-1"],
  ["spaces"],
  ["segments", "orders"],
];

describe("usage errors (exit 2)", () => {
  it("a store id that is not a UUID, or none", async () => {
    const results = await Promise.all([
      ...CLIENT_VERBS.map((args) => runVerb([...args, "--store-id", "not-a-uuid"], { env: server.env })),
      runVerb(["peek", "orders", "o-1"], { env: { STREAMKIT_URL: server.server.wsUrl, STREAMKIT_TOKEN: server.token } }),
    ]);
    results.slice(0, -1).forEach((result, index) => {
      expect(result.code, CLIENT_VERBS[index]!.join(" ")).toBe(2);
      expect(result.stderr).toBe(`streamkit ${CLIENT_VERBS[index]![0]}: --store-id: must be a UUID, got "not-a-uuid"\nRun \`streamkit ${CLIENT_VERBS[index]![0]} --help\` for usage.\n`);
      expect(result.stdout).toBe("");
    });
    expect(results.at(-1)!.code).toBe(2);
    expect(results.at(-1)!.stderr).toMatch(/give the store id with --store-id or STREAMKIT_STORE_ID/);
  });

  it("unknown flags, missing and extra arguments, bad names and values", async () => {
    const cases: [string[], RegExp][] = [
      [["peek", "orders"], /missing <segment>/],
      [["segments", "orders", "extra"], /unexpected argument "extra"/],
      [["spaces", "--verbose"], /Unknown option '--verbose'/],
      [["peek", "orders", "a\u0001b"], /segment: must not contain control characters/],
      [["produce", "orders", "o-1", "--format", "csv"], /--format: must be one of raw, json/],
      [["produce", "orders", "o-1", "--start-sequence", "0"], /--start-sequence: must be an integer 1-/],
      [["produce", "orders", "o-1", "--file", "/nonexistent/records.txt"], /--file: cannot read \/nonexistent\/records.txt/],
      [["spaces", "--url", "ftp://example.com"], /--url: must be a ws:, wss:, http: or https: URL/],
      [["spaces", "-o", "yaml"], /--output: must be one of auto, json, table/],
      [["nonsense"], /unknown command "nonsense"/],
    ];
    const results = await Promise.all(cases.map(([args]) => runVerb(args, { env: server.env })));
    results.forEach((result, index) => {
      expect(result.code, cases[index]![0].join(" ")).toBe(2);
      expect(result.stderr).toMatch(cases[index]![1]);
    });
  });
});

describe("runtime failures (exit 1)", () => {
  it("an unreachable server, for every verb that talks to one", async () => {
    const port = await closedPort();
    const env = { ...server.env, STREAMKIT_URL: `ws://127.0.0.1:${port}` };
    const results = await Promise.all([...CLIENT_VERBS, ["status"]].map((args) => runVerb(args, { env, input: "x\n" })));
    results.forEach((result, index) => {
      expect(result.code, String(index)).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(new RegExp(`^streamkit \\w+: unavailable: cannot reach (ws|http)://127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
    });
  });

  it("no token: the server's refusal, with a hint", async () => {
    const result = await runVerb(["spaces"], { env: { STREAMKIT_URL: server.server.wsUrl, STREAMKIT_STORE_ID: server.storeId } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^streamkit spaces: unauthenticated: .*401.*give a token with --token or STREAMKIT_TOKEN/);
  });

  it("a refused token: the server's refusal, with a hint", async () => {
    const env = { STREAMKIT_URL: server.server.wsUrl, STREAMKIT_STORE_ID: server.storeId, STREAMKIT_TOKEN: "not-a-token" };
    const result = await runVerb(["spaces"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^streamkit spaces: unauthenticated: .*401.*was refused: mint a fresh one with `streamkit token`/);
  });

  it("no token but --data-dir: mints one with the dev secret and says so", async () => {
    const env = { STREAMKIT_URL: server.server.wsUrl, STREAMKIT_STORE_ID: server.storeId };
    const result = await runVerb(["publish", "minted", "m-1", "--data-dir", server.dataDir], { env, input: "hi\n" });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`streamkit publish: no --token given: minting tokens (scope streamkit::${server.storeId}) with ${server.dataDir}/jwt-secret\n`);
    const empty = await runVerb(["spaces", "--data-dir", `${server.dataDir}/none`], { env });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no --token given and no dev secret in/);
  });
});

describe("--help", () => {
  const VERBS = ["serve", "token", "produce", "publish", "consume", "tail", "peek", "spaces", "segments", "status", "delete", "truncate", "close", "retention"];

  it("every verb has one, listing its flags, and exits 0 whatever else is on the line", async () => {
    const results = await Promise.all(VERBS.map((verb) => runVerb([verb, "--bogus", "--help"])));
    results.forEach((result, index) => {
      const verb = VERBS[index]!;
      expect(result.code, verb).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toMatch(new RegExp(`^Usage: streamkit ${verb}\\b`));
      expect(result.stdout).toMatch(/-h, --help/);
    });
    const byVerb = Object.fromEntries(VERBS.map((verb, index) => [verb, results[index]!.stdout]));
    for (const verb of ["produce", "publish", "consume", "tail", "peek", "spaces", "segments"]) {
      expect(byVerb[verb]).toMatch(/--store-id <uuid>\s+STREAMKIT_STORE_ID/);
      expect(byVerb[verb]).toMatch(/--url <url>\s+STREAMKIT_URL/);
      expect(byVerb[verb]).toMatch(/--token <jwt>\s+STREAMKIT_TOKEN/);
    }
    expect(byVerb.token).toMatch(/--scope <scope>.*\(repeatable\)/);
    expect(byVerb.consume).toMatch(/--follow/);
    expect(byVerb.tail).not.toMatch(/--follow /);
    expect(byVerb.produce).toMatch(/--start-sequence <n>/);
    expect(byVerb.status).toMatch(/--output auto\|json\|table/);
  });

  it("streamkit --help lists every verb", async () => {
    const result = await runVerb(["--help"]);
    expect(result.code).toBe(0);
    for (const verb of VERBS) expect(result.stdout).toMatch(new RegExp(`^  ${verb}\\s+\\S`, "m"));
    expect(result.stdout).toMatch(/streamkit --version/);
  });
});
