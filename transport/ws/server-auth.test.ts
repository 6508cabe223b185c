import { SignJWT, UnsecuredJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { FrameKinds, MessageTypes, type RecordBatch } from "../../pkg/api/internal/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { RawClient, refusedUpgrade, type StreamzFixture, startStreamz } from "../../test/support/ws-raw-client.js";

const STORE_A = "6f1c1f0e-7a43-4c1e-9f55-0a2a3c6b1d01";
const STORE_B = "0b9d6c52-1f0e-4b8f-a1c9-53d7c2e8a4f2";
const SECRET = "ws-auth-test-secret-long-enough-for-hs256";
const ISSUER = "streamkit-test";
const AUDIENCE = "streamz";
const encoder = new TextEncoder();
const nowSec = () => Math.floor(Date.now() / 1000);

const token = (scopes: string[], overrides: { secret?: string; issuer?: string; audience?: string; ttlSec?: number } = {}) =>
  signToken({ secret: SECRET, scopes, ttlSec: 60, issuer: ISSUER, audience: AUDIENCE, subject: "tester", ...overrides });

const produceRequest = { $type: MessageTypes.produce, space: "orders", segment: "o-1" } as const;
const batch = (sequence: number): RecordBatch => ({
  $type: MessageTypes.recordBatch,
  records: [{ sequence, payload: encoder.encode(`r${sequence}`) }],
});

let fixture: StreamzFixture;

beforeEach(async () => {
  const authenticator = createJwtAuthenticator({ secrets: SECRET, issuer: ISSUER, audience: AUDIENCE });
  fixture = await startStreamz({ authenticator });
});

afterEach(async () => {
  await fixture.close();
});

/** Spaces of a store, read over a fresh connection with an all-stores token. */
async function spacesOf(storeId: string): Promise<unknown> {
  const client = await RawClient.connect(fixture.url, { token: await token(["streamkit::*"]) });
  client.open(1, storeId, { $type: MessageTypes.getSpaces });
  expect((await client.ending(1)).kind).toBe(FrameKinds.end);
  const [names] = client.messages(1);
  await client.close();
  return names?.names;
}

describe("authentication at the upgrade", () => {
  it("refuses every bad token with HTTP 401, a reason, and nothing written", async () => {
    const claims = { scope: "streamkit::*", iss: ISSUER, aud: AUDIENCE };
    const hs256 = (payload: Record<string, unknown>, secret = SECRET) =>
      new SignJWT(payload).setProtectedHeader({ alg: "HS256" }).sign(encoder.encode(secret));
    const valid = await token(["streamkit::*"]);
    const [header, , signature] = valid.split(".");
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: nowSec() + 3600, sub: "mallory" })).toString("base64url")}.${signature}`;
    const variants: [string, string | undefined, RegExp][] = [
      ["alg none", new UnsecuredJWT(claims).setExpirationTime("1h").encode(), /algorithm "none" not allowed/],
      ["expired", await hs256({ ...claims, exp: nowSec() - 60 }), /token expired/],
      ["not yet valid", await hs256({ ...claims, nbf: nowSec() + 60, exp: nowSec() + 120 }), /not yet valid/],
      ["wrong key", await token(["streamkit::*"], { secret: "some-other-secret-long-enough-for-hs256" }), /invalid signature/],
      ["wrong issuer", await token(["streamkit::*"], { issuer: "someone-else" }), /wrong issuer/],
      ["wrong audience", await token(["streamkit::*"], { audience: "elsewhere" }), /wrong audience/],
      ["tampered payload", tampered, /invalid signature/],
      ["garbage", "not-a-jwt", /malformed token/],
      ["missing", undefined, /missing bearer token/],
    ];
    for (const [name, bad, reason] of variants) {
      const refusal = await refusedUpgrade(fixture.url, bad === undefined ? {} : { token: bad });
      expect(refusal.status, name).toBe(401);
      expect(refusal.body, name).toMatch(reason);
      expect(refusal.headers["www-authenticate"], name).toMatch(/^Bearer /);
    }
    expect(fixture.streamz.connections()).toHaveLength(0);
    expect(await spacesOf(STORE_A)).toEqual([]);
  });

  it("refuses a bad token offered as a subprotocol", async () => {
    const refusal = await refusedUpgrade(fixture.url, { protocols: ["streamkit.v1", "bearer.not-a-jwt"] });
    expect(refusal.status).toBe(401);
  });

  it("accepts the token as a subprotocol and selects streamkit.v1, never echoing the token", async () => {
    const client = await RawClient.connect(fixture.url, { protocols: ["streamkit.v1", `bearer.${await token([`streamkit::${STORE_A}`])}`] });
    expect(client.socket.protocol).toBe("streamkit.v1");
    client.open(1, STORE_A, produceRequest);
    client.data(1, batch(1));
    await client.until(() => client.messages(1).length === 1, "a segment status");
    expect(client.messages(1)[0]).toMatchObject({ $type: MessageTypes.segmentStatus, lastSequence: 1 });
    expect(fixture.streamz.connections()[0]?.subject).toBe("tester");
    await client.close();
  });

  it("leaves upgrades on other paths to their own handlers", async () => {
    const other = new WebSocketServer({ noServer: true });
    fixture.server.on("upgrade", (request, socket, head) => {
      if (request.url !== "/other") return;
      other.handleUpgrade(request, socket, head, (ws) => ws.send("hello from /other"));
    });
    const socket = new WebSocket(fixture.url.replace("/streamz", "/other"));
    const [greeting] = await new Promise<[string]>((resolve, reject) => {
      socket.once("message", (data: Buffer) => resolve([data.toString()]));
      socket.once("error", reject);
    });
    expect(greeting).toBe("hello from /other");
    socket.terminate();
    other.close();
  });
});

describe("scopes per stream", () => {
  it("answers permission_denied on the stream of a store the token lacks; the connection and its other streams carry on", async () => {
    const client = await RawClient.connect(fixture.url, { token: await token([`streamkit::${STORE_A}`]) });
    client.open(1, STORE_A, produceRequest);
    client.open(2, STORE_B, produceRequest);
    client.data(1, batch(1));
    const denied = await client.errorOn(2);
    expect(denied.kind).toBe("permission_denied");
    expect(denied.message).toContain(STORE_B);
    await client.until(() => client.messages(1).length === 1, "the status of store A's batch");
    client.data(1, batch(2));
    await client.until(() => client.messages(1).length === 2, "a second status");
    expect(client.isClosed).toBe(false);
    await client.close();
    expect(await spacesOf(STORE_B)).toEqual([]);
    expect(await spacesOf(STORE_A)).toEqual(["orders"]);
  });

  it("answers permission_denied to a token without any streamkit scope", async () => {
    const client = await RawClient.connect(fixture.url, { token: await token(["openid", "profile"]) });
    client.open(1, STORE_A, { $type: MessageTypes.getSpaces });
    expect((await client.errorOn(1)).kind).toBe("permission_denied");
    expect(client.isClosed).toBe(false);
    await client.close();
  });

  it("lets a read-only scope read but not write", async () => {
    const client = await RawClient.connect(fixture.url, { token: await token([`streamkit::${STORE_A}:read`]) });
    client.open(1, STORE_A, produceRequest);
    client.open(2, STORE_A, { $type: MessageTypes.publish, space: "orders", segment: "o-1", payload: encoder.encode("x") });
    client.open(3, STORE_A, { $type: MessageTypes.consumeSegment, space: "orders", segment: "o-1" });
    client.open(4, STORE_A, { $type: MessageTypes.peek, space: "orders", segment: "o-1" });
    expect((await client.errorOn(1)).kind).toBe("permission_denied");
    expect((await client.errorOn(2)).kind).toBe("permission_denied");
    expect((await client.ending(3)).kind).toBe(FrameKinds.end);
    expect((await client.ending(4)).kind).toBe(FrameKinds.end);
    expect(client.messages(4)[0]).toMatchObject({ $type: MessageTypes.entry, entry: { sequence: 0 } });
    await client.close();
    expect(await spacesOf(STORE_A)).toEqual([]);
  });

  it("compares store ids case-insensitively", async () => {
    const client = await RawClient.connect(fixture.url, { token: await token([`streamkit::${STORE_A.toUpperCase()}`]) });
    client.open(1, STORE_A, { $type: MessageTypes.getSpaces });
    expect((await client.ending(1)).kind).toBe(FrameKinds.end);
    await client.close();
  });
});
