/**
 * The decisions of the nut-command node, as pure functions: its
 * configuration, what an incoming message is (a go, a refusal, "power
 * restored", an ssh-shutdown result to remember), the load-off guard, how a
 * GET TRACKING reply reads, when the waits before the command are over, the
 * result object and its texts. Time is passed in, never read here.
 */
import type { NutCommandKind, NutCommandOutcome, NutCommandResult, NutCommandWaited, ShutdownAction } from "../contract";
import { describeValue, isRecord } from "../check";
import { type ConfigProblem, boundedSeconds as seconds, flag, textOf } from "../config";
import { formatSeconds } from "../format";
import { restoredKind, saysPowerOn } from "../decide/restored";
import { type StatusView, statusOf, textTable } from "../status";
import { parseStatus } from "./status";

export const COMMAND_KINDS: readonly NutCommandKind[] = ["fsd", "instcmd", "setvar"];

/**
 * Properties that would choose what is sent or where: the operator
 * configures those. A message carrying one (at its top level, or in an
 * object payload) is refused as a whole, nothing is sent.
 */
export const CHOOSING_PROPERTIES: readonly string[] = ["ups", "kind", "command", "instcmd", "cmd", "variable", "var", "value", "param"];

/** A NUT name (UPS, instant command, variable): what upsd's own tables hold. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A value or parameter: printable ASCII (what upsd can read back), bounded. */
const VALUE = /^[\x20-\x7e]{0,256}$/;

export function isNutName(s: unknown): s is string {
  return typeof s === "string" && NAME.test(s);
}

export interface CommandConfig {
  ups: string;
  kind: NutCommandKind;
  /** The instant command or the variable ("" for FSD). */
  command: string;
  /** INSTCMD's optional parameter or SET VAR's value ("" when none). */
  param: string;
  /** Send a load-off-without-return command even on line power. */
  allowOnLine: boolean;
  /** How long GET TRACKING is asked before the result is UNKNOWN (ms). */
  trackingTimeoutMs: number;
  /** ssh-host config node ids whose shutdown results are awaited. */
  hosts: string[];
  /** Wait after the last host reported (ms). */
  marginMs: number;
  /** Wait until the other upsmon clients of the UPS logged out. */
  waitClients: boolean;
  /** Send anyway this long after the go (ms), whatever is still awaited. */
  deadlineMs: number;
}

export interface RawCommandConfig {
  ups?: unknown;
  kind?: unknown;
  command?: unknown;
  param?: unknown;
  allowOnLine?: unknown;
  trackingTimeout?: unknown;
  hosts?: unknown;
  margin?: unknown;
  waitClients?: unknown;
  deadline?: unknown;
}

/** A configuration problem: a key under nut-command.errors and its values. */
export type Problem = ConfigProblem;

/** At most this many hosts are awaited (a list typed by hand stays bounded). */
export const MAX_HOSTS = 64;

/** Normalise the node's configuration; problems are reported, never thrown. */
export function readCommandConfig(raw: RawCommandConfig): { config: CommandConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const ups = textOf(raw.ups).trim();
  if (!ups) problems.push({ key: "no-ups" });
  else if (!isNutName(ups)) problems.push({ key: "bad-name", params: { what: "UPS", name: describeValue(ups) } });
  const kind = (COMMAND_KINDS as readonly unknown[]).includes(raw.kind) ? (raw.kind as NutCommandKind) : null;
  if (!kind) problems.push({ key: "bad-kind", params: { kind: describeValue(raw.kind) } });
  const command = kind === "fsd" ? "" : textOf(raw.command).trim();
  if (kind && kind !== "fsd") {
    if (!command) problems.push({ key: kind === "instcmd" ? "no-command" : "no-variable" });
    else if (!isNutName(command))
      problems.push({ key: "bad-name", params: { what: kind === "instcmd" ? "command" : "variable", name: describeValue(command) } });
  }
  const param = kind === "fsd" ? "" : textOf(raw.param);
  if (!VALUE.test(param)) problems.push({ key: "bad-param" });
  if (kind === "setvar" && param === "") problems.push({ key: "no-value" });
  const listed = Array.isArray(raw.hosts) ? raw.hosts.filter((h): h is string => typeof h === "string" && h !== "") : [];
  const hosts = [...new Set(listed)];
  if (hosts.length > MAX_HOSTS) problems.push({ key: "too-many-hosts", params: { max: MAX_HOSTS } });
  return {
    config: {
      ups,
      kind: kind ?? "instcmd",
      command,
      param,
      allowOnLine: flag(raw.allowOnLine, false),
      trackingTimeoutMs: seconds(raw.trackingTimeout, 30, 0, 600, "trackingTimeout", problems),
      hosts: hosts.slice(0, MAX_HOSTS),
      marginMs: seconds(raw.margin, 30, 0, 3600, "margin", problems),
      waitClients: flag(raw.waitClients, false),
      deadlineMs: seconds(raw.deadline, 120, 0, 86400, "deadline", problems),
    },
    problems,
  };
}

/**
 * Instant commands that turn the load off and leave it off (NUT's
 * cmdvartab): the UPS does not power it on again when the line returns.
 * shutdown.return, shutdown.reboot and the *.cycle commands give the power
 * back and are not here; beeper.off and the like do not touch the load.
 */
const LOAD_OFF_WITHOUT_RETURN = /^(?:load\.off(?:\.delay)?|shutdown\.stayoff|outlet\.(?:group\.)?\d+\.load\.off(?:\.delay)?)$/;

export function turnsLoadOff(kind: NutCommandKind, command: string): boolean {
  // upsd finds an instant command whatever its case (strcasecmp): LOAD.OFF is load.off
  return kind === "instcmd" && LOAD_OFF_WITHOUT_RETURN.test(command.toLowerCase());
}

/** `ups.status` says line power (OL without OB). */
export function onLinePower(status: string): boolean {
  const flags = parseStatus(status);
  return flags.includes("OL") && !flags.includes("OB");
}

/**
 * Whether the guard stops the command: a load-off command without return,
 * not allowed on line power, while ups.status says OL (or cannot be read:
 * line power is then not ruled out). null: it may go.
 */
export function guardRefusal(config: CommandConfig, status: string | null): "on-line" | "status-unknown" | null {
  if (!turnsLoadOff(config.kind, config.command) || config.allowOnLine) return null;
  if (status === null) return "status-unknown";
  return onLinePower(status) ? "on-line" : null;
}

/** Only when the guard applies is ups.status read right before sending. */
export function needsStatus(config: CommandConfig): boolean {
  return turnsLoadOff(config.kind, config.command) && !config.allowOnLine;
}

// ---- what a message is ------------------------------------------------------------------------

const RESULT_ACTIONS: readonly ShutdownAction[] = ["shutdown", "simulate"];
/** Bounds on what a result message may make the node keep. */
export const RECORD_LIMITS = { idLength: 200 };

export interface HostReport {
  /** ssh-host config node id. */
  host: string;
  /** msg.outage.id of the result, null when it had none. */
  outage: string | null;
  ok: boolean;
  action: ShutdownAction;
  /** When it arrived (epoch ms). */
  time: number;
}

export type CommandInput =
  | { type: "go"; outage: string | null }
  /** A message that tries to choose: refused (`property` as msg.x or msg.payload.x). */
  | { type: "choosing"; property: string }
  /** "Power restored" / reset: cancels a wait, sends nothing. */
  | { type: "restored" }
  /** A power state saying the power is on: never a go. */
  | { type: "power-on" }
  /** An ssh-shutdown result (never a go): remembered when it is one of the awaited hosts. */
  | { type: "result"; report: HostReport | null };

/** msg.outage.id when it is a usable id, else null. */
export function outageIdOf(outage: unknown): string | null {
  if (!isRecord(outage)) return null;
  const id = outage.id;
  return typeof id === "string" && id.length > 0 && id.length <= RECORD_LIMITS.idLength ? id : null;
}

/** The payload has the shape of an ssh-shutdown result (core/contract.ts ShutdownResult). */
function isShutdownResult(p: unknown): p is Record<string, unknown> {
  return isRecord(p) && typeof p.ok === "boolean" && typeof p.action === "string" && typeof p.host === "string" && "exitCode" in p;
}

/**
 * What a message means to the node. An ssh-shutdown result is looked at
 * first: it is never a go (its payload's `command` is the host's, not a
 * choice). Then a choosing property refuses the message; then "power
 * restored" (any spelling, core/decide/restored.ts) and "power on" are
 * never a go; anything else is one.
 */
export function readInput(msg: Record<string, unknown>, config: CommandConfig, now: number): CommandInput {
  const p = msg.payload;
  if (isShutdownResult(p)) {
    const host = p.hostId;
    const action = p.action as ShutdownAction;
    const counted = typeof host === "string" && config.hosts.includes(host) && RESULT_ACTIONS.includes(action);
    return { type: "result", report: counted ? { host, outage: outageIdOf(msg.outage), ok: p.ok as boolean, action, time: now } : null };
  }
  const top = CHOOSING_PROPERTIES.find((k) => Object.hasOwn(msg, k) && msg[k] !== undefined);
  if (top) return { type: "choosing", property: `msg.${top}` };
  if (isRecord(p)) {
    const inner = CHOOSING_PROPERTIES.find((k) => Object.hasOwn(p, k) && p[k] !== undefined);
    if (inner) return { type: "choosing", property: `msg.payload.${inner}` };
  }
  if (restoredKind(msg)) return { type: "restored" };
  if (saysPowerOn(msg)) return { type: "power-on" };
  return { type: "go", outage: outageIdOf(msg.outage) };
}

/** The reports kept: the latest of each awaited host (bounded by the hosts list). */
export function recordReport(reports: readonly HostReport[], report: HostReport, hosts: readonly string[]): HostReport[] {
  return [...reports.filter((r) => r.host !== report.host && hosts.includes(r.host)), report];
}

/** Reports as stored (plain JSON), keeping only well-formed entries of awaited hosts. */
export function parseReports(x: unknown, hosts: readonly string[]): HostReport[] | null {
  if (!isRecord(x) || !Array.isArray(x.reports)) return null;
  const out: HostReport[] = [];
  for (const r of x.reports.slice(0, MAX_HOSTS)) {
    if (!isRecord(r) || typeof r.host !== "string" || !hosts.includes(r.host)) continue;
    if (typeof r.ok !== "boolean" || typeof r.time !== "number" || !RESULT_ACTIONS.includes(r.action as ShutdownAction)) continue;
    const outage = typeof r.outage === "string" && r.outage.length <= RECORD_LIMITS.idLength ? r.outage : null;
    if (!out.some((o) => o.host === r.host)) out.push({ host: r.host, outage, ok: r.ok, action: r.action as ShutdownAction, time: r.time });
  }
  return out;
}

// ---- the waits before the command -------------------------------------------------------------

export interface WaitInput {
  config: CommandConfig;
  /** The go's outage (results of another outage do not count). */
  outage: string | null;
  reports: readonly HostReport[];
  /** Monotonic ms when each awaited host's report of this outage arrived (or was found at start). */
  reportedAt: ReadonlyMap<string, number>;
  /** The other upsmon clients are gone (null: not known yet). */
  clientsGone: boolean | null;
  /** Monotonic ms of the go, and now. */
  since: number;
  now: number;
}

export interface WaitDecision {
  /** Send now. */
  ready: boolean;
  waited: NutCommandWaited;
  /** Monotonic ms when to look again (a margin or the deadline ending), when not ready. */
  next: number | null;
  /** What is still awaited when not ready. */
  waitingFor: "hosts" | "margin" | "clients" | null;
}

/** The hosts of `config` that reported in `outage`. */
export function reportedHosts(config: CommandConfig, reports: readonly HostReport[], outage: string | null): string[] {
  return config.hosts.filter((h) => reports.some((r) => r.host === h && r.outage === outage));
}

/**
 * Whether the waits are over: every awaited host reported in this outage,
 * then the margin passed, and (when asked) the other upsmon clients logged
 * out; or the deadline after the go passed, and then the command goes
 * anyway (power is running out) with what was cut short.
 */
export function decideWait(w: WaitInput): WaitDecision {
  const { config } = w;
  const reported = reportedHosts(config, w.reports, w.outage);
  const hostsDone = reported.length === config.hosts.length;
  let last = -Infinity;
  for (const h of reported) last = Math.max(last, w.reportedAt.get(h) ?? w.since);
  const marginEnd = config.hosts.length === 0 ? w.since : Math.max(w.since, last) + config.marginMs;
  const marginDone = hostsDone && w.now >= marginEnd;
  const clientsDone = !config.waitClients || w.clientsGone === true;
  const deadline = w.since + config.deadlineMs;
  const timedOut = w.now >= deadline;
  const ready = (marginDone && clientsDone) || timedOut;
  const cutShort: string[] = [];
  if (ready && !(marginDone && clientsDone)) {
    if (!hostsDone) cutShort.push("hosts");
    else if (!marginDone) cutShort.push("margin");
    if (!clientsDone) cutShort.push("clients");
  }
  const waited: NutCommandWaited = {
    hosts: { reported: reported.length, expected: config.hosts.length },
    clientsLeft: config.waitClients ? w.clientsGone : null,
    marginSeconds: config.marginMs / 1000,
    cutShort,
  };
  const next = ready ? null : Math.min(deadline, hostsDone && w.now < marginEnd ? marginEnd : Infinity);
  const waitingFor = ready ? null : !hostsDone ? "hosts" : !marginDone ? "margin" : "clients";
  return { ready, waited, next, waitingFor };
}

/** Nothing is awaited: the command goes at once. */
export function waitsNothing(config: CommandConfig): boolean {
  return config.hosts.length === 0 && !config.waitClients;
}

/**
 * LIST CLIENT's addresses without one entry of `own` (the shared
 * connection's LOGIN, when the nut-server logs in): the other clients.
 */
export function otherClients(addresses: readonly string[], own: string | null): string[] {
  const plain = (a: string) => a.replace(/^::ffff:/i, "");
  const rest = addresses.map(plain);
  if (own) {
    const i = rest.indexOf(plain(own));
    if (i >= 0) rest.splice(i, 1);
  }
  return rest;
}

// ---- tracking and rights ----------------------------------------------------------------------

/** A GET TRACKING reply: still pending, or the final result with NUT's code. */
export type TrackingRead = { pending: true } | { pending: false; result: "SUCCESS" | "FAILED" | "UNKNOWN"; code: string | null };

/**
 * PENDING / SUCCESS, or the ERR code of a GET TRACKING (docs/net-protocol.txt):
 * ERR UNKNOWN is the driver's "unknown" (UNKNOWN, not FAILED); ERR FAILED,
 * ERR INVALID-ARGUMENT and any other code are FAILED with that code.
 */
export function readTracking(reply: { ok: string } | { err: string }): TrackingRead {
  if ("ok" in reply) {
    if (reply.ok === "PENDING") return { pending: true };
    if (reply.ok === "SUCCESS") return { pending: false, result: "SUCCESS", code: null };
    return { pending: false, result: "UNKNOWN", code: "PROTOCOL-ERROR" };
  }
  if (reply.err === "UNKNOWN") return { pending: false, result: "UNKNOWN", code: "UNKNOWN" };
  return { pending: false, result: "FAILED", code: reply.err };
}

/** upsd's codes that mean "not allowed": the upsd.users line is missing (or the credentials are wrong). */
const RIGHTS_CODES = ["ACCESS-DENIED", "USERNAME-REQUIRED", "PASSWORD-REQUIRED", "INVALID-USERNAME", "INVALID-PASSWORD", "NO-CREDENTIALS"];
/** upsd's codes that mean "no such thing here". */
const UNKNOWN_CODES = ["CMD-NOT-SUPPORTED", "VAR-NOT-SUPPORTED", "UNKNOWN-UPS", "READONLY"];

export function isRightsCode(code: string): boolean {
  return RIGHTS_CODES.includes(code);
}

/** The line of upsd.users that grants this command. */
export function usersLine(kind: NutCommandKind, command: string): string {
  if (kind === "fsd") return "actions = FSD";
  if (kind === "setvar") return "actions = SET";
  return `instcmds = ${command}`;
}

/** The command as upsc/upscmd would name it: "FSD", "shutdown.return 30", "ups.delay.shutdown=20". */
export function commandLabel(config: Pick<CommandConfig, "kind" | "command" | "param">): string {
  if (config.kind === "fsd") return "FSD";
  if (config.kind === "setvar") return `${config.command}=${config.param}`;
  return config.param ? `${config.command} ${config.param}` : config.command;
}

/**
 * What to tell the operator about a failure code: the upsd.users line for
 * rights, the editor's list for an unknown command, else NUT's own text.
 */
export function failureText(config: CommandConfig, server: string, code: string, username: string | null, nutText: string): string {
  const what = `${commandLabel(config)} on ${config.ups}@${server}`;
  if (isRightsCode(code)) {
    const user = username ? `[${username}]` : "[the user] (and set that user's name and password in the nut-server node)";
    return `upsd refused ${what} (${code}): in upsd.users, under ${user}, add "${usersLine(config.kind, config.command)}", then reload upsd (upsd -c reload)`;
  }
  if (UNKNOWN_CODES.includes(code)) {
    const thing = code === "UNKNOWN-UPS" ? `UPS ${config.ups} is not served by ${server}` : `${config.ups} does not support ${commandLabel(config)}`;
    return `${what}: ${code}: ${thing}; pick one from the list the node's dialog shows for this UPS`;
  }
  return `${what}: ${nutText}`;
}

// ---- the result ---------------------------------------------------------------------------------

export interface Outcome {
  result: NutCommandOutcome;
  code: string | null;
  tracking: boolean;
  error: string | null;
  /** Why a result is UNKNOWN: the tracking time ran out, or the driver answered "unknown". */
  unknownBecause?: "timeout" | "driver";
}

export function makeCommandResult(
  config: CommandConfig,
  server: string,
  outcome: Outcome,
  waited: NutCommandWaited,
  durationMs: number,
  time: number,
): NutCommandResult {
  return {
    ups: config.ups,
    server,
    kind: config.kind,
    command: config.kind === "fsd" ? "FSD" : config.command,
    param: config.param === "" ? null : config.param,
    result: outcome.result,
    code: outcome.code,
    tracking: outcome.tracking,
    unknownBecause: outcome.unknownBecause ?? null,
    waited,
    duration: Math.max(0, Math.round(durationMs)),
    error: outcome.error,
    time,
    joined: false,
  };
}

/** Waited nothing (a refusal before any wait, or a node that awaits nothing). */
export function noWait(config: CommandConfig): NutCommandWaited {
  return { hosts: { reported: 0, expected: config.hosts.length }, clientsLeft: null, marginSeconds: config.marginMs / 1000, cutShort: [] };
}

const RESULT_WORDS: Record<NutCommandOutcome, string> = {
  SUCCESS: "SUCCESS",
  FAILED: "FAILED",
  UNKNOWN: "result UNKNOWN",
  SENT: "SENT (not tracked: outcome unknown)",
  REFUSED: "REFUSED",
  CANCELLED: "CANCELLED (power restored while waiting)",
};

/** One line a person can read in a notification as it is. */
export function summarizeCommand(r: NutCommandResult): string {
  const what = `${r.ups}@${r.server}: ${r.kind === "fsd" ? "FSD" : r.kind === "setvar" ? `SET ${r.command}=${r.param ?? ""}` : r.param ? `${r.command} ${r.param}` : r.command}`;
  // "UNKNOWN UNKNOWN" says nothing twice
  const code = r.code && r.result !== "SUCCESS" && r.code !== r.result ? ` ${r.code}` : "";
  const why = r.result === "UNKNOWN" && r.unknownBecause ? (r.unknownBecause === "timeout" ? " (tracking timed out)" : " (the driver answered unknown)") : "";
  const cut = r.waited.cutShort.length ? `, waits cut short: ${r.waited.cutShort.join(", ")}` : "";
  const hosts = r.waited.hosts.expected ? `, hosts ${r.waited.hosts.reported}/${r.waited.hosts.expected}` : "";
  const err = r.error && r.result !== "SUCCESS" ? `: ${r.error}` : "";
  return `${what} ${RESULT_WORDS[r.result]}${code}${why}${err} (${formatSeconds(r.duration)}${hosts}${cut})`.replace(/\s*[\r\n]+\s*/g, " ");
}

// ---- statuses ----------------------------------------------------------------------------------

/** The texts of nut-command's status (locales/<lang>/nut-command.json). */
export const COMMAND_TEXTS = textTable({
  "status.ready": ["command"],
  "status.no-user": ["command"],
  "status.waiting-hosts": ["reported", "expected"],
  "status.waiting-margin": [],
  "status.waiting-clients": [],
  "status.sending": ["command"],
  "status.tracking": ["command"],
  "status.fsd-set": [],
  "status.result": ["command", "result"],
  "status.sent": ["command"],
  "status.failed": ["command", "code"],
  "status.refused-online": [],
  "status.refused-status": [],
  "status.cancelled": [],
  "status.store-lost": [],
});
const say = COMMAND_TEXTS;

/** Before any go; `hasUser` false: the nut-server has no username, so the command would fail when it matters. */
export function readyStatus(config: CommandConfig, hasUser: boolean): StatusView {
  if (!hasUser) return statusOf("yellow", "ring", say("status.no-user", { command: commandLabel(config) }));
  return statusOf("grey", "ring", say("status.ready", { command: commandLabel(config) }));
}

export function waitingStatus(d: WaitDecision): StatusView {
  const h = d.waited.hosts;
  if (d.waitingFor === "hosts") return statusOf("blue", "ring", say("status.waiting-hosts", { reported: h.reported, expected: h.expected }));
  return statusOf("blue", "ring", say(d.waitingFor === "margin" ? "status.waiting-margin" : "status.waiting-clients"));
}

export function sendingStatus(config: CommandConfig, tracking: boolean): StatusView {
  return statusOf("blue", "dot", say(tracking ? "status.tracking" : "status.sending", { command: commandLabel(config) }));
}

export function resultStatus(r: NutCommandResult): StatusView {
  const command = r.kind === "fsd" ? "FSD" : r.command;
  switch (r.result) {
    case "SUCCESS":
      return r.kind === "fsd"
        ? statusOf("green", "dot", say("status.fsd-set"))
        : statusOf("green", "dot", say("status.result", { command, result: "SUCCESS" }));
    case "SENT":
      return statusOf("yellow", "dot", say("status.sent", { command }));
    case "UNKNOWN":
      return statusOf("yellow", "ring", say("status.result", { command, result: "UNKNOWN" }));
    case "FAILED":
      return statusOf("red", "ring", say("status.failed", { command, code: r.code ?? "?" }));
    case "CANCELLED":
      return statusOf("grey", "ring", say("status.cancelled"));
    case "REFUSED":
      return statusOf("red", "ring", say(r.code === "ON-LINE-POWER" ? "status.refused-online" : "status.refused-status"));
  }
}

export function storeLostStatus(): StatusView {
  return statusOf("red", "ring", say("status.store-lost"));
}
