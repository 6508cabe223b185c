import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { type AddressInfo, createConnection, createServer, type Socket } from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import { postgres, skipping } from "../../test/support/services.js";
import { dropSchema, randomSchema } from "../../test/support/pg-schema.js";
import { TcpProxy } from "../../test/support/tcp-proxy.js";
import { bounded } from "../../test/support/waits.js";
import { collect, records } from "../conformance/support.js";
import { createPostgresStoreFactory, type PostgresStoreFactory } from "./index.js";

/**
 * A database outage, simulated by a TCP proxy between the pool and PostgreSQL (the shared server is
 * never touched): calls fail with `unavailable` (transient, retryAfterMs) instead of hanging, and the
 * same store works again once the database is reachable, without a restart.
 */
const url = postgres.url;
const schema = randomSchema();

async function unavailable(call: () => Promise<unknown>, what: string): Promise<StreamsError> {
  const error: unknown = await bounded(
    call().then(
      () => new Error(`${what} succeeded during the outage`),
      (reason: unknown) => reason,
    ),
    `${what} to fail`,
  );
  expect(error, what).toBeInstanceOf(StreamsError);
  expect(error, what).toMatchObject({ kind: "unavailable", code: "transient", retryAfterMs: expect.any(Number) });
  return error as StreamsError;
}

if (!skipping(postgres, "PostgreSQL store outages") && url !== undefined) {
  const connectionString = url;
  const target = new URL(connectionString);
  const closers: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  afterAll(() => dropSchema(connectionString, schema));

  async function proxied(): Promise<{ proxy: TcpProxy; factory: PostgresStoreFactory }> {
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const factory = createPostgresStoreFactory({
      connectionString: proxy.rewrite(connectionString),
      schema,
      pool: { max: 2, connectTimeoutMs: 2_000, queryTimeoutMs: 5_000 },
    });
    closers.push(() => proxy[Symbol.asyncDispose](), () => factory.close());
    return { proxy, factory };
  }

  describe("PostgreSQL store during a database outage", () => {
    it("fails every kind of call with unavailable while cut off, then works again when the database is back", async () => {
      const { proxy, factory } = await proxied();
      const store = await factory.open(randomUUID());
      closers.push(() => store.close());
      await store.produce("s", "g", records(1, 2));
      await store.acquireLease("k", "a", 60_000);

      proxy.cut();
      await unavailable(() => store.produce("s", "g", records(3, 4)), "produce");
      await unavailable(() => store.publish("s", "g", new Uint8Array([1])), "publish");
      await unavailable(() => collect(store.readSpace({ space: "s" })), "space read");
      await unavailable(() => collect(store.readSegment({ space: "s", segment: "g" })), "segment read");
      await unavailable(() => store.peek("s", "g"), "peek");
      await unavailable(() => store.status(), "status");
      await unavailable(() => store.acquireLease("k", "a", 60_000), "lease");

      proxy.restore();
      // The failed produce left nothing behind: the segment carries on at 3.
      expect((await store.produce("s", "g", records(3, 4))).lastSequence).toBe(4);
      expect((await store.publish("s", "g", new Uint8Array([1]))).lastSequence).toBe(5);
      expect(await collect(store.readSegment({ space: "s", segment: "g" }))).toHaveLength(5);
      expect(await store.acquireLease("k", "a", 60_000)).toMatchObject({ ok: true, holder: "a", token: 1 });
    });

    it("fails open with unavailable while the database is unreachable at start, and opens once it is back", async () => {
      const { proxy, factory } = await proxied();
      proxy.cut();
      await unavailable(() => factory.open(randomUUID()), "open");
      await unavailable(() => factory.ready(), "ready");
      proxy.restore();
      const store = await factory.open(randomUUID());
      closers.push(() => store.close());
      expect((await store.produce("s", "g", records(1, 1))).lastSequence).toBe(1);
    });

    it("bounds a query the database stops answering mid-way, and carries on with new connections", async () => {
      // Forwards until stalled; a stalled connection stays open and silent, as over a dead route.
      const links = new Set<{ stalled: boolean }>();
      const stalledSockets = new Set<Socket>();
      const stall = createServer((client) => {
        const link = { stalled: false };
        links.add(link);
        stalledSockets.add(client);
        const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
        client.on("data", (data) => {
          if (!link.stalled) upstream.write(data);
        });
        upstream.on("data", (data) => {
          if (!link.stalled) client.write(data);
        });
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      stall.listen(0, "127.0.0.1");
      await once(stall, "listening");
      closers.push(async () => {
        for (const socket of stalledSockets) socket.destroy();
        await new Promise<void>((resolve) => stall.close(() => resolve()));
      });
      const stallUrl = new URL(connectionString);
      stallUrl.hostname = "127.0.0.1";
      stallUrl.port = String((stall.address() as AddressInfo).port);
      const factory = createPostgresStoreFactory({ connectionString: stallUrl.toString(), schema, pool: { max: 2, queryTimeoutMs: 1_000 } });
      closers.push(() => factory.close());
      const store = await factory.open(randomUUID());
      closers.push(() => store.close());
      await store.produce("s", "g", records(1, 1));
      for (const link of links) link.stalled = true;
      await unavailable(() => store.status(), "a query on a stalled connection");
      // The stalled connection was dropped, not handed out again: the next calls get new ones.
      expect((await store.produce("s", "g", records(2, 2))).lastSequence).toBe(2);
      expect((await store.segmentStatus("s", "g"))?.lastSequence).toBe(2);
    });

    it("bounds the wait for a database that accepts connections but never answers", async () => {
      // A listener that takes connections and says nothing: a hung server or a black-holed route.
      const sockets = new Set<Socket>();
      const silent = createServer((socket) => sockets.add(socket));
      silent.listen(0, "127.0.0.1");
      await once(silent, "listening");
      closers.push(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      });
      const silentUrl = new URL(connectionString);
      silentUrl.hostname = "127.0.0.1";
      silentUrl.port = String((silent.address() as AddressInfo).port);
      const factory = createPostgresStoreFactory({ connectionString: silentUrl.toString(), schema, pool: { max: 1, connectTimeoutMs: 500 } });
      closers.push(() => factory.close());
      await unavailable(() => factory.open(randomUUID()), "open against a silent server");
    });
  });
}
