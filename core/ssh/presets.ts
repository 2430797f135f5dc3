/**
 * Shutdown command presets: what ssh-shutdown runs on each kind of host for
 * the actions shutdown, cancel and check, and the sudoers line it needs.
 *
 * Rules: non-interactive (`sudo -n` fails instead of prompting), full paths
 * (a non-login SSH session has a short PATH), and every piece of text placed
 * into a command (the broadcast message) is reduced to a safe character set
 * AND quoted, so it can never become shell syntax. Only the operator's custom
 * commands are used as typed.
 */

export type PresetId = "linux" | "linux-poweroff" | "proxmox" | "windows" | "esxi" | "synology" | "truenas" | "macos" | "custom";

export const PRESET_IDS: readonly PresetId[] = ["linux", "linux-poweroff", "proxmox", "windows", "esxi", "synology", "truenas", "macos", "custom"];

export interface PresetParams {
  /** Minutes between the shutdown command and the power-off (presets that can wait). */
  delayMinutes: number;
  /** Text shown to logged-in users / written to the system log. */
  message: string;
  /** The SSH user: "root" needs no sudo. */
  username: string;
  /** The operator's own commands, for the "custom" preset. */
  custom?: { shutdown: string; cancel: string; check: string };
}

export interface PresetCommands {
  shutdown: string;
  /** The command that cancels a pending shutdown; null when there is none. */
  cancel: string | null;
  /** Verifies the privilege without shutting down; null = connect and authenticate only. */
  check: string | null;
  /** True when the shutdown waits `delayMs` and a cancel can still stop it. */
  delayed: boolean;
  delayMs: number;
  /** Exit codes of the cancel command that mean "nothing is shutting down now". */
  cancelOkExitCodes: number[];
  /** Line for /etc/sudoers.d/ on the target, null when none is needed. */
  sudoers: string | null;
}

/** Platform facts shown in the editor and the docs. */
export interface PresetInfo {
  /** The preset can wait `delayMinutes` before powering off (and cancel meanwhile). */
  supportsDelay: boolean;
  /** Commands go through `sudo -n` unless the user is root. */
  usesSudo: boolean;
}

export const PRESETS: Record<PresetId, PresetInfo> = {
  linux: { supportsDelay: true, usesSudo: true },
  "linux-poweroff": { supportsDelay: false, usesSudo: true },
  proxmox: { supportsDelay: true, usesSudo: true },
  windows: { supportsDelay: true, usesSudo: false },
  esxi: { supportsDelay: false, usesSudo: false },
  synology: { supportsDelay: false, usesSudo: true },
  truenas: { supportsDelay: false, usesSudo: true },
  macos: { supportsDelay: true, usesSudo: true },
  custom: { supportsDelay: true, usesSudo: false },
};

export const DEFAULT_MESSAGE = "UPS power failure: this host is shutting down";
const MAX_MESSAGE_LENGTH = 200;
export const MAX_DELAY_MINUTES = 1440;

export function isPresetId(value: unknown): value is PresetId {
  return typeof value === "string" && (PRESET_IDS as readonly string[]).includes(value);
}

/**
 * Reduce text to letters, digits, spaces and `. , : ; ? ' ( ) _ + = / @ # -`
 * (anything else becomes a space), one line, at most `max` characters, not
 * starting with "-" (getopt would read it as an option: "-r" = reboot). This
 * set means nothing to cmd.exe or PowerShell inside double quotes, where no
 * escaping is reliable; POSIX commands additionally quote it with quoteSh.
 */
export function safeText(text: string, max = MAX_MESSAGE_LENGTH): string {
  return text
    .normalize("NFC")
    .replace(/[^\p{L}\p{M}\p{N} .,:;?'()_+=/@#-]/gu, " ")
    .replace(/\s+/g, " ")
    .replace(/^[\s-]+/, "")
    .slice(0, max)
    .trim();
}

/**
 * One argument for a POSIX shell (sh, bash, dash, zsh, ash): left bare when
 * it only holds characters no shell treats specially, else single-quoted with
 * `'` written as `'\''`. Safe for ANY string, including newlines and `$(…)`.
 */
export function quoteSh(arg: string): string {
  if (arg !== "" && /^[A-Za-z0-9_./:+@-]+$/.test(arg)) return arg;
  return "'" + arg.replace(/'/g, "'\\''") + "'";
}

/** A command line of words, each quoted for a POSIX shell. */
export function shellWords(argv: string[]): string {
  return argv.map(quoteSh).join(" ");
}

/** Privileged command: through `sudo -n` unless the SSH user is root. */
function priv(p: PresetParams, argv: string[]): string {
  return p.username === "root" ? shellWords(argv) : "sudo -n " + shellWords(argv);
}

/** Check for a privileged command: `sudo -n -l` answers "allowed?" without running it. */
function privCheck(p: PresetParams, argv: string[]): string {
  return p.username === "root" ? "test -x " + quoteSh(argv[0]) : "sudo -n -l " + shellWords(argv);
}

/** The sudoers line letting `username` run `commands` as root without a password; null for root. */
export function sudoersLine(username: string, commands: string[]): string | null {
  if (username === "root") return null;
  const user = /^[A-Za-z0-9_.-]+$/.test(username) ? username : "USER";
  return `${user} ALL=(root) NOPASSWD: ${commands.join(", ")}`;
}

function minutes(p: PresetParams): number {
  const m = Math.floor(Number(p.delayMinutes));
  return Number.isFinite(m) ? Math.min(Math.max(m, 0), MAX_DELAY_MINUTES) : 0;
}

function message(p: PresetParams): string {
  return safeText(p.message) || DEFAULT_MESSAGE;
}

/** BSD and systemd `shutdown` time argument. */
function when(m: number): string {
  return m > 0 ? `+${m}` : "now";
}

function result(
  shutdown: string,
  cancel: string | null,
  check: string | null,
  delayMin: number,
  sudoers: string | null,
  cancelOkExitCodes: number[] = [0],
): PresetCommands {
  const delayed = cancel !== null && delayMin > 0;
  return { shutdown, cancel, check, delayed, delayMs: delayed ? delayMin * 60_000 : 0, cancelOkExitCodes, sudoers };
}

/** BSD or systemd `shutdown -h` after `m` minutes, cancelled by `cancel`; the check asks sudo about both. */
function delayedShutdown(p: PresetParams, m: number, text: string, cancel: string[], sudoers: string[]): PresetCommands {
  const down = ["/sbin/shutdown", "-h", when(m), text];
  return result(
    priv(p, down),
    priv(p, cancel),
    joinChecks(privCheck(p, down), p.username === "root" ? null : privCheck(p, cancel)),
    m,
    sudoersLine(p.username, sudoers),
  );
}

/** A privileged command that powers off at once: nothing to cancel. */
function immediate(p: PresetParams, down: string[], sudoers: string): PresetCommands {
  return result(priv(p, down), null, privCheck(p, down), 0, sudoersLine(p.username, [sudoers]));
}

/** The commands of preset `id` for one host. */
export function presetCommands(id: PresetId, p: PresetParams): PresetCommands {
  const m = minutes(p);
  const text = message(p);
  switch (id) {
    case "linux":
    case "proxmox":
      // systemd and sysvinit shutdown both take "+minutes" and cancel with -c.
      return delayedShutdown(p, m, text, ["/sbin/shutdown", "-c"], ["/sbin/shutdown"]);
    case "linux-poweroff":
      return immediate(p, ["/bin/systemctl", "poweroff"], "/bin/systemctl poweroff");
    case "macos":
      // BSD shutdown has no -c: a pending shutdown is cancelled by ending its process.
      return delayedShutdown(p, m, text, ["/usr/bin/killall", "shutdown"], ["/sbin/shutdown", "/usr/bin/killall shutdown"]);
    case "windows": {
      // Runs under cmd.exe or PowerShell; /f closes applications that would block it.
      // Exit 1116 from /a: "no shutdown was in progress" - nothing is shutting down.
      const seconds = m * 60;
      return result(
        `shutdown /s /f /t ${seconds} /c "${safeText(text, 200)}"`,
        "shutdown /a",
        "whoami /priv | findstr SeShutdownPrivilege",
        m,
        null,
        [0, 1116],
      );
    }
    case "esxi":
      // No sudo on ESXi: root. shutdown.sh stops the VMs as the host's autostart
      // settings say and can take minutes, so it runs detached from the session.
      return result(
        "nohup /bin/sh -c '/sbin/shutdown.sh && /sbin/poweroff' >/dev/null 2>&1 &",
        null,
        'test "$(id -u)" = 0 && test -x /sbin/shutdown.sh && test -x /sbin/poweroff',
        0,
        null,
      );
    case "synology":
      return immediate(p, ["/sbin/poweroff"], "/sbin/poweroff");
    case "truenas":
      // TrueNAS 24.10+ middleware: the reason must be a JSON string (midclt parses each argument as JSON).
      return immediate(p, ["/usr/bin/midclt", "call", "system.shutdown", JSON.stringify(text)], "/usr/bin/midclt");
    case "custom": {
      const c = p.custom ?? { shutdown: "", cancel: "", check: "" };
      return result(c.shutdown.trim(), c.cancel.trim() || null, c.check.trim() || null, m, null);
    }
  }
}

function joinChecks(a: string, b: string | null): string {
  return b ? `${a} && ${b}` : a;
}
