/**
 * A real, headless Node-RED with this package installed (a symlink to the
 * repository, loading the built dist/), on a free loopback port, with
 * admin authentication: for editor and permission tests.
 *
 *   const nr = await startNodeRed();
 *   const token = await nr.token("admin");   // or "viewer" (read-only)
 *   await nr.stop();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync, openSync, closeSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./system";

const req = createRequire(__filename);
const ROOT = resolve(__dirname, "..", "..");

/** Users of every instance: "admin" may do anything, "viewer" only read. */
export const NODE_RED_USERS = {
  admin: { password: "admin-pass-1", permissions: "*" },
  viewer: { password: "viewer-pass-1", permissions: "read" },
} as const;

export type NodeRedUser = keyof typeof NODE_RED_USERS;

export interface NodeRedInstance {
  url: string;
  userDir: string;
  /** An access token for `user` (POST /auth/token). */
  token(user: NodeRedUser): Promise<string>;
  stop(): Promise<void>;
}

/** Why the instance cannot start here (the package is not built), or null. */
export function nodeRedMissing(): string | null {
  return existsSync(join(ROOT, "dist", "nodes", "nut-server.js")) ? null : "dist/ is not built (npm run build)";
}

export async function startNodeRed(): Promise<NodeRedInstance> {
  const missing = nodeRedMissing();
  if (missing) throw new Error(missing);
  const bcrypt = req("bcryptjs") as { hashSync(pw: string, rounds: number): string };
  const userDir = await mkdtemp(join(tmpdir(), "nr-user-"));
  const port = await freePort();
  mkdirSync(join(userDir, "node_modules"));
  symlinkSync(ROOT, join(userDir, "node_modules", "node-red-contrib-nut-shutdown"), "dir");
  writeFileSync(join(userDir, "package.json"), JSON.stringify({ name: "nr-test-userdir", private: true }));
  const users = Object.entries(NODE_RED_USERS).map(([username, u]) => ({
    username,
    password: bcrypt.hashSync(u.password, 8),
    permissions: u.permissions,
  }));
  writeFileSync(
    join(userDir, "settings.js"),
    `module.exports = ${JSON.stringify({
      uiHost: "127.0.0.1",
      uiPort: port,
      credentialSecret: "test-secret-not-for-production",
      flowFile: "flows.json",
      adminAuth: { type: "credentials", users },
      telemetry: { enabled: false },
      diagnostics: { enabled: false },
      editorTheme: { tours: false, projects: { enabled: false } },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
      logging: { console: { level: "info" } },
    })};\n`,
  );
  const log = join(userDir, "node-red.log");
  const fd = openSync(log, "a");
  const child: ChildProcess = spawn(process.execPath, [req.resolve("node-red/red.js"), "--userDir", userDir, "--port", String(port)], {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false" },
  });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const slow = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10000))]);
      if (slow) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    await rm(userDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) {
      const text = readFileSync(log, "utf8").slice(-3000);
      await stop();
      throw new Error(`Node-RED exited during start:\n${text}`);
    }
    const up = await fetch(`${url}/auth/login`).then((r) => r.ok, () => false);
    if (up && /Started flows|Server now running/.test(readFileSync(log, "utf8"))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error("Node-RED did not start within 60 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    userDir,
    async token(user) {
      const res = await fetch(`${url}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_id: "node-red-admin", grant_type: "password", scope: NODE_RED_USERS[user].permissions, username: user, password: NODE_RED_USERS[user].password }),
      });
      if (!res.ok) throw new Error(`token for ${user}: HTTP ${res.status}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    stop,
  };
}
