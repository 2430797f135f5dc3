/**
 * The decisions of the wake-hosts node, as pure functions: its
 * configuration, what an incoming message is, which hosts to wake and when,
 * and its status. Time is passed in (`now`: the monotonic clock, ms), never
 * read here.
 *
 * A host is recorded when ssh-shutdown reports it shut down (or simulated
 * it) in an outage; it is woken once the power is back, the battery has
 * recharged to `minCharge` and no power state has said "on battery" for
 * `stableMs`. Only a power state or the stable time passing can start a
 * waking; a result never does. What is recorded is plain JSON, kept in a
 * context store across restarts; the stable time is not (a monotonic time
 * means nothing to the next process that cannot tell it ran in the same
 * boot): after a restart it counts from the first power state again.
 */
import { type ShutdownAction } from "../contract";
import { MAX_CHARGE, checkAmount, checkBoolean, describeValue, isRecord } from "../check";
import { isEmpty, numberOr, within } from "../config";
import { formatPercent } from "../format";
import { type MaybeRestored, restoredKind } from "../decide/restored";
import { ACTIONS } from "../ssh/shutdown";
import { type StatusView, type Text, statusOf, textTable, withMore } from "../status";

/** Bounds on what the configuration and messages can make the node keep. */
export const WAKE_LIMITS = { hosts: 64, idLength: 200 };

export interface WakeConfig {
  /** ssh-host config node ids: the only hosts ever recorded and woken. */
  hosts: string[];
  /** The effective charge (%) the power state must report before hosts are woken (NUT: battery.charge.restart). */
  minCharge: number;
  /** How long mains must have been back without a single "on battery" (ms). */
  stableMs: number;
  /** IPv4 address the magic packets go to, and their UDP port. */
  broadcast: string;
  wolPort: number;
  /** A packet every `repeatMs` until the host answers on its SSH port or `deadlineMs` passes. */
  repeatMs: number;
  deadlineMs: number;
}

/** The editor's raw values (strings or numbers, possibly missing). */
export interface RawWakeConfig {
  hosts?: unknown;
  minCharge?: unknown;
  stable?: unknown;
  broadcast?: unknown;
  wolPort?: unknown;
  repeat?: unknown;
  deadline?: unknown;
}

/** The defaults (docs/nodes.md and the help say why). */
export const WAKE_DEFAULTS = { minCharge: 50, stable: 300, broadcast: "255.255.255.255", wolPort: 9, repeat: 10, deadline: 600 };

/** A problem in the configuration: an i18n key (under wake-hosts.errors) and its values. */
export interface WakeProblem {
  key: "no-hosts" | "too-many-hosts" | "bad-number" | "bad-broadcast";
  params?: Record<string, string | number>;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Normalise the node configuration; problems are reported, never thrown. */
export function readWakeConfig(raw: RawWakeConfig): { config: WakeConfig; problems: WakeProblem[] } {
  const problems: WakeProblem[] = [];
  const listed = Array.isArray(raw.hosts) ? raw.hosts.filter((h): h is string => typeof h === "string" && h !== "" && h.length <= WAKE_LIMITS.idLength) : [];
  const hosts = [...new Set(listed)];
  if (hosts.length === 0) problems.push({ key: "no-hosts" });
  if (hosts.length > WAKE_LIMITS.hosts) problems.push({ key: "too-many-hosts", params: { max: WAKE_LIMITS.hosts } });
  const number = (v: unknown, def: number, name: string, min: number, max: number, integer = false): number => {
    const n = numberOr(v, def);
    if (within(n, { min, max, integer })) return n;
    problems.push({ key: "bad-number", params: { name, min, max } });
    return def;
  };
  const broadcast = isEmpty(raw.broadcast) ? WAKE_DEFAULTS.broadcast : String(raw.broadcast).trim();
  if (!IPV4.test(broadcast)) problems.push({ key: "bad-broadcast", params: { address: describeValue(raw.broadcast) } });
  return {
    config: {
      hosts: hosts.slice(0, WAKE_LIMITS.hosts),
      minCharge: number(raw.minCharge, WAKE_DEFAULTS.minCharge, "minCharge", 0, 100),
      stableMs: number(raw.stable, WAKE_DEFAULTS.stable, "stable", 0, 86400) * 1000,
      broadcast: IPV4.test(broadcast) ? broadcast : WAKE_DEFAULTS.broadcast,
      wolPort: number(raw.wolPort, WAKE_DEFAULTS.wolPort, "wolPort", 1, 65535, true),
      repeatMs: number(raw.repeat, WAKE_DEFAULTS.repeat, "repeat", 1, 3600) * 1000,
      deadlineMs: number(raw.deadline, WAKE_DEFAULTS.deadline, "deadline", 1, 86400) * 1000,
    },
    problems,
  };
}

/** The outage a host was shut down in (msg.outage of its result). */
export interface WakeOutage {
  id: string;
  since: number;
}

/** A host to wake: shut down (or simulated) in an outage. */
export interface RecordedHost {
  /** ssh-host id, one of the configured hosts. */
  id: string;
  outage: WakeOutage | null;
  /** Its shutdown was a rehearsal: its waking is simulated too. */
  simulated: boolean;
  /** When it was recorded (epoch ms). */
  at: number;
  /** Its waking has started (and not ended). */
  waking: boolean;
}

/** What the last power state said. */
export interface PowerSeen {
  onBattery: boolean;
  critical: boolean;
  charge: number | null;
}

export interface WakeState {
  /** Kept in the context store. */
  hosts: RecordedHost[];
  /** Null until a power state arrives (after a start: not known yet). */
  power: PowerSeen | null;
  /** Monotonic time since which power has been back without an "on battery"; null while out or unknown. */
  backSince: number | null;
}

export function initialWake(): WakeState {
  return { hosts: [], power: null, backSince: null };
}

/** What the node stores: the recorded hosts only. */
export function savedWake(state: WakeState): { hosts: RecordedHost[] } {
  return { hosts: state.hosts };
}

function outageOf(x: unknown): WakeOutage | null | undefined {
  if (x === undefined || x === null) return null;
  if (!isRecord(x) || typeof x.id !== "string" || x.id === "" || x.id.length > WAKE_LIMITS.idLength || !Number.isFinite(x.since)) return undefined;
  return { id: x.id, since: x.since as number };
}

/**
 * Reads back what was stored, keeping only hosts still configured. A host
 * whose waking was in progress when Node-RED stopped is to wake again (no
 * waking runs in a new process). Null when it is not a state this node writes.
 */
export function parseSavedWake(x: unknown, config: WakeConfig): WakeState | null {
  if (!isRecord(x) || !Array.isArray(x.hosts)) return null;
  const hosts: RecordedHost[] = [];
  for (const h of x.hosts.slice(0, WAKE_LIMITS.hosts)) {
    if (!isRecord(h) || typeof h.id !== "string" || !config.hosts.includes(h.id) || hosts.some((k) => k.id === h.id)) continue;
    const outage = outageOf(h.outage);
    if (outage === undefined) continue;
    hosts.push({ id: h.id, outage, simulated: h.simulated === true, at: Number.isFinite(h.at) ? (h.at as number) : 0, waking: false });
  }
  return { ...initialWake(), hosts };
}

/** What a message is to this node. */
export type WakeInput =
  /** An ssh-shutdown result. */
  | { kind: "result"; hostId: string; action: ShutdownAction; ok: boolean; outage: WakeOutage | null; at: number }
  /** An ups-aggregate power state. */
  | ({ kind: "power" } & PowerSeen)
  /** The stable time may have passed (the node's timer). */
  | { kind: "tick" }
  /** msg.reset: forget every recorded host. */
  | { kind: "reset" }
  /** A host's waking ended (UP, NO_ANSWER, SIMULATED, FAILED): forget it. */
  | { kind: "ended"; hostId: string };

/** A message: what it is, nothing to do (an outage that ended without a power state), or what is wrong with it. */
export type ReadMessage = { input: WakeInput } | { nothing: true } | { error: string };

/** Shaped like a result of ssh-shutdown (its fields are checked when it is read). */
const isResult = (p: unknown): p is Record<string, unknown> & { action: string } => isRecord(p) && typeof p.action === "string" && "ok" in p;

/** Reads a message (the wall clock `wall` dates a recorded host). */
export function readWakeMessage(msg: MaybeRestored, wall: number): ReadMessage {
  const restored = restoredKind(msg);
  const p = msg.payload;
  // A result first: ssh-shutdown copies msg.reset into the results of the cancel it made of it,
  // and a cancel of one host must forget that host only, not every host really shut down.
  if (restored === "reset" && !isResult(p)) return { input: { kind: "reset" } };
  if (isRecord(p) && typeof p.policy === "string") {
    const problem =
      checkBoolean("msg.payload.onBattery", p.onBattery) ??
      checkBoolean("msg.payload.critical", p.critical) ??
      checkAmount("msg.payload.charge", p.charge, true, MAX_CHARGE);
    if (problem) return { error: problem };
    return { input: { kind: "power", onBattery: p.onBattery as boolean, critical: p.critical as boolean, charge: p.charge as number | null } };
  }
  if (isResult(p)) {
    if (typeof p.hostId !== "string" || p.hostId === "" || p.hostId.length > WAKE_LIMITS.idLength) {
      return { error: `msg.payload.hostId must be the id of an ssh-host, as ssh-shutdown sets it (got ${describeValue(p.hostId)})` };
    }
    if (!(ACTIONS as readonly string[]).includes(p.action))
      return { error: `msg.payload.action must be one of ${ACTIONS.join(", ")} (got ${describeValue(p.action)})` };
    const problem = checkBoolean("msg.payload.ok", p.ok);
    if (problem) return { error: problem };
    const outage = outageOf(msg.outage);
    if (outage === undefined) return { error: `msg.outage must be an outage identity {id, since} with an id of at most ${WAKE_LIMITS.idLength} characters` };
    return { input: { kind: "result", hostId: p.hostId, action: p.action as ShutdownAction, ok: p.ok as boolean, outage, at: wall } };
  }
  if (restored === "ended") return { nothing: true };
  return { error: `msg.payload must be a result of ssh-shutdown or a power state of ups-aggregate (got ${describeValue(p)})` };
}

/** What a step noted about the message, for the status and the debug log. */
export type WakeNote = "recorded" | "other-host" | "not-down" | "cancelled" | "cleared" | null;

export interface WakeStep {
  state: WakeState;
  /** Start waking these hosts now. */
  wake: RecordedHost[];
  /** Stop every waking in progress (power lost again, or a reset). */
  stop: boolean;
  /** The recorded hosts changed: store them before acting. */
  save: boolean;
  /** Call again with a tick at this monotonic time (the stable time is reached then); null: no need. */
  checkAt: number | null;
  note: WakeNote;
}

/** Whether power, as last seen, is back: not on battery and not critical. */
const powerBack = (p: PowerSeen | null): p is PowerSeen => p !== null && !p.onBattery && !p.critical;

/** When the stable time will be reached, if power is back and it is not yet: the node looks again then. */
function nextCheck(config: WakeConfig, state: WakeState, now: number): number | null {
  if (!powerBack(state.power) || state.backSince === null) return null;
  const at = state.backSince + config.stableMs;
  return now < at ? at : null;
}

/** The conditions, from the state: start waking every recorded host not waking yet (or none). */
function evaluate(config: WakeConfig, state: WakeState, now: number): { state: WakeState; wake: RecordedHost[] } {
  if (!powerBack(state.power) || state.backSince === null || nextCheck(config, state, now) !== null) return { state, wake: [] };
  const charge = state.power.charge;
  if (charge === null || charge < config.minCharge) return { state, wake: [] };
  const wake = state.hosts.filter((h) => !h.waking).map((h) => ({ ...h, waking: true }));
  if (wake.length === 0) return { state, wake: [] };
  return { state: { ...state, hosts: state.hosts.map((h) => (h.waking ? h : { ...h, waking: true })) }, wake };
}

type Decision = Omit<WakeStep, "checkAt">;

function decide(config: WakeConfig, state: WakeState, input: WakeInput, now: number): Decision {
  const step = (s: WakeState, note: WakeNote, save = false): Decision => ({ state: s, wake: [], stop: false, save, note });
  switch (input.kind) {
    case "result": {
      // A result only records or forgets a host: it never starts a waking.
      if (!config.hosts.includes(input.hostId)) return step(state, "other-host");
      const known = state.hosts.find((h) => h.id === input.hostId);
      if (input.ok && input.action === "cancel") {
        // its delayed shutdown was cancelled in time: it never went down
        return known && !known.waking ? step({ ...state, hosts: state.hosts.filter((h) => h !== known) }, "cancelled", true) : step(state, "not-down");
      }
      if (!input.ok || (input.action !== "shutdown" && input.action !== "simulate")) return step(state, "not-down");
      const simulated = input.action === "simulate";
      // a rehearsal never hides a real shutdown of the same host
      if (known && simulated && !known.simulated) return step(state, "recorded");
      // a host being woken stays so (its waking goes on; never a second one beside it)
      const host: RecordedHost = { id: input.hostId, outage: input.outage, simulated, at: input.at, waking: known?.waking ?? false };
      const hosts = known ? state.hosts.map((h) => (h === known ? host : h)) : [...state.hosts, host];
      return step({ ...state, hosts }, "recorded", true);
    }
    case "power": {
      const power: PowerSeen = { onBattery: input.onBattery, critical: input.critical, charge: input.charge };
      if (!powerBack(power)) {
        // lost again (or never back): the stable time starts over; hosts being woken stay recorded, to wake later
        const waking = state.hosts.some((h) => h.waking);
        const hosts = waking ? state.hosts.map((h) => ({ ...h, waking: false })) : state.hosts;
        return { state: { ...state, power, backSince: null, hosts }, wake: [], stop: waking, save: waking, note: null };
      }
      const { state: next, wake } = evaluate(config, { ...state, power, backSince: state.backSince ?? now }, now);
      return { state: next, wake, stop: false, save: wake.length > 0, note: null };
    }
    case "tick": {
      const { state: next, wake } = evaluate(config, state, now);
      return { state: next, wake, stop: false, save: wake.length > 0, note: null };
    }
    case "reset":
      return { state: { ...state, hosts: [] }, wake: [], stop: state.hosts.some((h) => h.waking), save: true, note: "cleared" };
    case "ended": {
      const hosts = state.hosts.filter((h) => h.id !== input.hostId);
      return step({ ...state, hosts }, null, hosts.length !== state.hosts.length);
    }
  }
}

/**
 * One input: the next state, the hosts to start waking (never on a result),
 * whether to stop the wakings in progress, whether to store, and when to
 * look again (`now`: the monotonic clock, ms).
 */
export function wakeStep(config: WakeConfig, state: WakeState, input: WakeInput, now: number): WakeStep {
  const d = decide(config, state, input, now);
  return { ...d, checkAt: nextCheck(config, d.state, now) };
}

/** The texts of wake-hosts' status (locales/<lang>/wake-hosts.json). */
export const WAKE_TEXTS = textTable({
  "status.nothing": [],
  "status.one-to-wake": ["host"],
  "status.to-wake": ["count"],
  "status.waking-one": ["host"],
  "status.waking": ["count"],
  "status.up": ["host"],
  "status.simulated": ["host"],
  "status.no-answer": ["host"],
  "status.failed": ["host"],
  "status.no-power-state": [],
  "status.on-battery": [],
  "status.critical": [],
  "status.stable": ["done", "total"],
  "status.charge-low": ["charge", "min"],
  "status.charge-unknown": ["min"],
  "status.ready": [],
  "status.other-hosts": ["count"],
  "status.store-failed": [],
  "status.store-lost": [],
  "status.memory-only": [],
  "status.memory-only-redeploy": [],
  "status.unknown-store": [],
});
const say = WAKE_TEXTS;

/** "2/5 min" (whole minutes done, of the stable time) or "12/30 s" under a minute. */
export function stableProgress(doneMs: number, totalMs: number): { done: string; total: string } {
  if (totalMs >= 60_000) return { done: String(Math.floor(doneMs / 60_000)), total: `${Math.round(totalMs / 60_000)} min` };
  return { done: String(Math.floor(doneMs / 1000)), total: `${Math.round(totalMs / 1000)} s` };
}

/** Why recorded hosts are not being woken yet, in words. */
function waitingFor(config: WakeConfig, state: WakeState, now: number): Text {
  const p = state.power;
  if (p === null) return say("status.no-power-state");
  if (p.critical) return say("status.critical");
  if (p.onBattery || state.backSince === null) return say("status.on-battery");
  const elapsed = now - state.backSince;
  if (elapsed < config.stableMs) return say("status.stable", stableProgress(Math.max(0, elapsed), config.stableMs));
  if (p.charge === null) return say("status.charge-unknown", { min: formatPercent(config.minCharge) });
  if (p.charge < config.minCharge) return say("status.charge-low", { charge: formatPercent(p.charge), min: formatPercent(config.minCharge) });
  return say("status.ready");
}

/** What the node shows besides its state: the last host whose waking ended, results of other hosts, its store. */
export interface WakeShown {
  /** Host names being woken now (the node's wakers). */
  waking: string[];
  /** The last waking that ended, by host name. */
  last: { host: string; event: "UP" | "NO_ANSWER" | "SIMULATED" | "FAILED" } | null;
  /** Results of hosts not in the list, ignored since the start. */
  otherHosts: number;
  /** Recorded host names, in order (the node knows the ssh-hosts). */
  names: (id: string) => string;
  store: { problem: "failed" | "lost" | null; keeps: "restart" | "redeploy" | "nothing" | "unknown" };
}

const STORE_WARNING = { restart: null, redeploy: say("status.memory-only"), nothing: say("status.memory-only-redeploy"), unknown: say("status.unknown-store") };

/**
 * Blue dot "waking 2 hosts"; red ring "no answer: nas" (or "cannot wake");
 * yellow ring "2 hosts to wake · charge 34 % < 50 %"; green dot "storage up";
 * grey ring "nothing to wake". Further facts after " · ".
 */
export function wakeStatus(config: WakeConfig, state: WakeState, now: number, shown: WakeShown): StatusView {
  const others = shown.otherHosts > 0 ? say("status.other-hosts", { count: shown.otherHosts }) : null;
  const pending = state.hosts.filter((h) => !h.waking);
  const toWake = pending.length === 1 ? say("status.one-to-wake", { host: shown.names(pending[0].id) }) : say("status.to-wake", { count: pending.length });
  const store = shown.store.problem ? say(shown.store.problem === "failed" ? "status.store-failed" : "status.store-lost") : STORE_WARNING[shown.store.keeps];
  const last = shown.last;
  let view: StatusView;
  if (shown.waking.length > 0) {
    const text = shown.waking.length === 1 ? say("status.waking-one", { host: shown.waking[0] }) : say("status.waking", { count: shown.waking.length });
    view = statusOf("blue", "dot", withMore(text, pending.length > 0 ? toWake : null));
  } else if (last && (last.event === "NO_ANSWER" || last.event === "FAILED")) {
    const text = say(last.event === "NO_ANSWER" ? "status.no-answer" : "status.failed", { host: last.host });
    view = statusOf("red", "ring", withMore(text, pending.length > 0 ? withMore(toWake, waitingFor(config, state, now)) : null));
  } else if (pending.length > 0) {
    view = statusOf("yellow", "ring", withMore(toWake, waitingFor(config, state, now)));
  } else if (last) {
    view = statusOf(
      last.event === "UP" ? "green" : "grey",
      last.event === "UP" ? "dot" : "ring",
      say(last.event === "UP" ? "status.up" : "status.simulated", { host: last.host }),
    );
  } else {
    view = statusOf("grey", "ring", say("status.nothing"));
  }
  const more: StatusView = { ...withMore(view, others, store), fill: view.fill, shape: view.shape };
  return shown.store.problem ? { ...more, fill: "red", shape: "ring" } : more;
}
