/**
 * A real `node-red` process for end-to-end and editor tests, the demo and
 * benchmarks: its own userDir, this package linked into the userDir's
 * node_modules (as `npm install /path/to/pkg` would), bound to 127.0.0.1 only,
 * on a free port unless told otherwise.
 *
 *   const nr = await startNodeRed({ adminAuth: true });
 *   const token = await nr.token("admin");   // or "viewer" (read-only)
 *   await nr.stop();
 *   removeUserDir(nr.userDir);
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { targetRuntime, type NodeRedPackage } from "./runtime";
import { freePort } from "./system";

const req = createRequire(__filename);
export const repoRoot = resolve(__dirname, "..", "..");
export type { NodeRedPackage };

/** FlowFuse Dashboard 2.0, which example 05 needs (see `NodeRedOptions.dashboard`). */
export const DASHBOARD_MODULE = "@flowfuse/node-red-dashboard";

/** The users of an instance started with `adminAuth`: "admin" may do anything, "viewer" only read. */
export const NODE_RED_USERS = {
  admin: { password: "admin-pass-1", permissions: "*" },
  viewer: { password: "viewer-pass-1", permissions: "read" },
} as const;

export type NodeRedUser = keyof typeof NODE_RED_USERS;

export interface NodeRedOptions {
  /** Reuse a userDir (to restart with the same flows, credentials and context). */
  userDir?: string;
  /** Port on 127.0.0.1; a free one when not given. */
  port?: number;
  /** Flows written to flows.json before start (when given). */
  flows?: unknown[];
  /** Persistent context in the userDir (localfilesystem) as the default store. */
  persistentContext?: boolean;
  /** The localfilesystem store's config with `persistentContext` (default `{ flushInterval: 1 }`). */
  contextConfig?: { cache?: boolean; flushInterval?: number };
  /** Admin authentication with the users of NODE_RED_USERS (for permission tests; see `token`). */
  adminAuth?: boolean;
  /** Extra environment for the process. */
  env?: NodeJS.ProcessEnv;
  /** Which installed Node-RED to run; the run's target (`targetRuntime`) by default. */
  runtime?: NodeRedPackage;
  /**
   * settings.js `lang`: the language of the runtime (statuses, log). "en-US"
   * by default, so what a test reads does not depend on the machine's locale.
   */
  lang?: string;
  /**
   * Load FlowFuse Dashboard 2.0 (`@flowfuse/node-red-dashboard`, a dev
   * dependency that Node-RED finds in the repository's node_modules). Off by
   * default: its modules are then on the palette deny list, so Node-RED runs
   * as for a user without it.
   */
  dashboard?: boolean;
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
  /** An access token for `user` (POST /auth/token); only with `adminAuth`. */
  token(user: NodeRedUser): Promise<string>;
  /** SIGTERM, wait for exit (SIGKILL after 10 s). Keeps the userDir. */
  stop(): Promise<void>;
  /** SIGKILL at once, as a crash or the OOM killer would: no close handlers, no flush of context stores. Keeps the userDir. */
  kill(): Promise<void>;
}

/** Why this package cannot be started in Node-RED here (not built), or null. */
export function packageNotBuilt(): string | null {
  return existsSync(join(repoRoot, "dist", "nodes")) ? null : "dist/ is missing: run `npm run build` first";
}

export function makeUserDir(): string {
  return mkdtempSync(join(tmpdir(), "nut-shutdown-nr-"));
}

function adminAuthSetting(): string {
  const bcrypt = req("bcryptjs") as { hashSync(pw: string, rounds: number): string };
  const users = Object.entries(NODE_RED_USERS).map(([username, u]) => ({
    username,
    password: bcrypt.hashSync(u.password, 8),
    permissions: u.permissions,
  }));
  return `adminAuth: ${JSON.stringify({ type: "credentials", users })},`;
}

function writeSettings(
  userDir: string,
  port: number,
  persistentContext: boolean,
  adminAuth: boolean,
  contextConfig: object = { flushInterval: 1 },
  lang = "en-US",
  dashboard = false,
): void {
  const palette = dashboard ? "{ allowInstall: false }" : `{ allowInstall: false, denyList: ${JSON.stringify([DASHBOARD_MODULE])} }`;
  const contextStorage = persistentContext
    ? `contextStorage: { default: "file", file: { module: "localfilesystem", config: ${JSON.stringify(contextConfig)} }, memory: { module: "memory" } },`
    : "";
  writeFileSync(
    join(userDir, "settings.js"),
    `module.exports = {
  uiHost: "127.0.0.1",
  uiPort: ${port},
  flowFile: "flows.json",
  lang: ${JSON.stringify(lang)},
  credentialSecret: "test-only-secret-not-for-production",
  telemetry: { enabled: false },
  diagnostics: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  externalModules: { autoInstall: false, palette: ${palette} },
  logging: { console: { level: "info", metrics: false, audit: false } },
  ${contextStorage}
  ${adminAuth ? adminAuthSetting() : ""}
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

export async function startNodeRed(opts: NodeRedOptions = {}): Promise<NodeRedProcess> {
  const notBuilt = packageNotBuilt();
  if (notBuilt) throw new Error(notBuilt);
  const port = opts.port ?? (await freePort());
  const adminAuth = opts.adminAuth ?? false;
  const userDir = opts.userDir ?? makeUserDir();
  writeSettings(userDir, port, opts.persistentContext ?? false, adminAuth, opts.contextConfig, opts.lang, opts.dashboard);
  installPackage(userDir);
  if (opts.flows) writeFileSync(join(userDir, "flows.json"), JSON.stringify(opts.flows, null, 2));

  const redJs = join(repoRoot, "node_modules", opts.runtime ?? targetRuntime, "red.js");
  const child: ChildProcess = spawn(process.execPath, [redJs, "--userDir", userDir, "--settings", join(userDir, "settings.js")], {
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
  const exitPromise = new Promise<void>((res) =>
    child.once("exit", () => {
      exited = true;
      for (const w of [...waiters]) w();
      res();
    }),
  );

  const waitForLog = (text: string | RegExp, timeoutMs = 30000, fromOffset = 0) =>
    new Promise<void>((res, rej) => {
      const check = () => {
        const tail = out.slice(fromOffset);
        if (typeof text === "string" ? tail.includes(text) : text.test(tail)) {
          done();
          res();
          return;
        }
        if (exited) {
          done();
          rej(new Error(`node-red exited before printing ${String(text)}:\n${out}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        rej(new Error(`timed out waiting for ${String(text)} in node-red output:\n${out}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const url = `http://127.0.0.1:${port}`;
  const proc: NodeRedProcess = {
    url,
    port,
    userDir,
    pid: child.pid ?? -1,
    log: () => out,
    waitForLog,
    token: async (user) => {
      if (!adminAuth) throw new Error("token(): this Node-RED was started without adminAuth");
      const { password, permissions } = NODE_RED_USERS[user];
      const res = await fetch(`${url}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_id: "node-red-admin", grant_type: "password", scope: permissions, username: user, password }),
      });
      if (!res.ok) throw new Error(`token for ${user}: HTTP ${res.status}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    stop: async () => {
      if (exited) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10000);
      await exitPromise;
      clearTimeout(t);
    },
    kill: async () => {
      if (exited) return;
      child.kill("SIGKILL");
      await exitPromise;
    },
  };
  try {
    // "Server now running at http://…/" in the runtime's language: the address is the same in all
    await waitForLog(`${url}/`, 60000);
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

/**
 * A full deploy of `flows` through the admin API, as the editor's Deploy
 * does; throws unless Node-RED accepts it (204). Resolves with the length of
 * the log before the deploy, to wait for what it prints next.
 */
export async function deployFlows(nr: NodeRedProcess, flows: unknown[]): Promise<number> {
  const from = nr.log().length;
  const res = await fetch(`${nr.url}/flows`, {
    method: "POST",
    headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
    body: JSON.stringify(flows),
  });
  if (res.status !== 204) throw new Error(`deploy: HTTP ${res.status} ${await res.text()}`);
  return from;
}
