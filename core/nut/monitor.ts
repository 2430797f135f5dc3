/**
 * What nut-ups-in does with each poll, without Node-RED: read the UPSes
 * (on the shared connection: a GET VAR for each of the 4 variables of the
 * state, or one LIST VAR when the message carries every variable), fold the readings into
 * the per-UPS trackers, and decide which messages go out and which errors
 * are told to the user (once per distinct error, not every poll).
 *
 * UPSes are keyed by the names upsd sent, so they live in a Map (a UPS
 * named `__proto__` or `constructor` is a UPS like any other), and what a
 * server can make us hold is bounded (MONITOR_LIMITS): how many UPSes one
 * node tracks, and the variables read in one poll and kept between polls.
 */
import type { UpsState } from "../contract";
import type { Moment } from "../moment";
import { NutProtocolError, NutServerError, toNutError, type NutError } from "./errors";
import type { UpsListEntry } from "./client";
import { newTracker, observe, observeSame, parseStatus, wantsAlertPolling, type EventTiming, type UpsTracker } from "./status";
import { STATE_VARS, hasChanged, readAgain, summarize, toUpsState, type UpsReading } from "./ups-state";

export type OutputMode = "change" | "poll" | "events";

export interface MonitorOptions {
  /** "host:port" of the upsd. */
  server: string;
  output: OutputMode;
  includeVars: boolean;
  timing: EventTiming;
}

/**
 * What one node holds of one server, at most: far above a real upsd (a few
 * UPSes to a few hundred; 50–150 variables of ~50 characters each per UPS).
 * - maxUpses: UPSes tracked in "all UPSes" mode; a UPS list that would make
 *   more is refused (PROTOCOL-ERROR) instead of growing the node's state;
 * - maxVarsChars: characters of variable names and values, read in one poll
 *   and kept in the states (a UPS read beyond it fails that poll with
 *   PROTOCOL-ERROR; variables kept from earlier polls of stale UPSes are
 *   dropped first).
 */
export const MONITOR_LIMITS = { maxUpses: 1000, maxVarsChars: 8 * 1024 * 1024 } as const;

interface UpsRecord {
  tracker: UpsTracker;
  state: UpsState | null;
  /** The error last told to the user, so it is told once. */
  reportedError: string | null;
  reportedProblems: string;
  /** Characters of the variables `state.vars` holds (0 without vars). */
  varsChars: number;
  /** The variables of the last good read when the state has no `vars`: a poll that reads the same is a repeat (sameAgain). */
  lastVars: ReadonlyArray<readonly [string, string]> | null;
}

export interface MonitorState {
  since: number;
  /** By UPS name, in the order first seen. */
  upses: ReadonlyMap<string, UpsRecord>;
  /** "All UPSes" mode before any UPS is known: the server as a whole. */
  list: { tracker: UpsTracker; reportedError: string | null };
}

export interface MonitorOutput {
  topic: string;
  state: UpsState;
  /** Whether the output mode lets this message out. */
  send: boolean;
  /** Whether anything shown changed since the last poll (status, levels, staleness, error, events). */
  changed: boolean;
  /** Text for node.error when something new went wrong, else null. */
  report: string | null;
}

/** What nut-ups-in sends for one UPS (the message contract): `ups@host:port`, the state, its one-line summary. */
export function upsMessage(out: MonitorOutput): { topic: string; payload: UpsState; summary: string } {
  return { topic: out.topic, payload: out.state, summary: summarize(out.topic, out.state) };
}

/**
 * What goes with an error no UPS state carries (a UPS list that failed, a
 * LOGIN refused): the topic of the UPS read (`*` for every UPS of the
 * server) and the error code, for a Catch node.
 */
export function errorMessage(ups: string, server: string, code: string): { topic: string; payload: { error: string } } {
  return { topic: topicOf(ups, server), payload: { error: code } };
}

/** `now` is on the monotonic clock: it times NOCOMM and REPLBATT. */
export function newMonitor(now: number): MonitorState {
  return { since: now, upses: new Map(), list: { tracker: newTracker(now), reportedError: null } };
}

export function topicOf(ups: string, server: string): string {
  return `${ups}@${server}`;
}

/**
 * Fold one poll's readings in. `forced` (a poll asked for by an input
 * message) sends every UPS whatever the output mode.
 */
export function applyReadings(
  m: MonitorState,
  readings: UpsReading[],
  now: Moment,
  opts: MonitorOptions,
  forced: boolean,
): { monitor: MonitorState; outputs: MonitorOutput[] } {
  const upses = new Map(m.upses);
  const outputs: MonitorOutput[] = [];
  // a UPS seen from the start counts its silence from the start; one that appears later, from now
  const newSince = m.upses.size ? now.mono : m.since;
  for (const reading of readings) {
    const rec: UpsRecord = upses.get(reading.ups) ?? {
      tracker: newTracker(newSince),
      state: null,
      reportedError: null,
      reportedProblems: "",
      varsChars: 0,
      lastVars: null,
    };
    const topic = topicOf(reading.ups, opts.server);
    const again = opts.includeVars ? null : sameAgain(rec, reading, now);
    if (again) {
      // most polls: the same values as the last good read, so no event, no problem and nothing changed
      outputs.push({ topic, state: again.state, send: forced || opts.output === "poll", changed: false, report: null });
      upses.set(reading.ups, {
        tracker: again.tracker,
        state: again.state,
        reportedError: rec.reportedError,
        reportedProblems: rec.reportedProblems,
        varsChars: rec.varsChars,
        lastVars: rec.lastVars,
      });
      continue;
    }
    const status = reading.vars?.find(([name]) => name === "ups.status")?.[1] ?? null;
    const obs = reading.vars ? { ok: true as const, flags: parseStatus(status) } : { ok: false as const };
    const { tracker, events } = observe(rec.tracker, obs, now.mono, opts.timing);
    // how old the values are: what the aggregate's dead time counts from (upsmon's last good poll)
    const age = tracker.lastGood === null ? null : now.mono - tracker.lastGood;
    const { state, problems } = toUpsState(reading, opts.server, rec.state, now.wall, age, events, opts.includeVars, obs.ok ? obs.flags : undefined);

    let report: string | null = null;
    const problemText = problems.join("; ");
    if (state.error && state.error !== rec.reportedError) report = `${topic}: ${reading.error?.message ?? state.error}`;
    else if (problemText && problemText !== rec.reportedProblems) report = problemText;

    const changed = hasChanged(rec.state, state);
    const send = forced || opts.output === "poll" || (opts.output === "events" ? events.length > 0 : changed);
    outputs.push({ topic, state, send, changed, report });
    const varsChars = !opts.includeVars ? 0 : reading.vars ? charsOf(reading.vars) : rec.varsChars;
    const lastVars = reading.vars && !opts.includeVars ? reading.vars : null;
    upses.set(reading.ups, { tracker, state, reportedError: state.error, reportedProblems: problemText, varsChars, lastVars });
  }
  if (opts.includeVars) dropKeptVars(upses);
  return { monitor: { ...m, upses }, outputs };
}

/**
 * A good read with exactly the variables of the last one, which was good
 * too: what observe and toUpsState would make of it, without redoing them
 * (the same status words raise no event: observeSame). The state is the
 * last one read again now; the problems are the same, already told. Null
 * when anything differs.
 */
function sameAgain(rec: UpsRecord, reading: UpsReading, now: Moment): { tracker: UpsTracker; state: UpsState } | null {
  const prev = rec.state;
  const last = rec.lastVars;
  const vars = reading.vars;
  if (!prev || prev.stale || !last || !vars || vars.length !== last.length) return null;
  for (let i = 0; i < vars.length; i++) if (vars[i][0] !== last[i][0] || vars[i][1] !== last[i][1]) return null;
  const tracker = observeSame(rec.tracker, prev.flags, now.mono);
  return tracker ? { tracker, state: readAgain(prev, now.wall) } : null;
}

/** Characters of variable names and values. */
function charsOf(vars: ReadonlyArray<readonly [string, string]>): number {
  let n = 0;
  for (const [k, v] of vars) n += k.length + v.length;
  return n;
}

/**
 * Keep the variables held within MONITOR_LIMITS.maxVarsChars: those kept
 * from an earlier poll by stale UPSes go first (their states then carry
 * `vars: {}`). The fresh ones of one poll fit already (readUpses).
 */
function dropKeptVars(upses: Map<string, UpsRecord>): void {
  let total = 0;
  for (const r of upses.values()) total += r.varsChars;
  for (const [name, r] of upses) {
    if (total <= MONITOR_LIMITS.maxVarsChars) return;
    if (!r.state?.stale || r.varsChars === 0) continue;
    total -= r.varsChars;
    upses.set(name, { ...r, state: { ...r.state, vars: {} }, varsChars: 0 });
  }
}

/**
 * "All UPSes" mode when LIST UPS failed and no UPS is known yet: there is no
 * UPS to send a message for, so the error (once per distinct code) and NOCOMM
 * (as upsmon times it) become a report for node.error, topic `*@server`.
 */
export function applyListError(m: MonitorState, err: NutError, now: Moment, opts: MonitorOptions): { monitor: MonitorState; report: string | null } {
  const { tracker, events } = observe(m.list.tracker, { ok: false }, now.mono, opts.timing);
  const topic = topicOf("*", opts.server);
  let report: string | null = null;
  if (events.includes("NOCOMM")) report = `${topic}: NOCOMM: no UPS list for ${Math.round((now.mono - tracker.since) / 1000)} s: ${err.message}`;
  else if (err.code !== m.list.reportedError) report = `${topic}: ${err.message}`;
  return { monitor: { ...m, list: { tracker, reportedError: err.code } }, report };
}

/** Poll at the alert rate when any UPS of this monitor wants it. */
export function alertPolling(m: MonitorState): boolean {
  for (const r of m.upses.values()) if (wantsAlertPolling(r.tracker)) return true;
  return false;
}

/** The UPS states to show, in the order they were first seen. */
export function currentStates(m: MonitorState): UpsState[] {
  const states: UpsState[] = [];
  for (const r of m.upses.values()) if (r.state) states.push(r.state);
  return states;
}

/** The reading side of NutClient (a NutClient, or anything answering like one). */
export interface UpsReader {
  listUps(): Promise<UpsListEntry[]>;
  listVar(ups: string): Promise<Array<[string, string]>>;
  getVars(ups: string, names: readonly string[]): Promise<Array<string | NutError>>;
}

/**
 * The variables of STATE_VARS, one GET VAR each (pipelined): what upsmon
 * does (it reads ups.status alone), and far less to read and parse than
 * every variable (real UPSes report 50–100). A variable the UPS does not
 * have (VAR-NOT-SUPPORTED) is left out; any other error fails the read,
 * ups.status's first, as one LIST VAR would fail.
 */
export function readStateVars(reader: UpsReader, ups: string): Promise<Array<[string, string]>> {
  return reader.getVars(ups, STATE_VARS).then(stateVars);
}

function stateVars(got: Array<string | NutError>): Array<[string, string]> {
  const vars: Array<[string, string]> = [];
  got.forEach((r, i) => {
    if (typeof r === "string") vars.push([STATE_VARS[i], r]);
    else if (!(r instanceof NutServerError && r.code === "VAR-NOT-SUPPORTED")) throw r;
  });
  return vars;
}

/** A failed read: `reachable` when upsd itself answered (ERR …). */
export function failedReading(ups: string, err: unknown): UpsReading {
  const e = toNutError(err);
  return { ups, vars: null, error: { code: e.code, message: e.message }, reachable: e instanceof NutServerError };
}

/**
 * Read one UPS, or every UPS of the server (`ups` null: LIST UPS and each
 * UPS, pipelined): every variable (LIST VAR) when `allVars`, else those of
 * the state (readStateVars). UPSes read before and no longer listed read as
 * UNKNOWN-UPS. `listError` is set when LIST UPS failed and no UPS is known
 * yet: there is nobody to report it for.
 *
 * The UPSes known from the last poll are read in the same write as LIST UPS,
 * not after its reply: one round trip per poll instead of two (each costs
 * the process a wake-up, most of a poll's cost at a few UPSes). The list
 * still decides: a UPS it no longer names reads as UNKNOWN-UPS whatever its
 * early read got, one it newly names is read once the list is in, and when
 * LIST UPS fails the early reads are dropped. What a poll yields is what
 * reading after the list yields, at most the same instant earlier.
 *
 * Bounded by MONITOR_LIMITS: a UPS list that would make more than maxUpses
 * UPSes known fails as a whole (PROTOCOL-ERROR), and the variables of one
 * poll stop at maxVarsChars (each UPS beyond, in the list's order, fails
 * with PROTOCOL-ERROR, its variables dropped).
 */
export async function readUpses(
  reader: UpsReader,
  ups: string | null,
  known: readonly string[],
  allVars: boolean,
): Promise<{ readings: UpsReading[]; listError: NutError | null }> {
  let budget: number = MONITOR_LIMITS.maxVarsChars;
  // never rejects: a failed read is a reading too
  const fetch = (name: string): Promise<Fetched> =>
    (allVars ? reader.listVar(name) : readStateVars(reader, name)).then(
      (vars): Fetched => ({ vars, err: null }),
      (err: unknown): Fetched => ({ vars: null, err }),
    );
  const judge = (name: string, got: Fetched): UpsReading => {
    if (!got.vars) return failedReading(name, got.err);
    const vars = got.vars;
    const chars = charsOf(vars);
    if (chars > budget) {
      const err = new NutProtocolError(`${name}: the variables read in one poll exceed ${MONITOR_LIMITS.maxVarsChars} characters`);
      return failedReading(name, err);
    }
    budget -= chars;
    // upsd serves "WAIT" until the driver has sent its data (after a restart): nothing is known yet
    return vars.some(([k, v]) => k === "ups.status" && v.trim() === "WAIT")
      ? { ups: name, vars: null, error: { code: "WAIT", message: `${name}: upsd has no data from the driver yet (ups.status WAIT)` }, reachable: true }
      : { ups: name, vars, error: null, reachable: true };
  };
  if (ups !== null) return { readings: [judge(ups, await fetch(ups))], listError: null };

  const list = reader.listUps();
  // names are upsd's: a Map, never an object's keys
  const early = new Map<string, Promise<Fetched>>();
  for (const name of known) if (!early.has(name)) early.set(name, fetch(name));
  let names: string[];
  try {
    names = (await list).map((u) => u.name);
    const all = new Set([...known, ...names]);
    if (all.size > MONITOR_LIMITS.maxUpses) {
      throw new NutProtocolError(`LIST UPS: ${all.size} UPSes, more than the ${MONITOR_LIMITS.maxUpses} one node reads`);
    }
  } catch (err) {
    if (known.length === 0) return { readings: [], listError: toNutError(err) };
    return { readings: known.map((name) => failedReading(name, err)), listError: null };
  }
  const listed = new Set(names);
  const gone = known.filter((k) => !listed.has(k));
  const got = await Promise.all(names.map((name) => early.get(name) ?? fetch(name)));
  const readings = names.map((name, i) => judge(name, got[i]));
  for (const name of gone) readings.push(failedReading(name, new NutServerError("UNKNOWN-UPS", [], `LIST UPS (${name} gone)`)));
  return { readings, listError: null };
}

/** What one UPS's read got, before the poll's bounds judge it. */
type Fetched = { vars: Array<[string, string]>; err: null } | { vars: null; err: unknown };
