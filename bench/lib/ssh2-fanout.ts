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
 * target answered.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Client } from "ssh2";

export interface FanoutConfig {
  user: string;
  keyFile: string;
  command: string;
  targets: Array<{ address: string; port: number; fingerprint: string }>;
}

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
  cpuAtStart = process.cpuUsage();
  process.stdout.write(`start ${Date.now()}\n`);
  for (const t of cfg.targets) {
    const conn = new Client();
    let done = false;
    const end = (what: string): void => {
      if (done) return;
      done = true;
      process.stdout.write(`${what} ${t.address}\n`);
      conn.end();
      ended();
    };
    conn.on("error", (err) => end(`error ${err.message.replace(/\s+/g, "_")}`));
    conn.on("ready", () => {
      conn.exec(cfg.command, (err, stream) => {
        if (err) return end("exec-error");
        stream.on("data", () => undefined);
        stream.stderr.on("data", () => undefined);
        stream.on("close", () => end("ok"));
      });
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
