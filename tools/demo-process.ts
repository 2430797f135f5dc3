/**
 * Runs the `npm start` demo (scripts/start.ts) as a child process, on another
 * port and userDir, optionally further into its outage script: the screenshot
 * script and the demo test drive the same code path a user runs.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..");

export interface DemoProcess {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startDemo(port: number, startAt = 0, timeoutMs = 60000): Promise<DemoProcess> {
  const userDir = mkdtempSync(join(tmpdir(), "nut-shutdown-demo-"));
  const child = spawn(process.execPath, ["-r", require.resolve("tsx/cjs"), join(root, "scripts", "start.ts")], {
    cwd: root,
    env: { ...process.env, PORT: String(port), DEMO_START_AT: String(startAt), DEMO_USERDIR: userDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
      const t = setTimeout(() => child.kill("SIGKILL"), 15000);
      await exited;
      clearTimeout(t);
    }
    rmSync(userDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!/\[info\] Started flows/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the demo did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${port}`, log: () => out, stop };
}
