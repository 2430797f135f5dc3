/**
 * ups-aggregate core: folds the latest UPS-state message of each source into
 * one power state under a policy, and tracks the outage identity.
 *
 * Pure: every function takes the time (a Moment: the monotonic clock for
 * every duration, the wall clock for identities and display) and returns a
 * new state; nothing here reads a clock or keeps a timer. The node shell
 * calls `aggregateTick` at `nextDeadline(...)` so debounce, restore, dead
 * time and the upsmon durations fire without an input message.
 *
 * Each source is judged as upsmon 2.8 (clients/upsmon.c, is_ups_critical and
 * recalc) judges a UPS; the policies then fold the verdicts.
 */
import type { AggregatePolicy, OutageIdentity, PowerEvent, PowerState, SourceState, SourceVerdict, UpsState } from "../contract";
import { type Moment, wallOf, wholeSecondsSince } from "../moment";
import { type Note, type StaleWhy, noteText } from "./source-notes";
import { type StatusFill, type StatusShape, type StatusView, type Text, statusOf, textTable, withMore } from "../status";
import { MAX_CHARGE, MAX_SECONDS, checkAmount, checkBoolean, describeValue, isRecord } from "../check";
import { MAX_STATUS_TEXT, MAX_STATUS_WORD, MAX_STATUS_WORDS } from "../nut/status";
import { formatCountdown, formatDuration, formatLevels, formatPercent, formatRuntime } from "../format";

/**
 * What to do with a source whose data is stale, silent or unreachable:
 * - "deadtime" (upsmon's DEADTIME): keep its last values for `deadMs` from
 *   its last good read; after that a source last seen on battery counts as
 *   exhausted (upsmon promotes it to OB+LB), one last seen on line power is
 *   not counted (it cannot start an outage).
 * - "ignore": not counted while at least one other source reports fresh data;
 *   when none does, "deadtime" applies.
 * - "lost": like "deadtime", but after `deadMs` any stale source counts as
 *   lost, even one last seen on line power (for a NUT server that dies with the mains).
 */
export type StaleRule = "deadtime" | "ignore" | "lost";

export interface ExpectedSource {
  /** `ups@host:port`, as nut-ups-in sets msg.topic. */
  topic: string;
  /** upsmon's power value: how many power supplies of the protected load this UPS feeds. */
  power: number;
}

export interface AggregateConfig {
  policy: AggregatePolicy;
  /** Expected sources; empty = accept every topic (power value 1 each, at most MAX_SOURCES). */
  sources: ExpectedSource[];
  /** redundant: on battery when at least this many feeds are; 0 = all of them. */
  feedsOut: number;
  /** minsupplies: upsmon's MINSUPPLIES. */
  minSupplies: number;
  /** Power must be lost this long before POWER_LOST (critical states skip it). */
  confirmMs: number;
  /** Power must be back this long before OUTAGE_END. */
  restoreMs: number;
  staleRule: StaleRule;
  /** Dead time (upsmon DEADTIME): how long after its last good read a stale source keeps its last values. */
  deadMs: number;
  /** A source not heard from for this long is stale ("silent"); 0 = off. */
  silentMs: number;
  /** "change": emit when the power state changes; "always": also on every input. */
  emit: "change" | "always";
  /** Appended to outage ids so two aggregate nodes never share one. */
  idTag: string;
  /** upsmon OFFDURATION: OFF this long counts as a lost feed; null = never (upsmon: a negative value). */
  offMs: number | null;
  /** upsmon OVERDURATION: overloaded (OVER) this long and not communicating counts as lost; null = never (upsmon's default). */
  overMs: number | null;
  /** upsmon ALARMCRITICAL: a UPS last seen in ALARM that stops communicating counts as lost. */
  alarmCritical: boolean;
  /** upsmon OBLBDURATION: OB+LB must last this long before it is critical; 0 = at once. */
  oblbMs: number;
  /** A UPS calibrating (CAL) on battery counts as on battery; upsmon's way (false): it starts nothing. */
  calOnBattery: boolean;
}

export const AGGREGATE_DEFAULTS: AggregateConfig = {
  policy: "weakest",
  sources: [],
  feedsOut: 0,
  minSupplies: 1,
  confirmMs: 5000,
  restoreMs: 30000,
  staleRule: "deadtime",
  deadMs: 30000,
  silentMs: 0,
  emit: "change",
  idTag: "0000",
  offMs: 30000,
  overMs: null,
  alarmCritical: true,
  oblbMs: 0,
  calOnBattery: false,
};

/** With an empty list every topic is accepted, up to this many (a message chooses the topic). */
export const MAX_SOURCES = 64;

/** The part of a UPS state the node reads: nothing else of a message is kept (its `vars` may be large). */
type Reading = Pick<UpsState, "status" | "flags" | "onBattery" | "lowBattery" | "charge" | "runtime" | "age" | "stale" | "reachable">;

/** What the node remembers of one source. Times are monotonic unless named wall. */
interface SourceMemory {
  topic: string;
  /**
   * The topic the messages come with when it is not the listed one: the same
   * UPS name on another server (the nut-server's host or port was changed).
   */
  via: string | null;
  /** What this node reads of the last UPS state received, null when never. */
  data: Reading | null;
  /** Arrival of the last message. */
  lastSeen: number | null;
  lastSeenWall: number | null;
  /** The last good read: a fresh message's arrival, or a stale message's arrival less its `age`. */
  lastGood: number | null;
  /** Since when OFF / OVER / OB+LB have been reported without a break (the upsmon durations), else null. */
  offSince: number | null;
  overSince: number | null;
  oblbSince: number | null;
}

export interface AggregateState {
  /** Monotonic time the node started. */
  startedAt: number;
  /** Monotonic time of the last evaluation. */
  at: number;
  /** Every source, in display order: the expected list first, then as they arrived. */
  sources: ReadonlyMap<string, SourceMemory>;
  outage: OutageIdentity | null;
  /** Monotonic time the open outage began (`outage.since` on the wall clock). */
  outageMono: number | null;
  /** Power is out under the policy, debounced. */
  powerOut: boolean;
  /** Raw "power lost" seen since (monotonic), waiting for the confirm time. */
  lostSince: number | null;
  /** Power back since (monotonic), waiting for the restore time. */
  backSince: number | null;
  lastId: string | null;
  /** What the last emitted state looked like (change detection). */
  lastKey: string | null;
}

/** The part of the state that must survive a restart (see the node's context store). */
export interface SavedOutage {
  outage: OutageIdentity | null;
  powerOut: boolean;
  lastId: string | null;
  /** The outage's start on the monotonic clock, and the boot that clock belongs to. */
  sinceMono: number | null;
  boot: string | null;
}

export interface AggregateOutput {
  payload: PowerState;
  outage: OutageIdentity | null;
  summary: string;
}

/**
 * The message ups-aggregate sends (the message contract): `msg.topic` is the
 * node's name, or "power"; the power state, the outage identity, the summary.
 */
export function powerMessage(output: AggregateOutput, name: string): { topic: string; payload: PowerState; outage: OutageIdentity | null; summary: string } {
  return { topic: name || "power", payload: output.payload, outage: output.outage, summary: output.summary };
}

export interface AggregateStep {
  state: AggregateState;
  output: AggregateOutput | null;
}

interface Classified {
  mem: SourceMemory;
  verdict: SourceVerdict;
  stale: boolean;
  /** Why the data is not current (stale, server unreachable, silent), null when fresh. */
  why: StaleWhy | null;
  /** How the source counts, when that is not plain: codes, in words only in the message (noteText). */
  notes: Note[];
  /** The next moment (monotonic) at which time alone may change this verdict, or null. */
  next: number | null;
  /** Critical because of FSD. */
  fsd: boolean;
  power: number;
  charge: number | null;
  runtime: number | null;
  index: number;
}

const emptyMemory = (topic: string): SourceMemory => ({
  topic,
  via: null,
  data: null,
  lastSeen: null,
  lastSeenWall: null,
  lastGood: null,
  offSince: null,
  overSince: null,
  oblbSince: null,
});

export function initialAggregate(config: AggregateConfig, now: Moment, saved: SavedOutage | null = null, boot: string | null = null): AggregateState {
  const outage = saved?.outage ?? null;
  return {
    startedAt: now.mono,
    at: now.mono,
    sources: new Map(config.sources.map((s) => [s.topic, emptyMemory(s.topic)])),
    outage,
    outageMono: saved && outage ? restoredMono(saved, outage, now, boot) : null,
    powerOut: outage ? (saved?.powerOut ?? false) : false,
    lostSince: null,
    backSince: null,
    lastId: saved?.lastId ?? null,
    lastKey: null,
  };
}

/**
 * When a stored outage began, on today's monotonic clock. In the same boot
 * (Node-RED restarted, the machine did not) the stored monotonic time is
 * exact. After a reboot only the wall clock can tell, and it may have been
 * stepped: the outage is taken to be at least 0 s old, so a clock that is
 * behind (a Pi without RTC before NTP) makes it look shorter and a
 * time-on-battery tier fires later, never earlier than the clock allows.
 */
function restoredMono(saved: SavedOutage, outage: OutageIdentity, now: Moment, boot: string | null): number {
  if (boot != null && saved.boot === boot && saved.sinceMono != null && saved.sinceMono <= now.mono) return saved.sinceMono;
  return now.mono - Math.max(0, now.wall - outage.since);
}

export function savedOutage(state: AggregateState, boot: string | null): SavedOutage {
  return { outage: state.outage, powerOut: state.powerOut, lastId: state.lastId, sinceMono: state.outageMono, boot };
}

/** Reads back what `savedOutage` stored; null when absent or not recognisable. */
export function parseSavedOutage(x: unknown): SavedOutage | null {
  if (!isRecord(x) || typeof x.powerOut !== "boolean") return null;
  const o = x.outage;
  const outage = isRecord(o) && typeof o.id === "string" && Number.isFinite(o.since) ? { id: o.id.slice(0, 100), since: o.since as number } : null;
  return {
    outage,
    powerOut: x.powerOut,
    lastId: typeof x.lastId === "string" ? x.lastId.slice(0, 100) : null,
    sinceMono: Number.isFinite(x.sinceMono) ? (x.sinceMono as number) : null,
    boot: typeof x.boot === "string" ? x.boot.slice(0, 64) : null,
  };
}

/** Checks a configuration; returns the problems in words (empty when fine). */
export function checkAggregateConfig(c: AggregateConfig): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const s of c.sources) {
    if (!s.topic) problems.push("a source has an empty topic");
    else if (seen.has(s.topic)) problems.push(`source ${s.topic} is listed twice`);
    seen.add(s.topic);
    if (!Number.isInteger(s.power) || s.power < 0) problems.push(`power value of ${s.topic} must be a whole number >= 0`);
  }
  const whole: Array<[string, number]> = [
    ["feeds on battery", c.feedsOut],
    ["minimum supplies", c.minSupplies],
  ];
  for (const [name, v] of whole) if (!Number.isInteger(v) || v < 0) problems.push(`${name} must be a whole number >= 0`);
  const times: Array<[string, number | null]> = [
    ["confirm time", c.confirmMs],
    ["restore time", c.restoreMs],
    ["dead time", c.deadMs],
    ["silent time", c.silentMs],
    ["OFF duration", c.offMs],
    ["OVER duration", c.overMs],
    ["low battery duration", c.oblbMs],
  ];
  for (const [name, v] of times) if (v !== null && (!Number.isFinite(v) || v < 0)) problems.push(`${name} must be a number of seconds >= 0`);
  if (!["weakest", "redundant", "minsupplies"].includes(c.policy)) problems.push(`unknown policy ${describeValue(c.policy)}`);
  if (!["deadtime", "ignore", "lost"].includes(c.staleRule)) problems.push(`unknown stale rule ${describeValue(c.staleRule)}`);
  return problems;
}

/** Checks one incoming message; returns an error text, or null when it can be used. */
function checkUpsInput(config: AggregateConfig, state: AggregateState, topic: unknown, payload: unknown): string | null {
  if (typeof topic !== "string" || topic === "") {
    return `msg.topic must name the UPS as ups@host:port (got ${describeValue(topic)})`;
  }
  if (topic.length > 200) return `msg.topic is too long to be a UPS (${topic.length} characters, at most 200)`;
  if (!state.sources.has(topic)) {
    if (config.sources.length > 0) {
      return `unknown topic ${topic}: not in this node's list of UPSes (${config.sources.map((s) => s.topic).join(", ")})`;
    }
    if (state.sources.size >= MAX_SOURCES)
      return `unknown topic ${topic}: this node already follows ${MAX_SOURCES} UPSes; list the UPSes in the node to follow others`;
  }
  if (!isRecord(payload)) return `msg.payload must be a UPS state object (got ${describeValue(payload)})`;
  if (!Array.isArray(payload.flags) || payload.flags.some((f) => typeof f !== "string")) {
    return `payload.flags must be a list of status words (got ${describeValue(payload.flags)})`;
  }
  if (payload.flags.length > MAX_STATUS_WORDS || payload.flags.some((f: string) => f.length > MAX_STATUS_WORD)) {
    return `payload.flags must hold at most ${MAX_STATUS_WORDS} status words of at most ${MAX_STATUS_WORD} characters (got ${payload.flags.length} words)`;
  }
  const problem =
    checkBoolean("payload.onBattery", payload.onBattery) ??
    checkBoolean("payload.lowBattery", payload.lowBattery) ??
    checkBoolean("payload.stale", payload.stale) ??
    (payload.reachable === undefined ? null : checkBoolean("payload.reachable", payload.reachable)) ??
    checkAmount("payload.charge", payload.charge, true, MAX_CHARGE) ??
    checkAmount("payload.runtime", payload.runtime, true, MAX_SECONDS) ??
    (payload.age === undefined ? null : checkAmount("payload.age", payload.age, true, MAX_SECONDS * 1000));
  if (problem) return problem;
  if (payload.status !== undefined && payload.status !== null && typeof payload.status !== "string") {
    return `payload.status must be text or null (got ${describeValue(payload.status)})`;
  }
  if (typeof payload.status === "string" && payload.status.length > MAX_STATUS_TEXT) {
    return `payload.status must be at most ${MAX_STATUS_TEXT} characters, as upsd serves it (got ${payload.status.length})`;
  }
  return null;
}

const isFresh = (d: Reading) => !d.stale && d.reachable !== false;

/** What a new message tells of its source: when it was last read well, and since when its flags hold. */
function remember(topic: string, via: string | null, prev: SourceMemory | undefined, data: UpsState, now: Moment): SourceMemory {
  const d: Reading = {
    status: data.status ?? null,
    flags: [...data.flags],
    onBattery: data.onBattery,
    lowBattery: data.lowBattery,
    charge: data.charge,
    runtime: data.runtime,
    age: data.age ?? null,
    stale: data.stale,
    reachable: data.reachable,
  };
  const fresh = isFresh(d);
  let lastGood: number | null;
  if (fresh) lastGood = now.mono;
  else if (prev?.data && !isFresh(prev.data) && prev.lastGood != null)
    lastGood = prev.lastGood; // the same stretch of stale data
  else {
    // The first stale message: nut-ups-in says how old its values are. Without that, count from
    // now (later rather than earlier), and never before a fresh message we had.
    const told = typeof d.age === "number" ? now.mono - d.age : d.status != null ? now.mono : null;
    const floor = prev?.lastGood ?? null;
    lastGood = told == null ? floor : floor == null ? told : Math.max(floor, told);
  }
  const since = (holds: boolean, before: number | null | undefined) => (holds ? (before ?? (fresh ? now.mono : (lastGood ?? now.mono))) : null);
  const has = (f: string) => d.flags.includes(f);
  return {
    topic,
    via,
    data: d,
    lastSeen: now.mono,
    lastSeenWall: now.wall,
    lastGood,
    offSince: since(has("OFF"), prev?.offSince),
    overSince: since(has("OVER"), prev?.overSince),
    oblbSince: since(d.onBattery && d.lowBattery, prev?.oblbSince),
  };
}

const upsName = (topic: string) => topic.split("@")[0];

/**
 * The listed topic a message's topic stands for: itself, or — when it is not
 * listed — the one listed topic with the same UPS name on another server,
 * if exactly one has it and that one never reported under its own topic (a
 * nut-server whose host or port changed; the source's note says so). Null
 * when none.
 */
function listedTopic(config: AggregateConfig, state: AggregateState, topic: string): string | null {
  if (state.sources.has(topic) || config.sources.length === 0 || !topic.includes("@")) return state.sources.has(topic) ? topic : null;
  const same = config.sources.filter((s) => s.topic.includes("@") && upsName(s.topic) === upsName(topic));
  if (same.length !== 1) return null;
  const mem = state.sources.get(same[0].topic);
  if (mem?.data && mem.via === null) return null;
  if (mem?.via && mem.via !== topic) return null;
  return same[0].topic;
}

/**
 * One UPS-state message from `topic`. Returns the error text and the state
 * untouched when the message cannot be used.
 */
export function aggregateInput(
  config: AggregateConfig,
  state: AggregateState,
  topic: unknown,
  payload: unknown,
  now: Moment,
): AggregateStep & { error: string | null; unknownTopic: string | null } {
  const listed = typeof topic === "string" ? listedTopic(config, state, topic) : null;
  const error = checkUpsInput(config, state, listed ?? topic, payload);
  if (error)
    return { state, output: null, error, unknownTopic: typeof topic === "string" && !listed && error.startsWith("unknown topic") ? topic.slice(0, 200) : null };
  const t = (listed ?? topic) as string;
  const sources = new Map(state.sources);
  sources.set(t, remember(t, listed && listed !== topic ? (topic as string) : null, state.sources.get(t), payload as unknown as UpsState, now));
  return { ...evaluate(config, { ...state, sources }, now, config.emit === "always"), error: null, unknownTopic: null };
}

/** Re-evaluates without input (timer): emits only when something changed. */
export function aggregateTick(config: AggregateConfig, state: AggregateState, now: Moment): AggregateStep {
  return evaluate(config, state, now, false);
}

/** When (monotonic) the shell should call `aggregateTick` next, or null. */
export function nextDeadline(config: AggregateConfig, state: AggregateState): number | null {
  // Debounce and restore deadlines may be due right now (zero times): the tick that fires them clears them.
  const lifecycle: number[] = [];
  if (state.lostSince != null) lifecycle.push(state.lostSince + config.confirmMs);
  if (state.backSince != null && state.outage && !state.powerOut) lifecycle.push(state.backSince + config.restoreMs);
  // Source deadlines stay true once passed: only those still ahead.
  const ahead: number[] = [];
  // The end of the wait for listed UPSes after a restart in mid-outage.
  if (state.outage && [...state.sources.values()].some((m) => m.data == null)) ahead.push(state.startedAt + config.deadMs);
  for (const c of classify(config, state, state.at)) if (c.next != null) ahead.push(c.next);
  const all = [...lifecycle.map((t) => Math.max(t, state.at)), ...ahead.filter((t) => t > state.at)];
  return all.length ? Math.min(...all) : null;
}

const secs = (ms: number) => Math.round(ms / 1000);

/** How upsmon 2.8 would count one source at `now` (monotonic). */
function judge(config: AggregateConfig, state: AggregateState, mem: SourceMemory, index: number, now: number): Classified {
  const d = mem.data;
  const thresholds: number[] = [];
  /** Has time `t` come? Remembers it as the next deadline when it has not. */
  const reached = (t: number) => {
    if (t > now) thresholds.push(t);
    return now >= t;
  };
  const silent = config.silentMs > 0 && mem.lastSeen != null && reached(mem.lastSeen + config.silentMs);
  const stale = d == null || !isFresh(d) || silent;
  const why: StaleWhy | null = !stale
    ? null
    : d == null
      ? { code: "never-reported" }
      : silent
        ? { code: "silent", seconds: secs(config.silentMs) }
        : d.reachable === false
          ? { code: "unreachable" }
          : { code: "stale" };
  const deadAt = (mem.lastGood ?? state.startedAt) + config.deadMs;
  const dead = stale && reached(deadAt);
  const deadS = secs(config.deadMs);
  const verdict = (v: SourceVerdict, notes: Array<Note | null>, fsd = false): Classified => ({
    mem,
    verdict: v,
    stale,
    why,
    notes: notes.filter((n): n is Note => n !== null),
    next: thresholds.length ? Math.min(...thresholds) : null,
    fsd,
    power: config.sources.find((s) => s.topic === mem.topic)?.power ?? 1,
    charge: d?.charge ?? null,
    runtime: d?.runtime ?? null,
    index,
  });
  if (d == null) {
    if (dead && config.staleRule === "lost") return verdict("lost", [{ code: "never-reported-lost", dead: deadS }]);
    return verdict("unknown", [{ code: "not-counted-never-reported" }]);
  }
  const has = (f: string) => d.flags.includes(f);
  if (has("FSD")) return verdict("critical", [why, { code: "fsd" }], true);
  if (why) {
    // upsmon 2.8: a UPS last seen in one of these states that stops communicating is taken as gone at once.
    if (has("OVER") && config.overMs != null && reached((mem.overSince ?? now) + config.overMs)) {
      return verdict("lost", [{ code: "last-over", why, over: secs(config.overMs) }]);
    }
    if (has("ALARM") && config.alarmCritical) return verdict("lost", [{ code: "last-alarm", why }]);
    if (has("CAL")) return verdict("lost", [{ code: "last-cal", why }]);
    if (has("BYPASS")) return verdict("lost", [{ code: "last-bypass", why }]);
    if (has("OFF") && config.offMs != null) return verdict("lost", [{ code: "last-off", why }]);
  } else if (has("OFF") && config.offMs != null && reached((mem.offSince ?? now) + config.offMs)) {
    return verdict("lost", [{ code: "off", off: secs(config.offMs) }]);
  }
  if (dead && why) {
    if (d.onBattery) {
      // upsmon promotes a dead UPS last seen on battery to OB+LB, which OBLBDURATION may still delay.
      if (config.oblbMs > 0 && !reached(deadAt + config.oblbMs)) {
        return verdict("battery", [{ code: "dead-on-battery-oblb", why, dead: deadS, oblb: secs(config.oblbMs) }]);
      }
      return verdict("lost", [{ code: "dead-on-battery", why, dead: deadS }]);
    }
    if (config.staleRule === "lost") return verdict("lost", [{ code: "dead-lost", why, dead: deadS }]);
    return verdict("unknown", [{ code: "dead-on-line", why, dead: deadS }]);
  }
  const kept: Note | null = why ? { code: "kept", why, dead: deadS } : null;
  if (d.onBattery) {
    const cal = has("CAL");
    if (cal && !config.calOnBattery) return verdict("online", [kept, { code: "calibrating" }]);
    if (d.lowBattery) {
      if (cal) return verdict("battery", [kept, { code: "lb-calibrating" }]);
      if (config.oblbMs > 0 && !reached((mem.oblbSince ?? now) + config.oblbMs)) {
        return verdict("battery", [kept, { code: "lb-not-yet", oblb: secs(config.oblbMs) }]);
      }
      return verdict("critical", [kept]);
    }
    return verdict("battery", [kept]);
  }
  if (has("OL")) return verdict("online", [kept]);
  return verdict("unknown", [kept, { code: "neither", status: d.status }]);
}

function classify(config: AggregateConfig, state: AggregateState, now: number): Classified[] {
  const first = [...state.sources.values()].map((mem, i) => {
    const c = judge(config, state, mem, i, now);
    return mem.via ? { ...c, notes: [{ code: "via", topic: mem.via } as const, ...c.notes] } : c;
  });
  if (config.staleRule !== "ignore") return first;
  const reports = first.some((o) => !o.stale && COUNTED.has(o.verdict));
  return first.map((c): Classified => (c.stale && reports ? { ...c, verdict: "ignored", notes: [{ code: "ignored", why: c.why ?? { code: "stale" } }] } : c));
}

const COUNTED: ReadonlySet<SourceVerdict> = new Set(["online", "battery", "critical", "lost"]);

function isOut(c: Classified): boolean {
  return c.verdict === "battery" || c.verdict === "lost" || (c.verdict === "critical" && c.mem.data?.onBattery === true);
}

function isCritical(c: Classified): boolean {
  return c.verdict === "critical" || c.verdict === "lost";
}

/** Orders by charge, then runtime, then list order: the weakest first. */
function byCharge(a: Classified, b: Classified): number {
  return (a.charge ?? Infinity) - (b.charge ?? Infinity) || (a.runtime ?? Infinity) - (b.runtime ?? Infinity) || a.index - b.index;
}

/** Orders by who runs out first: runtime, then charge, then list order. */
function byExhaustion(a: Classified, b: Classified): number {
  return (a.runtime ?? Infinity) - (b.runtime ?? Infinity) || (a.charge ?? Infinity) - (b.charge ?? Infinity) || a.index - b.index;
}

interface PolicyResult {
  /** Power lost under the policy; null when no source can tell. */
  out: boolean | null;
  critical: boolean;
  fsd: boolean;
  reference: Classified | null;
  charge: number | null;
  runtime: number | null;
  /** A few words on how the policy sees it, for the summary. */
  detail: string;
}

function minOf(values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v != null);
  return known.length ? Math.min(...known) : null;
}

function weakestOf(pool: Classified[]): Pick<PolicyResult, "reference" | "charge" | "runtime"> {
  if (!pool.length) return { reference: null, charge: null, runtime: null };
  const reference = [...pool].sort(byCharge)[0];
  return { reference, charge: minOf(pool.map((c) => c.charge)), runtime: minOf(pool.map((c) => c.runtime)) };
}

/** The fresh ones when there are any: a UPS still in its dead time must not hide fresh readings of another. */
function preferFresh(pool: Classified[]): Classified[] {
  const fresh = pool.filter((c) => !c.stale);
  return fresh.length ? fresh : pool;
}

/**
 * Where the effective values come from: readings of the sources that are out
 * (on battery), else of every counted source (on line power). A lost source
 * adds `critical`; its last values stand in only when nothing else can be read.
 */
function valuePool(out: Classified[], counted: Classified[]): Classified[] {
  const readable = (list: Classified[]) => list.filter((c) => c.verdict !== "lost");
  for (const pool of [readable(out), out, readable(counted), counted]) if (pool.length) return preferFresh(pool);
  return [];
}

/**
 * The feed whose exhaustion makes the policy critical, when the feeds on
 * battery run out one after the other (shortest runtime first). Its runtime
 * is divided by the number of feeds sharing the load until then: when the
 * others die, the survivor carries their load and its own estimate, made at
 * a lower load, is optimistic.
 */
function criticalPath(battery: Classified[], criticalAfter: (lost: Classified[]) => boolean): Pick<PolicyResult, "reference" | "charge" | "runtime"> | null {
  const order = [...battery].sort(byExhaustion);
  for (let i = 0; i < order.length; i++) {
    if (criticalAfter(order.slice(0, i + 1))) {
      const ref = order[i];
      return { reference: ref, charge: ref.charge, runtime: ref.runtime == null ? null : Math.round(ref.runtime / (i + 1)) };
    }
  }
  return null;
}

function applyPolicy(config: AggregateConfig, all: Classified[]): PolicyResult {
  const counted = all.filter((c) => COUNTED.has(c.verdict));
  const out = counted.filter(isOut);
  const crit = counted.filter(isCritical);
  const battery = counted.filter((c) => c.verdict === "battery");
  const display = weakestOf(valuePool(out, counted));
  if (!counted.length) return { out: null, critical: false, fsd: false, ...display, detail: "no UPS reports" };

  if (config.policy === "redundant") {
    const members = all.filter((c) => c.verdict !== "ignored");
    const need = config.feedsOut > 0 ? Math.min(config.feedsOut, members.length) : members.length;
    const critical = crit.length >= need;
    const pick = critical ? display : (criticalPath(battery, (lost) => crit.length + lost.length >= need) ?? display);
    return {
      out: out.length >= need || critical,
      critical,
      fsd: critical && crit.some((c) => c.fsd),
      ...pick,
      detail: `${out.length} of ${members.length} feeds on battery (${need} needed)`,
    };
  }

  if (config.policy === "minsupplies") {
    const sum = (list: Classified[]) => list.reduce((s, c) => s + c.power, 0);
    // upsmon counts every UPS that is not critical, including one it never heard from
    const maybe = all.filter((c) => c.verdict === "unknown" || c.verdict === "ignored");
    const onLine = sum(counted.filter((c) => c.verdict === "online")) + sum(maybe);
    const supplying = onLine + sum(battery);
    const critical = supplying < config.minSupplies;
    const pick = critical
      ? display
      : (criticalPath(
          battery.filter((c) => c.power > 0),
          (lost) => supplying - sum(lost) < config.minSupplies,
        ) ?? display);
    return {
      out: onLine < config.minSupplies,
      critical,
      fsd: critical && crit.some((c) => c.fsd && c.power > 0),
      ...pick,
      detail: `power value ${supplying} supplying, ${onLine} on line power, ${config.minSupplies} needed`,
    };
  }

  // weakest: power is out when any UPS is; the lowest readings among those on battery.
  return { out: out.length > 0 || crit.length > 0, critical: crit.length > 0, fsd: crit.some((c) => c.fsd), ...display, detail: "" };
}

function outageId(since: number, tag: string, lastId: string | null): string {
  const stamp = new Date(since)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const id = `outage-${stamp}-${tag}`;
  // Two outages in the same second (zero confirm and restore times) still differ.
  return id === lastId ? `${id}-2` : id;
}

function sourceState(c: Classified): SourceState {
  const d = c.mem.data;
  return {
    topic: c.mem.topic,
    verdict: c.verdict,
    status: d?.status ?? null,
    flags: d ? [...d.flags] : [],
    onBattery: d?.onBattery ?? false,
    lowBattery: d?.lowBattery ?? false,
    charge: d?.charge ?? null,
    runtime: d?.runtime ?? null,
    stale: c.stale,
    reachable: d ? d.reachable !== false : false,
    lastSeen: c.mem.lastSeenWall,
    counted: COUNTED.has(c.verdict),
    note: noteText(c.notes),
  };
}

function evaluate(config: AggregateConfig, state: AggregateState, now: Moment, forceEmit: boolean): AggregateStep {
  const t = now.mono;
  const all = classify(config, state, t);
  const policy = applyPolicy(config, all);

  let { outage, outageMono, powerOut, lostSince, backSince, lastId } = state;
  let event: PowerEvent = "UPDATE";
  // After a restart in mid-outage, "power back" waits for every listed UPS to report
  // (at most the dead time): one UPS on line power says little while another is silent.
  // Every deadline is compared as nextDeadline computes it (start + duration), never as a difference:
  // in doubles the two can disagree by a hair, and the timer would be woken for nothing (core/moment.ts).
  const waiting = outage != null && t < state.startedAt + config.deadMs && all.some((c) => c.mem.data == null);
  if (policy.out === null || (policy.out === false && waiting)) {
    // Nobody can tell: hold the current decision, restart both clocks later.
    lostSince = null;
    backSince = null;
  } else if (policy.out) {
    backSince = null;
    if (!powerOut) {
      lostSince = lostSince ?? t;
      if (policy.critical || t >= lostSince + config.confirmMs) {
        powerOut = true;
        if (!outage) {
          const since = wallOf(now, lostSince);
          const id = outageId(since, config.idTag, lastId);
          outage = { id, since };
          outageMono = lostSince;
          lastId = id;
          event = "POWER_LOST";
        }
        lostSince = null;
      }
    }
  } else {
    lostSince = null;
    if (powerOut) {
      powerOut = false;
      backSince = t;
      event = "POWER_BACK";
    } else if (outage) {
      backSince = backSince ?? t;
      if (t >= backSince + config.restoreMs) {
        event = "OUTAGE_END";
        backSince = null;
      }
    }
  }
  // The OUTAGE_END message still names the outage that ended; the state forgets it.
  const emitted: OutageIdentity | null = outage ? (event === "OUTAGE_END" ? { ...outage, ended: now.wall } : { ...outage }) : null;
  const length = outageMono != null ? wholeSecondsSince(outageMono, t) : null;
  if (event === "OUTAGE_END") {
    outage = null;
    outageMono = null;
  }

  const payload: PowerState = {
    policy: config.policy,
    onBattery: powerOut,
    critical: policy.critical,
    fsd: policy.fsd,
    charge: policy.charge,
    runtime: policy.runtime,
    reference: policy.reference?.mem.topic ?? null,
    onBatterySeconds: emitted ? length : null,
    sources: all.map(sourceState),
    stale: all.filter((c) => c.stale).map((c) => c.mem.topic),
    event,
    time: now.wall,
  };
  const key = JSON.stringify([
    payload.onBattery,
    payload.critical,
    payload.fsd,
    payload.charge,
    payload.runtime,
    payload.reference,
    // the notes as codes: rewording one cannot make a message go out
    all.map((c) => [c.mem.data?.status, c.mem.data?.charge, c.mem.data?.runtime, c.verdict, c.stale, c.notes]),
  ]);
  const next: AggregateState = { ...state, at: t, outage, outageMono, powerOut, lostSince, backSince, lastId, lastKey: key };
  const emit = forceEmit || event !== "UPDATE" || key !== state.lastKey;
  return { state: next, output: emit ? { payload, outage: emitted, summary: summarize(payload, policy, all, emitted) } : null };
}

function summarize(p: PowerState, policy: PolicyResult, all: Classified[], outage: OutageIdentity | null): string {
  let head: string;
  switch (p.event) {
    case "POWER_LOST":
      head = "Power lost";
      break;
    case "POWER_BACK":
      head = "Power back, outage still open";
      break;
    case "OUTAGE_END":
      head = `Outage over after ${formatDuration((outage?.ended ?? p.time) - (outage?.since ?? p.time))}`;
      break;
    default:
      head = p.onBattery ? "On battery" : outage ? "Power back, outage still open" : policy.out === null ? "No data" : "On line power";
  }
  if (p.critical) {
    const why = all
      .filter((c) => COUNTED.has(c.verdict) && isCritical(c))
      .map((c) => `${c.mem.topic} ${c.fsd ? "FSD" : c.verdict === "lost" ? "lost" : "OB+LB"}`);
    head += `, CRITICAL (${why.join(", ")})`;
  }
  const ref = policy.reference;
  let body: string;
  if (!ref) body = policy.detail;
  else {
    const rt = formatRuntime(p.runtime);
    const lead = p.policy === "weakest" ? "weakest " : "reference ";
    body = `${lead}${ref.mem.topic} at ${formatPercent(p.charge)}${rt ? `, ${rt}` : ""}`;
    const rtSource = p.policy === "weakest" && p.runtime != null ? all.find((c) => c.runtime === p.runtime && COUNTED.has(c.verdict)) : undefined;
    if (rtSource && rtSource !== ref && ref.runtime !== p.runtime) body += ` (runtime of ${rtSource.mem.topic})`;
    if (ref.verdict === "lost") body += " (lost: last values)";
    if (policy.detail) body += `; ${policy.detail}`;
  }
  const stale = all.filter((c) => c.stale).map((c) => `${c.mem.topic} (${c.mem.data == null ? "never reported" : c.verdict === "lost" ? "lost" : "stale"})`);
  return `${head}: ${body}${stale.length ? `; stale: ${stale.join(", ")}` : ""}`;
}

/** The texts of ups-aggregate's status (locales/<lang>/ups-aggregate.json). */
export const AGGREGATE_TEXTS = textTable({
  "status.waiting": [],
  "status.waiting-short": [],
  "status.unknown-topic": ["topic"],
  "status.on-battery": ["levels"],
  "status.on-battery-ref": ["levels", "ups"],
  "status.critical": ["levels"],
  "status.critical-ref": ["levels", "ups"],
  "status.confirming": ["left"],
  "status.outage-open": ["levels"],
  "status.outage-ends": ["left"],
  "status.no-data": [],
  "status.on-line-power": ["levels"],
  "status.stale": ["stale"],
  "status.stale-dead": ["stale", "left"],
  "status.dead": ["left"],
  "status.store-failed": [],
  "status.store-lost": [],
});
const say = AGGREGATE_TEXTS;

export interface AggregateStatus extends StatusView {
  /** The text counts seconds down: show it again in a second. */
  countdown: boolean;
}

/**
 * What the node shows: the decision, and what it is waiting for (the
 * confirm time, the restore time, the dead time of a stale UPS) with the
 * seconds left. `last` is the last power state sent; null before the first.
 * A stored outage identity that was lost (`store`: "lost") or cannot be
 * stored ("failed") turns it red: the next messages may start a new outage.
 */
export function aggregateStatus(
  config: AggregateConfig,
  state: AggregateState,
  last: PowerState | null,
  now: number,
  /** The last topic refused as not listed: a wiring or server change the operator must see. */
  unknownTopic: string | null = null,
  store: "lost" | "failed" | null = null,
): AggregateStatus {
  const s = decisionStatus(config, state, last, now, unknownTopic);
  if (!store) return s;
  // A lost identity is shown over everything else.
  const base = s.key === "status.waiting" ? say("status.waiting-short") : s;
  return { ...statusOf("red", "ring", withMore(base, say(store === "failed" ? "status.store-failed" : "status.store-lost"))), countdown: s.countdown };
}

function decisionStatus(config: AggregateConfig, state: AggregateState, last: PowerState | null, now: number, unknownTopic: string | null): AggregateStatus {
  const s = plainStatus(config, state, last, now);
  if (!unknownTopic) return s;
  // A refused topic is added to what the node decided (CRITICAL and the countdowns stay): red, a ring unless it is critical.
  const unknown = say("status.unknown-topic", { topic: unknownTopic });
  if (!last) return { ...statusOf("red", "ring", unknown), countdown: false };
  return { ...withMore(s, unknown), fill: "red", shape: last.critical ? "dot" : "ring", countdown: s.countdown };
}

function plainStatus(config: AggregateConfig, state: AggregateState, last: PowerState | null, now: number): AggregateStatus {
  if (!last) return { ...statusOf("grey", "ring", say("status.waiting")), countdown: false };
  const left = (at: number) => formatCountdown(at, now);
  let countdown = false;
  const levels = formatLevels(last.charge, last.runtime);
  const ups = last.reference ? last.reference.split("@")[0] : null;
  // A UPS stale within its dead time: the soonest one, with the seconds it has left.
  const dying = classify(config, state, now).filter(
    (c) => c.stale && c.mem.data != null && (c.verdict === "battery" || c.verdict === "online" || c.verdict === "critical"),
  );
  const soonest = dying.map((c) => (c.mem.lastGood ?? state.startedAt) + config.deadMs).filter((at) => at > now);
  const stale = last.stale.length;
  let staleText: Text | null = null;
  if (soonest.length) {
    const dead = left(Math.min(...soonest));
    staleText = stale ? say("status.stale-dead", { stale, left: dead }) : say("status.dead", { left: dead });
    countdown = true;
  } else if (stale) staleText = say("status.stale", { stale });
  const show = (fill: StatusFill, shape: StatusShape, text: Text): AggregateStatus => ({ ...statusOf(fill, shape, withMore(text, staleText)), countdown });
  if (last.critical) return show("red", "dot", ups ? say("status.critical-ref", { levels, ups }) : say("status.critical", { levels }));
  if (last.onBattery) return show("yellow", "dot", ups ? say("status.on-battery-ref", { levels, ups }) : say("status.on-battery", { levels }));
  if (state.lostSince != null) {
    countdown = true;
    return show("yellow", "ring", say("status.confirming", { left: left(state.lostSince + config.confirmMs) }));
  }
  if (state.outage) {
    if (state.backSince == null) return show("yellow", "ring", say("status.outage-open", { levels }));
    countdown = true;
    return show("yellow", "ring", say("status.outage-ends", { left: left(state.backSince + config.restoreMs) }));
  }
  if (!last.sources.some((x) => x.counted)) return show("grey", "ring", say("status.no-data"));
  return show(staleText ? "yellow" : "green", staleText ? "ring" : "dot", say("status.on-line-power", { levels }));
}
