import { randomUUID } from "node:crypto";
import { runBusConformance } from "../conformance/index.js";
import { redis } from "../../test/support/services.js";
import { createRedisBusFactory, type RedisBus } from "./index.js";

const url = redis.url;

/** Resolves once both of the bus's connections are ready; fails after 5 s. */
function connected(bus: RedisBus): Promise<void> {
  if (bus.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the redis bus did not connect within 5 s")), 5_000);
    const stop = bus.onConnectionChange((now) => {
      if (!now) return;
      stop();
      clearTimeout(timer);
      resolve();
    });
  });
}

runBusConformance("redis", {
  features: { crossInstance: true },
  skip: redis.skipReason,
  // A channel prefix of its own per test, so that test files running in parallel never cross.
  createFactory: async () => createRedisBusFactory({ url: url ?? "", channelPrefix: `streamkit-test:${randomUUID()}:` }),
  connected,
});
