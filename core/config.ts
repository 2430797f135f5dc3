/**
 * What the editor saved for a node's options, read the same way by every
 * node: a number arrives as a number or as the text typed in its field, a
 * field left empty means the default, a checkbox comes back as a boolean or
 * its text. Bounds are checked here; each node says in its own words what is
 * wrong (docs/nodes.md, "When something is wrong").
 */
import { numberOf } from "./check";

/** A field left empty: undefined, null, "" or only spaces. */
export function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === "string" && v.trim() === "");
}

/** The number typed: null when the field is empty, NaN when it holds no number. */
export function optionalNumber(v: unknown): number | null {
  return isEmpty(v) ? null : numberOf(v);
}

/** The number typed, `fallback` when the field is empty (NaN when it holds no number). */
export function numberOr(v: unknown, fallback: number): number {
  return optionalNumber(v) ?? fallback;
}

/** Seconds typed, in ms; an empty field is `fallbackMs`. */
export function secondsOr(v: unknown, fallbackMs: number): number {
  const n = optionalNumber(v);
  return n === null ? fallbackMs : n * 1000;
}

/** Seconds typed, in ms, where a negative number means "never" (null), as in upsmon.conf; an empty field is `fallbackMs`. */
export function secondsOrNever(v: unknown, fallbackMs: number | null): number | null {
  const n = optionalNumber(v);
  if (n === null) return fallbackMs;
  return n < 0 ? null : n * 1000;
}

export interface Bounds {
  /** At least this. */
  min?: number;
  /** More than this. */
  above?: number;
  /** At most this. */
  max?: number;
  integer?: boolean;
}

/** Whether `n` is a finite number within `b`. */
export function within(n: number, b: Bounds): boolean {
  if (!Number.isFinite(n)) return false;
  if (b.integer && !Number.isInteger(n)) return false;
  if (b.min !== undefined && n < b.min) return false;
  if (b.above !== undefined && n <= b.above) return false;
  return b.max === undefined || n <= b.max;
}

/** A checkbox: true or "true", false or "false"; anything else is `fallback`. */
export function flag(v: unknown, fallback: boolean): boolean {
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  return fallback;
}

/** A text field; anything that is not text is empty. */
export function textOf(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** A configuration problem in words: a key of the node's "errors" texts and its values. */
export interface ConfigProblem {
  key: string;
  params?: Record<string, string | number>;
}

/**
 * Seconds in [min, max] as ms (an empty field: `def` seconds), else the
 * default with a "bad-number" problem naming the field.
 */
export function boundedSeconds(v: unknown, def: number, min: number, max: number, name: string, problems: ConfigProblem[]): number {
  const n = numberOr(v, def);
  if (!within(n, { min, max })) {
    problems.push({ key: "bad-number", params: { name, min, max } });
    return def * 1000;
  }
  return Math.round(n * 1000);
}
