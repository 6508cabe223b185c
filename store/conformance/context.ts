import type { Store, StoreFactory, StoreFeatures } from "../types.js";
import type { Suite } from "./runner.js";

/** What each group of the store suite gets from the suite around it. */
export interface StoreSuiteContext {
  readonly suite: Suite;
  /** What the backend declares it supports: the `features` of a store it opened. */
  readonly features: StoreFeatures;
  /** The test's fresh store. */
  store(): Store;
  /** Closes `store` and opens its data again through a reopened factory, as a restarted process would. */
  reopen(store: Store): Promise<Store>;
  /**
   * Closes `store` and the factory it came from, then opens its data through a new factory
   * (`reopenFactory`, which a backend that declares `durable` must give), as a restarted process would.
   */
  restart(store: Store): Promise<Store>;
  /** Opens `store`'s data as another instance sharing it would (StoreHarness.shareFactory); absent when the backend's harness gives none. */
  share?(store: Store): Promise<Store>;
  /** Opens a store of the test's factory (or of `from`). */
  open(storeId: string, from?: StoreFactory): Promise<Store>;
}
