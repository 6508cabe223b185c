import { describe, expectTypeOf, it } from "vitest";
import type { StatusSubscription, StreamsClient, Subscription, WorkersSubscription } from "../../pkg/client/index.js";

// Checked by tsc (npm run typecheck): status and worker streams return the one Subscription handle.
describe("the SDK's subscription handle", () => {
  it("is one type for status subscriptions and worker streams", () => {
    expectTypeOf<StatusSubscription>().toEqualTypeOf<Subscription>();
    expectTypeOf<WorkersSubscription>().toEqualTypeOf<Subscription>();
    expectTypeOf<Awaited<ReturnType<StreamsClient["subscribeWorkers"]>>>().toEqualTypeOf<Awaited<ReturnType<StreamsClient["subscribeToSpace"]>>>();
  });
});
