/**
 * ups-aggregate core: folds the latest UPS-state message of each source into
 * one power state under a policy, and tracks the outage identity.
 *
 * Pure: every function takes the time (`now`, epoch ms) and returns a new
 * state; nothing here reads a clock or keeps a timer. The node shell calls
 * `aggregateTick` at `nextDeadline(...)` so debounce, restore and stale
 * deadlines fire without an input message.
 */
import type { AggregatePolicy, OutageIdentity, PowerEvent, PowerState, SourceState, UpsState } from "../contract";
import { checkAmount, checkBoolean, describeValue, formatDuration, formatPercent, formatRuntime, isRecord } from "./format";

/**
 * What to do with a source whose data is stale, silent or unreachable:
 * - "deadtime" (upsmon's DEADTIME): keep its last values for `deadMs`; after
 *   that a source last seen on battery (or FSD) counts as exhausted, one last
 *   seen on line power is not counted (it cannot start an outage).
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
  /** Expected sources; empty = accept every topic (power value 1 each). */
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
  /** Dead time: how long a stale source keeps its last values. */
  deadMs: number;
  /** A source not heard from for this long is stale ("silent"); 0 = off. */
  silentMs: number;
  /** "change": emit when the power state changes; "always": also on every input. */
  emit: "change" | "always";
  /** Appended to outage ids so two aggregate nodes never share one. */
  idTag: string;
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
};

interface SourceMemory {
  topic: string;
  /** The last UPS state received, null when never. */
  data: UpsState | null;
  /** Arrival time of the last message. */
  lastSeen: number | null;
  /** Arrival time of the last message with fresh data. */
  lastGood: number | null;
}

export interface AggregateState {
  startedAt: number;
  /** Time of the last evaluation. */
  at: number;
  sources: Record<string, SourceMemory>;
  /** Topics in display order: the expected list first, then as they arrived. */
  order: string[];
  outage: OutageIdentity | null;
  /** Power is out under the policy, debounced. */
  powerOut: boolean;
  /** Raw "power lost" seen since, waiting for the confirm time. */
  lostSince: number | null;
  /** Power back since, waiting for the restore time. */
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
}

export interface AggregateOutput {
  payload: PowerState;
  outage: OutageIdentity | null;
  summary: string;
}

export interface AggregateStep {
  state: AggregateState;
  output: AggregateOutput | null;
}

type SourceClass = "online" | "battery" | "critical" | "lost" | "unknown" | "ignored";

interface Classified {
  mem: SourceMemory;
  cls: SourceClass;
  stale: boolean;
  note: string | null;
  power: number;
  /** Values used by the policy (a lost source counts as exhausted: 0 and 0). */
  charge: number | null;
  runtime: number | null;
  index: number;
}

export function initialAggregate(config: AggregateConfig, now: number, saved?: SavedOutage | null): AggregateState {
  // fromEntries and hasOwn: a topic named "__proto__" or "constructor" is just a topic.
  const sources: Record<string, SourceMemory> = Object.fromEntries(
    config.sources.map((s) => [s.topic, { topic: s.topic, data: null, lastSeen: null, lastGood: null }]),
  );
  return {
    startedAt: now,
    at: now,
    sources,
    order: config.sources.map((s) => s.topic),
    outage: saved?.outage ?? null,
    powerOut: saved?.outage ? saved.powerOut : false,
    lostSince: null,
    backSince: null,
    lastId: saved?.lastId ?? null,
    lastKey: null,
  };
}

export function savedOutage(state: AggregateState): SavedOutage {
  return { outage: state.outage, powerOut: state.powerOut, lastId: state.lastId };
}

/** Reads back what `savedOutage` stored; null when absent or not recognisable. */
export function parseSavedOutage(x: unknown): SavedOutage | null {
  if (!isRecord(x) || typeof x.powerOut !== "boolean") return null;
  const o = x.outage;
  const outage = isRecord(o) && typeof o.id === "string" && typeof o.since === "number" ? { id: o.id, since: o.since } : null;
  return { outage, powerOut: x.powerOut, lastId: typeof x.lastId === "string" ? x.lastId : null };
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
  const times: Array<[string, number]> = [
    ["confirm time", c.confirmMs],
    ["restore time", c.restoreMs],
    ["dead time", c.deadMs],
    ["silent time", c.silentMs],
  ];
  for (const [name, v] of times) if (!Number.isFinite(v) || v < 0) problems.push(`${name} must be a number of seconds >= 0`);
  if (!["weakest", "redundant", "minsupplies"].includes(c.policy)) problems.push(`unknown policy ${describeValue(c.policy)}`);
  if (!["deadtime", "ignore", "lost"].includes(c.staleRule)) problems.push(`unknown stale rule ${describeValue(c.staleRule)}`);
  return problems;
}

/** Checks one incoming message; returns an error text, or null when it can be used. */
function checkUpsInput(config: AggregateConfig, state: AggregateState, topic: unknown, payload: unknown): string | null {
  if (typeof topic !== "string" || topic === "") {
    return `msg.topic must name the UPS as ups@host:port (got ${describeValue(topic)})`;
  }
  if (config.sources.length > 0 && !Object.hasOwn(state.sources, topic)) {
    return `unknown topic ${topic}: not in this node's list of UPSes (${config.sources.map((s) => s.topic).join(", ")})`;
  }
  if (!isRecord(payload)) return `msg.payload must be a UPS state object (got ${describeValue(payload)})`;
  if (!Array.isArray(payload.flags) || payload.flags.some((f) => typeof f !== "string")) {
    return `payload.flags must be a list of status words (got ${describeValue(payload.flags)})`;
  }
  const problem =
    checkBoolean("payload.onBattery", payload.onBattery) ??
    checkBoolean("payload.lowBattery", payload.lowBattery) ??
    checkBoolean("payload.stale", payload.stale) ??
    (payload.reachable === undefined ? null : checkBoolean("payload.reachable", payload.reachable)) ??
    checkAmount("payload.charge", payload.charge, true) ??
    checkAmount("payload.runtime", payload.runtime, true);
  if (problem) return problem;
  if (payload.status !== undefined && payload.status !== null && typeof payload.status !== "string") {
    return `payload.status must be text or null (got ${describeValue(payload.status)})`;
  }
  return null;
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
  now: number,
): AggregateStep & { error: string | null } {
  const error = checkUpsInput(config, state, topic, payload);
  if (error) return { state, output: null, error };
  const t = topic as string;
  const data = payload as unknown as UpsState;
  const fresh = !data.stale && data.reachable !== false;
  const prev = Object.hasOwn(state.sources, t) ? state.sources[t] : undefined;
  const mem: SourceMemory = {
    topic: t,
    data: { ...data, flags: [...data.flags] },
    lastSeen: now,
    lastGood: fresh ? now : (prev?.lastGood ?? null),
  };
  const next: AggregateState = {
    ...state,
    sources: { ...state.sources, [t]: mem },
    order: state.order.includes(t) ? state.order : [...state.order, t],
  };
  return { ...evaluate(config, next, now, config.emit === "always"), error: null };
}

/** Re-evaluates without input (timer): emits only when something changed. */
export function aggregateTick(config: AggregateConfig, state: AggregateState, now: number): AggregateStep {
  return evaluate(config, state, now, false);
}

/** When the shell should call `aggregateTick` next (epoch ms), or null. */
export function nextDeadline(config: AggregateConfig, state: AggregateState): number | null {
  // Debounce and restore deadlines may be due right now (zero times): the tick that fires them clears them.
  const lifecycle: number[] = [];
  if (state.lostSince != null) lifecycle.push(state.lostSince + config.confirmMs);
  if (state.backSince != null && state.outage && !state.powerOut) lifecycle.push(state.backSince + config.restoreMs);
  // Source deadlines stay true once passed: only those still ahead.
  const ahead: number[] = [];
  // The end of the wait for listed UPSes after a restart in mid-outage.
  if (state.outage && state.order.some((t) => state.sources[t].data == null)) ahead.push(state.startedAt + config.deadMs);
  for (const c of classify(config, state, state.at)) {
    const m = c.mem;
    if (config.silentMs > 0 && m.lastSeen != null) ahead.push(m.lastSeen + config.silentMs);
    if (c.stale) ahead.push((m.lastGood ?? state.startedAt) + config.deadMs);
  }
  const all = [...lifecycle.map((t) => Math.max(t, state.at)), ...ahead.filter((t) => t > state.at)];
  return all.length ? Math.min(...all) : null;
}

function hasFlag(d: UpsState, flag: string): boolean {
  return d.flags.includes(flag);
}

/** Classifies a source by its (possibly stale) last values. */
function byStatus(d: UpsState): SourceClass {
  if (hasFlag(d, "FSD")) return "critical";
  if (d.onBattery) return d.lowBattery ? "critical" : "battery";
  if (hasFlag(d, "OL")) return "online";
  return "unknown";
}

function classify(config: AggregateConfig, state: AggregateState, now: number): Classified[] {
  const powerOf = (topic: string) => config.sources.find((s) => s.topic === topic)?.power ?? 1;
  const deadSecs = Math.round(config.deadMs / 1000);
  const first = state.order.map((topic, index): Classified => {
    const mem = state.sources[topic];
    const d = mem.data;
    const silent = config.silentMs > 0 && mem.lastSeen != null && now - mem.lastSeen >= config.silentMs;
    const stale = d == null || d.stale || d.reachable === false || silent;
    const dead = stale && now - (mem.lastGood ?? state.startedAt) >= config.deadMs;
    const base = { mem, stale, power: powerOf(topic), charge: d?.charge ?? null, runtime: d?.runtime ?? null, index };
    if (d == null) {
      if (dead && config.staleRule === "lost") return { ...base, cls: "lost", charge: 0, runtime: 0, note: `never reported within the dead time (${deadSecs} s): counted as lost` };
      return { ...base, cls: "unknown", note: "never reported: not counted" };
    }
    const cls = byStatus(d);
    const why = silent ? `silent for ${Math.round(config.silentMs / 1000)} s or more` : d.reachable === false ? "server unreachable" : "data stale";
    if (!stale) return { ...base, cls, note: cls === "unknown" ? `status ${d.status ?? "unknown"}: neither OL nor OB, not counted` : null };
    if (!dead) return { ...base, cls, note: `${why}: last values kept until the dead time (${deadSecs} s)` };
    if (d.onBattery || hasFlag(d, "FSD")) {
      return { ...base, cls: "lost", charge: 0, runtime: 0, note: `${why} beyond the dead time, last seen on battery: counted as exhausted` };
    }
    if (config.staleRule === "lost") return { ...base, cls: "lost", charge: 0, runtime: 0, note: `${why} beyond the dead time: counted as lost` };
    return { ...base, cls: "unknown", note: `${why} beyond the dead time, last seen on line power: not counted` };
  });
  if (config.staleRule !== "ignore") return first;
  const othersReport = (c: Classified) =>
    first.some((o) => o !== c && !o.stale && (o.cls === "online" || o.cls === "battery" || o.cls === "critical"));
  return first.map((c) =>
    c.stale && othersReport(c) ? { ...c, cls: "ignored", note: `${c.note?.split(":")[0] ?? "stale"}: ignored while other sources report` } : c,
  );
}

const COUNTED: ReadonlySet<SourceClass> = new Set(["online", "battery", "critical", "lost"]);

function isOut(c: Classified): boolean {
  return c.cls === "battery" || c.cls === "lost" || (c.cls === "critical" && c.mem.data?.onBattery === true);
}

function isCritical(c: Classified): boolean {
  return c.cls === "critical" || c.cls === "lost";
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
  const counted = all.filter((c) => COUNTED.has(c.cls));
  const out = counted.filter(isOut);
  const crit = counted.filter(isCritical);
  const battery = counted.filter((c) => c.cls === "battery");
  const display = weakestOf(preferFresh(out.length ? out : counted));
  if (!counted.length) return { out: null, critical: false, ...display, detail: "no UPS reports" };

  if (config.policy === "redundant") {
    const members = all.filter((c) => c.cls !== "ignored");
    const need = config.feedsOut > 0 ? Math.min(config.feedsOut, members.length) : members.length;
    const critical = crit.length >= need;
    const pick = critical ? weakestOf(crit) : (criticalPath(battery, (lost) => crit.length + lost.length >= need) ?? display);
    return { out: out.length >= need || critical, critical, ...pick, detail: `${out.length} of ${members.length} feeds on battery (${need} needed)` };
  }

  if (config.policy === "minsupplies") {
    const sum = (list: Classified[]) => list.reduce((s, c) => s + c.power, 0);
    const maybe = all.filter((c) => c.cls === "unknown" || c.cls === "ignored");
    const onLine = sum(counted.filter((c) => c.cls === "online")) + sum(maybe);
    const supplying = onLine + sum(battery);
    const critical = supplying < config.minSupplies;
    const pick = critical
      ? weakestOf(crit)
      : (criticalPath(battery.filter((c) => c.power > 0), (lost) => supplying - sum(lost) < config.minSupplies) ?? display);
    return {
      out: onLine < config.minSupplies,
      critical,
      ...pick,
      detail: `power value ${supplying} supplying, ${onLine} on line power, ${config.minSupplies} needed`,
    };
  }

  // weakest: a critical UPS is the one to name; otherwise the lowest charge on battery.
  return { out: out.length > 0 || crit.length > 0, critical: crit.length > 0, ...(crit.length ? weakestOf(crit) : display), detail: "" };
}

function outageId(since: number, tag: string, lastId: string | null): string {
  const stamp = new Date(since).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const id = `outage-${stamp}-${tag}`;
  // Two outages in the same second (zero confirm and restore times) still differ.
  return id === lastId ? `${id}-2` : id;
}

function sourceState(c: Classified): SourceState {
  const d = c.mem.data;
  return {
    topic: c.mem.topic,
    status: d?.status ?? null,
    flags: d ? [...d.flags] : [],
    onBattery: d?.onBattery ?? false,
    lowBattery: d?.lowBattery ?? false,
    charge: d?.charge ?? null,
    runtime: d?.runtime ?? null,
    stale: c.stale,
    reachable: d ? d.reachable !== false : false,
    lastSeen: c.mem.lastSeen,
    counted: COUNTED.has(c.cls),
    note: c.note,
  };
}

function evaluate(config: AggregateConfig, state: AggregateState, now: number, forceEmit: boolean): AggregateStep {
  const all = classify(config, state, now);
  const policy = applyPolicy(config, all);

  let { outage, powerOut, lostSince, backSince, lastId } = state;
  let event: PowerEvent = "UPDATE";
  // After a restart in mid-outage, "power back" waits for every listed UPS to report
  // (at most the dead time): one UPS on line power says little while another is silent.
  const waiting = outage != null && now - state.startedAt < config.deadMs && all.some((c) => c.mem.data == null);
  if (policy.out === null || (policy.out === false && waiting)) {
    // Nobody can tell: hold the current decision, restart both clocks later.
    lostSince = null;
    backSince = null;
  } else if (policy.out) {
    backSince = null;
    if (!powerOut) {
      lostSince = lostSince ?? now;
      if (policy.critical || now - lostSince >= config.confirmMs) {
        powerOut = true;
        if (!outage) {
          const id = outageId(lostSince, config.idTag, lastId);
          outage = { id, since: lostSince };
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
      backSince = now;
      event = "POWER_BACK";
    } else if (outage) {
      backSince = backSince ?? now;
      if (now - backSince >= config.restoreMs) {
        event = "OUTAGE_END";
        backSince = null;
      }
    }
  }
  // The OUTAGE_END message still names the outage that ended; the state forgets it.
  const emitted: OutageIdentity | null = outage ? (event === "OUTAGE_END" ? { ...outage, ended: now } : { ...outage }) : null;
  if (event === "OUTAGE_END") outage = null;

  const sources: Record<string, SourceState> = Object.fromEntries(all.map((c) => [c.mem.topic, sourceState(c)]));
  const stale = all.filter((c) => c.stale).map((c) => c.mem.topic);
  const payload: PowerState = {
    policy: config.policy,
    onBattery: powerOut,
    critical: policy.critical,
    charge: policy.charge,
    runtime: policy.runtime,
    reference: policy.reference?.mem.topic ?? null,
    onBatterySeconds: emitted ? Math.floor(((emitted.ended ?? now) - emitted.since) / 1000) : null,
    sources,
    stale,
    event,
    time: now,
  };
  const key = JSON.stringify([
    payload.onBattery,
    payload.critical,
    payload.charge,
    payload.runtime,
    payload.reference,
    all.map((c) => [c.mem.data?.status, c.mem.data?.charge, c.mem.data?.runtime, c.cls, c.stale, c.note]),
  ]);
  const next: AggregateState = { ...state, at: now, outage, powerOut, lostSince, backSince, lastId, lastKey: key };
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
  if (p.critical) head += ", CRITICAL";
  const ref = policy.reference;
  let body: string;
  if (!ref) body = policy.detail;
  else {
    const rt = formatRuntime(p.runtime);
    const lead = p.policy === "weakest" ? "weakest " : "reference ";
    body = `${lead}${ref.mem.topic} at ${formatPercent(p.charge)}${rt ? `, ${rt}` : ""}`;
    const rtSource = p.policy === "weakest" && p.runtime != null ? all.find((c) => c.runtime === p.runtime && COUNTED.has(c.cls)) : undefined;
    if (rtSource && rtSource !== ref && ref.runtime !== p.runtime) body += ` (runtime of ${rtSource.mem.topic})`;
    if (ref.cls === "lost") body += " (lost)";
    if (policy.detail) body += `; ${policy.detail}`;
  }
  const stale = all.filter((c) => c.stale).map((c) => `${c.mem.topic} (${c.mem.data == null ? "never reported" : c.cls === "lost" ? "lost" : "stale"})`);
  return `${head}: ${body}${stale.length ? `; stale: ${stale.join(", ")}` : ""}`;
}
