import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createJwtAuthenticator, signToken, withAnonymousScopes } from "../../pkg/server/auth/index.js";
import { attachDurableStreams, type DurableStreamsServer } from "../../transport/http/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { type StreamzFixture, startStreamz } from "../support/ws-raw-client.js";

/**
 * The HTTP gateway beside /streamz on one real server (docs/http.md): what one API appends the other
 * reads, live waits wake on either API's appends, and JWT scopes apply as on the WebSocket.
 */
const STORE = "8d0b7a8e-3c1f-4a55-9a6b-2f1e0c9d7b11";
const SECRET = "http-gateway-test-secret-long-enough-for-hs256";
const encoder = new TextEncoder();
const token = (scopes: string[]) => signToken({ secret: SECRET, scopes, ttlSec: 60 });

let fixture: StreamzFixture;
let gateway: DurableStreamsServer;
let client: StreamsClient;
let base: string;

beforeEach(async () => {
  const authenticator = createJwtAuthenticator({ secrets: SECRET });
  fixture = await startStreamz({ authenticator });
  gateway = attachDurableStreams(fixture.server, { manager: fixture.manager, authenticator });
  client = createClient(createWsProvider(fixture.url, { token: () => token(["streamkit::*"]) }));
  base = new URL(fixture.url.replace(/^ws/, "http")).origin;
});

afterEach(async () => {
  await client.close();
  gateway.close();
  await fixture.close();
});

const stream = (segment: string) => `${base}/v1/stream/${STORE}/http/${segment}`;
const auth = async (scopes = ["streamkit::*"]) => ({ authorization: `Bearer ${await token(scopes)}` });

describe("one stream, two APIs", () => {
  it("shows an HTTP append to WebSocket readers and a WebSocket publish to HTTP readers", async () => {
    const headers = { ...(await auth()), "content-type": "text/plain" };
    expect((await fetch(stream("s1"), { method: "PUT", headers, body: "one," })).status).toBe(201);
    await client.publish(STORE, "http", "s1", encoder.encode("two"));

    const entries = [];
    for await (const entry of client.consumeSegment(STORE, { space: "http", segment: "s1" })) entries.push(new TextDecoder().decode(entry.payload));
    expect(entries).toEqual(["one,", "two"]);

    const read = await fetch(`${stream("s1")}?offset=-1`, { headers: await auth() });
    expect(await read.text()).toBe("one,two");
    expect(read.headers.get("stream-next-offset")).toBe("0000000000000000_0000000000000002");
  });

  it("wakes a long-poll with a WebSocket publish", async () => {
    const headers = { ...(await auth()), "content-type": "application/json" };
    const created = await fetch(stream("s2"), { method: "PUT", headers });
    const tail = created.headers.get("stream-next-offset") ?? "";
    const polling = fetch(`${stream("s2")}?offset=${tail}&live=long-poll`, { headers: await auth() });
    // The publish may land before or after the poll starts waiting: either way the poll answers with it.
    await client.publish(STORE, "http", "s2", encoder.encode(JSON.stringify({ n: 1 })));
    const answer = await polling;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual([{ n: 1 }]);
  });

  it("writes its idempotent producers' state, which a WebSocket client may not write", async () => {
    const headers = { ...(await auth()), "content-type": "text/plain" };
    expect((await fetch(stream("s4"), { method: "PUT", headers })).status).toBe(201);
    const append = async () =>
      fetch(stream("s4"), { method: "POST", headers: { ...headers, "producer-id": "w", "producer-epoch": "0", "producer-seq": "0" }, body: "once" });
    expect((await append()).status).toBe(200);
    expect((await append()).status).toBe(204);
    const entries = [];
    for await (const entry of client.consumeSegment(STORE, { space: "http", segment: "s4" })) entries.push(entry);
    expect(entries.map((entry) => entry.metadata)).toEqual([{ "ds.producer": "w", "ds.epoch": "0", "ds.seq": "0" }]);
    // The same keys from a client are refused (docs/protocol.md, Idempotent publish).
    await expect(client.publish(STORE, "http", "s4", encoder.encode("forged"), { metadata: { "ds.seq": "1" } })).rejects.toMatchObject({ kind: "invalid_argument" });
  });

  it("keeps a WebSocket client from forging a close marker or a Stream-Seq on an HTTP stream", async () => {
    const headers = { ...(await auth()), "content-type": "text/plain" };
    expect((await fetch(stream("s5"), { method: "PUT", headers })).status).toBe(201);
    for (const [key, value] of [["ds.close", ""], ["ds.stream-seq", "zzz"]] as const) {
      const metadata = { [key]: value };
      await expect(client.publish(STORE, "http", "s5", new Uint8Array(), { metadata })).rejects.toMatchObject({
        kind: "invalid_argument",
        message: expect.stringContaining(`metadata.${key}: is reserved`),
      });
      await expect(client.produce(STORE, "http", "s5", [{ sequence: 1, payload: new Uint8Array(), metadata }])).rejects.toMatchObject({ kind: "invalid_argument" });
    }
    // The stream is still open, its Stream-Seq mark unset: the gateway's own writes of both keys go on.
    const appended = await fetch(stream("s5"), { method: "POST", headers: { ...headers, "stream-seq": "a" }, body: "x" });
    expect(appended.status).toBe(204);
    const closed = await fetch(stream("s5"), { method: "POST", headers: { ...headers, "stream-closed": "true" } });
    expect(closed.status).toBe(204);
    const read = await fetch(`${stream("s5")}?offset=-1`, { headers: await auth() });
    expect(await read.text()).toBe("x");
    expect(read.headers.get("stream-closed")).toBe("true");
  });

  it("leaves the host's other routes to the host's own listener", async () => {
    // The fixture's host answers every request with a bare 404; the gateway's answers carry its headers.
    const answer = await fetch(`${base}/elsewhere`);
    expect(answer.status).toBe(404);
    expect(answer.headers.get("x-content-type-options")).toBeNull();
    gateway.close();
    expect((await fetch(stream("s0"), { method: "PUT" })).headers.get("x-content-type-options")).toBeNull();
    gateway = attachDurableStreams(fixture.server, { manager: fixture.manager });
  });
});

describe("access", () => {
  it("refuses a request without a token, and a write with a read-only token", async () => {
    expect((await fetch(stream("s3"), { method: "PUT" })).status).toBe(401);
    const readOnly = { ...(await auth([`streamkit::${STORE}:read`])), "content-type": "text/plain" };
    expect((await fetch(stream("s3"), { method: "PUT", headers: readOnly })).status).toBe(403);
    const writer = { ...(await auth([`streamkit::${STORE}`])), "content-type": "text/plain" };
    expect((await fetch(stream("s3"), { method: "PUT", headers: writer, body: "x" })).status).toBe(201);
    expect((await fetch(stream("s3"), { method: "POST", headers: readOnly, body: "y" })).status).toBe(403);
    expect(await (await fetch(`${stream("s3")}?offset=-1`, { headers: readOnly })).text()).toBe("x");
    const otherStore = { ...(await auth(["streamkit::00000000-0000-0000-0000-0000000000aa"])), "content-type": "text/plain" };
    expect((await fetch(`${stream("s3")}?offset=-1`, { headers: otherStore })).status).toBe(403);
  });

  it("grants anonymous scopes to requests without a token, and no more", async () => {
    gateway.close();
    const authenticator = withAnonymousScopes(createJwtAuthenticator({ secrets: SECRET }), [`streamkit::${STORE}:read`]);
    gateway = attachDurableStreams(fixture.server, { manager: fixture.manager, authenticator });
    await client.publish(STORE, "http", "s4", encoder.encode("public"));
    const headers = { ...(await auth()), "content-type": "application/octet-stream" };
    expect((await fetch(stream("s4"), { method: "PUT", headers })).status).toBe(201);
    expect(await (await fetch(`${stream("s4")}?offset=-1`)).text()).toBe("");
    expect((await fetch(stream("s4"), { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "z" })).status).toBe(403);
  });
});
