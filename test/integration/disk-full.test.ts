import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import type { Logger } from "../../pkg/api/logger.js";
import { type RunningServer, startServer } from "../../pkg/cli/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import type { Store, StoreFactory } from "../../store/types.js";
import { createWsProvider } from "../../transport/ws/index.js";

const STORE = "3d0f8a52-1b6e-4c7a-8f2d-9e5b4a3c2d1e";
const SECRET_DIR = "/srv/secret-data";

/** A disk that can fill up: while full, a store's first commit breaks it for good, the way LevelDB keeps its first I/O error until it is reopened. */
class Disk {
  full = false;
}

function brokenBy(storeId: string): StreamsError {
  const detail = `IO error: ${SECRET_DIR}/${storeId}/000088.log: No space left on device`;
  return new StreamsError("unavailable", `commit failed: ${detail}`, { cause: new Error(detail) });
}

function onDisk(factory: StoreFactory, disk: Disk): StoreFactory {
  const open = async (storeId: string): Promise<Store> => {
    const store = await factory.open(storeId);
    let broken: StreamsError | undefined;
    return new Proxy(store, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        const method = value as (...args: unknown[]) => unknown;
        if (property !== "produce" && property !== "publish") return method.bind(target);
        return async (...args: unknown[]) => {
          if (disk.full) broken ??= brokenBy(storeId);
          if (broken !== undefined) throw broken;
          return method.apply(target, args);
        };
      },
    });
  };
  return new Proxy(factory, { get: (target, property): unknown => (property === "open" ? open : Reflect.get(target, property, target)) });
}

/** Records every log entry. */
function recordingLogger(entries: { level: string; fields: Record<string, unknown>; message: string }[]): Logger {
  const at = (level: string) => (fields: object, message?: string) => void entries.push({ level, fields: fields as Record<string, unknown>, message: message ?? "" });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

let dir: string;
let server: RunningServer;
let client: StreamsClient;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "streamkit-disk-full-"));
});

afterEach(async () => {
  await client?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function readyz(): Promise<{ status: number; body: { dependencies: { commits: { state: string; failing: { storeId: string }[] } } } }> {
  const response = await fetch(`${server.url}/readyz`);
  return { status: response.status, body: (await response.json()) as never };
}

async function publishFailure(): Promise<StreamsError> {
  const error = await client.publish(STORE, "s", "g", new Uint8Array([1])).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof StreamsError)) throw new Error(`expected the publish to fail, got ${String(error)}`);
  return error;
}

describe("a store whose disk filled up", () => {
  it("recovers by itself once writes succeed again; readiness reports it; clients never see the path", async () => {
    const disk = new Disk();
    const logs: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    server = await startServer(
      { port: 0, store: "memory", dataDir: join(dir, "data"), logLevel: "silent" },
      // A long wait before a second reopen: readiness reports the failure until a commit succeeds.
      { logger: recordingLogger(logs), wrapStoreFactory: (factory) => onDisk(factory, disk), commitRecovery: { initialBackoffMs: 600_000, maxBackoffMs: 600_000 } },
    );
    client = createClient(createWsProvider(server.wsUrl, { token: server.devToken as string }));
    expect((await client.publish(STORE, "s", "g", new Uint8Array([1]))).lastSequence).toBe(1);
    expect((await readyz()).status).toBe(200);

    disk.full = true;
    const error = await publishFailure();
    expect(error.kind).toBe("unavailable");
    // The client gets a generic message and a correlation id; the log has the detail under that id.
    expect(error.message).not.toContain(SECRET_DIR);
    const correlationId = error.details?.correlationId;
    expect(error.message).toContain(`correlation id ${String(correlationId)}`);
    const logged = logs.find((entry) => entry.fields.correlationId === correlationId);
    expect(JSON.stringify(logged?.fields)).toContain(SECRET_DIR);
    const status = await (await fetch(`${server.url}/api/status`)).text();
    expect(status).not.toContain(SECRET_DIR);

    const failing = await readyz();
    expect(failing.status).toBe(503);
    expect(failing.body.dependencies.commits).toMatchObject({ state: "failing", failing: [{ storeId: STORE }] });

    // Space is freed: without a reopen the store would keep failing with its old error.
    disk.full = false;
    let sequence: number | undefined;
    for (let attempt = 0; attempt < 20 && sequence === undefined; attempt++) {
      sequence = await client.publish(STORE, "s", "g", new Uint8Array([2])).then(
        (head) => head.lastSequence,
        (failure: unknown) => {
          // While the broken store closes and reopens, publishes are refused as unavailable.
          expect(failure).toMatchObject({ kind: "unavailable" });
          return undefined;
        },
      );
    }
    expect(sequence).toBe(2);
    expect(await readyz()).toMatchObject({ status: 200, body: { dependencies: { commits: { state: "ok", failing: [] } } } });
  });
});
