/** What each benchmark returns, the figures' formats, and the table `npm run bench` prints. */
import type { Spread } from "./stats";

export interface Row {
  /** "1 latency", "2 poll cost", … */
  bench: string;
  measure: string;
  /** Our figure, formatted. */
  ours: string;
  /** The baseline it is compared with, named and formatted ("upsmon 1.06 s"). */
  baseline: string;
  /** ours / baseline, formatted ("0.93×"), or "" when not a ratio. */
  ratio: string;
  /** The target for this row, in words; "" for figures shown for context. */
  target: string;
  /** Whether the target is met; null when the row has no target. */
  met: boolean | null;
}

export interface BenchResult {
  name: string;
  rows: Row[];
  /** Facts worth reading beside the table (polls done, failures, phases). */
  notes: string[];
  /** Everything measured, for the JSON output. */
  raw: Record<string, unknown>;
  /** How long it ran (timed by bench/run.ts). */
  seconds: number;
}

/** What a benchmark's run gives bench/run.ts, which times it. */
export type BenchOutput = Omit<BenchResult, "seconds">;

export const fmt = {
  s: (v: number, digits = 2): string => (Number.isFinite(v) ? `${v.toFixed(digits)} s` : "n/a"),
  ms: (v: number): string => (Number.isFinite(v) ? `${Math.round(v)} ms` : "n/a"),
  us: (v: number): string => (Number.isFinite(v) ? (v >= 100 ? `${Math.round(v)} µs` : `${v.toFixed(1)} µs`) : "n/a"),
  mb: (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MB` : "n/a"),
  ratio: (v: number): string => (Number.isFinite(v) ? (v >= 10 ? `${Math.round(v)}×` : `${v.toFixed(2)}×`) : "n/a"),
  /** "1.23 s (1.10–1.40, n=3)" from a spread and a formatter. */
  spread: (s: Spread, f: (v: number) => string): string => (s.n > 1 ? `${f(s.median)} (${f(s.min).replace(/ .*/, "")}–${f(s.max)}, n=${s.n})` : f(s.median)),
};

/** A markdown table: readable in a terminal and in the README. */
export function table(rows: Row[]): string {
  const head = ["benchmark", "measure", "ours", "baseline (same run)", "ratio", "target", "met"];
  const lines = rows.map((r) => [r.bench, r.measure, r.ours, r.baseline, r.ratio, r.target, r.met === null ? "" : r.met ? "yes" : "**no**"]);
  const esc = (c: string): string => c.replace(/\|/g, "\\|");
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...lines.map((l) => `| ${l.map(esc).join(" | ")} |`)].join("\n");
}
