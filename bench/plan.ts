// What bench/run.ts runs: rows of the table, each naming the measurements it needs.

/** One case file run with these arguments; each repetition is a fresh process bounded by `timeoutMs`. */
export interface Measurement {
  caseName: string;
  args: string[];
  timeoutMs: number;
}

/** Which raw baseline a ratio target compares with. */
export type Baseline = "level" | "pg";

export type Target =
  | { kind: "ratio"; min: number; of: Baseline }
  | { kind: "atLeast"; value: number }
  | { kind: "atMost"; value: number }
  /** Ours at least `min` × another measurement of the same run (`name` says which). */
  | { kind: "relative"; min: number; of: Measurement; name: string };

export interface Row {
  name: string;
  ours: Measurement;
  /** The raw LevelDB figure beside ours; `ratio` targets compare with it. */
  level?: Measurement;
  /** The raw `ws` figure beside ours. */
  ws?: Measurement;
  /** The raw `pg` figure beside ours (PostgreSQL rows); `ratio(x, "pg")` targets compare with it. */
  pg?: Measurement;
  target?: Target;
  /** Shows this named figure of the run (CaseResult.fields) instead of its main value. */
  field?: string;
}

export function measure(caseName: string, args: (string | number)[] = [], timeoutMs = 120_000): Measurement {
  return { caseName, args: args.map(String), timeoutMs };
}

export function row(name: string, ours: Measurement, extra: Omit<Row, "name" | "ours"> = {}): Row {
  return { name, ours, ...extra };
}

/** Ours at least `min` × the row's raw LevelDB (or, with "pg", raw PostgreSQL) figure. */
export const ratio = (min: number, of: Baseline = "level"): Target => ({ kind: "ratio", min, of });
export const atLeast = (value: number): Target => ({ kind: "atLeast", value });
export const atMost = (value: number): Target => ({ kind: "atMost", value });
export const relative = (min: number, of: Measurement, name: string): Target => ({ kind: "relative", min, of, name });

/** Identifies a measurement: rows sharing a baseline share its runs. */
export const keyOf = (m: Measurement): string => [m.caseName, ...m.args].join(" ");

/** Every distinct measurement `rows` need, in first-use order. */
export function measurementsOf(rows: readonly Row[]): Map<string, Measurement> {
  const measurements = new Map<string, Measurement>();
  for (const r of rows) {
    const of = r.target?.kind === "relative" ? r.target.of : undefined;
    for (const m of [r.ours, r.level, r.ws, r.pg, of]) if (m !== undefined && !measurements.has(keyOf(m))) measurements.set(keyOf(m), m);
  }
  return measurements;
}
