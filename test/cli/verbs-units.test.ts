import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseVerbArgs, UsageError } from "../../pkg/cli/commands/args.js";
import { readLines } from "../../pkg/cli/commands/lines.js";
import { formatTable } from "../../pkg/cli/commands/output.js";
import { payloadJson } from "../../pkg/cli/commands/payloads.js";
import { statusUrl } from "../../pkg/cli/commands/status.js";
import { formatStatus } from "../../pkg/cli/commands/status-table.js";
import { parseTtl } from "../../pkg/cli/commands/ttl.js";

const lineTexts = async (chunks: (string | Buffer)[]) => {
  const lines: string[] = [];
  for await (const line of readLines(Readable.from(chunks))) lines.push(`${line.number}:${Buffer.from(line.bytes).toString("utf8")}`);
  return lines;
};

describe("CLI helpers", () => {
  it("splits lines across chunk boundaries, CRLF included, keeping empty lines", async () => {
    expect(await lineTexts(["ab", "c\r", "\n\nd", "e\nlast"])).toEqual(["1:abc", "2:", "3:de", "4:last"]);
    expect(await lineTexts(["x\n"])).toEqual(["1:x"]);
    expect(await lineTexts([])).toEqual([]);
    // A multi-byte character split between chunks stays whole.
    const snowman = Buffer.from("☃\n");
    expect(await lineTexts([snowman.subarray(0, 1), snowman.subarray(1)])).toEqual(["1:☃"]);
  });

  it("reads TTLs in seconds or with a unit", () => {
    expect([parseTtl("3600", "ttl"), parseTtl("90s", "ttl"), parseTtl("15m", "ttl"), parseTtl("1h", "ttl"), parseTtl("7d", "ttl")]).toEqual([
      3600, 90, 900, 3600, 604_800,
    ]);
    for (const bad of ["", "0", "1.5h", "-1", "1w", "367d"]) expect(() => parseTtl(bad, "ttl")).toThrow(UsageError);
  });

  it("prints payloads as text only when they are valid UTF-8, keeping a BOM", () => {
    expect(payloadJson(new TextEncoder().encode("\ufeffhi"), "auto")).toBe("\ufeffhi");
    expect(payloadJson(new Uint8Array([0xc3]), "auto")).toEqual({ base64: "ww==" });
    expect(payloadJson(new Uint8Array([]), "auto")).toBe("");
  });

  it("parses flags strictly, with environment fallbacks it reports", () => {
    const specs = { store: { type: "string", env: "STORE", description: "" }, tag: { type: "string", multiple: true, description: "" } } as const;
    const parsed = parseVerbArgs(["a", "--tag", "x", "--tag=y"], specs, { names: ["a"], min: 1 }, { STORE: "s" });
    expect(parsed.flags).toEqual({ store: "s", tag: ["x", "y"] });
    expect([...parsed.fromEnv]).toEqual(["store"]);
    expect(parseVerbArgs(["a", "--store", "t"], specs, { names: ["a"], min: 1 }, { STORE: "s" }).fromEnv.size).toBe(0);
    expect(parseVerbArgs(["a"], specs, { names: ["a"], min: 1 }, { STORE: "" }).flags.store).toBeUndefined();
    expect(() => parseVerbArgs([], specs, { names: ["a"], min: 1 }, {})).toThrow("missing <a>");
  });

  it("finds the status API next to the WebSocket endpoint", () => {
    expect(statusUrl(new URL("ws://127.0.0.1:8080")).href).toBe("http://127.0.0.1:8080/api/status");
    expect(statusUrl(new URL("wss://streams.example.com/streamz")).href).toBe("https://streams.example.com/api/status");
    expect(statusUrl(new URL("https://example.com/streamkit/")).href).toBe("https://example.com/streamkit/api/status");
  });

  it("lays out tables with numbers right-aligned", () => {
    expect(formatTable(["name", "count"], [["a", 5], ["longer", 12345], ["c", null]])).toBe(
      ["NAME    COUNT", "a           5", "longer  12345", "c"].map((line) => `${line}\n`).join(""),
    );
  });

  it("renders whatever shape the status has: facts, lists as tables, nested objects by dotted name, times and durations", () => {
    const openedAt = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const status = {
      instance: "node-a",
      uptimeMs: 125_000,
      connections: [
        { id: "c1", clientAddress: "127.0.0.1", openedAt, streams: 2, stores: ["s1", "s2"] },
        { id: "c2", clientAddress: "::1", openedAt, streams: 0, stale: true },
      ],
      nodes: [],
      totals: { leases: 1, retryAfterMs: 1500, rates: { producedPerSec: 10 } },
      tags: ["x", "y"],
    };
    expect(formatStatus(status)).toBe(
      [
        "instance: node-a",
        "uptimeMs: 2m 5s",
        "tags: x, y",
        "",
        "connections (2):",
        "ID  CLIENT ADDRESS  OPENED AT             STREAMS  STORES  STALE",
        "c1  127.0.0.1       2026-01-02T03:04:05Z        2  s1, s2",
        "c2  ::1             2026-01-02T03:04:05Z        0          true",
        "",
        "nodes: none",
        "totals.leases: 1",
        "totals.retryAfterMs: 1.5s",
        "totals.rates.producedPerSec: 10",
        "",
      ].join("\n"),
    );
  });
});
