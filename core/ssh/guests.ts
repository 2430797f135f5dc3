/**
 * Guests before hosts: the steps ssh-shutdown runs on a host, over the same
 * SSH connection and before the host's own shutdown command, to stop what
 * runs on it (Proxmox VE VMs and containers, ESXi VMs, libvirt domains,
 * Docker Compose projects), each step with its own timeout; the check of
 * each step's privilege, and the sudoers entries the steps need.
 *
 * Rules: each step is ONE static POSIX sh snippet. The guests are listed and
 * stopped on the host itself, so no guest id ever passes through Node.js;
 * the only operator text placed into a snippet (a Proxmox tag, Compose
 * project names) is validated to a safe character set here AND quoted with
 * quoteSh. A hard stop (Proxmox --forceStop 1, ESXi power.off, virsh
 * destroy) happens only when the operator ticked it. Docker's own stop
 * timeout always ends in SIGKILL: that is how `docker stop` works.
 *
 * References: Proxmox VE qm(1) and pct(1) (`shutdown --timeout --forceStop`,
 * `list`, `config` with `tags:`); vSphere API VirtualMachine.ShutdownGuest
 * ("returns immediately and does not wait", VMware Tools required), ESXi
 * `vim-cmd vmsvc/getallvms | power.getstate | power.shutdown | power.off`;
 * libvirt virsh(1) (`list --uuid --state-running`; `shutdown` may return
 * before the domain is off; `destroy` = pulling the plug); Docker Compose
 * reference `docker compose down --timeout` and project name rules.
 */
import { quoteSh, shellWords, sudoersLine } from "./presets";
import { type ConfigProblem, flag, numberOr, textOf, within } from "../config";
import type { Step } from "./runner";

export type GuestKind = "none" | "proxmox" | "esxi" | "libvirt" | "docker";
export const GUEST_KINDS: readonly GuestKind[] = ["none", "proxmox", "esxi", "libvirt", "docker"];

/** What to stop before the host, as the operator configured it. */
export interface GuestConfig {
  kind: GuestKind;
  /** Proxmox: only guests with this tag ("" = every running guest). */
  tag: string;
  /** Docker: the Compose project names, in the order they are brought down. */
  projects: string[];
  /** Seconds each guest may take to shut down cleanly. */
  timeoutSeconds: number;
  /** After the timeout, stop what is still running the hard way. */
  force: boolean;
}

/** One command run before the host's command on the same connection. */
export type GuestStep = Step;

/** The steps of one host for its SSH user. */
export interface GuestPlan {
  /** Run before the shutdown command, in order. */
  steps: GuestStep[];
  /** Run before the check command: each verifies the privilege of the step of the same index. */
  checks: GuestStep[];
  /** Line for /etc/sudoers.d/ on the target naming the steps' commands; null when none is needed. */
  sudoers: string | null;
}

export const DEFAULT_GUEST_TIMEOUT_S = 120;
export const MAX_GUEST_TIMEOUT_S = 3600;
export const MAX_COMPOSE_PROJECTS = 8;
/** What a step may take beyond the guests' own timeout: listing, a hard stop, the last poll. */
const STEP_MARGIN_S = 30;
/** A check only asks sudo (or tests a file): it needs no guest timeout. */
const CHECK_TIMEOUT_MS = 15_000;
/** Seconds between two looks at what still runs (ESXi, libvirt). */
const POLL_S = 5;

/** Proxmox VE tags: letters, digits and `_ + . -`, not starting with `+ . -` (pve-common's tag format). */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_+.-]{0,63}$/;
/** Compose project names: lowercase letters, digits, `_` and `-`, starting with a letter or digit. */
const PROJECT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isGuestKind(v: unknown): v is GuestKind {
  return typeof v === "string" && (GUEST_KINDS as readonly string[]).includes(v);
}

/** Compose project names from the editor's field: separated by spaces, commas or new lines. */
export function projectList(text: string): string[] {
  return [
    ...new Set(
      text
        .slice(0, 2000)
        .split(/[\s,]+/)
        .filter((p) => p !== ""),
    ),
  ];
}

/** The editor's raw guest options. */
export interface RawGuestConfig {
  guests?: unknown;
  guestTag?: unknown;
  guestProjects?: unknown;
  guestTimeout?: unknown;
  guestForce?: unknown;
}

/** Normalise the guest options; problems are reported (i18n keys under ssh-shutdown.errors), never thrown. */
export function readGuestConfig(raw: RawGuestConfig, problems: ConfigProblem[]): GuestConfig {
  let kind: GuestKind = "none";
  if (isGuestKind(raw.guests)) kind = raw.guests;
  else if (raw.guests !== undefined && raw.guests !== "") {
    problems.push({ key: "bad-guests", params: { guests: typeof raw.guests === "string" ? raw.guests.slice(0, 40) : typeof raw.guests } });
  }
  const tag = textOf(raw.guestTag).trim();
  const tagOk = tag === "" || TAG.test(tag);
  if (kind === "proxmox" && !tagOk) problems.push({ key: "bad-guest-tag", params: { tag: tag.slice(0, 70) } });
  const listed = kind === "docker" ? projectList(textOf(raw.guestProjects)) : [];
  // what is not valid never reaches a command (the node refuses a configuration with problems anyway)
  const projects = listed.filter((p) => PROJECT.test(p));
  if (kind === "docker") {
    const bad = listed.find((p) => !PROJECT.test(p));
    if (bad !== undefined) problems.push({ key: "bad-compose-project", params: { project: bad.slice(0, 70) } });
    if (listed.length === 0) problems.push({ key: "no-compose-projects" });
    if (listed.length > MAX_COMPOSE_PROJECTS) problems.push({ key: "too-many-projects", params: { max: MAX_COMPOSE_PROJECTS } });
  }
  let timeoutSeconds = numberOr(raw.guestTimeout, DEFAULT_GUEST_TIMEOUT_S);
  if (!within(timeoutSeconds, { min: 1, max: MAX_GUEST_TIMEOUT_S, integer: true })) {
    problems.push({ key: "bad-number", params: { name: "guestTimeout", min: 1, max: MAX_GUEST_TIMEOUT_S } });
    timeoutSeconds = DEFAULT_GUEST_TIMEOUT_S;
  }
  // a tag that is not valid never widens the stop to every guest: nothing is stopped
  return {
    kind: tagOk ? kind : "none",
    tag: tagOk ? tag : "",
    projects: projects.slice(0, MAX_COMPOSE_PROJECTS),
    timeoutSeconds,
    force: flag(raw.guestForce, false),
  };
}

/** A tool the steps run: its full path, and how its privilege is named and checked. */
interface Tool {
  path: string;
  /** Argument lists the steps pass, for sudoers and check; "*" stands for a guest id. */
  uses: string[][];
}

const ID = "*";
/** What a check puts where a step puts a guest id (sudo -l matches it against the sudoers `*`). */
const SAMPLE_ID: Record<GuestKind, string> = { none: "", proxmox: "100", esxi: "1", libvirt: "00000000-0000-0000-0000-000000000000", docker: "" };

function root(username: string): boolean {
  return username === "root";
}

/** How a snippet calls `path`: through `sudo -n` unless the user is root. */
function call(username: string, path: string): string {
  return root(username) ? path : `sudo -n ${path}`;
}

/** The check of a step: root and the programs exist, or sudo allows each use without a password. */
function checkOf(username: string, tools: Tool[], sample: string): string {
  if (root(username)) return ['test "$(id -u)" = 0', ...tools.map((t) => `test -x ${t.path}`)].join(" && ");
  return tools.flatMap((t) => t.uses.map((args) => "sudo -n -l " + shellWords([t.path, ...args.map((a) => (a === ID ? sample : a))]))).join(" && ");
}

/** The sudoers entries of the tools: exact commands, `*` where a guest id goes. */
function sudoersEntries(tools: Tool[]): string[] {
  return tools.flatMap((t) => t.uses.map((args) => [t.path, ...args.map((a) => (a === ID ? ID : quoteSh(a)))].join(" ")));
}

/** Words for a snippet: a guest id position becomes "$id". */
function withId(args: string[]): string {
  return args.map((a) => (a === ID ? '"$id"' : quoteSh(a))).join(" ");
}

function step(label: string, lines: string[], timeoutSeconds: number): GuestStep {
  return { label, command: lines.join("\n"), timeoutMs: (timeoutSeconds + STEP_MARGIN_S) * 1000 };
}

/** Lines that wait for the background jobs in $pids and exit 1 if one failed. */
const WAIT_ALL = ['for p in $pids; do wait "$p" || rc=1; done', "exit $rc"];

function proxmox(g: GuestConfig, username: string): { step: GuestStep; tools: Tool[] } {
  const t = String(g.timeoutSeconds);
  const down = ["shutdown", ID, "--timeout", t, ...(g.force ? ["--forceStop", "1"] : [])];
  const kinds = [
    { path: "/usr/sbin/qm", what: "VM", status: "$3" },
    { path: "/usr/sbin/pct", what: "CT", status: "$2" },
  ];
  const lines = ["rc=0", "pids="];
  if (g.tag) lines.push(`tag=${quoteSh(g.tag)}`);
  for (const k of kinds) {
    const tool = call(username, k.path);
    const list = k.what === "VM" ? "vms" : "cts";
    lines.push(`${list}=$(${tool} list) || { echo "${k.path.split("/").pop()} list failed" >&2; rc=1; }`);
    lines.push(`for id in $(printf '%s\\n' "$${list}" | awk 'NR>1 && ${k.status}=="running" {print $1}'); do`);
    if (g.tag) {
      // tags: "a;b" in the guest's config; compared whole and without case
      lines.push(
        `  ${tool} config "$id" | awk -v t="$tag" 'BEGIN {t=tolower(t)} /^tags:/ {sub(/^tags:[ ]*/, ""); n=split(tolower($0), a, /[;, ]+/); for (i=1; i<=n; i++) if (a[i]==t) f=1} END {exit !f}' || continue`,
      );
    }
    lines.push(`  ( ${tool} ${withId(down)} || { echo "${k.what} $id did not shut down" >&2; exit 1; } ) &`);
    lines.push('  pids="$pids $!"');
    lines.push("done");
  }
  lines.push(...WAIT_ALL);
  const uses = (config: boolean): string[][] => [["list"], ...(config ? [["config", ID]] : []), down];
  return {
    step: step(g.tag ? `stop Proxmox guests tagged ${g.tag}` : "stop Proxmox guests", lines, g.timeoutSeconds),
    tools: kinds.map((k) => ({ path: k.path, uses: uses(g.tag !== "") })),
  };
}

/**
 * Lines that wait until none of `$on` is running any more (`running` prints
 * what runs now, one per line), at most `timeout` seconds; then hard-stop
 * what is left with `kill` when forced. Exit 0 only when all stopped cleanly.
 */
function waitLoop(what: string, running: string, timeout: number, kill: string | null): string[] {
  return [
    "waited=0",
    "while :; do",
    `  now=" $(${running} | tr '\\n' ' ') "`,
    "  left=",
    '  for x in $on; do case "$now" in *" $x "*) left="$left $x" ;; esac; done',
    '  [ -z "$left" ] && exit 0',
    `  [ "$waited" -ge ${timeout} ] && break`,
    `  sleep ${POLL_S}; waited=$((waited + ${POLL_S}))`,
    "done",
    ...(kill
      ? [`for x in $left; do ${kill} "$x" >/dev/null || echo "${what} $x: hard stop failed" >&2; done`, `echo "hard stop after ${timeout} s:$left" >&2`]
      : [`echo "still running after ${timeout} s:$left" >&2`]),
    "exit 1",
  ];
}

function esxi(g: GuestConfig): { step: GuestStep; tools: Tool[] } {
  // No sudo on ESXi: root. power.shutdown asks the guest (VMware Tools) and returns at once.
  const v = "/bin/vim-cmd";
  const lines = [
    "on=",
    `all=$(${v} vmsvc/getallvms) || { echo "vim-cmd vmsvc/getallvms failed" >&2; exit 1; }`,
    `for id in $(printf '%s\\n' "$all" | awk 'NR>1 && $1 ~ /^[0-9]+$/ {print $1}'); do`,
    `  ${v} vmsvc/power.getstate "$id" | grep -q 'Powered on' || continue`,
    '  on="$on $id"',
    `  ${v} vmsvc/power.shutdown "$id" >/dev/null 2>&1 || echo "VM $id: guest shutdown refused (VMware Tools not running?)" >&2`,
    "done",
    // what still runs: the VMs of $on not yet "Powered off"
    ...waitLoop(
      "VM",
      `for x in $on; do ${v} vmsvc/power.getstate "$x" | grep -q 'Powered off' || echo "$x"; done`,
      g.timeoutSeconds,
      g.force ? `${v} vmsvc/power.off` : null,
    ),
  ];
  return {
    step: step("stop ESXi VMs", lines, g.timeoutSeconds),
    tools: [{ path: v, uses: [] }],
  };
}

function libvirt(g: GuestConfig, username: string): { step: GuestStep; tools: Tool[] } {
  const path = "/usr/bin/virsh";
  const virsh = call(username, path);
  const lines = [
    `on=$(${virsh} list --uuid --state-running) || { echo "virsh list failed" >&2; exit 1; }`,
    `for x in $on; do ${virsh} shutdown "$x" >/dev/null || echo "domain $x: shutdown refused" >&2; done`,
    // a failed listing counts every domain as still running
    ...waitLoop("domain", `{ ${virsh} list --uuid --state-running || echo "$on"; }`, g.timeoutSeconds, g.force ? `${virsh} destroy` : null),
  ];
  return {
    step: step("stop libvirt domains", lines, g.timeoutSeconds),
    tools: [{ path, uses: [["list", "--uuid", "--state-running"], ["shutdown", ID], ...(g.force ? [["destroy", ID]] : [])] }],
  };
}

function docker(g: GuestConfig, username: string): { steps: GuestStep[]; tools: Tool[] } {
  const path = "/usr/bin/docker";
  const uses = g.projects.map((p) => ["compose", "-p", p, "down", "--timeout", String(g.timeoutSeconds)]);
  return {
    steps: uses.map((args, i) => step(`docker compose down ${g.projects[i]}`, [`${call(username, path)} ${shellWords(args)}`], g.timeoutSeconds)),
    tools: [{ path, uses }],
  };
}

/** The guest steps of a host whose SSH user is `username`. */
export function guestPlan(g: GuestConfig, username: string): GuestPlan {
  if (g.kind === "none") return { steps: [], checks: [], sudoers: null };
  let steps: GuestStep[];
  let tools: Tool[];
  if (g.kind === "docker") ({ steps, tools } = docker(g, username));
  else {
    const one = g.kind === "proxmox" ? proxmox(g, username) : g.kind === "esxi" ? esxi(g) : libvirt(g, username);
    steps = [one.step];
    tools = one.tools;
  }
  // ESXi has no sudo: its steps run as they are, so does their check
  const user = g.kind === "esxi" ? "root" : username;
  const checks = steps.map((s, i) => {
    // one check per step: a Docker step's check asks about its own project only
    const own = g.kind === "docker" ? tools.map((t) => ({ ...t, uses: [t.uses[i]] })) : tools;
    return { label: `check: ${s.label}`, command: checkOf(user, own, SAMPLE_ID[g.kind]), timeoutMs: CHECK_TIMEOUT_MS };
  });
  return { steps, checks, sudoers: root(user) ? null : sudoersLine(username, sudoersEntries(tools)) };
}
