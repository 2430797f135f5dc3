/**
 * upsmon (NUT's own monitor) as a baseline, made unable to shut anything
 * down, four times over:
 * - it runs as the unprivileged user `nobody` (it could not halt the
 *   machine even if it tried), single process (-p), in the foreground (-F);
 * - SHUTDOWNCMD is /bin/true;
 * - MINSUPPLIES 0 and power value 0 on every MONITOR line (no UPS ever
 *   counts as a supply whose loss means shutdown);
 * - the configuration is checked for all of the above before it starts.
 * As a non-root user its pidfile write to /run/nut fails harmlessly (no
 * stale pidfile, no zombie blocking the next start); POWERDOWNFLAG points
 * into the scratch dir.
 * NOTIFYCMD appends "<epoch ns> <type> <ups>" to a NotifyLog for ONBATT and ONLINE.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NUT_LAB_USERS } from "../../test/harness/nut-lab";
import type { Cleanup } from "./cleanup";
import { terminate } from "../../test/harness/proc";

const UPSMON_CANDIDATES = ["/lib/nut/upsmon", "/usr/lib/nut/upsmon", "/usr/sbin/upsmon", "/sbin/upsmon"];
const NOBODY = { uid: 65534, gid: 65534 };

export interface UpsmonTarget {
  ups: string;
  host: string;
  port: number;
}

export interface Notification {
  /** Epoch milliseconds (from the NOTIFYCMD's `date +%s%N`). */
  time: number;
  type: string;
  /** `ups@host:port` as upsmon names it. */
  ups: string;
}

export interface Upsmon {
  pid: number;
  /** Notifications since the last call (of every upsmon writing to the same log). */
  notifications(): Notification[];
  stop(): Promise<void>;
}

/**
 * The file NOTIFYCMD appends to: one per upsmon, or one shared by many
 * (the latency benchmark restarts one upsmon per sample and reads one file).
 */
export class NotifyLog {
  readonly path: string;
  private offset = 0;

  constructor(readonly dir: string) {
    this.path = join(dir, "notify.log");
    writeFileSync(this.path, "");
    chownSync(this.path, NOBODY.uid, NOBODY.gid);
  }

  read(): Notification[] {
    let text = "";
    try {
      text = readFileSync(this.path, "utf8").slice(this.offset);
    } catch {
      return []; // removed with its dir
    }
    const end = text.lastIndexOf("\n") + 1;
    this.offset += end;
    return text
      .slice(0, end)
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [ns, type, ups] = l.split(" ");
        return { time: Number(BigInt(ns) / 1000000n), type, ups };
      });
  }
}

/** A dir for a NotifyLog shared by several upsmon, removed by `cleanup`. */
export function sharedNotifyLog(cleanup: Cleanup): NotifyLog {
  const dir = mkdtempSync(join(tmpdir(), "bench-upsmon-log-"));
  chmodSync(dir, 0o755);
  cleanup.add("upsmon notify log", () => rmSync(dir, { recursive: true, force: true }));
  return new NotifyLog(dir);
}

/** The whole config; throws if any safety line is missing. */
export function upsmonConfig(targets: UpsmonTarget[], pollFreq: number, dir: string): string {
  const { username, password } = NUT_LAB_USERS.monitor;
  const lines = [
    ...targets.map((t) => `MONITOR ${t.ups}@${t.host}:${t.port} 0 ${username} ${password} secondary`),
    "MINSUPPLIES 0",
    'SHUTDOWNCMD "/bin/true"',
    `POWERDOWNFLAG ${join(dir, "killpower")}`,
    `NOTIFYCMD ${join(dir, "notify.sh")}`,
    `POLLFREQ ${pollFreq}`,
    `POLLFREQALERT ${pollFreq}`,
    `DEADTIME ${Math.max(15, pollFreq * 3)}`,
    "FINALDELAY 0",
    "NOTIFYFLAG ONBATT EXEC",
    "NOTIFYFLAG ONLINE EXEC",
    "",
  ];
  const text = lines.join("\n");
  const monitors = text.split("\n").filter((l) => l.startsWith("MONITOR "));
  const unsafe =
    monitors.length !== targets.length ||
    monitors.some((l) => l.split(" ")[2] !== "0") ||
    !/^MINSUPPLIES 0$/m.test(text) ||
    !/^SHUTDOWNCMD "\/bin\/true"$/m.test(text) ||
    targets.some((t) => !t.host.startsWith("127."));
  if (unsafe) throw new Error("upsmon: refusing an unsafe configuration");
  return text;
}

export function upsmonBinary(): string | null {
  return UPSMON_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/**
 * Start upsmon on `targets`; `settleMs` later it has done its first poll
 * (fails if it exited). Stopped (and its dir removed) by `stop()` or `cleanup`.
 */
export async function startUpsmon(
  cleanup: Cleanup,
  targets: UpsmonTarget[],
  pollFreq: number,
  settleMs = 1500,
  shared: NotifyLog | null = null,
): Promise<Upsmon> {
  const bin = upsmonBinary();
  if (!bin) throw new Error("upsmon not found (apt-get install -y nut-client)");
  const dir = mkdtempSync(join(tmpdir(), "bench-upsmon-"));
  chmodSync(dir, 0o755);
  const log = shared ?? new NotifyLog(dir);
  writeFileSync(join(dir, "notify.sh"), `#!/bin/sh\necho "$(date +%s%N) $NOTIFYTYPE $UPSNAME" >> ${log.path}\n`, { mode: 0o755 });
  writeFileSync(join(dir, "upsmon.conf"), upsmonConfig(targets, pollFreq, dir), { mode: 0o644 });
  chmodSync(join(dir, "upsmon.conf"), 0o644);

  const child: ChildProcess = spawn(bin, ["-F", "-p"], {
    ...NOBODY,
    env: { PATH: "/usr/bin:/bin", NUT_CONFPATH: dir, NUT_STATEPATH: dir, NUT_ALTPIDPATH: dir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const pid = child.pid ?? 0;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      await terminate([pid], 3000);
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  cleanup.add(`upsmon pid ${pid}`, stop);

  // upsmon prints nothing when its first poll is done: give it time, and fail early if it exited
  await new Promise((r) => setTimeout(r, settleMs));
  if (child.exitCode !== null) throw new Error(`upsmon exited at start: ${stderr}`);

  return { pid, notifications: () => log.read(), stop };
}
