import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Frame, FrameKinds, INITIAL_CREDIT, MessageTypes, type RecordBatch } from "../../pkg/api/internal/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { RawClient, type StreamzFixture, startStreamz } from "../../test/support/ws-raw-client.js";
import { CloseCodes } from "./index.js";

const STORE_A = "6f1c1f0e-7a43-4c1e-9f55-0a2a3c6b1d01";
const STORE_B = "0b9d6c52-1f0e-4b8f-a1c9-53d7c2e8a4f2";
const SECRET = "ws-refresh-test-secret-long-enough-for-hs256";
const TOLERANCE_SEC = 5;
const encoder = new TextEncoder();

const token = (scopes: string[], ttlSec = 60) => signToken({ secret: SECRET, scopes, ttlSec, subject: "refresher" });
const batch = (sequence: number): RecordBatch => ({
  $type: MessageTypes.recordBatch,
  records: [{ sequence, payload: encoder.encode(`r${sequence}`) }],
});
const refreshedFrames = (client: RawClient) =>
  client.received.filter((frame): frame is Extract<Frame, { kind: typeof FrameKinds.refreshed }> => frame.kind === FrameKinds.refreshed);

let fixture: StreamzFixture;

beforeEach(async () => {
  fixture = await startStreamz({ authenticator: createJwtAuthenticator({ secrets: SECRET, clockToleranceSec: TOLERANCE_SEC }) });
});

afterEach(async () => {
  vi.useRealTimers();
  await fixture.close();
});

/** Sends a batch on a produce channel and waits for its status. */
async function produceOne(client: RawClient, channel: number, sequence: number): Promise<void> {
  const before = client.messages(channel).length;
  client.data(channel, batch(sequence));
  await client.until(() => client.messages(channel).length > before, `the status of batch ${sequence} on channel ${channel}`);
  expect(client.messages(channel).at(-1)).toMatchObject({ lastSequence: sequence });
}

/** One full round trip on a fresh channel: proves the connection serves streams. */
async function roundTrip(client: RawClient, channel: number, storeId = STORE_A): Promise<Frame> {
  client.open(channel, storeId, { $type: MessageTypes.getSpaces });
  return client.ending(channel);
}

describe("in-band token refresh", () => {
  it("applies a fresh token without dropping any stream", async () => {
    const client = await RawClient.connect(fixture.url, { token: await token(["streamkit::*"]) });
    client.open(1, STORE_A, { $type: MessageTypes.produce, space: "s", segment: "g" });
    await produceOne(client, 1, 1);
    const fresh = await token(["streamkit::*"], 600);
    client.send({ kind: FrameKinds.refresh, channel: 0, token: fresh });
    const [answer] = await client.until(() => (refreshedFrames(client).length > 0 ? refreshedFrames(client) : undefined), "refreshed");
    expect(answer).toMatchObject({ ok: true });
    expect(answer!.expiresAt).toBeGreaterThan(Date.now() + 500_000);
    await produceOne(client, 1, 2);
    await client.close();
  });

  it("ends only the streams whose store the refreshed token no longer covers", async () => {
    const client = await RawClient.connect(fixture.url, { token: await token([`streamkit::${STORE_A}`, `streamkit::${STORE_B}`]) });
    client.open(1, STORE_A, { $type: MessageTypes.produce, space: "s", segment: "g" });
    client.open(2, STORE_B, { $type: MessageTypes.produce, space: "s", segment: "g" });
    await produceOne(client, 1, 1);
    // A segment of more messages than the initial credit: its reader stays open, waiting for credit.
    const big = new Uint8Array(150 * 1024);
    const records = Array.from({ length: INITIAL_CREDIT + 2 }, (_, i) => ({ sequence: i + 1, payload: big }));
    client.data(2, { $type: MessageTypes.recordBatch, records });
    await client.until(() => client.messages(2).length === 1, "the big batch's status");
    client.open(3, STORE_B, { $type: MessageTypes.consumeSegment, space: "s", segment: "g" });
    await client.until(() => client.messages(3).length === INITIAL_CREDIT, "the reader's first entries");

    client.send({ kind: FrameKinds.refresh, channel: 0, token: await token([`streamkit::${STORE_A}`, `streamkit::${STORE_B}:read`]) });
    const revoked = await client.errorOn(2);
    expect(revoked.kind).toBe("permission_denied");
    expect(revoked.message).toContain(STORE_B);
    expect(refreshedFrames(client)[0]).toMatchObject({ ok: true });
    // The read stream on B keeps its access; store A's producer carries on.
    await produceOne(client, 1, 2);
    expect(client.on(3).some((frame) => frame.kind === FrameKinds.error || frame.kind === FrameKinds.end)).toBe(false);
    expect(fixture.streamz.connections()[0]?.streams.map((stream) => stream.channel).sort()).toEqual([1, 3]);

    client.send({ kind: FrameKinds.refresh, channel: 0, token: await token([`streamkit::${STORE_A}`]) });
    expect((await client.errorOn(3)).kind).toBe("permission_denied");
    await produceOne(client, 1, 3);
    // New streams follow the new token too.
    expect((await roundTrip(client, 4, STORE_B)).kind).toBe(FrameKinds.error);
    await client.close();
  });

  it("answers a bad refresh with ok: false and keeps the old token", async () => {
    const client = await RawClient.connect(fixture.url, { token: await token([`streamkit::${STORE_A}`]) });
    client.open(1, STORE_A, { $type: MessageTypes.produce, space: "s", segment: "g" });
    await produceOne(client, 1, 1);
    client.send({ kind: FrameKinds.refresh, channel: 0, token: "garbage" });
    const [answer] = await client.until(() => (refreshedFrames(client).length > 0 ? refreshedFrames(client) : undefined), "refreshed");
    expect(answer).toMatchObject({ ok: false, error: { kind: "unauthenticated", message: "malformed token" } });
    await produceOne(client, 1, 2);
    expect((await roundTrip(client, 2)).kind).toBe(FrameKinds.end);
    await client.close();
  });
});

describe("token expiry", () => {
  const fakeClock = () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    vi.setSystemTime(new Date("2030-01-01T00:00:00.000Z"));
  };

  it("closes a connection whose token expires unrefreshed with 4001", async () => {
    fakeClock();
    const client = await RawClient.connect(fixture.url, { token: await token(["streamkit::*"], 60) });
    vi.advanceTimersByTime((60 + TOLERANCE_SEC) * 1000 - 1_000);
    expect((await roundTrip(client, 1)).kind).toBe(FrameKinds.end);
    vi.advanceTimersByTime(1_000);
    expect(await client.closed).toEqual({ code: CloseCodes.tokenExpired, reason: "token expired" });
  });

  it("keeps a refreshed connection past the first token's expiry", async () => {
    fakeClock();
    const client = await RawClient.connect(fixture.url, { token: await token(["streamkit::*"], 60) });
    client.open(1, STORE_A, { $type: MessageTypes.produce, space: "s", segment: "g" });
    await produceOne(client, 1, 1);
    for (let refresh = 1; refresh <= 3; refresh++) {
      vi.advanceTimersByTime(50_000);
      client.send({ kind: FrameKinds.refresh, channel: 0, token: await token(["streamkit::*"], 60) });
      await client.until(() => refreshedFrames(client).length === refresh, `refresh ${refresh}`);
      expect(refreshedFrames(client)[refresh - 1]).toMatchObject({ ok: true });
      await produceOne(client, 1, refresh + 1);
    }
    expect(client.isClosed).toBe(false);
    vi.advanceTimersByTime((60 + TOLERANCE_SEC) * 1000);
    expect((await client.closed).code).toBe(CloseCodes.tokenExpired);
  });
});
