/**
 * What the decision nodes' tests need on top of red-helper: a clock moved by
 * hand, and file context stores that outlive a simulated restart.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sinon from "sinon";
import { now as clockNow, useClock } from "../../nodes/lib/clock";
import { closeContextStores, helper } from "./red-helper";

/** The fake timers (sinon) while a test has them on. */
let fakeTimers: sinon.SinonFakeTimers | undefined;

/**
 * A clock the tests move by hand: Date and setTimeout are mocked (the nodes'
 * timers), setImmediate is not (Node-RED's message delivery). The nodes'
 * monotonic clock (nodes/lib/clock.ts) follows the mocked timers from where
 * the real one stood, and only `stepWall` moves the wall clock alone.
 */
let wallSteps = 0;
export const clock = {
  start(now: number) {
    const monoAtStart = clockNow().mono;
    wallSteps = 0;
    fakeTimers = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now });
    useClock(() => ({ mono: monoAtStart + (Date.now() - now - wallSteps), wall: Date.now() }));
  },
  /** Moves time forward, firing due timers on the way. */
  tick(ms: number) {
    fakeTimers!.tick(ms);
  },
  /** Steps the wall clock alone, as NTP does: no timer fires, the monotonic clock does not move. */
  stepWall(ms: number) {
    fakeTimers!.setSystemTime(Date.now() + ms);
    wallSteps += ms;
  },
  stop() {
    fakeTimers?.restore();
    fakeTimers = undefined;
    useClock(null);
  },
};

/**
 * localfilesystem context stores named "file" (the default store stays
 * memory), each in a temp dir, for restart tests. The caller loads the flow.
 */
export function fileStores() {
  const dirs: string[] = [];
  const use = (dir: string, config: object) =>
    helper.settings({ contextStorage: { default: { module: "memory" }, file: { module: "localfilesystem", config: { dir, ...config } } } });
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "decide-store-"));
    dirs.push(dir);
    return dir;
  };
  return {
    /** A fresh store for the next load; returns its dir. */
    open(config: object = {}): string {
      const dir = newDir();
      use(dir, config);
      return dir;
    },
    /**
     * Stops Node-RED as the process would (clean: flows stopped, stores
     * flushed; crash: neither); the next load gets a store on a copy of
     * what is on disk (only the files survive a restart, and the helper's
     * unload also wipes node contexts). Returns the new dir.
     */
    async restart(dir: string, how: "clean" | "crash", config: object = {}): Promise<string> {
      if (how === "clean") {
        await helper.clearFlows();
        await closeContextStores();
      }
      const next = newDir();
      cpSync(dir, next, { recursive: true });
      await helper.unload();
      use(next, config);
      return next;
    },
    /**
     * Replaces the context file of the store in `dir` that holds `key` with
     * `content` (what a crash, a power cut or a hand edit leaves); returns its path.
     */
    overwrite(dir: string, key: string, content: string): string {
      const base = join(dir, "context");
      const files = readdirSync(base, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith(".json") && readFileSync(join(base, f), "utf8").includes(JSON.stringify(key)));
      if (files.length !== 1) throw new Error(`expected one context file holding "${key}" in ${base}, found ${files.length}`);
      writeFileSync(join(base, files[0]), content);
      return join(base, files[0]);
    },
    /**
     * Unloads and closes the stores before removing the dirs: a store left
     * open flushes on its timer (30 s by default) and would write a dir back.
     */
    async removeAll() {
      await helper.unload();
      await closeContextStores();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
