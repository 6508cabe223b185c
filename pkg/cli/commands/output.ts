import type { Writable } from "node:stream";
import { cancelledError } from "../../api/internal/index.js";

/**
 * Writes `text`, waiting for the stream to drain when its buffer is full (a slow reader of stdout
 * slows the verb instead of filling memory). Rejects with `cancelled` when `signal` aborts first.
 */
export function writeText(stream: Writable, text: string, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(cancelledError(signal));
  if (stream.write(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.off("drain", onDrain);
      signal.removeEventListener("abort", onAbort);
    };
    const onDrain = (): void => {
      done();
      resolve();
    };
    const onAbort = (): void => {
      done();
      reject(cancelledError(signal));
    };
    stream.on("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A single JSON value for stdout: indented for a person at a terminal, one line for a program. */
export function formatJson(value: unknown, tty: boolean): string {
  return `${JSON.stringify(value, null, tty ? 2 : undefined)}\n`;
}

type Cell = string | number | boolean | null | undefined;

/** Rows under upper-case headings, columns padded; columns of numbers (and blanks) right-aligned. */
export function formatTable(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => columns.map((_, index) => (row[index] === undefined || row[index] === null ? "" : String(row[index]))));
  const present = (index: number): Cell[] => rows.map((row) => row[index]).filter((value) => value !== undefined && value !== null);
  const numeric = columns.map((_, index) => present(index).length > 0 && present(index).every((value) => typeof value === "number"));
  const widths = columns.map((column, index) => Math.max(column.length, ...text.map((row) => row[index]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, index) => (numeric[index] ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((column) => column.toUpperCase())), ...text.map(line)].map((row) => `${row}\n`).join("");
}

/** Milliseconds since epoch as an ISO time, or empty for 0 (never). */
export const formatTime = (ms: number): string => (ms > 0 ? new Date(ms).toISOString() : "");
