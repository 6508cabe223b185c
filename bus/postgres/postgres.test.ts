import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "vitest";
import { runBusConformance } from "../conformance/index.js";
import { postgres } from "../../test/support/services.js";
import { untilConnected } from "../../test/support/waits.js";
import { createPostgresBusFactory } from "./index.js";

runBusConformance({ describe, it, beforeEach, afterEach }, "postgres", {
  skip: postgres.skipReason,
  // A channel prefix of its own per test, so that test files running in parallel never cross.
  createFactory: async () => createPostgresBusFactory({ connectionString: postgres.url ?? "", channelPrefix: randomUUID() }),
  connected: (bus) => untilConnected(bus, true),
});
