/**
 * Checking what a message or a request holds, for every core: is it a
 * record, a number, a boolean in range, and how to name what it was instead
 * in an error text.
 */

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * A number from what a request or a message holds: a number as it is, a
 * text as Number() reads it, anything else NaN. Number() itself throws on an
 * object whose toString and valueOf are not functions (JSON makes those).
 */
export function numberOf(x: unknown): number {
  return typeof x === "number" ? x : typeof x === "string" ? Number(x) : NaN;
}

/** How a value looks in an error text: `string "73"`, `NaN`, `undefined`. */
export function describeValue(x: unknown): string {
  if (x === undefined) return "nothing";
  if (typeof x === "string") return `string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + "…" : x)}`;
  if (typeof x === "number") return Number.isNaN(x) ? "NaN" : String(x);
  if (Array.isArray(x)) return "an array";
  if (x === null) return "null";
  return typeof x;
}

/**
 * A number that is finite and >= 0, or null when `nullable`. Returns an
 * error text (naming `field`) or null when the value is fine.
 */
export function checkAmount(field: string, x: unknown, nullable: boolean, max = Number.MAX_VALUE): string | null {
  if (x === null && nullable) return null;
  if (typeof x !== "number" || !Number.isFinite(x)) {
    return `${field} must be a number${nullable ? " or null" : ""} (got ${describeValue(x)})`;
  }
  if (x < 0) return `${field} must not be negative (got ${x})`;
  if (x > max) return `${field} must be at most ${max} (got ${x})`;
  return null;
}

/**
 * The largest values a UPS reading can make sense with: a charge in % (a
 * little over 100 for drivers that round up), a runtime and a time on
 * battery of a year in seconds. Anything above is a broken or forged reading.
 */
export const MAX_CHARGE = 110;
export const MAX_SECONDS = 365 * 86_400;

export function checkBoolean(field: string, x: unknown): string | null {
  return typeof x === "boolean" ? null : `${field} must be true or false (got ${describeValue(x)})`;
}
