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

/** The median of a measurement's runs (of one of their fields), or undefined when none succeeded. */
function figureOf(results: Results, m: Measurement | undefined, field?: string): Figure | undefined {
  const runs = (m === undefined ? undefined : results.runs.get(keyOf(m)))?.filter((r) => r.notMeasured === undefined);
  if (runs === undefined || runs.length === 0) return undefined;
  const valueOf = (r: CaseResult): number => (field === undefined ? r.value : (r.fields?.[field] ?? Number.NaN));
  const all = runs.map(valueOf);
  const value = median(all);
  // The detail (CPU per operation, …) of the run nearest the median.
  const nearest = runs.reduce((best, r) => (Math.abs(valueOf(r) - value) < Math.abs(valueOf(best) - value) ? r : best));
  return { value, unit: field ?? nearest.unit, detail: nearest.detail ?? "", all };
}

/** Why a measurement has no figure because its peer was not reachable, if that is why. */
function notMeasured(results: Results, m: Measurement): string | undefined {
  return results.runs.get(keyOf(m))?.find((r) => r.notMeasured !== undefined)?.notMeasured;
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
    case "relative":
      return `≥ ${target.min} × ${target.name}`;
  }
}

function meets(target: Target, value: number, ratios: { level: number | undefined; pg: number | undefined }, relativeTo: number | undefined): boolean {
  switch (target.kind) {
    case "ratio": {
      const ratio = ratios[target.of];
      return ratio !== undefined && ratio >= target.min;
    }
    case "atLeast":
      return value >= target.value;
    case "atMost":
      return value <= target.value;
    case "relative":
      return relativeTo !== undefined && value >= target.min * relativeTo;
  }
}

const HEADER = ["case", "ours (median)", "unit", "raw LevelDB", "ours/raw", "raw ws", "ours/ws", "raw pg", "ours/pg", "target", "ok"];

/** One markdown table of the rows' medians and targets, then each row's detail and every run's figure. */
export function renderTable(rows: readonly Row[], results: Results, title: string): string {
  const lines: string[][] = rows.map((r) => {
    const ours = figureOf(results, r.ours, r.field);
    const level = figureOf(results, r.level);
    const relativeTo = r.target?.kind === "relative" ? figureOf(results, r.target.of)?.value : undefined;
    const ws = figureOf(results, r.ws);
    const levelRatio = ours !== undefined && level !== undefined ? ours.value / level.value : undefined;
    const wsRatio = ours !== undefined && ws !== undefined ? ours.value / ws.value : undefined;
    const pg = figureOf(results, r.pg);
    const pgRatio = ours !== undefined && pg !== undefined ? ours.value / pg.value : undefined;
    const ok = r.target === undefined ? "" : ours !== undefined && meets(r.target, ours.value, { level: levelRatio, pg: pgRatio }, relativeTo) ? "✓" : "✗";
    return [
      r.name,
      ours === undefined
        ? results.failures.has(keyOf(r.ours))
          ? "FAILED"
          : notMeasured(results, r.ours) !== undefined
            ? "not measured"
            : "-"
        : formatNumber(ours.value),
      ours?.unit ?? "",
      level === undefined ? "" : formatNumber(level.value),
      levelRatio === undefined ? "" : levelRatio.toFixed(2),
      ws === undefined ? "" : formatNumber(ws.value),
      wsRatio === undefined ? "" : wsRatio.toFixed(2),
      pg === undefined ? "" : formatNumber(pg.value),
      pgRatio === undefined ? "" : pgRatio.toFixed(2),
      describeTarget(r.target),
      ok,
    ];
  });
  const widths = HEADER.map((h, i) => Math.max(h.length, ...lines.map((line) => (line[i] ?? "").length)));
  const format = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const out = [title, format(HEADER), format(widths.map((w) => "-".repeat(w))), ...lines.map(format)];
  for (const r of rows) {
    const ours = figureOf(results, r.ours, r.field);
    const why = notMeasured(results, r.ours);
    if (ours !== undefined) out.push(`  ${r.name}: ${ours.detail}; runs ${ours.all.map(formatNumber).join(", ")}`);
    else if (why !== undefined) out.push(`  ${r.name}: not measured: ${why}`);
  }
  for (const [key, message] of results.failures) out.push(`  FAILED ${key}: ${message}`);
  return out.join("\n");
}
