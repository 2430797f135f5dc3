/**
 * Baseline of the fan-out benchmark: the least an ssh2 program can do. It
 * connects to every target at once (pinned ed25519 host key, readyTimeout
 * 5000), runs one command on each, and prints one line per result. Started
 * as its own process by bench/fanout.ts:
 *
 *   node -r tsx/cjs bench/lib/ssh2-fanout.ts CONFIG.json
 *
 * Prints "start <epoch ms>" just before connecting, and "cpu <seconds>"
 * used since then (its startup is not counted) on SIGTERM or when every
 * target answered. `preconnected`: it first connects to every target, runs
 * WARMUP_COMMAND on each (as a pre-flight runs its check: sshd sets up the
 * session at the first command), waits until each is done or failed (the
 * hung ones at readyTimeout), and "start" is when it then sends the command
 * on every open connection: the floor of a pre-connected fan-out (sshd
 * starting the command on each host).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Client } from "ssh2";

export interface FanoutConfig {
  user: string;
  keyFile: string;
  command: string;
  targets: Array<{ address: string; port: number; fingerprint: string }>;
  preconnected?: boolean;
}

/** What the pre-connected run sends first on each connection (recorded by the lab, not timed). */
export const WARMUP_COMMAND = "true # warm-up";

let cpuAtStart: NodeJS.CpuUsage | undefined;

function finish(): void {
  const u = process.cpuUsage(cpuAtStart);
  process.stdout.write(`cpu ${(u.user + u.system) / 1e6}\n`, () => process.exit(0));
}

function main(): void {
  const cfg = JSON.parse(readFileSync(process.argv[2], "utf8")) as FanoutConfig;
  const key = readFileSync(cfg.keyFile);
  let left = cfg.targets.length;
  const ended = (): void => {
    if (--left === 0) finish();
  };
  process.on("SIGTERM", finish);
  const run = (conn: Client, end: (what: string) => void, command = cfg.command): void => {
    conn.exec(command, (err, stream) => {
      if (err) return end("exec-error");
      stream.on("data", () => undefined);
      stream.stderr.on("data", () => undefined);
      stream.on("close", () => end("ok"));
    });
  };
  const start = (): void => {
    cpuAtStart = process.cpuUsage();
    process.stdout.write(`start ${Date.now()}\n`);
  };
  /** Pre-connected: the connections that came up, run once every target is up or failed. */
  const opened: Array<() => void> = [];
  let settled = 0;
  const settle = (): void => {
    if (++settled < cfg.targets.length) return;
    start();
    for (const go of opened) go();
  };
  if (!cfg.preconnected) start();
  for (const t of cfg.targets) {
    const conn = new Client();
    let done = false;
    let counted = false;
    /** This target is ready to go, or will never be (pre-connected runs start once every target is one or the other). */
    const settleOnce = (): void => {
      if (counted) return;
      counted = true;
      settle();
    };
    const end = (what: string): void => {
      if (done) return;
      done = true;
      process.stdout.write(`${what} ${t.address}\n`);
      conn.end();
      ended();
    };
    conn.on("error", (err) => {
      end(`error ${err.message.replace(/\s+/g, "_")}`);
      if (cfg.preconnected) settleOnce();
    });
    conn.on("ready", () => {
      if (!cfg.preconnected) return run(conn, end);
      run(
        conn,
        (what) => {
          if (what === "ok") opened.push(() => run(conn, end));
          else end(what);
          settleOnce();
        },
        WARMUP_COMMAND,
      );
    });
    conn.connect({
      host: t.address,
      port: t.port,
      username: cfg.user,
      privateKey: key,
      readyTimeout: 5000,
      algorithms: { serverHostKey: ["ssh-ed25519"] },
      hostVerifier: (blob: Buffer) => "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "") === t.fingerprint,
    });
  }
}

if (require.main === module) main();
