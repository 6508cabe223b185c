import { type Attributes, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { type Message, opName, type StreamsError } from "../api/internal/index.js";
import { noopStreamObserver, type StreamObserver } from "./metrics/observer.js";

/** The tracer every span of the server comes from; a no-op until the host registers a tracer provider. */
export const TRACER_NAME = "streamkit";

export const SpanAttributes = {
  store: "streamkit.store",
  space: "streamkit.space",
  segment: "streamkit.segment",
  op: "streamkit.op",
  errorKind: "streamkit.error.kind",
  clientGone: "streamkit.client_gone",
} as const;

/** Space and segment of a first message, when it names them (consume names several spaces). */
function routeAttributes(message: Message): Attributes {
  const attributes: Attributes = { [SpanAttributes.op]: opName(message.$type) };
  if ("space" in message && typeof message.space === "string") attributes[SpanAttributes.space] = message.space;
  if ("segment" in message && typeof message.segment === "string") attributes[SpanAttributes.segment] = message.segment;
  if ("offsets" in message && typeof message.offsets === "object") attributes[SpanAttributes.space] = Object.keys(message.offsets).sort();
  return attributes;
}

/** Names and labels a stream's span from its first message and marks how it ended. */
class StreamSpan implements StreamObserver {
  #described = false;

  constructor(private readonly span: Span) {}

  received(message: Message): void {
    if (this.#described) return;
    this.#described = true;
    this.span.updateName(`streamkit ${opName(message.$type)}`);
    this.span.setAttributes(routeAttributes(message));
  }

  sending(): void {}

  ended(error: StreamsError | undefined, clientGone: boolean): void {
    if (error === undefined) return;
    this.span.setAttribute(SpanAttributes.errorKind, error.kind);
    if (clientGone) this.span.setAttribute(SpanAttributes.clientGone, true);
    if (clientGone || error.kind === "cancelled") return;
    this.span.recordException(error);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
}

/**
 * Runs one logical stream inside an active span (`streamkit <op>`, kind server) carrying the store,
 * space, segment and op as attributes; spans of work done inside it nest under it. Ends the span
 * when `run` settles. Costs next to nothing while no tracer provider is registered.
 */
export function traceStream(storeId: string, run: (span: StreamObserver) => Promise<void>): Promise<void> {
  const tracer = trace.getTracer(TRACER_NAME);
  return tracer.startActiveSpan("streamkit stream", { kind: SpanKind.SERVER, attributes: { [SpanAttributes.store]: storeId } }, async (span) => {
    try {
      await run(span.isRecording() ? new StreamSpan(span) : noopStreamObserver);
    } finally {
      span.end();
    }
  });
}
