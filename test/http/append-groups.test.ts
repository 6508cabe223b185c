import { afterEach, describe, expect, it } from "vitest";
import { createNodeManager } from "../../pkg/server/index.js";
import { createJwtAuthenticator, signToken } from "../../pkg/server/auth/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import type { Store, StoreFactory } from "../../store/types.js";
import { attachDurableStreams } from "../../transport/http/index.js";
import { bounded } from "../support/waits.js";
import { listen } from "../support/ws-raw-client.js";

/**
 * Plain HTTP appends to one stream that arrive while a write to it runs go in the next write together
 * (docs/http.md, Appends): one batch, each append at its own offset, each refused on its own terms,
 * and never grouped with appends sent with other credentials. The store's first write to the data
 * space is held until the test has sent every other append, so the grouping is what the test sees.
 */
const STORE = "5b7f1d0e-2a64-4c3b-8e19-7d2c4a9f0b31";
const SECRET = "append-groups-test-secret-long-enough-for-hs256";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A store factory whose stores hold their produces to space `http` while `gate` is shut, and count them. */
function gated(inner: StoreFactory) {
  let release: () => void = () => undefined;
  let shut: Promise<void> | undefined;
  let arrived: () => void = () => undefined;
  const firstHeld = new Promise<void>((resolve) => (arrived = resolve));
  const batches: number[] = [];
  const factory: StoreFactory = {
    ...inner,
    async open(storeId: string): Promise<Store> {
      const store = await inner.open(storeId);
      return new Proxy(store, {
        get(target, property) {
          const value = Reflect.get(target, property, target) as unknown;
          if (property !== "produce") return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          return async (...args: Parameters<Store["produce"]>) => {
            if (args[0] === "http") {
              batches.push(args[2].length);
              arrived();
              if (shut !== undefined) await shut;
            }
            return target.produce(...args);
          };
        },
      });
    },
  };
  return {
    factory,
    batches,
    firstHeld,
    shut: () => {
      shut = new Promise<void>((resolve) => (release = resolve));
    },
    open: () => release(),
  };
}

async function start(withAuth: boolean) {
  const store = gated(createMemoryStoreFactory());
  const http = await listen();
  const manager = createNodeManager({ storeFactory: store.factory, idleEviction: false });
  const authenticator = withAuth ? createJwtAuthenticator({ secrets: SECRET }) : undefined;
  const gateway = attachDurableStreams(http.server, { manager, ...(authenticator !== undefined && { authenticator }) });
  cleanups.push(async () => {
    gateway.close();
    await manager.close();
    await http.close();
  });
  // Requests whose bodies the server has read: once every one has, and a turn has passed, each is queued.
  let ended = 0;
  let onEnded: () => void = () => undefined;
  http.server.on("request", (request) => request.once("end", () => (ended++, onEnded())));
  const requestsEnded = (count: number) =>
    bounded(
      new Promise<void>((resolve) => {
        onEnded = () => ended >= count && resolve();
        onEnded();
      }),
      () => `${count} requests read (${ended} so far)`,
    );
  const base = `${new URL(http.url.replace(/^ws/, "http")).origin}/v1/stream/${STORE}/http`;
  return { store, base, requestsEnded };
}

const turns = async (count: number) => {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
};
const octets = { "content-type": "application/octet-stream" };

describe("plain appends that wait for a write", () => {
  it("go in the next write as one batch, each at its own offset", async () => {
    const { store, base, requestsEnded } = await start(false);
    const url = `${base}/grouped`;
    expect((await fetch(url, { method: "PUT", headers: octets })).status).toBe(201);
    store.shut();
    const first = fetch(url, { method: "POST", headers: octets, body: "a00" });
    await bounded(store.firstHeld, "the first append's write");
    const bodies = Array.from({ length: 30 }, (_, i) => `a${String(i + 1).padStart(2, "0")}`);
    const rest = bodies.map((body) => fetch(url, { method: "POST", headers: octets, body }));
    await requestsEnded(2 + bodies.length);
    await turns(5);
    store.open();
    const answers = await bounded(Promise.all([first, ...rest]), "the appends' answers");

    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 204));
    expect(store.batches).toEqual([1, 30]);
    const offsets = answers.map((answer) => Number(answer.headers.get("stream-next-offset")?.split("_")[1]));
    expect([...offsets].sort((a, b) => a - b)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    // Each append is where its answer says: the body ending at offset n is the n-th.
    const data = await (await fetch(`${url}?offset=-1`)).text();
    ["a00", ...bodies].forEach((body, i) => expect(data.slice((offsets[i]! - 1) * 3, offsets[i]! * 3)).toBe(body));
  });

  it("writes a backlog larger than one group in several writes, each with a waiting append's own client", async () => {
    const { store, base, requestsEnded } = await start(false);
    const url = `${base}/backlog`;
    expect((await fetch(url, { method: "PUT", headers: octets })).status).toBe(201);
    store.shut();
    const first = fetch(url, { method: "POST", headers: octets, body: "x" });
    await bounded(store.firstHeld, "the first append's write");
    // 700 KB each: two do not fit in one group (1 MiB), so each is a write of its own after the first.
    const big = ["a", "b", "c"].map((fill) => fetch(url, { method: "POST", headers: octets, body: fill.repeat(700_000) }));
    await requestsEnded(2 + big.length);
    await turns(5);
    store.open();
    const answers = await bounded(Promise.all([first, ...big]), "the appends' answers");

    expect(answers.map((answer) => answer.status)).toEqual([204, 204, 204, 204]);
    expect(store.batches).toEqual([1, 1, 1, 1]);
    const head = await fetch(url, { method: "HEAD" });
    expect(head.headers.get("stream-next-offset")).toBe("0000000000000000_0000000000000004");
  });

  it("refuses one append of the group on its own terms and writes the others", async () => {
    const { store, base, requestsEnded } = await start(false);
    const url = `${base}/json`;
    const json = { "content-type": "application/json" };
    expect((await fetch(url, { method: "PUT", headers: json })).status).toBe(201);
    store.shut();
    const first = fetch(url, { method: "POST", headers: json, body: "[1]" });
    await bounded(store.firstHeld, "the first append's write");
    const good = fetch(url, { method: "POST", headers: json, body: "[2,3]" });
    const wrongType = fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "4" });
    const notJson = fetch(url, { method: "POST", headers: json, body: "{" });
    const last = fetch(url, { method: "POST", headers: json, body: "5" });
    await requestsEnded(6);
    await turns(5);
    store.open();
    const [a, b, c, d, e] = await bounded(Promise.all([first, good, wrongType, notJson, last]), "the appends' answers");

    expect([a.status, b.status, c.status, d.status, e.status]).toEqual([204, 204, 409, 400, 204]);
    expect(store.batches).toEqual([1, 3]);
    expect(await (await fetch(`${url}?offset=-1`)).json()).toEqual([1, 2, 3, 5]);
  });

  it("never groups an append with another sent with other credentials", async () => {
    const { store, base, requestsEnded } = await start(true);
    const url = `${base}/scoped`;
    const bearer = async (scope: string) => ({ authorization: `Bearer ${await signToken({ secret: SECRET, scopes: [scope], ttlSec: 60 })}` });
    const writer = { ...(await bearer("streamkit::*")), ...octets };
    const reader = { ...(await bearer(`streamkit::${STORE}:read`)), ...octets };
    expect((await fetch(url, { method: "PUT", headers: writer })).status).toBe(201);
    store.shut();
    const first = fetch(url, { method: "POST", headers: writer, body: "w" });
    await bounded(store.firstHeld, "the first append's write");
    const mixed = Array.from({ length: 10 }, (_, i) => fetch(url, { method: "POST", headers: i % 2 === 0 ? reader : writer, body: i % 2 === 0 ? "r" : "w" }));
    await requestsEnded(2 + mixed.length);
    await turns(5);
    store.open();
    const answers = await bounded(Promise.all([first, ...mixed]), "the appends' answers");

    expect(answers.map((answer) => answer.status)).toEqual([204, ...mixed.map((_, i) => (i % 2 === 0 ? 403 : 204))]);
    expect(await (await fetch(`${url}?offset=-1`, { headers: writer })).text()).toBe("wwwwww");
  });
});
