/**
 * The decisions of the ssh-shutdown node, as pure functions: its
 * configuration, what an incoming message may ask for, which hosts a cancel
 * goes to (the pending set), the result message and the one-line texts.
 * Time is passed in (epoch ms), never read here.
 */
import type { ShutdownAction, ShutdownResult, ShutdownStepResult } from "../contract";
import { describeValue } from "../check";
import { type ConfigProblem, boundedSeconds as seconds, flag, numberOr, textOf, within } from "../config";
import { formatSeconds } from "../format";
import { restoredKind, saysPowerOn } from "../decide/restored";
import { isPresetId, MAX_DELAY_MINUTES } from "./presets";
import type { PresetId } from "./presets";
import type { RunOutcome, Step, StepOutcome } from "./runner";
import { readGuestConfig } from "./guests";
import type { GuestConfig, RawGuestConfig } from "./guests";
import { type StatusView, statusOf, textTable } from "../status";

export const ACTIONS: readonly ShutdownAction[] = ["shutdown", "cancel", "check", "simulate", "prepare"];

/** A check and a pre-flight both verify a host (the check command, the guests' checks, one attempt by default): neither powers anything off. */
export function verifies(action: ShutdownAction): boolean {
  return action === "check" || action === "prepare";
}

/** What a node may do with no msg.action (prepare is only ever asked for by a message). */
export const DEFAULT_ACTIONS: readonly ShutdownAction[] = ["shutdown", "cancel", "check", "simulate"];

/** Highest phase number a host may be given. */
export const MAX_PHASE = 9;

/**
 * Message properties that would choose where or what to run. The operator
 * configures those; a message that tries is refused as a whole.
 */
export const FORBIDDEN_PROPERTIES: readonly string[] = [
  "host",
  "hosts",
  "address",
  "port",
  "user",
  "username",
  "command",
  "commands",
  "preset",
  "target",
  "targets",
];

export interface ShutdownConfig {
  /** ssh-host config node ids. */
  hosts: string[];
  preset: PresetId;
  delayMinutes: number;
  message: string;
  custom: { shutdown: string; cancel: string; check: string };
  /** What a message without msg.action does. */
  defaultAction: ShutdownAction;
  /** Actions a message may choose with msg.action. */
  allowed: ShutdownAction[];
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  deadlineMs: number;
  /** A check retries until the deadline like a shutdown; by default it makes one attempt per host (a test fails fast). */
  checkRetry: boolean;
  /** Phase of each host (1…MAX_PHASE): a shutdown reaches phase n+1 once phase n reported or phaseDeadlineMs passed. */
  phases: Map<string, number>;
  phaseDeadlineMs: number;
  /** A pre-flight (msg.action "prepare") keeps its sessions open for the shutdown. */
  keepAlive: boolean;
  /** Kept sessions close this long after the pre-flight at the latest. */
  keepForMs: number;
  /** Periodic check of every host; 0 = off. */
  healthEveryMs: number;
  /** What to stop on each host before its shutdown command (core/ssh/guests.ts). */
  guests: GuestConfig;
}

/**
 * How many messages may share one run (the one that started it included):
 * a request for an action already running joins that run instead of
 * connecting again; past this many, it is refused (the run goes on).
 */
export const MAX_SHARED_REQUESTS = 16;

/** The editor's raw values (strings or numbers, possibly missing). */
export interface RawShutdownConfig extends RawGuestConfig {
  hosts?: unknown;
  preset?: unknown;
  delay?: unknown;
  message?: unknown;
  customShutdown?: unknown;
  customCancel?: unknown;
  customCheck?: unknown;
  action?: unknown;
  allowed?: unknown;
  connectTimeout?: unknown;
  commandTimeout?: unknown;
  deadline?: unknown;
  checkRetry?: unknown;
  /** The phase of each host, in the order of `hosts`. */
  phases?: unknown;
  phaseDeadline?: unknown;
  keepAlive?: unknown;
  /** minutes */
  keepFor?: unknown;
  /** hours, 0 = off */
  healthEvery?: unknown;
}

/** A problem in the configuration: an i18n key (under ssh-shutdown.errors) and its values. */
export type Problem = ConfigProblem;

function isAction(v: unknown): v is ShutdownAction {
  return typeof v === "string" && (ACTIONS as readonly string[]).includes(v);
}

/** Each host's phase from the editor's list (same order as the hosts it saved); missing or bad: 1. */
function readPhases(listed: string[], raw: unknown, problems: Problem[]): Map<string, number> {
  const phases = new Map<string, number>();
  const given = Array.isArray(raw) ? raw : [];
  listed.forEach((id, i) => {
    if (phases.has(id)) return;
    const n = given[i] === undefined || given[i] === "" ? 1 : Number(given[i]);
    if (!within(n, { min: 1, max: MAX_PHASE, integer: true })) {
      problems.push({ key: "bad-number", params: { name: "phase", min: 1, max: MAX_PHASE } });
      phases.set(id, 1);
    } else phases.set(id, n);
  });
  return phases;
}

/** Minutes in [min, max] as ms (an empty field: `def`), else the default with a problem. */
function minutes(raw: unknown, def: number, min: number, max: number, name: string, problems: Problem[]): number {
  const m = numberOr(raw, def);
  if (within(m, { min, max })) return Math.round(m * 60_000);
  problems.push({ key: "bad-number", params: { name, min, max } });
  return def * 60_000;
}

/** Hours between health checks: 0 (off) or from 0.05 (3 minutes) to 500 (a timer cannot wait past 2^31 ms, ~596 h). */
function healthEvery(raw: unknown, problems: Problem[]): number {
  const h = numberOr(raw, 0);
  if (h === 0) return 0;
  if (!within(h, { min: 0.05, max: 500 })) {
    problems.push({ key: "bad-number", params: { name: "healthEvery", min: 0.05, max: 500 } });
    return 0;
  }
  return Math.round(h * 3_600_000);
}

/** Normalise the node configuration; problems are reported, never thrown. */
export function readConfig(raw: RawShutdownConfig): { config: ShutdownConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const listed = Array.isArray(raw.hosts) ? raw.hosts.filter((h): h is string => typeof h === "string" && h !== "") : [];
  const hosts = [...new Set(listed)]; // a host listed twice is still shut down once
  if (hosts.length === 0) problems.push({ key: "no-hosts" });
  let preset: PresetId = "linux";
  if (isPresetId(raw.preset)) preset = raw.preset;
  else problems.push({ key: "bad-preset", params: { preset: String(raw.preset) } });
  let delayMinutes = numberOr(raw.delay, 1);
  if (!within(delayMinutes, { min: 0, max: MAX_DELAY_MINUTES, integer: true })) {
    problems.push({ key: "bad-number", params: { name: "delay", min: 0, max: MAX_DELAY_MINUTES } });
    delayMinutes = 1;
  }
  const custom = { shutdown: textOf(raw.customShutdown), cancel: textOf(raw.customCancel), check: textOf(raw.customCheck) };
  if (preset === "custom" && custom.shutdown.trim() === "") problems.push({ key: "no-custom-command" });
  let defaultAction: ShutdownAction = "shutdown";
  if (isAction(raw.action) && DEFAULT_ACTIONS.includes(raw.action)) defaultAction = raw.action;
  else if (raw.action !== undefined && raw.action !== "") problems.push({ key: "bad-action", params: { action: String(raw.action) } });
  const allowed = Array.isArray(raw.allowed) ? ACTIONS.filter((a) => (raw.allowed as unknown[]).includes(a)) : [...ACTIONS];
  return {
    config: {
      hosts,
      preset,
      delayMinutes,
      message: textOf(raw.message),
      custom,
      defaultAction,
      allowed,
      connectTimeoutMs: seconds(raw.connectTimeout, 10, 1, 300, "connectTimeout", problems),
      commandTimeoutMs: seconds(raw.commandTimeout, 30, 1, 3600, "commandTimeout", problems),
      deadlineMs: seconds(raw.deadline, 60, 1, 86400, "deadline", problems),
      checkRetry: flag(raw.checkRetry, false),
      phases: readPhases(listed, raw.phases, problems),
      phaseDeadlineMs: seconds(raw.phaseDeadline, 120, 1, 86400, "phaseDeadline", problems),
      keepAlive: flag(raw.keepAlive, true),
      keepForMs: minutes(raw.keepFor, 60, 1, 1440, "keepFor", problems),
      healthEveryMs: healthEvery(raw.healthEvery, problems),
      guests: readGuestConfig(raw, problems),
    },
    problems,
  };
}

export type Request =
  | { ok: true; action: ShutdownAction }
  | { ok: false; key: "forbidden-property" | "unknown-action" | "action-not-allowed"; params: Record<string, string> }
  /** Nothing to run, and nothing wrong: power is back or on, or a pre-flight for a rehearsal (an i18n key under ssh-shutdown.status). */
  | { ok: "nothing"; key: "restored-no-cancel" | "power-on" | "no-preflight" };

const may = (config: ShutdownConfig, action: ShutdownAction) => action === config.defaultAction || config.allowed.includes(action);

/**
 * Whether this node connects to its hosts on its own: its default action is
 * not simulate, or a message may ask it for a shutdown. A node on simulate
 * that a message may ask for a check or a cancel does not count: a check says
 * what is wrong when it runs, and a cancel only goes where a shutdown went.
 */
export function connects(config: ShutdownConfig): boolean {
  return config.defaultAction !== "simulate" || may(config, "shutdown");
}

/**
 * What a message asks for. It may only pick an action the operator allowed;
 * any property that would choose a host or a command refuses the message.
 * A "power restored" message (core/decide/restored.ts: msg.reset in any
 * spelling, OUTAGE_END, an ended outage) is a cancel when this node may
 * cancel, else nothing, whatever msg.action says; a power state saying the
 * power is on is never a shutdown either. A pre-flight (prepare) on a node
 * that does not connect is nothing.
 */
export function readRequest(msg: Record<string, unknown>, config: ShutdownConfig): Request {
  const bad = FORBIDDEN_PROPERTIES.find((p) => msg[p] !== undefined);
  if (bad) return { ok: false, key: "forbidden-property", params: { property: `msg.${bad}` } };
  if (restoredKind(msg)) return may(config, "cancel") ? { ok: true, action: "cancel" } : { ok: "nothing", key: "restored-no-cancel" };
  // A node that rehearses (simulate, and no message may make it shut down) has nothing to prepare and connects to nothing:
  // whatever its allowed actions, a pre-flight is quietly nothing (npm start's demo allows only simulate).
  if (msg.action === "prepare" && !connects(config)) return { ok: "nothing", key: "no-preflight" };
  let action = config.defaultAction;
  if (msg.action !== undefined && msg.action !== null && msg.action !== "") {
    if (!isAction(msg.action)) {
      return { ok: false, key: "unknown-action", params: { action: describeValue(msg.action), actions: ACTIONS.join(", ") } };
    }
    if (!may(config, msg.action)) return { ok: false, key: "action-not-allowed", params: { action: msg.action } };
    action = msg.action;
  }
  if (action === "shutdown" && saysPowerOn(msg)) return { ok: "nothing", key: "power-on" };
  return { ok: true, action };
}

/** A delayed shutdown this node sent and nobody cancelled yet, by ssh-host id. */
export interface PendingEntry {
  /** When the shutdown command was sent (epoch ms). */
  since: number;
  /** When the host powers off; a cancel after that is pointless. */
  until: number;
  host: string;
}
export type Pending = Record<string, PendingEntry>;

/**
 * Plain JSON from the context store, keeping only well-formed entries of the
 * hosts this node shuts down: a store is a file anyone may have edited, so
 * its keys are never taken as they are, and a delay is at most what a
 * shutdown may ask for (an entry that never ends would be cancelled forever).
 */
export function readPending(stored: unknown, hosts: readonly string[]): Pending {
  const out: Pending = {};
  if (!stored || typeof stored !== "object") return out;
  const entries = stored as Record<string, unknown>;
  for (const id of hosts) {
    if (!Object.prototype.hasOwnProperty.call(entries, id)) continue;
    const v = entries[id] as Partial<PendingEntry> | null;
    if (!v || typeof v !== "object" || !Number.isFinite(v.since) || !Number.isFinite(v.until)) continue;
    const since = v.since as number;
    const until = v.until as number;
    if (until < since || until - since > MAX_DELAY_MINUTES * 60_000) continue;
    out[id] = { since, until, host: typeof v.host === "string" && v.host !== "" ? v.host.slice(0, MAX_HOST_NAME) : id };
  }
  return out;
}

/** Characters kept of a host's name read back from the store (it names the host in texts). */
const MAX_HOST_NAME = 200;

export function markSent(pending: Pending, id: string, host: string, now: number, delayMs: number): Pending {
  return { ...pending, [id]: { since: now, until: now + delayMs, host } };
}

export function markCancelled(pending: Pending, id: string): Pending {
  const next = { ...pending };
  delete next[id];
  return next;
}

/**
 * Where a cancel goes: configured hosts with a pending shutdown whose time
 * has not come. Entries past their time (the host is off by now) and of hosts
 * no longer configured are dropped.
 */
export function cancelTargets(pending: Pending, configured: string[], now: number): { ids: string[]; expired: string[]; pending: Pending } {
  const ids: string[] = [];
  const expired: string[] = [];
  const next: Pending = {};
  for (const [id, e] of Object.entries(pending)) {
    if (!configured.includes(id)) continue;
    if (e.until <= now) expired.push(id);
    else {
      ids.push(id);
      next[id] = e;
    }
  }
  return { ids: configured.filter((id) => ids.includes(id)), expired, pending: next };
}

/** Characters kept of a step's stdout and of its stderr in a result (a message stays small). */
export const STEP_OUTPUT_LIMIT = 1000;

function cut(text: string): string {
  return text.length > STEP_OUTPUT_LIMIT ? text.slice(0, STEP_OUTPUT_LIMIT) + "…" : text;
}

function stepResult(s: StepOutcome): ShutdownStepResult {
  return {
    label: s.label,
    command: s.command,
    ok: s.ok,
    exitCode: s.exitCode,
    signal: s.signal,
    error: s.error,
    duration: s.durationMs,
    stdout: cut(s.stdout),
    stderr: cut(s.stderr),
  };
}

/** What a simulated run "did": nothing, successfully. */
const SIMULATED: RunOutcome = {
  ok: true,
  exitCode: null,
  signal: null,
  stdout: "",
  stderr: "",
  durationMs: 0,
  attempts: 0,
  error: null,
  sent: false,
  aborted: false,
  steps: [],
  reused: false,
};

/**
 * The contract's result object for one host. `outcome` null: simulated, and
 * `planned` are the guest steps that would run first. A failed guest step
 * leaves a shutdown's `ok` to the host's command (the host went down, or
 * not); a check is ok only when every step's check passed too.
 */
export function makeResult(
  host: { id: string; name: string; address: string; port: number },
  action: ShutdownAction,
  command: string,
  outcome: RunOutcome | null,
  now: number,
  planned: readonly Step[] = [],
): ShutdownResult {
  const o = outcome ?? SIMULATED;
  const steps = outcome
    ? outcome.steps.map(stepResult)
    : planned.map((s) => ({ label: s.label, command: s.command, ok: true, exitCode: null, signal: null, error: null, duration: 0, stdout: "", stderr: "" }));
  // a pre-flight is a check too: a guest step it could not run is a problem to fix before the tier
  const failedCheck = verifies(action) ? steps.find((s) => !s.ok) : undefined;
  const checkError = failedCheck ? `guest step "${failedCheck.label}" ${failedCheck.error ?? "failed"}` : null;
  return {
    host: host.name,
    hostId: host.id,
    address: host.address,
    port: host.port,
    action,
    command,
    ok: o.ok && !failedCheck,
    exitCode: o.exitCode,
    signal: o.signal,
    stdout: o.stdout,
    stderr: o.stderr,
    duration: o.durationMs,
    attempts: o.attempts,
    error: o.error ?? checkError,
    time: now,
    joined: false,
    steps,
  };
}

/** A result for a host that could not even be tried (missing config, unreadable key). */
export function failedResult(
  host: { id: string; name: string; address: string; port: number },
  action: ShutdownAction,
  command: string,
  error: string,
  now: number,
): ShutdownResult {
  return { ...makeResult(host, action, command, null, now), ok: false, error };
}

const DONE: Record<ShutdownAction, string> = {
  shutdown: "shutdown sent",
  cancel: "shutdown cancelled",
  check: "check passed",
  simulate: "simulated",
  prepare: "ready for the shutdown (pre-flight passed)",
};

/**
 * One line a person can read in a notification as it is. A failed
 * pre-flight says how long is left to fix it when the message that asked for
 * it carried the battery runtime (`fixWithinS`).
 */
export function summarize(r: ShutdownResult, fixWithinS: number | null = null): string {
  const oneLine = (s: string): string => s.replace(/\s*[\r\n]+\s*/g, " ").trim();
  if (r.action === "simulate") {
    const first = r.steps.map((s) => `${s.label}, then `).join("");
    return oneLine(`${r.host}: simulate, would run: ${first}${r.command}`);
  }
  if (r.action === "prepare" && !r.ok) {
    const within = fixWithinS !== null && fixWithinS > 0 ? ` — fix it within the next ~${Math.max(1, Math.floor(fixWithinS / 60))} min` : "";
    return oneLine(`${r.host}: pre-flight FAILED: ${oneLine(r.error ?? "unknown error")}${within}`);
  }
  const attempts = r.attempts > 1 ? `${r.attempts} attempts, ` : "";
  const joined = r.joined ? ", shared with an earlier message" : "";
  // a guest step that failed is said, whatever became of the host (a check's failed step is its error already)
  const failed = r.action === "shutdown" ? r.steps.filter((s) => !s.ok) : [];
  const guests = failed.length
    ? `; ${failed.length === 1 ? "guest step" : `${failed.length} guest steps`} FAILED: ${failed.map((s) => `${s.label}: ${s.error ?? "failed"}`).join("; ")}`
    : "";
  if (r.ok) {
    const exit = r.exitCode === null ? "" : `exit ${r.exitCode}, `;
    return oneLine(`${r.host}: ${DONE[r.action]} (${exit}${attempts}${formatSeconds(r.duration)}${joined})${guests}`);
  }
  return oneLine(`${r.host}: ${r.action} FAILED: ${oneLine(r.error ?? "unknown error")} (${attempts}${formatSeconds(r.duration)}${joined})${guests}`);
}

/** What one result message carries (the message contract): the result, the host's name as topic, a summary. */
export function resultMessage(r: ShutdownResult, fixWithinS: number | null = null): { payload: ShutdownResult; topic: string; summary: string } {
  return { payload: r, topic: r.host, summary: summarize(r, fixWithinS) };
}

/** The line of a periodic check when a host's health changes (core/ssh/orchestrator.ts healthChange). */
export function healthSummary(r: ShutdownResult, change: "bad" | "recovered"): string {
  if (change === "recovered") return `${r.host}: health check passed again, ready for a shutdown`;
  return summarize(r).replace(/: check FAILED: /, ": health check FAILED: ");
}

/** The battery runtime (s) of the power state a message carries (msg.payload.runtime), else null. */
export function runtimeOf(msg: Record<string, unknown>): number | null {
  const p = msg.payload;
  if (p === null || typeof p !== "object" || Array.isArray(p)) return null;
  const r = (p as Record<string, unknown>).runtime;
  return typeof r === "number" && Number.isFinite(r) && r >= 0 ? r : null;
}

/** The texts of ssh-shutdown's status (locales/<lang>/ssh-shutdown.json). */
export const SHUTDOWN_TEXTS = textTable({
  "status.running": ["action", "done", "total"],
  "status.retrying": ["action", "done", "total", "retrying"],
  "status.sent": ["ok", "total"],
  "status.sent-failed": ["ok", "total", "failed"],
  "status.cancelled": ["ok", "total"],
  "status.cancelled-failed": ["ok", "total", "failed"],
  "status.checked": ["ok", "total"],
  "status.checked-failed": ["failed", "total"],
  "status.simulated": ["total"],
  "status.ready": ["ok", "total"],
  "status.ready-failed": ["failed", "total"],
  "status.no-preflight": [],
  "status.nothing-to-cancel": [],
  "status.stopped-unsent": ["stopped"],
  "status.refused": [],
  "status.restored-no-cancel": [],
  "status.power-on": [],
  "status.store-lost": [],
  "status.doing.shutdown": [],
  "status.doing.cancel": [],
  "status.doing.check": [],
  "status.doing.simulate": [],
  "status.doing.prepare": [],
});
const say = SHUTDOWN_TEXTS;

/** Node status while running (`finished` false; `retrying` hosts waiting for another attempt) and after. */
export function shutdownStatus(action: ShutdownAction, total: number, ok: number, failed: number, finished: boolean, retrying = 0): StatusView {
  const done = ok + failed;
  const doing = say(`status.doing.${action}`);
  if (!finished && retrying > 0) return statusOf("yellow", "ring", say("status.retrying", { action: doing, done, total, retrying }));
  if (!finished) return statusOf("blue", "ring", say("status.running", { action: doing, done, total }));
  if (action === "simulate") return statusOf("grey", "dot", say("status.simulated", { total }));
  if (action === "check")
    return failed > 0
      ? statusOf("red", "ring", say("status.checked-failed", { failed, total }))
      : statusOf("green", "dot", say("status.checked", { ok, total }));
  if (action === "prepare")
    return failed > 0 ? statusOf("red", "ring", say("status.ready-failed", { failed, total })) : statusOf("green", "ring", say("status.ready", { ok, total }));
  const word = action === "shutdown" ? "sent" : "cancelled";
  if (failed > 0) return statusOf("red", "ring", say(`status.${word}-failed`, { ok, total, failed }));
  return statusOf("green", "dot", say(`status.${word}`, { ok, total }));
}

/**
 * Statuses that say nothing was run: a message refused, power back or on
 * with nothing to cancel here, a cancel that only stopped shutdowns not sent
 * yet, the list of what was sent lost at start (red: check the hosts).
 */
export function idleStatus(why: "refused" | "nothing-to-cancel" | "restored-no-cancel" | "power-on" | "store-lost" | "no-preflight"): StatusView {
  if (why === "refused" || why === "store-lost") return statusOf("red", "ring", say(`status.${why}`));
  return statusOf("grey", "ring", say(`status.${why}`));
}

export function stoppedStatus(stopped: number): StatusView {
  return statusOf("grey", "ring", say("status.stopped-unsent", { stopped }));
}
