import {
  type Attributes,
  type AttributeValue,
  type Context,
  context,
  type Exception,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";

const hex = (bytes: number): string => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** A span that keeps what it was told, for assertions. */
export class RecordedSpan implements Span {
  name: string;
  readonly kind: SpanKind | undefined;
  readonly attributes: Attributes;
  readonly exceptions: Exception[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  readonly #context: SpanContext = { traceId: hex(16), spanId: hex(8), traceFlags: TraceFlags.SAMPLED };

  constructor(name: string, options: SpanOptions) {
    this.name = name;
    this.kind = options.kind;
    this.attributes = { ...options.attributes };
  }

  spanContext(): SpanContext {
    return this.#context;
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(name: string): this {
    this.name = name;
    return this;
  }
  end(): void {
    this.ended = true;
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(exception: Exception): void {
    this.exceptions.push(exception);
  }
}

/**
 * The smallest real TracerProvider: what a host registers with `trace.setGlobalTracerProvider`,
 * recording every span in `spans` (an SDK exporter would send them on instead).
 */
export class RecordingTracerProvider implements TracerProvider {
  readonly spans: RecordedSpan[] = [];
  readonly tracerNames: string[] = [];

  getTracer(name: string): Tracer {
    this.tracerNames.push(name);
    const start = (spanName: string, options: SpanOptions = {}): RecordedSpan => {
      const span = new RecordedSpan(spanName, options);
      this.spans.push(span);
      return span;
    };
    // The overloads of startActiveSpan: (name, fn), (name, options, fn), (name, options, context, fn).
    function startActiveSpan(spanName: string, ...rest: unknown[]): unknown {
      const fn = rest.at(-1) as (span: Span) => unknown;
      const options = rest.length > 1 ? (rest[0] as SpanOptions) : {};
      const parent = rest.length > 2 ? (rest[1] as Context) : context.active();
      const span = start(spanName, options);
      return context.with(trace.setSpan(parent, span), () => fn(span));
    }
    return { startSpan: (spanName: string, options?: SpanOptions) => start(spanName, options), startActiveSpan } as Tracer;
  }
}
