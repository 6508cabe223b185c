import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createRedisBusFactory, type RedisBus } from "../../bus/redis/index.js";
import { silentLogger } from "../../pkg/api/logger.js";
import { MissedNotifications } from "../../pkg/server/live/missed-notifications.js";
import { segmentRoute } from "../../pkg/server/live/notifications.js";
import { decodeRefresh, REFRESH_ROUTE, type RefreshAnnouncement } from "../../pkg/server/live/refresh-route.js";
import { redis, skipping } from "../support/services.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded, untilConnected } from "../support/waits.js";

/**
 * What an instance remembers of the commit notifications its bus dropped, and what it announces once
 * the bus is back (docs/design.md, Buses): coalesced per space, a store counted whole past the bound,
 * everything past as many stores. Real Redis buses; the publishing one through a proxy the test cuts.
 */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const [A, B, C] = [randomUUID(), randomUUID(), randomUUID()];

describe.skipIf(skipping(redis, "missed notifications over Redis"))("missed commit notifications", () => {
  async function setUp(maxSpaces: number) {
    const url = redis.url ?? "";
    const target = new URL(url);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    const prefix = `streamkit-missed:${randomUUID()}:`;
    const open = (to: string): RedisBus => createRedisBusFactory({ url: to, channelPrefix: prefix, maxReconnectDelayMs: 100 })();
    const writer = open(proxy.rewrite(url));
    const listener = open(url);
    const missed = new MissedNotifications({ bus: writer, origin: "writer", logger: silentLogger, maxSpaces });
    cleanups.push(async () => {
      missed.close();
      await Promise.all([writer.close(), listener.close()]);
      await proxy[Symbol.asyncDispose]();
    });
    const heard: RefreshAnnouncement[] = [];
    let wake: () => void = () => undefined;
    await listener.subscribe(REFRESH_ROUTE, (bytes) => {
      const announcement = decodeRefresh(bytes);
      if (announcement !== undefined) heard.push(announcement);
      wake();
    });
    await Promise.all([untilConnected(writer, true), untilConnected(listener, true)]);
    const announced = (): Promise<RefreshAnnouncement[]> =>
      bounded(
        new Promise<RefreshAnnouncement[]>((resolve) => {
          wake = () => resolve(heard);
          if (heard.length > 0) wake();
        }),
        "an announcement",
      );
    return { proxy, writer, missed, announced };
  }

  it("coalesces per space, counts a store whole past the bound, and announces once the bus is back", async () => {
    const { proxy, writer, missed, announced } = await setUp(2);
    proxy.cut();
    await untilConnected(writer, false);
    for (const space of ["x", "y", "x"]) writer.publish(segmentRoute(A, space), new Uint8Array([1]));
    // Dropped at once, or failed with the connection if the publisher had not noticed the cut yet.
    await writer.flush();
    expect(missed.pending).toEqual({ everything: false, stores: 1, spaces: 2 });
    writer.publish(segmentRoute(A, "z"), new Uint8Array([1]));
    await writer.flush();
    expect(missed.pending).toEqual({ everything: false, stores: 1, spaces: 0 });
    writer.publish(segmentRoute(B, "w.with.dots"), new Uint8Array([1]));
    await writer.flush();
    expect(missed.pending).toEqual({ everything: false, stores: 2, spaces: 1 });
    // Routes other than commit notifications are not remembered.
    writer.publish("sk.workers.elsewhere", new Uint8Array([1]));
    await writer.flush();
    expect(missed.pending).toEqual({ everything: false, stores: 2, spaces: 1 });

    proxy.restore();
    expect(await announced()).toEqual([
      {
        origin: "writer",
        stores: [
          [A, null],
          [B, ["w.with.dots"]],
        ],
      },
    ]);
    expect(missed.pending).toEqual({ everything: false, stores: 0, spaces: 0 });
  });

  it("announces everything once more stores than the bound were missed", async () => {
    const { proxy, writer, missed, announced } = await setUp(2);
    proxy.cut();
    await untilConnected(writer, false);
    for (const store of [A, B, C]) writer.publish(segmentRoute(store, "s"), new Uint8Array([1]));
    await writer.flush();
    expect(missed.pending).toEqual({ everything: true, stores: 0, spaces: 0 });
    proxy.restore();
    expect(await announced()).toEqual([{ origin: "writer", all: true }]);
  });
});
