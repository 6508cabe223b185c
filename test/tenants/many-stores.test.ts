import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { logEntry, runCli, type ServeProcess } from "../cli/child.js";

const SECRET = "many-stores-secret-of-at-least-32-bytes";
const IN_FLIGHT = 32;
/** Attempts of one call refused with resource_exhausted (every open store busy) before the test fails. */
const MAX_ATTEMPTS = 100;

let dataDir: string;
let serve: ServeProcess | undefined;
let client: StreamsClient | undefined;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "streamkit-tenants-"));
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  if (serve !== undefined) {
    if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill("SIGTERM");
    await serve.exit();
    serve = undefined;
  }
  await rm(dataDir, { recursive: true, force: true });
});

/** `streamkit serve` in its own process with its descriptor limit lowered; a client connected to it. */
async function start(descriptorLimit: number, ...extra: string[]): Promise<{ client: StreamsClient; capped: Record<string, unknown> }> {
  serve = runCli(["serve", "--port", "0", "--data-dir", dataDir, "--log-pretty", "false", "--jwt-secret", SECRET, ...extra], {}, { descriptorLimit });
  const listening = await logEntry(serve, "listening");
  const capped = await logEntry(serve, "open stores capped");
  const wsUrl = (listening.url as string).replace(/^http/, "ws");
  const token = () => signToken({ secret: SECRET, scopes: ["streamkit::*"], subject: "tenants", ttlSec: 3600 });
  client = createClient(createWsProvider(wsUrl, { token }));
  return { client, capped };
}

/**
 * Runs `call`, again after `retryAfterMs` each time it is refused with resource_exhausted (the
 * documented answer while every open store is busy), at most MAX_ATTEMPTS times; counts the refusals.
 */
async function withRetries<T>(call: () => Promise<T>, refusals: { count: number }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof StreamsError) || error.kind !== "resource_exhausted" || attempt >= MAX_ATTEMPTS) throw error;
      expect(error.code).toBe("transient");
      refusals.count++;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 100));
    }
  }
}

/** Each of `stores` new stores: one publish, then (after all publishes) one peek, IN_FLIGHT at a time. */
async function drive(sdk: StreamsClient, stores: number): Promise<{ failures: unknown[]; refusals: number }> {
  const ids = Array.from({ length: stores }, () => randomUUID());
  const failures: unknown[] = [];
  const refusals = { count: 0 };
  const pool = async (task: (id: string, i: number) => Promise<void>): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < stores; i = next++) {
        try {
          await task(ids[i] as string, i);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  };
  await pool(async (id, i) => {
    const status = await withRetries(() => sdk.publish(id, "s", "g", new TextEncoder().encode(`store ${i}`)), refusals);
    expect(status.lastSequence).toBe(1);
  });
  await pool(async (id, i) => {
    const entry = await withRetries(() => sdk.peek(id, "s", "g"), refusals);
    expect(new TextDecoder().decode(entry.payload)).toBe(`store ${i}`);
  });
  return { failures, refusals: refusals.count };
}

describe("many stores on one server process with a lowered descriptor limit", () => {
  it("serves 20,000 stores with `ulimit -n 1024` in the shared level layout, with no error", { timeout: 600_000 }, async () => {
    const { client: sdk, capped } = await start(1024);
    expect(capped).toMatchObject({ descriptorLimit: 1024, descriptorsPerStore: 0 });
    const { failures } = await drive(sdk, 20_000);
    expect(failures).toEqual([]);
    const status = (await (await fetch(`${(await logEntry(serve as ServeProcess, "listening")).url as string}/api/status`)).json()) as {
      resources: { descriptors: number | null; descriptorLimit: number | null };
    };
    expect(status.resources.descriptorLimit).toBe(1024);
    expect(serve?.stderr()).not.toMatch(/too many open files/i);
  });

  it("serves 1,000 stores with `ulimit -n 256` in the per-store layout: stores beyond the cap wait for an idle one to close, or are refused with resource_exhausted and retried", { timeout: 600_000 }, async () => {
    const { client: sdk, capped } = await start(256, "--level-layout", "per-store");
    // Half the limit for stores, about 6 descriptors each.
    expect(capped).toMatchObject({ descriptorLimit: 256, maxOpenStores: 21 });
    const { failures } = await drive(sdk, 1_000);
    expect(failures).toEqual([]);
    expect(serve?.stderr()).not.toMatch(/too many open files/i);
  });
});
