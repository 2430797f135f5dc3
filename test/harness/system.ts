/**
 * System components the real-parts tests need (upsd, sshd, chromium).
 *
 * Under CI (CI=true) a missing component fails the run: a green CI must mean
 * the tests really ran. On a laptop the suite skips with a loud message that
 * says what to install.
 */
import { accessSync, constants } from "node:fs";
import { connect, createServer } from "node:net";

export const inCI = /^(1|true|yes)$/i.test(process.env.CI ?? "");

/** First existing executable among `candidates`, else null. */
export function findExecutable(candidates: string[]): string | null {
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  return null;
}

/**
 * When `what` is missing (`missing` says why): throws in CI, else prints a
 * loud notice naming what to install and returns true (the caller skips).
 */
export function skipMissing(what: string, missing: string | null, install: string): boolean {
  if (!missing) return false;
  const text = `${what} is not available (${missing}). Install it with: ${install}`;
  if (inCI) throw new Error(`CI: ${text}`);
  console.warn(`\n  !!! SKIPPED: ${text}\n`);
  return true;
}

/** Call in a mocha `before` (with `this`): when `what` is missing, fail in CI, else skip the suite loudly. */
export function requireComponent(ctx: Mocha.Context, what: string, missing: string | null, install: string): void {
  if (skipMissing(what, missing, install)) ctx.skip();
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` right now. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
