/**
 * battery-tier-switch core: which tiers a power-state message reaches.
 *
 * Tiers are ordered from the first to act (backup) to the last (everything);
 * a tier reached implies every tier above it is reached too. Nothing fires
 * unless the power state says the power is out (`payload.onBattery`), so a
 * UPS recharging after an outage never fires a tier, whatever its charge.
 */
import type { OutageIdentity, PowerState, TierInfo } from "../contract";
import { type StatusView, statusOf, textTable, withMore } from "../status";
import { MAX_CHARGE, MAX_SECONDS, checkAmount, checkBoolean, describeValue, isRecord } from "../check";
import { formatLevels, formatPercent } from "../format";
import { wholeSecondsSince } from "../moment";

export interface Depletion {
  /** Fires when the charge falls at least this fast, in % per minute... */
  rate: number;
  /** ...measured over this window (seconds)... */
  windowS: number;
  /** ...using only readings taken this long after going on battery (charge readings jump at first). */
  graceS: number;
}

/** One tier: it is reached when ANY of its set conditions holds. */
export interface TierRule {
  name: string;
  /** charge ≤ this %. */
  charge: number | null;
  /** runtime ≤ this many seconds. */
  runtime: number | null;
  /** on battery for ≥ this many seconds (since the outage began). */
  onBatteryFor: number | null;
  /** the reference UPS reports LB. */
  lowBattery: boolean;
  /** the power state is critical (FSD, LB of what counts, MINSUPPLIES not met, a feed lost). */
  critical: boolean;
  depletion: Depletion | null;
}

export interface TierConfig {
  tiers: TierRule[];
  /** "while": a message on every input while the tier holds; "first": once, when first reached in the outage. */
  mode: "while" | "first";
  /** Let charge, runtime, LB and depletion of a stale reference UPS reach a tier. */
  staleCounts: boolean;
  /**
   * FSD (a NUT primary or an admin forces the shutdown) reaches every tier,
   * as every upsmon secondary of that UPS shuts down on it.
   */
  fsdAll: boolean;
}

const rule = (name: string, charge: number, critical = false): TierRule => ({
  name,
  charge,
  runtime: null,
  onBatteryFor: null,
  lowBattery: false,
  critical,
  depletion: null,
});

/** The seed's plan: backup at 90 %, storage at 50 %, production at 20 %, everything at 10 % or critical. */
export const DEFAULT_TIERS: TierRule[] = [rule("backup", 90), rule("storage", 50), rule("production", 20), rule("everything", 10, true)];

export interface TierInput {
  payload: PowerState;
  outage: OutageIdentity | null;
  summary: string | null;
}

/**
 * At most one charge reading a second is kept for the depletion rate (the
 * first of each second): a burst of power states cannot grow the list, nor
 * the work each message does on it, beyond the window's seconds.
 */
const SAMPLE_SPACING_MS = 1000;

/** A charge reading at a monotonic time. */
interface Sample {
  t: number;
  charge: number;
}

export interface TierState {
  /** The outage the memory below belongs to. */
  outageId: string | null;
  /** Highest tier index already emitted in this outage ("first" mode), -1 for none. */
  reached: number;
  /** Highest tier index held by the last message, -1 for none. */
  current: number;
  /** Charge readings of the current stretch on battery (depletion rate). */
  samples: Sample[];
  /** When the current stretch on battery began (first on-battery message), else null. */
  batterySince: number | null;
  /** The last input, for time-based tiers that come due without a message. */
  last: TierInput | null;
  /** When the last input arrived: its time on battery grows from there. */
  lastAt: number;
  at: number;
}

export interface TierEmit {
  index: number;
  tier: TierInfo;
  summary: string;
}

export interface TierStep {
  state: TierState;
  /** Tier messages to send, in tier order. */
  emits: TierEmit[];
  /** The "power restored" message, on OUTAGE_END. */
  restored: { summary: string } | null;
}

/**
 * Every time here is on the monotonic clock (ms): the time on battery and
 * the depletion rate cannot be moved by a clock step.
 */
export function initialTiers(now: number): TierState {
  return { outageId: null, reached: -1, current: -1, samples: [], batterySince: null, last: null, lastAt: now, at: now };
}

export function checkTierConfig(c: TierConfig): string[] {
  const problems: string[] = [];
  if (!c.tiers.length) problems.push("at least one tier is needed");
  c.tiers.forEach((t, i) => {
    const label = t.name || `tier ${i + 1}`;
    const amounts: Array<[string, number | null]> = [
      ["charge", t.charge],
      ["runtime", t.runtime],
      ["time on battery", t.onBatteryFor],
    ];
    for (const [what, v] of amounts) if (v != null && (!Number.isFinite(v) || v < 0)) problems.push(`${label}: ${what} must be a number >= 0`);
    if (t.charge != null && t.charge > 100) problems.push(`${label}: charge must be at most 100 %`);
    const d = t.depletion;
    if (d && (!(d.rate > 0) || !(d.windowS > 0) || !(d.graceS >= 0))) problems.push(`${label}: depletion needs a rate > 0, a window > 0 and a grace >= 0`);
    if (t.charge == null && t.runtime == null && t.onBatteryFor == null && !t.lowBattery && !t.critical && !d) {
      problems.push(`${label}: no condition set, it would never fire`);
    }
  });
  return problems;
}

/** Checks `msg.payload` / `msg.outage`; returns an error text or null. */
export function checkTierInput(payload: unknown, outage: unknown): string | null {
  if (!isRecord(payload)) return `msg.payload must be a power state from ups-aggregate (got ${describeValue(payload)})`;
  const p = payload;
  const problem =
    checkBoolean("payload.onBattery", p.onBattery) ??
    checkBoolean("payload.critical", p.critical) ??
    checkAmount("payload.charge", p.charge, true, MAX_CHARGE) ??
    checkAmount("payload.runtime", p.runtime, true, MAX_SECONDS) ??
    checkAmount("payload.onBatterySeconds", p.onBatterySeconds, true, MAX_SECONDS * 10) ??
    (p.fsd === undefined ? null : checkBoolean("payload.fsd", p.fsd));
  if (problem) return problem;
  if (!Array.isArray(p.stale) || p.stale.some((s) => typeof s !== "string")) return `payload.stale must be a list of topics (got ${describeValue(p.stale)})`;
  if (!Array.isArray(p.sources) || !p.sources.every(isRecord)) return `payload.sources must be a list of source states (got ${describeValue(p.sources)})`;
  if (p.reference !== null && typeof p.reference !== "string") return `payload.reference must be a topic or null (got ${describeValue(p.reference)})`;
  if (!["POWER_LOST", "POWER_BACK", "OUTAGE_END", "UPDATE"].includes(p.event as string))
    return `payload.event is not a power event (got ${describeValue(p.event)})`;
  if (outage === undefined) return "msg.outage is missing: feed this node from ups-aggregate";
  if (outage !== null && !(isRecord(outage) && typeof outage.id === "string" && outage.id !== "" && Number.isFinite(outage.since))) {
    return `msg.outage must be an outage identity {id, since} or null (got ${describeValue(outage)})`;
  }
  if (p.onBattery === true && outage === null) return "payload.onBattery is true but msg.outage is null: a power loss always has an outage identity";
  return null;
}

function depletionRate(samples: Sample[], since: number, d: Depletion, now: number, charge: number): number | null {
  const usable = samples.filter((s) => s.t >= since + d.graceS * 1000 && s.t <= now - d.windowS * 1000);
  if (!usable.length) return null;
  const from = usable[usable.length - 1];
  return (from.charge - charge) / ((now - from.t) / 60000);
}

/** Whether the reference UPS's charge and runtime may be used (not stale, or stale data counts). */
function referenceUsable(p: PowerState, staleCounts: boolean): boolean {
  return staleCounts || p.reference == null || !p.stale.includes(p.reference);
}

/** Why `t` is reached by `p` (its first condition that holds), or null. `usable`: referenceUsable. */
function reason(config: TierConfig, t: TierRule, p: PowerState, state: TierState, now: number, usable: boolean): string | null {
  if (config.fsdAll && p.fsd === true) return "FSD: forced shutdown";
  if (t.critical && p.critical) return "power state critical";
  if (usable && t.charge != null && p.charge != null && p.charge <= t.charge) return `charge ${formatPercent(p.charge)} ≤ ${t.charge} %`;
  if (usable && t.runtime != null && p.runtime != null && p.runtime <= t.runtime) return `runtime ${Math.round(p.runtime)} s ≤ ${t.runtime} s`;
  if (t.onBatteryFor != null && p.onBatterySeconds != null && p.onBatterySeconds >= t.onBatteryFor) {
    return `on battery ${p.onBatterySeconds} s ≥ ${t.onBatteryFor} s`;
  }
  if (usable && t.lowBattery && p.reference != null && p.sources.some((s) => s.topic === p.reference && s.lowBattery === true)) {
    return `low battery (LB) on ${p.reference}`;
  }
  if (usable && t.depletion && p.charge != null && state.batterySince != null) {
    const rate = depletionRate(state.samples, state.batterySince, t.depletion, now, p.charge);
    if (rate != null && rate >= t.depletion.rate) {
      return `charge falling ${Math.round(rate * 10) / 10} %/min ≥ ${t.depletion.rate} %/min over ${t.depletion.windowS} s`;
    }
  }
  return null;
}

/**
 * A "power restored" / reset message that is not an OUTAGE_END power state
 * (msg.reset from an inject, an ended outage identity): never a tier; the
 * memory of the outage is cleared and the message goes on as "power restored".
 */
export function tierReset(now: number, summary: string | null): TierStep {
  return { state: initialTiers(now), emits: [], restored: { summary: summary ?? "Reset: re-arm latches, cancel pending shutdowns" } };
}

/** A power-state message: which tiers to emit, and the "power restored" message on OUTAGE_END. */
export function tierInput(config: TierConfig, state: TierState, input: TierInput, now: number): TierStep {
  const p = input.payload;
  let s: TierState = { ...state, at: now, last: input, lastAt: now };
  if (input.outage && input.outage.id !== s.outageId) s = { ...s, outageId: input.outage.id, reached: -1, samples: [], batterySince: null };

  if (p.event === "OUTAGE_END") {
    const id = input.outage?.id ?? state.outageId;
    const summary = `Power restored${id ? ` (${id} over)` : ""}: re-arm latches, cancel pending shutdowns${input.summary ? `; ${input.summary}` : ""}`;
    return { state: { ...initialTiers(now), last: input, lastAt: now }, emits: [], restored: { summary } };
  }
  if (!p.onBattery) {
    return { state: { ...s, current: -1, samples: [], batterySince: null }, emits: [], restored: null };
  }
  const batterySince = s.batterySince ?? now;
  const usable = referenceUsable(p, config.staleCounts);
  const horizon = Math.max(0, ...config.tiers.map((t) => (t.depletion ? t.depletion.windowS * 1000 : 0)));
  const kept = s.samples.filter((x, i, all) => x.t >= now - horizon || all[i + 1]?.t > now - horizon);
  const newest = kept[kept.length - 1];
  const spaced = newest === undefined || now - newest.t >= SAMPLE_SPACING_MS;
  const samples = usable && p.charge != null && spaced ? [...kept, { t: now, charge: p.charge }] : kept;
  s = { ...s, batterySince, samples };
  return evaluateTiers(config, s, p, input.summary, now);
}

function evaluateTiers(config: TierConfig, s: TierState, p: PowerState, summary: string | null, now: number): TierStep {
  const usable = referenceUsable(p, config.staleCounts);
  const reasons = config.tiers.map((t) => reason(config, t, p, s, now, usable));
  const current = reasons.reduce((k, r, i) => (r ? i : k), -1);
  const from = config.mode === "first" ? s.reached + 1 : 0;
  // The tiers this power state reaches for the first time in the outage: a jump reaches several at once.
  const first = config.tiers.slice(s.reached + 1, current + 1).map((t) => t.name);
  const emits: TierEmit[] = [];
  for (let i = from; i <= current; i++) {
    const name = config.tiers[i].name;
    const why = reasons[i] ?? `implied by ${config.tiers[current].name} (${reasons[current]})`;
    const together = i > s.reached ? first : [name];
    const order = together.length > 1 ? ` (${together.indexOf(name) + 1} of ${together.length} reached at once: ${together.join(", ")})` : "";
    emits.push({
      index: i,
      tier: { index: i, name, reason: why, together },
      summary: `Tier ${name} reached${order}: ${why}${summary ? `; ${summary}` : ""}`,
    });
  }
  return { state: { ...s, current, reached: Math.max(s.reached, current) }, emits, restored: null };
}

/**
 * The last input's time on battery, grown by the (monotonic) time since it
 * arrived: the outage's wall-clock start is never subtracted from a clock
 * that may have been stepped since.
 */
function onBatteryAt(state: TierState, now: number): number | null {
  const secs = state.last?.payload.onBatterySeconds;
  return secs == null ? null : secs + wholeSecondsSince(state.lastAt, now);
}

/** When (monotonic) a time-based tier comes due while on battery, or null. */
export function nextTierDeadline(config: TierConfig, state: TierState): number | null {
  const last = state.last;
  const secs = last?.payload.onBatterySeconds;
  if (!last || !last.payload.onBattery || !last.outage || secs == null) return null;
  const due = config.tiers
    .map((t, i) => (i > state.current && t.onBatteryFor != null ? state.lastAt + (t.onBatteryFor - secs) * 1000 : null))
    .filter((t): t is number => t != null && t > state.at);
  return due.length ? Math.min(...due) : null;
}

/** What a tier's output adds to the power-state message it routes (the message contract). */
export function tierMessage(e: TierEmit): { topic: string; tier: TierInfo; summary: string } {
  return { topic: e.tier.name, tier: e.tier, summary: e.summary };
}

/**
 * What the "power restored" output adds: a reset that re-arms every latch
 * and, passed on, asks ssh-shutdown to cancel (core/decide/restored.ts).
 */
export function restoredMessage(r: { summary: string }): { topic: "restored"; reset: true; action: "cancel"; summary: string } {
  return { topic: "restored", reset: true, action: "cancel", summary: r.summary };
}

/** The last power state received, its time on battery brought up to `now`. */
function grown(last: TierInput, state: TierState, now: number): PowerState {
  return { ...last.payload, onBatterySeconds: onBatteryAt(state, now) };
}

/** The message a time-based tier that comes due at `now` routes: the power state last received, its time on battery brought up to now. */
export function dueMessage(state: TierState, now: number): { payload?: PowerState; outage?: OutageIdentity | null; summary?: string | null } {
  const last = state.last;
  return last ? { payload: grown(last, state, now), outage: last.outage, summary: last.summary } : {};
}

/**
 * Re-evaluates the last message at `now` (time on battery has grown). The
 * last message and its arrival stay as they were: a tick that comes a little
 * early (a timer rounds to whole ms) moves no deadline.
 */
export function tierTick(config: TierConfig, state: TierState, now: number): TierStep {
  const last = state.last;
  if (!last || !last.payload.onBattery || !last.outage) return { state: { ...state, at: now }, emits: [], restored: null };
  return evaluateTiers(config, { ...state, at: now }, grown(last, state, now), last.summary, now);
}

/** The texts of battery-tier-switch's status (locales/<lang>/battery-tier-switch.json). */
export const TIER_TEXTS = textTable({
  "status.waiting": [],
  "status.no-data": [],
  "status.stale": ["stale"],
  "status.power-back": ["levels"],
  "status.on-line-power": ["levels"],
  "status.no-tier": ["levels"],
  "status.tier": ["tier", "held", "tiers", "levels"],
});
const say = TIER_TEXTS;

/**
 * The tier held now: red dot (a tier), yellow ring (on battery, no tier),
 * green ring (power on or back), grey ring (nothing known).
 */
export function tierStatus(config: TierConfig, state: TierState): StatusView {
  const p = state.last?.payload;
  if (!p) return statusOf("grey", "ring", say("status.waiting"));
  // No UPS can tell (never reported, or stale): saying "on line power" would be a guess.
  if (!p.onBattery && p.reference === null) {
    return statusOf("grey", "ring", withMore(say("status.no-data"), p.stale.length ? say("status.stale", { stale: p.stale.length }) : null));
  }
  const levels = formatLevels(p.charge, p.runtime);
  if (!p.onBattery) return statusOf("green", "ring", say(state.outageId ? "status.power-back" : "status.on-line-power", { levels }));
  if (state.current < 0) return statusOf("yellow", "ring", say("status.no-tier", { levels }));
  const t = config.tiers[state.current];
  return statusOf("red", "dot", say("status.tier", { tier: t.name, held: state.current + 1, tiers: config.tiers.length, levels }));
}
