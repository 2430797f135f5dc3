/**
 * upsmon (NUT's own monitor) as a baseline for the benchmarks, made unable
 * to shut anything down (test/harness/upsmon.ts: nobody, recorders only,
 * loopback), and monitoring only: MINSUPPLIES 0 and power value 0 on every
 * MONITOR line, so no UPS ever counts as a supply whose loss means shutdown.
 * The NotifyLog gets "<epoch ns> <type> <ups>" for ONBATT and ONLINE.
 */
import { rmSync } from "node:fs";
import { NUT_LAB_USERS } from "../../test/harness/nut-lab";
import { NotifyLog, spawnUpsmon, upsmonDir, writeRecorder, type Notification } from "../../test/harness/upsmon";
import type { Cleanup } from "./cleanup";

export { upsmonBinary } from "../../test/harness/upsmon";
export type { Notification };
export { NotifyLog };

export interface UpsmonTarget {
  ups: string;
  host: string;
  port: number;
}

export interface Upsmon {
  pid: number;
  /** Notifications since the last call (of every upsmon writing to the same log). */
  notifications(): Notification[];
  stop(): Promise<void>;
}

/** A dir for a NotifyLog shared by several upsmon, removed by `cleanup`. */
export function sharedNotifyLog(cleanup: Cleanup): NotifyLog {
  const dir = upsmonDir("bench-upsmon-log-");
  cleanup.add("upsmon notify log", () => rmSync(dir, { recursive: true, force: true }));
  return new NotifyLog(dir);
}

/** The whole config; throws if a monitoring-only line is missing. */
export function upsmonConfig(targets: UpsmonTarget[], pollFreq: number, dir: string, notify: string, shutdown: string): string {
  const { username, password } = NUT_LAB_USERS.monitor;
  const lines = [
    ...targets.map((t) => `MONITOR ${t.ups}@${t.host}:${t.port} 0 ${username} ${password} secondary`),
    "MINSUPPLIES 0",
    `SHUTDOWNCMD "${shutdown}"`,
    `POWERDOWNFLAG ${dir}/killpower`,
    `NOTIFYCMD ${notify}`,
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
  if (monitors.length !== targets.length || monitors.some((l) => l.split(" ")[2] !== "0") || !/^MINSUPPLIES 0$/m.test(text)) {
    throw new Error("upsmon: refusing a configuration that is not monitoring-only");
  }
  return text;
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
  const dir = upsmonDir("bench-upsmon-");
  const log = shared ?? new NotifyLog(dir);
  const notify = writeRecorder(dir, "notify.sh", "$NOTIFYTYPE", log);
  const shutdown = writeRecorder(dir, "shutdown.sh", "SHUTDOWNCMD", log);
  const proc = spawnUpsmon(dir, upsmonConfig(targets, pollFreq, dir, notify, shutdown), [notify, shutdown]);
  cleanup.add(`upsmon pid ${proc.pid}`, () => proc.stop());

  // upsmon prints nothing when its first poll is done: give it time, and fail early if it exited
  const exited = await Promise.race([proc.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), settleMs))]);
  if (exited) throw new Error(`upsmon exited at start: ${proc.stderr()}`);

  return { pid: proc.pid, notifications: () => log.read(), stop: () => proc.stop() };
}
