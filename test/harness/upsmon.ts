/**
 * NUT's own upsmon, run from a scratch dir so that it can never shut this
 * machine down, whatever it decides:
 * - it runs as the unprivileged user `nobody` when we are root (it could not
 *   halt the machine even if it tried), single process (-p), in the foreground (-F);
 * - its SHUTDOWNCMD and NOTIFYCMD are scripts written here that only append a
 *   line to a file; the configuration is checked for that before it starts;
 * - it talks to upsd on loopback only.
 * Used by the benchmarks (bench/lib/upsmon.ts) and the differential test
 * against upsmon (test/harness/conformance.ts).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { terminate } from "./proc";

const UPSMON_CANDIDATES = ["/lib/nut/upsmon", "/usr/lib/nut/upsmon", "/usr/sbin/upsmon", "/sbin/upsmon"];
const NOBODY = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;

export const UPSMON_INSTALL = "apt-get install -y nut-client";

/** The upsmon binary to run: $UPSMON_BIN (e.g. a newer NUT built by hand), else the distribution's. */
export function upsmonBinary(): string | null {
  const own = process.env.UPSMON_BIN;
  if (own) return existsSync(own) ? own : null;
  return UPSMON_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** What `upsmon -V` says of its version ("2.8.0"), or null. */
export function upsmonVersion(): string | null {
  const bin = upsmonBinary();
  if (!bin) return null;
  try {
    const out = execFileSync(bin, ["-V"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return /(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? null;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return /(\d+\.\d+\.\d+)/.exec(`${e.stdout ?? ""}${e.stderr ?? ""}`)?.[1] ?? null;
  }
}

export interface Notification {
  /** Epoch milliseconds (from the script's `date +%s%N`). */
  time: number;
  type: string;
  /** `ups@host:port` as upsmon names it ("" for SHUTDOWN). */
  ups: string;
}

/**
 * A file the recording scripts append "<epoch ns> <type> <ups>" lines to:
 * one per upsmon, or one shared by many (the latency benchmark restarts one
 * upsmon per sample and reads one file).
 */
export class NotifyLog {
  readonly path: string;
  private offset = 0;

  constructor(readonly dir: string) {
    this.path = join(dir, "notify.log");
    writeFileSync(this.path, "");
    if (asRoot) chownSync(this.path, NOBODY.uid, NOBODY.gid);
  }

  /** The lines added since the last call. */
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
        return { time: Number(BigInt(ns) / 1000000n), type, ups: ups ?? "" };
      });
  }
}

/** A scratch dir readable by `nobody`. */
export function upsmonDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A recording script: appends "<epoch ns> <type> $UPSNAME" to `log`, nothing
 * else. `type` is a fixed word (SHUTDOWNCMD) or "$NOTIFYTYPE" (NOTIFYCMD).
 */
export function writeRecorder(dir: string, name: string, type: "$NOTIFYTYPE" | "SHUTDOWNCMD", log: NotifyLog): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "$(date +%s%N) ${type} $UPSNAME" >> ${log.path}\n`, { mode: 0o755 });
  return path;
}

export interface UpsmonProcess {
  pid: number;
  /** The process ended (upsmon exits after running its SHUTDOWNCMD). */
  exited: Promise<void>;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Runs upsmon on `config` (the whole upsmon.conf) from `dir`. Refuses a
 * configuration whose SHUTDOWNCMD or NOTIFYCMD is not one of `recorders`, or
 * that monitors anything off loopback. `stop()` also removes `dir`.
 */
export function spawnUpsmon(dir: string, config: string, recorders: string[]): UpsmonProcess {
  const bin = upsmonBinary();
  if (!bin) throw new Error(`upsmon not found (${UPSMON_INSTALL})`);
  const lines = config.split("\n");
  const command = (key: string) => lines.filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1).replace(/^"|"$/g, ""));
  const monitors = lines.filter((l) => l.startsWith("MONITOR "));
  const unsafe =
    command("SHUTDOWNCMD").length !== 1 ||
    command("SHUTDOWNCMD").some((c) => !recorders.includes(c)) ||
    command("NOTIFYCMD").some((c) => !recorders.includes(c)) ||
    monitors.some((l) => !/^MONITOR [^@\s]+@127\.\d+\.\d+\.\d+:\d+ /.test(l));
  if (unsafe) throw new Error("upsmon: refusing a configuration that could run anything but the recorders, or leave loopback");
  writeFileSync(join(dir, "upsmon.conf"), config, { mode: 0o644 });
  chmodSync(join(dir, "upsmon.conf"), 0o644);

  const child: ChildProcess = spawn(bin, ["-F", "-p"], {
    ...(asRoot ? NOBODY : {}),
    env: { PATH: "/usr/bin:/bin", NUT_CONFPATH: dir, NUT_STATEPATH: dir, NUT_ALTPIDPATH: dir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const pid = child.pid ?? 0;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let stopped = false;
  return {
    pid,
    exited,
    stderr: () => stderr,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        await terminate([pid], 3000);
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
