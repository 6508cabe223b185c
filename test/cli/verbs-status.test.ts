import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StreamsClient } from "../../pkg/client/index.js";
import { runVerb, startTestServer, type TestServer } from "./verbs-support.js";

let server: TestServer;
let client: StreamsClient;

beforeAll(async () => {
  server = await startTestServer();
  // One open connection (subject "dev", the dev token's) for the status to show.
  client = server.client();
  await client.getSpaces(server.storeId);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

describe("streamkit status", () => {
  it("prints the operator status as JSON", async () => {
    const result = await runVerb(["status", "--output", "json"], { env: server.env });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as { instance: { nodeId: string }; counts: { connections: number }; connections: { subject: string }[] };
    expect(typeof status.instance.nodeId).toBe("string");
    expect(status.counts.connections).toBeGreaterThanOrEqual(1);
    expect(status.connections.map((connection) => connection.subject)).toContain("dev");
  });

  it("prints it as tables for a person", async () => {
    const result = await runVerb(["status", "-o", "table"], { env: server.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^instance\.nodeId: \S+$/m);
    expect(result.stdout).toMatch(/^instance\.uptimeMs: \d/m);
    expect(result.stdout).toMatch(/^connections \(\d+\):\nID\s+CLIENT ADDRESS\s+.*SUBJECT\s+OPENED AT/m);
    expect(result.stdout).toMatch(/^c\d+\s+127\.0\.0\.1\s+.*\bdev\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/m);
  });

  it("a server without the operator API: a clear not_found (exit 1)", async () => {
    const other: Server = createServer((_request, response) => {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("no such page");
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = other.address() as { port: number };
      const result = await runVerb(["status", "--url", `http://127.0.0.1:${port}`]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(
        `streamkit status: not_found: GET http://127.0.0.1:${port}/api/status answered 404: no operator status API there (a server without /api/status, or not a Streamkit server)\n`,
      );
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});
