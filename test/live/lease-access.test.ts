import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { failureOf } from "../support/data.js";
import { type StreamzFixture, startStreamz } from "../support/ws-raw-client.js";

const SECRET = "lease-access-test-secret-long-enough!";

describe("lease access over WebSocket", () => {
  let fixture: StreamzFixture;
  let reader: StreamsClient;
  let writer: StreamsClient;

  beforeAll(async () => {
    fixture = await startStreamz({ authenticator: createJwtAuthenticator({ secrets: [SECRET] }) });
    const connect = (scope: string) =>
      createClient(createWsProvider(fixture.url, { token: () => signToken({ secret: SECRET, scopes: [scope], subject: "t", ttlSec: 600 }) }));
    reader = connect("streamkit::*:read");
    writer = connect("streamkit::*");
  });

  afterAll(async () => {
    await reader.close();
    await writer.close();
    await fixture.close();
  });

  it("needs write access: a read-only token gets permission_denied and takes nothing", async () => {
    const storeId = crypto.randomUUID();
    for (const call of [
      () => reader.acquireLease(storeId, "k", { holder: "r", ttlMs: 1_000 }),
      () => reader.renewLease(storeId, "k", { holder: "r", ttlMs: 1_000 }),
      () => reader.releaseLease(storeId, "k", { holder: "w" }),
      () => reader.withLease(storeId, "k", { ttlMs: 1_000 }, () => "ran"),
    ]) {
      expect(await failureOf(call)).toMatchObject({ kind: "permission_denied" });
    }
    expect(await writer.acquireLease(storeId, "k", { holder: "w", ttlMs: 1_000 })).toMatchObject({ ok: true, token: 1 });
  });
});
