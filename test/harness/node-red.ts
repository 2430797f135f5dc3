/**
 * A real `node-red` process for end-to-end tests, the demo and benchmarks:
 * its own userDir, this package linked into the userDir's node_modules (as
 * `npm install /path/to/pkg` would), bound to 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repoRoot = resolve(__dirname, "..", "..");
const redJs = join(repoRoot, "node_modules", "node-red", "red.js");

export interface NodeRedOptions {
  /** Reuse a userDir (to restart with the same flows, credentials and context). */
  userDir?: string;
  port: number;
  /** Flows written to flows.json before start (when given). */
  flows?: unknown[];
  /** Persistent context in the userDir (localfilesystem) as the default store. */
  persistentContext?: boolean;
  /** Extra environment for the process. */
  env?: NodeJS.ProcessEnv;
  /** Path of the node binary (to run under another Node.js version). */
  nodeBinary?: string;
}

export interface NodeRedProcess {
  url: string;
  port: number;
  userDir: string;
  pid: number;
  /** Everything the process printed so far. */
  log(): string;
  /** Resolves when `text` (string or regexp) has appeared in the log after `fromOffset`. */
  waitForLog(text: string | RegExp, timeoutMs?: number, fromOffset?: number): Promise<void>;
  /** SIGTERM, wait for exit (SIGKILL after 10 s). Keeps the userDir. */
  stop(): Promise<void>;
}

export function makeUserDir(): string {
  return mkdtempSync(join(tmpdir(), "nut-shutdown-nr-"));
}

function writeSettings(userDir: string, port: number, persistentContext: boolean): void {
  const contextStorage = persistentContext
    ? `contextStorage: { default: "file", file: { module: "localfilesystem", config: { flushInterval: 1 } }, memory: { module: "memory" } },`
    : "";
  writeFileSync(
    join(userDir, "settings.js"),
    `module.exports = {
  uiHost: "127.0.0.1",
  uiPort: ${port},
  flowFile: "flows.json",
  credentialSecret: "test-only-secret-not-for-production",
  telemetry: { enabled: false },
  diagnostics: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  logging: { console: { level: "info", metrics: false, audit: false } },
  ${contextStorage}
};
`,
  );
}

/** Link this package into userDir/node_modules, as an install would. */
export function installPackage(userDir: string): void {
  const nm = join(userDir, "node_modules");
  mkdirSync(nm, { recursive: true });
  const link = join(nm, "node-red-contrib-nut-shutdown");
  if (!existsSync(link)) symlinkSync(repoRoot, link, "dir");
  if (!existsSync(join(userDir, "package.json"))) {
    writeFileSync(
      join(userDir, "package.json"),
      JSON.stringify({ name: "node-red-project", private: true, dependencies: { "node-red-contrib-nut-shutdown": `file:${repoRoot}` } }, null, 2),
    );
  }
}

export async function startNodeRed(opts: NodeRedOptions): Promise<NodeRedProcess> {
  if (!existsSync(join(repoRoot, "dist", "nodes"))) throw new Error("dist/ is missing: run `npm run build` first");
  const userDir = opts.userDir ?? makeUserDir();
  writeSettings(userDir, opts.port, opts.persistentContext ?? false);
  installPackage(userDir);
  if (opts.flows) writeFileSync(join(userDir, "flows.json"), JSON.stringify(opts.flows, null, 2));

  const child: ChildProcess = spawn(opts.nodeBinary ?? process.execPath, [redJs, "--userDir", userDir, "--settings", join(userDir, "settings.js")], {
    cwd: userDir,
    env: { ...process.env, ...opts.env, NODE_RED_HOME: userDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  let exited = false;
  const exitPromise = new Promise<void>((res) => child.once("exit", () => { exited = true; for (const w of [...waiters]) w(); res(); }));

  const waitForLog = (text: string | RegExp, timeoutMs = 30000, fromOffset = 0) =>
    new Promise<void>((res, rej) => {
      const check = () => {
        const tail = out.slice(fromOffset);
        if (typeof text === "string" ? tail.includes(text) : text.test(tail)) { done(); res(); return; }
        if (exited) { done(); rej(new Error(`node-red exited before printing ${String(text)}:\n${out}`)); }
      };
      const timer = setTimeout(() => { done(); rej(new Error(`timed out waiting for ${String(text)} in node-red output:\n${out}`)); }, timeoutMs);
      const done = () => { clearTimeout(timer); waiters.delete(check); };
      waiters.add(check);
      check();
    });

  const proc: NodeRedProcess = {
    url: `http://127.0.0.1:${opts.port}`,
    port: opts.port,
    userDir,
    pid: child.pid ?? -1,
    log: () => out,
    waitForLog,
    stop: async () => {
      if (exited) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10000);
      await exitPromise;
      clearTimeout(t);
    },
  };
  try {
    await waitForLog(/Started flows|Server now running at/, 60000);
    await waitForLog("Server now running at", 60000);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return proc;
}

/** Remove a userDir made by makeUserDir. */
export function removeUserDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
