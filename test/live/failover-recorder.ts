import type { Logger } from "../../pkg/api/logger.js";
import { Conditions } from "../support/waits.js";

/** A provider log line as the failover tests read it. */
export interface DialEvent {
  msg: string;
  url: string | undefined;
  waitMs: number | undefined;
  /** Date.now() when logged (the fake clock under fake timers). */
  at: number;
}

/** A Logger that keeps the WebSocket provider's dial events, with bounded waits on them. */
export class DialRecorder implements Logger {
  readonly events: DialEvent[] = [];
  readonly #conditions = new Conditions();

  debug = (object: object, message?: string) => this.#record(object, message);
  info = (object: object, message?: string) => this.#record(object, message);
  warn = (object: object, message?: string) => this.#record(object, message);
  error = (object: object, message?: string) => this.#record(object, message);

  /** The URLs dialed, in order. */
  get dials(): (string | undefined)[] {
    return this.named("websocket dialing").map((event) => event.url);
  }

  named(msg: string): DialEvent[] {
    return this.events.filter((event) => event.msg === msg);
  }

  /** Resolves once `count` events named `msg` were logged (bounded). */
  until(msg: string, count: number): Promise<void> {
    return this.#conditions.until(
      () => this.named(msg).length >= count,
      () => `${count} × "${msg}"; events so far: ${JSON.stringify(this.events.map((event) => [event.msg, event.url]))}`,
    );
  }

  /** Resolves with the first event named one of `msgs` logged at index `from` or later (bounded). */
  async next(from: number, msgs: readonly string[]): Promise<DialEvent> {
    const find = () => this.events.slice(from).find((event) => msgs.includes(event.msg));
    await this.#conditions.until(() => find() !== undefined, () => `one of ${msgs.join(", ")} after event ${from}`);
    return find() as DialEvent;
  }

  #record(object: object, message: string | undefined): void {
    const fields = object as { url?: unknown; waitMs?: unknown };
    this.events.push({
      msg: message ?? "",
      url: typeof fields.url === "string" ? fields.url : undefined,
      waitMs: typeof fields.waitMs === "number" ? fields.waitMs : undefined,
      at: Date.now(),
    });
    this.#conditions.check();
  }
}
