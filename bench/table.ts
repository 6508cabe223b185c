import type { CaseResult } from "./harness.js";
import { keyOf, type Measurement, type Row, type Target } from "./plan.js";

/** What the runs produced: each measurement's results (in run order) and the ones that failed. */
export interface Results {
  runs: Map<string, CaseResult[]>;
  failures: Map<string, string>;
}

export function formatNumber(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : String(Math.round(value * 10) / 10);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

interface Figure {
  value: number;
  unit: string;
  detail: string;
  all: number[];
}

/** The median of a measurement's runs, or undefined when none succeeded. */
function figureOf(results: Results, m: Measurement | undefined): Figure | undefined {
  const runs = m === undefined ? undefined : results.runs.get(keyOf(m));
  if (runs === undefined || runs.length === 0) return undefined;
  const all = runs.map((r) => r.value);
  const value = median(all);
  // The detail (CPU per operation, …) of the run nearest the median.
  const nearest = runs.reduce((best, r) => (Math.abs(r.value - value) < Math.abs(best.value - value) ? r : best));
  return { value, unit: nearest.unit, detail: nearest.detail ?? "", all };
}

function describeTarget(target: Target | undefined): string {
  if (target === undefined) return "";
  switch (target.kind) {
    case "ratio":
      return `≥ ${target.min} × raw ${target.of === "pg" ? "pg" : "LevelDB"}`;
    case "atLeast":
      return `≥ ${formatNumber(target.value)}`;
    case "atMost":
      return `≤ ${formatNumber(target.value)}`;
  }
}

function meets(target: Target, value: number, ratios: { level: number | undefined; pg: number | undefined }): boolean {
  switch (target.kind) {
    case "ratio": {
      const ratio = ratios[target.of];
      return ratio !== undefined && ratio >= target.min;
    }
    case "atLeast":
      return value >= target.value;
    case "atMost":
      return value <= target.value;
  }
}

const HEADER = ["case", "ours (median)", "unit", "raw LevelDB", "ours/raw", "raw ws", "ours/ws", "raw pg", "ours/pg", "target", "ok"];

/** A case that could not reach a service it needs (PostgreSQL, Redis) reports this unit. */
export const NOT_MEASURED = "not measured";

const shown = (figure: Figure | undefined): string => (figure === undefined ? "" : figure.unit === NOT_MEASURED ? NOT_MEASURED : formatNumber(figure.value));

/** One markdown table of the rows' medians and targets, then each row's detail and every run's figure. */
export function renderTable(rows: readonly Row[], results: Results, title: string): string {
  const lines: string[][] = rows.map((r) => {
    const ours = figureOf(results, r.ours);
    const level = figureOf(results, r.level);
    const ws = figureOf(results, r.ws);
    const pg = figureOf(results, r.pg);
    const measured = (figure: Figure | undefined): figure is Figure => figure !== undefined && figure.unit !== NOT_MEASURED;
    const levelRatio = measured(ours) && level !== undefined ? ours.value / level.value : undefined;
    const wsRatio = measured(ours) && ws !== undefined ? ours.value / ws.value : undefined;
    const pgRatio = measured(ours) && measured(pg) ? ours.value / pg.value : undefined;
    const ok =
      r.target === undefined || !measured(ours) ? "" : meets(r.target, ours.value, { level: levelRatio, pg: pgRatio }) ? "✓" : "✗";
    return [
      r.name,
      ours === undefined ? (results.failures.has(keyOf(r.ours)) ? "FAILED" : "-") : shown(ours),
      ours?.unit ?? "",
      level === undefined ? "" : formatNumber(level.value),
      levelRatio === undefined ? "" : levelRatio.toFixed(2),
      ws === undefined ? "" : formatNumber(ws.value),
      wsRatio === undefined ? "" : wsRatio.toFixed(2),
      shown(pg),
      pgRatio === undefined ? "" : pgRatio.toFixed(2),
      describeTarget(r.target),
      ok,
    ];
  });
  const widths = HEADER.map((h, i) => Math.max(h.length, ...lines.map((line) => (line[i] ?? "").length)));
  const format = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const out = [title, format(HEADER), format(widths.map((w) => "-".repeat(w))), ...lines.map(format)];
  for (const r of rows) {
    const ours = figureOf(results, r.ours);
    if (ours !== undefined) out.push(`  ${r.name}: ${ours.detail}; runs ${ours.all.map(formatNumber).join(", ")}`);
  }
  for (const [key, message] of results.failures) out.push(`  FAILED ${key}: ${message}`);
  return out.join("\n");
}
