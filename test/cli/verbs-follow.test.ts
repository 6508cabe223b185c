import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer } from "../../pkg/cli/index.js";
import { silentLogger } from "../../pkg/api/logger.js";
import { runVerb, spawnVerb, startTestServer, type TestServer, type VerbProcess, VERB_WAIT_MS } from "./verbs-support.js";

let server: TestServer;
const running: VerbProcess[] = [];
const encoder = new TextEncoder();
/** Tests that run several CLI processes: each takes seconds to start on a loaded CI machine. */
const PROCESSES_TIMEOUT_MS = 90_000;

beforeEach(async () => {
  server = await startTestServer();
});

afterEach(async () => {
  for (const verb of running.splice(0)) {
    if (verb.child.exitCode === null && verb.child.signalCode === null) verb.child.kill("SIGKILL");
    await verb.result();
  }
  await server?.close();
});

function follow(args: string[]): VerbProcess {
  const verb = spawnVerb(args, { env: server.env });
  running.push(verb);
  return verb;
}

const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line) as { payload: unknown; sequence: number; segment: string; timestamp: number });

/**
 * Waits until the server handles a stream of `op` (from /api/status): a tail's follow is open, so
 * its start was taken and every commit from now on reaches it.
 */
async function streamOpen(op: string): Promise<void> {
  const deadline = Date.now() + VERB_WAIT_MS;
  while (Date.now() < deadline) {
    const status = (await (await fetch(`${server.server.url}/api/status`)).json()) as { streamsByOp: Record<string, number> };
    if ((status.streamsByOp[op] ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${op} stream opened within ${VERB_WAIT_MS} ms`);
}

describe("streamkit tail / consume --follow", () => {
  it("tail starts at the end: only entries committed after it started, like tail -f", { timeout: PROCESSES_TIMEOUT_MS }, async () => {
    await using client = server.client();
    await client.produce(server.storeId, "orders", "o-1", [1, 2, 3].map((sequence) => ({ sequence, payload: encoder.encode(`old-${sequence}`) })));
    const tail = follow(["tail", "orders", "o-1"]);
    await streamOpen("consume_segment");
    await client.publish(server.storeId, "orders", "o-1", encoder.encode("live-4"));
    expect(parsed(await tail.stdoutLines(1)).map((entry) => [entry.sequence, entry.payload])).toEqual([[4, "live-4"]]);
    tail.child.kill("SIGINT");
    const result = await tail.result();
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.split("\n")).toHaveLength(2);
  });

  it("tail of spaces starts at their end, past entries that share the newest timestamp", { timeout: PROCESSES_TIMEOUT_MS }, async () => {
    await using client = server.client();
    // One batch: three entries with one timestamp, the newest of the space.
    await client.publish(server.storeId, "orders", "o-1", encoder.encode("old-a"));
    await client.produce(server.storeId, "orders", "o-2", [1, 2, 3].map((sequence) => ({ sequence, payload: encoder.encode(`old-${sequence}`) })));
    await client.publish(server.storeId, "payments", "p-1", encoder.encode("old-p"));
    const one = follow(["tail", "orders"]);
    await streamOpen("consume_space");
    const both = follow(["tail", "--space", "orders", "--space", "payments"]);
    await streamOpen("consume");
    await client.publish(server.storeId, "orders", "o-2", encoder.encode("live-o"));
    await client.publish(server.storeId, "payments", "p-1", encoder.encode("live-p"));
    expect(parsed(await one.stdoutLines(1)).map((entry) => [entry.segment, entry.sequence, entry.payload])).toEqual([["o-2", 4, "live-o"]]);
    expect(parsed(await both.stdoutLines(2)).map((entry) => [entry.segment, entry.payload])).toEqual([
      ["o-2", "live-o"],
      ["p-1", "live-p"],
    ]);
    for (const tail of [one, both]) {
      tail.child.kill("SIGINT");
      const result = await tail.result();
      expect(result).toMatchObject({ code: 0, stderr: "" });
    }
  });

  it("--since starts at a time; --from and --since together are a usage error", { timeout: PROCESSES_TIMEOUT_MS }, async () => {
    await using client = server.client();
    const first = await client.publish(server.storeId, "orders", "o-1", encoder.encode("first"));
    // Publish until the server's clock has moved past the first entry's millisecond (bounded).
    let later = first;
    for (let attempt = 0; attempt < 10_000 && later.lastTimestamp === first.lastTimestamp; attempt++) {
      later = await client.publish(server.storeId, "orders", "o-1", encoder.encode("later"));
    }
    expect(later.lastTimestamp).toBeGreaterThan(first.lastTimestamp);
    const since = String(first.lastTimestamp + 1);
    const [result, all, both, bad] = await Promise.all([
      runVerb(["consume", "orders", "o-1", "--since", since], { env: server.env }),
      runVerb(["consume", "orders", "--since", "1h"], { env: server.env }),
      runVerb(["consume", "orders", "--since", "1h", "--from", "start"], { env: server.env }),
      runVerb(["tail", "orders", "--since", "yesterday"], { env: server.env }),
    ]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const printed = parsed(result.stdout.trim().split("\n"));
    expect(printed.length).toBe(later.lastSequence - 1);
    expect(printed.every((entry) => entry.timestamp > first.lastTimestamp && entry.payload === "later")).toBe(true);
    expect(parsed(all.stdout.trim().split("\n"))).toHaveLength(later.lastSequence);
    expect(both).toMatchObject({ code: 2, stderr: expect.stringMatching(/--from or --since/) });
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/--since: must be a duration/) });
  });

  it("tail --from start prints history, then live entries as they commit; SIGINT ends it with exit 0", async () => {
    await using client = server.client();
    await client.produce(server.storeId, "orders", "o-1", [1, 2].map((sequence) => ({ sequence, payload: encoder.encode(`old-${sequence}`) })));
    const tail = follow(["tail", "orders", "o-1", "--from", "start"]);
    expect(parsed(await tail.stdoutLines(2)).map((entry) => entry.payload)).toEqual(["old-1", "old-2"]);
    await client.publish(server.storeId, "orders", "o-1", encoder.encode("live-3"));
    await client.publish(server.storeId, "orders", "o-1", encoder.encode("live-4"));
    expect(parsed(await tail.stdoutLines(4)).map((entry) => [entry.sequence, entry.payload])).toEqual([
      [1, "old-1"],
      [2, "old-2"],
      [3, "live-3"],
      [4, "live-4"],
    ]);
    tail.child.kill("SIGINT");
    const result = await tail.result();
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.split("\n")).toHaveLength(5);
  });

  it("consume --follow of a space from an offset: only what comes after it", async () => {
    await using client = server.client();
    await client.publish(server.storeId, "orders", "o-1", encoder.encode("before"));
    await client.publish(server.storeId, "orders", "o-2", encoder.encode("after-offset"));
    let spaceOffset = "";
    for await (const entry of client.consumeSpace(server.storeId, { space: "orders", limit: 1 })) spaceOffset = entry.offset;
    expect(spaceOffset).not.toBe("");
    const consume = follow(["consume", "orders", "--follow", "--from", spaceOffset]);
    expect(parsed(await consume.stdoutLines(1)).map((entry) => entry.payload)).toEqual(["after-offset"]);
    await client.publish(server.storeId, "orders", "o-3", encoder.encode("live"));
    expect(parsed(await consume.stdoutLines(2)).map((entry) => [entry.segment, entry.payload])).toEqual([
      ["o-2", "after-offset"],
      ["o-3", "live"],
    ]);
    consume.child.kill("SIGINT");
    expect(await consume.result()).toMatchObject({ code: 0, stderr: "" });
  });

  it("ends quietly with exit 0 when its reader closes stdout (| head)", async () => {
    await using client = server.client();
    await client.publish(server.storeId, "orders", "o-1", encoder.encode("first"));
    const tail = follow(["tail", "orders", "o-1", "--from", "start"]);
    await tail.stdoutLines(1);
    tail.child.stdout!.destroy();
    // The next write finds the pipe closed.
    await client.publish(server.storeId, "orders", "o-1", encoder.encode("second"));
    expect(await tail.result()).toMatchObject({ code: 0, signal: null, stderr: "" });
  });

  it("a follow outlives a server restart and carries on without gap or duplicate", async () => {
    {
      await using client = server.client();
      await client.publish(server.storeId, "orders", "o-1", encoder.encode("first"));
    }
    const tail = follow(["tail", "orders", "o-1", "--from", "start"]);
    await tail.stdoutLines(1);
    const { port } = new URL(server.server.url);
    await server.server.close();
    // Same port and data directory: the tail's redials find the new server.
    const restarted = await startServer({ host: "127.0.0.1", port: Number(port), dataDir: server.dataDir, logLevel: "silent" }, { logger: silentLogger });
    try {
      await using client = server.client();
      await client.publish(server.storeId, "orders", "o-1", encoder.encode("second"));
      expect(parsed(await tail.stdoutLines(2)).map((entry) => [entry.sequence, entry.payload])).toEqual([
        [1, "first"],
        [2, "second"],
      ]);
      tail.child.kill("SIGINT");
      expect(await tail.result()).toMatchObject({ code: 0, stderr: "" });
    } finally {
      await restarted.close();
    }
  });
});
