export {
  attachDurableStreams,
  createDurableStreamsHandler,
  DEFAULT_HTTP_LIMITS,
  type DurableStreamsHandler,
  type DurableStreamsOptions,
  type DurableStreamsServer,
} from "./handler.js";
export type { HttpLimits } from "./context.js";
