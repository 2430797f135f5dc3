/**
 * `ups.status` flags and upsmon's notification events, as pure functions.
 *
 * The rules are those of NUT's clients/upsmon.c (and docs/man/upsmon.conf.txt):
 * - one record per UPS: the alert flags last seen, the communication state
 *   and the line state, each starting "unknown";
 * - a handler per flag that returns early on "no change";
 * - the first OL at start-up is not an event (linestate -1), the first good
 *   read is not COMMOK (commstate -1): COMMOK only on a bad -> good change;
 * - COMMBAD on the first failed read of a UPS that was good; after that
 *   NOCOMM once it has not been readable for `nocommWarnMs`, repeated every
 *   `nocommWarnMs` (NOCOMMWARNTIME);
 * - REPLBATT repeats at most every `replbattWarnMs` (RBWARNTIME);
 * - LB and FSD clear silently; CAL, OFF, BYPASS, OVER, TRIM, BOOST, ALARM,
 *   ECO have NOT… events when they clear;
 * - status words NUT does not define raise OTHER when the set of them
 *   changes, NOTOTHER when the last one is gone (upsmon 2.8.3).
 *
 * Every time here is on the monotonic clock (ms), so a step of the wall
 * clock neither brings NOCOMM forward nor delays it.
 *
 * One deliberate difference: upsmon also sends COMMBAD when a UPS was never
 * reachable since it started; here a UPS that never answered has lost
 * nothing, so it gets NOCOMM once `nocommWarnMs` has passed since tracking
 * began ("server down at deploy" is reported, and a Node-RED that boots
 * before upsd is not).
 */
import type { UpsEvent } from "../contract";

/** At most this many status words of at most this many characters are kept (upsd sends a handful of short ones). */
export const MAX_STATUS_WORDS = 32;
export const MAX_STATUS_WORD = 32;
/** The longest `ups.status` text kept: upsd stores no value longer (ST_MAX_VALUE_LEN, 256 with its NUL). */
export const MAX_STATUS_TEXT = 255;

/** Status tokens, upper case, in upsd's order, without repeats, bounded. "" and null give []. */
export function parseStatus(raw: string | null): string[] {
  if (!raw) return [];
  const seen = new Set<string>();
  for (const word of raw.trim().split(/\s+/)) {
    if (seen.size >= MAX_STATUS_WORDS) break;
    if (word) seen.add(word.slice(0, MAX_STATUS_WORD).toUpperCase());
  }
  return [...seen];
}

/** Flags with an event when they appear and a NOT… event when they clear, in event order. */
const PAIRED: ReadonlyArray<readonly [string, UpsEvent, UpsEvent]> = [
  ["CAL", "CAL", "NOTCAL"],
  ["OFF", "OFF", "NOTOFF"],
  ["BYPASS", "BYPASS", "NOTBYPASS"],
  ["OVER", "OVER", "NOTOVER"],
  ["TRIM", "TRIM", "NOTTRIM"],
  ["BOOST", "BOOST", "NOTBOOST"],
  ["ALARM", "ALARM", "NOTALARM"],
  ["ECO", "ECO", "NOTECO"],
];

/** The status words NUT defines (docs/new-drivers.txt); any other raises OTHER. */
const STANDARD: ReadonlySet<string> = new Set(["OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "FSD", ...PAIRED.map(([f]) => f)]);

/** The flags whose last value the tracker keeps. */
const TRACKED = new Set(["LB", "FSD", ...PAIRED.map(([f]) => f)]);

export type CommState = "unknown" | "ok" | "bad";
export type LineState = "unknown" | "online" | "onbatt";

/** What upsmon remembers of one UPS (plain JSON, so it can live in node context). */
export interface UpsTracker {
  /** Tracked flags (LB, FSD, CAL, OFF, …) seen at the last good read. */
  known: string[];
  /** Status words NUT does not define, seen at the last good read. */
  other: string[];
  comm: CommState;
  line: LineState;
  /** When tracking began (monotonic ms): the reference for NOCOMM of a UPS never read. */
  since: number;
  lastGood: number | null;
  lastNocomm: number | null;
  lastReplbatt: number | null;
}

export interface EventTiming {
  /** NOCOMMWARNTIME in ms. */
  nocommWarnMs: number;
  /** RBWARNTIME in ms (upsmon: 12 h). */
  replbattWarnMs: number;
}

export const DEFAULT_TIMING: EventTiming = { nocommWarnMs: 60_000, replbattWarnMs: 12 * 3600_000 };

export function newTracker(now: number): UpsTracker {
  return { known: [], other: [], comm: "unknown", line: "unknown", since: now, lastGood: null, lastNocomm: null, lastReplbatt: null };
}

/** One poll of one UPS: its status flags when it was read, or `ok: false` when it could not be. */
export type Observation = { ok: true; flags: string[] } | { ok: false };

/** Fold one observation into the tracker: the new tracker and the events, in the order docs/nodes.md gives (upsmon names FSD first). */
export function observe(t: UpsTracker, obs: Observation, now: number, timing: EventTiming = DEFAULT_TIMING): { tracker: UpsTracker; events: UpsEvent[] } {
  return obs.ok ? alive(t, obs.flags, now, timing) : gone(t, now, timing);
}

function alive(t: UpsTracker, flags: string[], now: number, timing: EventTiming): { tracker: UpsTracker; events: UpsEvent[] } {
  // runs for every UPS on every poll: a handful of flags, so arrays beat Sets,
  // and the tracker is written out field by field (no object spread)
  const events: UpsEvent[] = [];
  const has = (f: string) => flags.includes(f);
  const knew = (f: string) => t.known.includes(f);
  const next: UpsTracker = {
    known: t.known,
    other: t.other,
    comm: "ok",
    line: t.line,
    since: t.since,
    lastGood: now,
    lastNocomm: null,
    lastReplbatt: t.lastReplbatt,
  };
  if (t.comm === "bad") events.push("COMMOK");

  for (const [flag, , off] of PAIRED) if (!has(flag) && knew(flag)) events.push(off);

  // OB wins over a contradictory OL: staying on battery is the safe reading
  if (has("OB")) {
    if (t.line !== "onbatt") events.push("ONBATT");
    next.line = "onbatt";
  } else if (has("OL")) {
    if (t.line === "onbatt") events.push("ONLINE");
    next.line = "online";
  }
  if (has("LB") && !knew("LB")) events.push("LOWBATT");
  if (has("RB") && (t.lastReplbatt === null || now - t.lastReplbatt >= timing.replbattWarnMs)) {
    events.push("REPLBATT");
    next.lastReplbatt = now;
  }
  for (const [flag, on] of PAIRED) if (has(flag) && !knew(flag)) events.push(on);
  // last, as upsmon does, "to override any possible OL"
  if (has("FSD") && !knew("FSD")) events.push("FSD");

  next.known = flags.filter((f) => TRACKED.has(f));
  const other = flags.filter((f) => !STANDARD.has(f));
  if (other.length !== t.other.length || other.some((f) => !t.other.includes(f))) {
    events.push(other.length ? "OTHER" : "NOTOTHER");
    next.other = other;
  }
  return { tracker: next, events };
}

/**
 * observe() for the status words of the last good read read again, when
 * that is sure to raise no event: the tracker is "ok" (no COMMOK) and has
 * already handled these flags (upsmon's handlers return early on no
 * change), and they hold no RB (REPLBATT repeats with time). Null otherwise:
 * then observe() decides.
 */
export function observeSame(t: UpsTracker, flags: readonly string[], now: number): UpsTracker | null {
  if (t.comm !== "ok" || flags.includes("RB")) return null;
  return { known: t.known, other: t.other, comm: "ok", line: t.line, since: t.since, lastGood: now, lastNocomm: null, lastReplbatt: t.lastReplbatt };
}

function gone(t: UpsTracker, now: number, timing: EventTiming): { tracker: UpsTracker; events: UpsEvent[] } {
  if (t.comm === "ok") return { tracker: { ...t, comm: "bad" }, events: ["COMMBAD"] };
  const next: UpsTracker = { ...t, comm: "bad" };
  const unreadableFor = now - (t.lastGood ?? t.since);
  const warnedFor = t.lastNocomm === null ? Infinity : now - t.lastNocomm;
  if (unreadableFor >= timing.nocommWarnMs && warnedFor >= timing.nocommWarnMs) {
    next.lastNocomm = now;
    return { tracker: next, events: ["NOCOMM"] };
  }
  return { tracker: next, events: [] };
}

/**
 * Poll at the alert rate (POLLFREQALERT) while the UPS is in a state prone
 * to disappear: on battery, OFF, BYPASS or CAL (upsmon's try_restore_pollfreq).
 */
export function wantsAlertPolling(t: UpsTracker): boolean {
  return t.line === "onbatt" || t.known.some((f) => f === "OFF" || f === "BYPASS" || f === "CAL");
}
