import { pino, type Logger as PinoLogger } from "pino";
import pretty from "pino-pretty";
import type { LogLevel } from "./config/index.js";

export interface CliLoggerOptions {
  level: LogLevel;
  /** `"auto"`: pretty when stderr is a TTY. */
  pretty: boolean | "auto";
}

/** Whether logs go out for people (pino-pretty) rather than as JSON lines: `"auto"` follows stderr being a TTY. */
export function prettyLogs(pretty: boolean | "auto"): boolean {
  return pretty === "auto" ? process.stderr.isTTY === true : pretty;
}

/**
 * A pino logger writing to stderr: JSON lines, or pino-pretty's format for people. Writes are
 * synchronous so nothing is lost when the process exits right after a log line.
 */
export function createCliLogger(options: CliLoggerOptions): PinoLogger {
  const wantsPretty = prettyLogs(options.pretty);
  const destination = wantsPretty
    ? pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: "pid,hostname" })
    : pino.destination({ dest: 2, sync: true });
  // errWithCause: a StreamsError's message already includes its cause's, so don't append it again.
  return pino({ name: "streamkit", level: options.level, serializers: { err: pino.stdSerializers.errWithCause } }, destination);
}
