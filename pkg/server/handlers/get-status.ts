import { type GetStatusRequest, MessageTypes } from "../../api/internal/index.js";
import type { HandlerContext } from "./context.js";

/** `get_status` → store_status with per-space counts and heads. */
export async function handleGetStatus(_request: GetStatusRequest, context: HandlerContext): Promise<void> {
  const { spaces } = await context.store.status();
  await context.send({ $type: MessageTypes.storeStatus, storeId: context.storeId, spaces });
}
