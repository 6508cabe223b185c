import { afterAll, afterEach, beforeEach, describe, it } from "vitest";
import { postgres, skipping } from "../../test/support/services.js";
import { dropSchema, randomSchema } from "../../test/support/pg-schema.js";
import { runStoreConformance, type StoreHarness } from "../conformance/index.js";
import type { StoreOptions } from "../types.js";
import { createPostgresStoreFactoryWith } from "./factory.js";

const url = postgres.url;
const schema = randomSchema();

/**
 * Every factory shares the file's schema (each test uses its own store ids); reopening is a new
 * factory with its own pool, and so is another instance's (`shareFactory`). Leases use the local clock here because the suite fakes `Date`;
 * lease-clock.test.ts covers the database clock.
 */
function postgresHarness(connectionString: string): StoreHarness {
  const make = async (options: StoreOptions = {}) =>
    createPostgresStoreFactoryWith({ connectionString, schema, nodeId: "conformance", pool: { max: 4 }, ...options }, { leaseClock: "local" });
  return { createFactory: make, reopenFactory: () => make(), shareFactory: () => make() };
}

if (!skipping(postgres, "store conformance: postgres") && url !== undefined) {
  afterAll(() => dropSchema(url, schema));
  await runStoreConformance({ describe, it, beforeEach, afterEach }, "postgres", postgresHarness(url));
}
