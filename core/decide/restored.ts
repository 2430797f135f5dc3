/**
 * One definition, for every node, of a message that says the power is back
 * or asks to re-arm: such a message is never a shutdown, however it is
 * spelled and whatever node it reaches.
 */
import { isRecord } from "../check";

/**
 * - "ended": the outage is over (a power state with `event: "OUTAGE_END"`,
 *   or an outage identity with `ended`, as battery-tier-switch's "power
 *   restored" output and ups-aggregate's OUTAGE_END carry);
 * - "reset": `msg.reset` is set to anything but `false` (true, "true", 1,
 *   "yes", 0, "", {} alike: a message that mentions a reset is one);
 * - null: neither.
 */
export type Restored = "ended" | "reset" | null;

export interface MaybeRestored {
  reset?: unknown;
  payload?: unknown;
  outage?: unknown;
}

export function restoredKind(msg: MaybeRestored): Restored {
  if (isRecord(msg.outage) && Number.isFinite(msg.outage.ended)) return "ended";
  if (isRecord(msg.payload) && msg.payload.event === "OUTAGE_END") return "ended";
  if (msg.reset !== undefined && msg.reset !== false) return "reset";
  return null;
}

/**
 * The payload is a power state of ups-aggregate saying the power is on (not
 * critical): POWER_BACK, or an update on line power. A shutdown must not
 * follow it; nothing should have been wired to make one of it.
 */
export function saysPowerOn(msg: MaybeRestored): boolean {
  const p = msg.payload;
  return isRecord(p) && typeof p.policy === "string" && p.onBattery === false && p.critical !== true;
}
