import { randomUUID } from "node:crypto";
import { queryObjects } from "node:v8";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runBusConformance } from "../conformance/index.js";
import { createMemoryBusFactory } from "./index.js";

runBusConformance({ describe, it, beforeEach, afterEach }, "memory", { createFactory: async () => createMemoryBusFactory() });

describe("memory bus", () => {
  it("keeps nothing of a route once its last subscription is removed (one route per store and space followed)", async () => {
    const ROUTES = 2_000;
    const bus = createMemoryBusFactory()();
    const cycle = async (): Promise<void> => {
      const removes = await Promise.all(Array.from({ length: ROUTES }, () => bus.subscribe(`sk.segments.${randomUUID()}.s`, () => undefined)));
      await Promise.all(removes.map((remove) => remove()));
    };
    await cycle(); // warm-up: whatever the first use allocates once
    // queryObjects counts after a full GC. A hub keeping each route's empty handler list would leave ROUTES more arrays.
    const before = queryObjects(Array, { format: "count" });
    await cycle();
    expect(queryObjects(Array, { format: "count" }) - before).toBeLessThan(ROUTES / 10);
    await bus.close();
  });
});
