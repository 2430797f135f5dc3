/**
 * The clocks the node shells read: the monotonic clock for every duration,
 * the wall clock for display, identities and what is stored (core/moment.ts).
 */
import { readFileSync } from "node:fs";
import type { Moment } from "../../core/moment";

/**
 * performance.now() reads the same clock as process.hrtime (libuv's, CLOCK_MONOTONIC), from
 * this process's start: the offset makes it the clock's own time without a BigInt per read
 * (every poll reads it).
 */
const monoOffset = ((): number => {
  performance.now(); // its first call loads it: not between the two reads
  const before = performance.now();
  const mono = Number(process.hrtime.bigint() / 1000n) / 1000;
  return mono - (before + performance.now()) / 2;
})();

/** CLOCK_MONOTONIC in ms: shared by every process of one boot, so a Node-RED restart keeps it. */
function systemNow(): Moment {
  return { mono: performance.now() + monoOffset, wall: Date.now() };
}

let source: () => Moment = systemNow;

export function now(): Moment {
  return source();
}

/** For tests only: read both clocks from elsewhere (a mocked clock); null restores the system clocks. */
export function useClock(read: (() => Moment) | null): void {
  source = read ?? systemNow;
}

let boot: string | null | undefined;

/**
 * This boot of the machine (Linux: /proc/sys/kernel/random/boot_id), or null
 * when unknown: a monotonic time stored by a Node-RED that ran in the same
 * boot can be compared with today's; one from another boot cannot.
 */
export function bootId(): string | null {
  if (boot === undefined) {
    try {
      boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().slice(0, 64) || null;
    } catch {
      boot = null;
    }
  }
  return boot;
}
