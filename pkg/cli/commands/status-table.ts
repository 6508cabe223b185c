import { formatTable } from "./output.js";

type Scalar = string | number | boolean | null;

const isScalar = (value: unknown): value is Scalar => value === null || ["string", "number", "boolean"].includes(typeof value);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

// Numbers under these names are read as times (ms since epoch) or durations (ms) and shown as such.
const TIME_KEY = /(At|^now|^last[A-Z]\w*)$/;
const DURATION_KEY = /Ms$/;
const YEAR_2000_MS = 946_684_800_000;

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.floor(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** A value for a person: times as ISO seconds, durations in units, nested values as compact JSON. */
function humanize(key: string, value: unknown): Scalar {
  if (typeof value === "number" && TIME_KEY.test(key) && value > YEAR_2000_MS) return new Date(value).toISOString().replace(/\.\d+Z$/, "Z");
  if (typeof value === "number" && DURATION_KEY.test(key) && value >= 0) return formatDuration(value);
  if (Array.isArray(value) && value.every(isScalar)) return value.join(", ");
  return isScalar(value) ? value : value === undefined ? null : JSON.stringify(value);
}

/** `clientAddress` → `client address` (formatTable upper-cases headings). */
const heading = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();

/** Columns of a list of objects: every key, in order of first appearance. */
function columnsOf(rows: readonly Record<string, unknown>[]): string[] {
  const columns = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) columns.add(key);
  return [...columns];
}

function listSection(name: string, rows: readonly Record<string, unknown>[]): string {
  const columns = columnsOf(rows);
  const cells = rows.map((row) => columns.map((column) => humanize(column, row[column])));
  return `\n${name} (${rows.length}):\n${formatTable(columns.map(heading), cells)}`;
}

/**
 * The operator status for a person: scalars as `name: value` lines, lists of objects as tables
 * under their name, nested objects flattened to dotted names, times and durations (by their names:
 * `openedAt`, `lastAccess`, `uptimeMs`) in readable units. Follows the JSON's own shape, so fields
 * the server adds show up without a change here.
 */
export function formatStatus(status: unknown, prefix = ""): string {
  if (!isObject(status)) return `${prefix === "" ? "" : `${prefix}: `}${JSON.stringify(status)}\n`;
  const facts: string[] = [];
  const sections: string[] = [];
  for (const [key, value] of Object.entries(status)) {
    const name = `${prefix}${key}`;
    if (Array.isArray(value) && value.length > 0 && value.every(isObject)) sections.push(listSection(name, value));
    else if (Array.isArray(value) && value.length === 0) sections.push(`\n${name}: none\n`);
    else if (isObject(value)) sections.push(formatStatus(value, `${name}.`));
    else facts.push(`${name}: ${String(humanize(key, value))}\n`);
  }
  return facts.join("") + sections.join("");
}
