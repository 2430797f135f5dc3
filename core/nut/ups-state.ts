/**
 * From what upsd answered (variables or an error) to the UpsState of the
 * message contract, and the words people read: the summary line and the
 * node status (core/status.ts). Pure functions.
 */
import type { UpsEvent, UpsState } from "../contract";
import { safeCode } from "./errors";
import { parseNumber, toNutValue } from "./protocol";
import { MAX_STATUS_TEXT, parseStatus } from "./status";
import { formatPercent, formatRuntime, formatUpsLevels } from "../format";
import { type StatusView, type Text, statusOf, textTable, withMore } from "../status";

/** What one poll got for one UPS. */
export interface UpsReading {
  ups: string;
  /** Variables in upsd's order, as sent (strings); null when the read failed. */
  vars: Array<[string, string]> | null;
  /** Why the read failed: a NUT error code (DATA-STALE, …) or a socket/timeout code. */
  error: { code: string; message: string } | null;
  /** False when upsd itself could not be reached (connection, timeout, not NUT). */
  reachable: boolean;
}

/** The three numbers every consumer wants, with the NUT names they come from. */
const NUMBERS = { charge: "battery.charge", runtime: "battery.runtime", load: "ups.load" } as const;

/** Every variable a UpsState is made of (without `vars`). */
export const STATE_VARS: readonly string[] = ["ups.status", NUMBERS.charge, NUMBERS.runtime, NUMBERS.load];

/**
 * The UpsState for `reading`. A failed read keeps the last known values of
 * `prev` (marked stale, never online). `problems` lists values that should
 * be numbers and are not, for the node to report.
 */
export function toUpsState(
  reading: UpsReading,
  server: string,
  prev: UpsState | null,
  /** Wall-clock time of this read (epoch ms). */
  now: number,
  /** ms since the last good read on the monotonic clock (0 for this one when it succeeded), null when never read. */
  age: number | null,
  events: UpsEvent[],
  includeVars: boolean,
  /** parseStatus of the reading's ups.status, when the caller has it already. */
  parsedFlags?: string[],
): { state: UpsState; problems: string[] } {
  // Every field written out, no `{ ...base, more }`: V8 (Node 20) adds each
  // property that follows a spread on a slow path, ~20 µs per call here,
  // called for every UPS on every poll (measured by bench/poll-cost.ts).
  const event = events[0] ?? null;
  if (!reading.vars) {
    const state: UpsState = {
      ups: reading.ups,
      server,
      event,
      events,
      status: prev?.status ?? null,
      flags: prev?.flags ?? [],
      online: false,
      onBattery: prev?.onBattery ?? false,
      lowBattery: prev?.lowBattery ?? false,
      charge: prev?.charge ?? null,
      runtime: prev?.runtime ?? null,
      load: prev?.load ?? null,
      time: prev?.time ?? now,
      age,
      stale: true,
      reachable: reading.reachable,
      // the one place UpsState.error is set: whoever built the reading, a bounded code of safe characters
      error: safeCode(reading.error?.code ?? "UNKNOWN"),
    };
    if (includeVars) state.vars = prev?.vars ?? {};
    return { state, problems: [] };
  }
  // the four values wanted, in one pass (the last one wins, as a Map of all would do)
  let status: string | null = null;
  let rawCharge: string | undefined;
  let rawRuntime: string | undefined;
  let rawLoad: string | undefined;
  for (const [name, value] of reading.vars) {
    if (name === "ups.status") status = value.slice(0, MAX_STATUS_TEXT);
    else if (name === NUMBERS.charge) rawCharge = value;
    else if (name === NUMBERS.runtime) rawRuntime = value;
    else if (name === NUMBERS.load) rawLoad = value;
  }
  const problems: string[] = [];
  const num = (name: string, v: string | undefined): number | null => {
    if (v === undefined) return null;
    const n = parseNumber(v);
    if (n === null) problems.push(`${reading.ups}: ${name} is not a number: "${v.slice(0, 40)}"`);
    return n;
  };
  const flags = parsedFlags ?? parseStatus(status);
  const onBattery = flags.includes("OB");
  const state: UpsState = {
    ups: reading.ups,
    server,
    event,
    events,
    status,
    flags,
    online: flags.includes("OL") && !onBattery,
    onBattery,
    lowBattery: flags.includes("LB"),
    charge: num(NUMBERS.charge, rawCharge),
    runtime: num(NUMBERS.runtime, rawRuntime),
    load: num(NUMBERS.load, rawLoad),
    time: now,
    age: 0,
    stale: false,
    reachable: true,
    error: null,
  };
  if (includeVars) {
    // flat names: "battery.charge" and "battery.charge.low" live side by side
    const vars: Record<string, string | number> = {};
    for (const [name, value] of reading.vars) {
      // a variable named __proto__ is data like any other: an own property, never the object's prototype
      if (name === "__proto__") Object.defineProperty(vars, name, { value: toNutValue(name, value), enumerable: true, writable: true, configurable: true });
      else vars[name] = toNutValue(name, value);
    }
    state.vars = vars;
  }
  return { state, problems };
}

/**
 * `prev`, a fresh state, read again at `now` (wall clock) with the same
 * values: what toUpsState gives for the same reading, with no event.
 */
export function readAgain(prev: UpsState, now: number): UpsState {
  // written out in toUpsState's order, for the same reason
  return {
    ups: prev.ups,
    server: prev.server,
    event: null,
    events: [],
    status: prev.status,
    flags: prev.flags,
    online: prev.online,
    onBattery: prev.onBattery,
    lowBattery: prev.lowBattery,
    charge: prev.charge,
    runtime: prev.runtime,
    load: prev.load,
    time: now,
    age: 0,
    stale: false,
    reachable: true,
    error: null,
  };
}

/** Did anything a consumer acts on change? (vars alone do not count: voltages wiggle every poll) */
export function hasChanged(prev: UpsState | null, next: UpsState): boolean {
  if (!prev || next.events.length > 0) return true;
  return (
    prev.status !== next.status ||
    prev.stale !== next.stale ||
    prev.reachable !== next.reachable ||
    prev.error !== next.error ||
    prev.charge !== next.charge ||
    prev.runtime !== next.runtime ||
    prev.load !== next.load
  );
}

/** "73 %, ~21 min" (what is known of it). */
function levels(s: UpsState): string {
  const parts: string[] = [];
  if (s.charge !== null) parts.push(formatPercent(s.charge));
  const runtime = formatRuntime(s.runtime);
  if (runtime) parts.push(runtime);
  return parts.join(", ");
}

/** Words for the state of the power. */
function powerWords(s: UpsState): string {
  if (s.flags.includes("FSD")) return "forced shutdown (FSD)";
  if (s.onBattery && s.lowBattery) return "on battery, LOW BATTERY";
  if (s.onBattery) return "on battery";
  if (s.lowBattery) return "low battery";
  if (s.flags.includes("OL")) return "on line power";
  return s.status ? `status ${s.status}` : "status unknown";
}

/** Words for some error codes (a Map: a code is a peer's word, "constructor" is no key of ours). */
const ERROR_WORDS: ReadonlyMap<string, string> = new Map([
  ["DATA-STALE", "data stale"],
  ["DRIVER-NOT-CONNECTED", "driver not connected"],
  ["UNKNOWN-UPS", "unknown UPS"],
  ["WAIT", "waiting for the driver's data"],
  ["TIMEOUT", "no reply"],
  ["ECONNREFUSED", "connection refused"],
]);

/** Why the data is not current, in a few words. */
export function errorWords(s: UpsState): string {
  const e = s.error ?? "";
  const why = ERROR_WORDS.get(e) ?? e.toLowerCase();
  return s.reachable ? why : `upsd unreachable (${why})`;
}

/**
 * The one-line summary: "ups1@nas:3493 on battery: 73 %, ~21 min (ONBATT)".
 * Stale data says so and gives the last known values.
 */
export function summarize(topic: string, s: UpsState): string {
  const lv = levels(s);
  const event = s.events.length ? ` (${s.events.join(", ")})` : "";
  if (!s.stale) return `${topic} ${powerWords(s)}${lv ? ": " + lv : ""}${event}`;
  const last = s.status === null ? "nothing read yet" : `last known ${powerWords(s)}${lv ? " " + lv : ""}`;
  return `${topic} ${errorWords(s)}; ${last}${event}`;
}

/** The texts of nut-ups-in's status (locales/<lang>/nut-ups-in.json). */
export const UPS_TEXTS = textTable({
  "status.ups": ["flags"],
  "status.ups-levels": ["flags", "levels"],
  "status.stale": [],
  "status.disconnected": [],
  "status.unknown-ups": [],
  "status.waiting-driver": [],
  "status.was": ["state"],
  "status.all": ["ups", "status", "upses"],
  "status.all-one": ["ups", "status"],
  "status.disconnected-code": ["code"],
  "node-red:common.status.connecting": [],
  "node-red:common.status.connected": [],
});
const say = UPS_TEXTS;

/** Flags worth showing beside the main one. */
const NOTABLE = ["RB", "BYPASS", "OVER", "OFF", "CAL", "ALARM"];

/** "OL 100% 45 min", "OB 73% 21 min", "LB 8%" for fresh data. */
function mainFlag(s: UpsState): string {
  const f = s.flags;
  return f.includes("FSD") ? "FSD" : s.lowBattery ? "LB" : s.onBattery ? "OB" : f.includes("OL") ? "OL" : (f[0] ?? "?");
}

/** NUT's own words (OL, OB, LB, …: never translated) and the levels, e.g. "OB RB" and "73% 21 min". */
function shortText(s: UpsState): Text {
  const main = mainFlag(s);
  const flags = [main, ...NOTABLE.filter((n) => s.flags.includes(n))].join(" ");
  // at LB and FSD the runtime left no longer matters
  const levels = formatUpsLevels(s.charge, main !== "LB" && main !== "FSD" ? s.runtime : null);
  return levels ? say("status.ups-levels", { flags, levels }) : say("status.ups", { flags });
}

/**
 * Node status: green dot on line power, yellow dot on battery or with a
 * notable flag (RB, BYPASS, OVER, OFF, CAL, ALARM), red dot at LB/FSD; red
 * ring when the data is stale, or when upsd is unreachable while the UPS was
 * last seen on battery (an alarm); grey ring when upsd is unreachable and
 * the UPS was last seen on line power (or never read).
 */
export function nodeStatus(s: UpsState): StatusView {
  if (s.stale) {
    // short, so it does not run into the next node: what it was, and the charge
    const was = s.status === null ? null : say("status.was", { state: [mainFlag(s), formatUpsLevels(s.charge, null)].filter(Boolean).join(" ") });
    if (!s.reachable) return statusOf(s.onBattery || s.lowBattery ? "red" : "grey", "ring", withMore(say("status.disconnected"), was));
    const what = s.error === "UNKNOWN-UPS" ? say("status.unknown-ups") : s.error === "WAIT" ? say("status.waiting-driver") : say("status.stale");
    return statusOf("red", "ring", withMore(what, was));
  }
  const text = shortText(s);
  if (s.lowBattery || s.flags.includes("FSD")) return statusOf("red", "dot", text);
  if (s.onBattery || NOTABLE.some((n) => s.flags.includes(n))) return statusOf("yellow", "dot", text);
  if (s.online) return statusOf("green", "dot", text);
  return statusOf("grey", "dot", text);
}

/**
 * What a node reading `states` shows: one UPS, its status; every UPS of a
 * server (`all`), the worst one, named, and how many there are. Before the
 * first reading, the connection (`connection`) or why the UPS list failed.
 */
export function monitorStatus(states: readonly UpsState[], all: boolean, connection: ConnectionShown): StatusView | null {
  if (states.length === 0) {
    if (connection.state === "connecting") return statusOf("yellow", "ring", say("node-red:common.status.connecting"));
    if (connection.state === "connected") return statusOf("green", "ring", say("node-red:common.status.connected"));
    if (connection.state === "disconnected") return statusOf("grey", "ring", say("status.disconnected-code", { code: connection.code }));
    return null;
  }
  const worst = states.reduce((a, b) => (severity(b) > severity(a) ? b : a));
  const st = nodeStatus(worst);
  if (!all) return st;
  const text =
    states.length > 1 ? say("status.all", { ups: worst.ups, status: st, upses: states.length }) : say("status.all-one", { ups: worst.ups, status: st });
  return statusOf(st.fill, st.shape, text);
}

/** The shared connection as a node shows it before its first reading ("idle": nothing to show). */
export type ConnectionShown = { state: "idle" | "connecting" | "connected" } | { state: "disconnected"; code: string };

/** How bad a state is, to pick the one a node showing many UPSes displays. */
export function severity(s: UpsState): number {
  if (s.lowBattery || s.flags.includes("FSD")) return 5;
  if (s.stale && s.onBattery) return 5;
  if (s.onBattery) return 4;
  if (s.stale) return 3;
  if (!s.online) return 2;
  return NOTABLE.some((n) => s.flags.includes(n)) ? 1 : 0;
}
