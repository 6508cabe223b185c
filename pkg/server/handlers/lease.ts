import { type LeaseRequest, type LeaseResult, MessageTypes } from "../../api/internal/index.js";
import type { Store } from "../../../store/types.js";
import type { HandlerContext } from "./context.js";

/**
 * `lease_acquire` / `lease_renew` / `lease_release` → one `lease_result`. The store decides, atomically
 * per key and with its data, so every server instance sharing the store sees one holder per key.
 */
export async function handleLease(request: LeaseRequest, context: HandlerContext): Promise<void> {
  const result = await runLease(request, context.store);
  await context.send({ $type: MessageTypes.leaseResult, ...result });
}

function runLease(request: LeaseRequest, store: Store): Promise<LeaseResult> {
  const { key, holder } = request;
  // The wire schema requires ttlMs for acquire and renew; the store refuses a missing one all the same.
  const ttlMs = request.ttlMs ?? 0;
  switch (request.$type) {
    case MessageTypes.leaseAcquire:
      return store.acquireLease(key, holder, ttlMs);
    case MessageTypes.leaseRenew:
      return store.renewLease(key, holder, ttlMs);
    case MessageTypes.leaseRelease:
      return store.releaseLease(key, holder);
  }
}
