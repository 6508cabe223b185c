import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../pkg/cli/commands/args.js";
import { serverUrls } from "../../pkg/cli/commands/connect.js";
import { closedPort, runVerb, startTestServer, type TestServer } from "./verbs-support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

describe("--url with several addresses", () => {
  it("takes repeated flags, comma-separated lists, or both; the default when none", () => {
    const hrefs = (values: string[]) => serverUrls(values).map((url) => url.href);
    expect(hrefs([])).toEqual(["ws://127.0.0.1:8080/"]);
    expect(hrefs(["ws://a:1"])).toEqual(["ws://a:1/"]);
    expect(hrefs(["ws://a:1", "ws://b:2"])).toEqual(["ws://a:1/", "ws://b:2/"]);
    expect(hrefs(["ws://a:1, http://b:2,", "wss://c"])).toEqual(["ws://a:1/", "http://b:2/", "wss://c/"]);
    expect(() => serverUrls(["ws://a:1,ftp://b"])).toThrow(new UsageError('--url: must be a ws:, wss:, http: or https: URL, got "ftp://b"'));
  });

  it("a verb reaches the live server past a dead address, given either way", async () => {
    const dead = `ws://127.0.0.1:${await closedPort()}`;
    const live = server.server.wsUrl;
    await server.client().publish(server.storeId, "urls", "u-1", new TextEncoder().encode("x"));
    const { STREAMKIT_URL: _url, ...env } = server.env;
    const results = await Promise.all([
      runVerb(["spaces", "--url", dead, "--url", live], { env }),
      runVerb(["spaces", "--url", `${dead},${live}`], { env }),
      runVerb(["spaces"], { env: { ...env, STREAMKIT_URL: `${dead}, ${live}` } }),
      runVerb(["status", "-o", "json", "--url", dead, "--url", live], { env }),
    ]);
    for (const [index, result] of results.slice(0, 3).entries()) {
      expect(result.stderr, String(index)).toBe("");
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as { space: string }[]).map((space) => space.space)).toEqual(["urls"]);
    }
    expect(results[3].code).toBe(0);
    expect(JSON.parse(results[3].stdout)).toHaveProperty("instance");
  });

  it("when no address answers, names them all (exit 1)", async () => {
    const dead = [`ws://127.0.0.1:${await closedPort()}`, `ws://127.0.0.1:${await closedPort()}`];
    const result = await runVerb(["spaces", "--url", dead.join(",")], { env: { STREAMKIT_STORE_ID: server.storeId, STREAMKIT_TOKEN: server.token } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^streamkit spaces: unavailable: cannot reach any of ${dead.join(", ")} \\(last: ws://.*ECONNREFUSED`));
  });

  it("--help says the flag repeats", async () => {
    const result = await runVerb(["tail", "--help"]);
    expect(result.stdout).toMatch(/--url <url>.*\(repeatable\)/);
  });
});
