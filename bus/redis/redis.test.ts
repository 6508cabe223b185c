import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "vitest";
import { runBusConformance } from "../conformance/index.js";
import { redis } from "../../test/support/services.js";
import { untilConnected } from "../../test/support/waits.js";
import { createRedisBusFactory } from "./index.js";

runBusConformance({ describe, it, beforeEach, afterEach }, "redis", {
  skip: redis.skipReason,
  // A channel prefix of its own per test, so that test files running in parallel never cross.
  createFactory: async () => createRedisBusFactory({ url: redis.url ?? "", channelPrefix: `streamkit-test:${randomUUID()}:` }),
  connected: (bus) => untilConnected(bus, true),
});
