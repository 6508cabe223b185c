import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer } from "../../pkg/cli/index.js";
import { silentLogger } from "../../pkg/api/logger.js";
import { spawnVerb, startTestServer, type TestServer, type VerbProcess } from "./verbs-support.js";

let server: TestServer;
const running: VerbProcess[] = [];
const encoder = new TextEncoder();

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

const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line) as { payload: unknown; sequence: number; segment: string });

describe("streamkit tail / consume --follow", () => {
  it("tail prints history, then live entries as they commit; SIGINT ends it with exit 0", async () => {
    await using client = server.client();
    await client.produce(server.storeId, "orders", "o-1", [1, 2].map((sequence) => ({ sequence, payload: encoder.encode(`old-${sequence}`) })));
    const tail = follow(["tail", "orders", "o-1"]);
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
    const tail = follow(["tail", "orders", "o-1"]);
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
    const tail = follow(["tail", "orders", "o-1"]);
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
