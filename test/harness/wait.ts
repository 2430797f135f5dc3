/**
 * The one bounded wait of the tests, labs and benchmarks: poll a condition
 * until it holds, fail with what was awaited after a time limit. Real
 * timers, kept before any test mocks them (the decision tests mock
 * setTimeout and Date), and no import: the labs, Node-RED's test helper and
 * the benchmarks all use it.
 *
 *   const msg = await waitUntil("a message", () => got[0]);
 *   await waitUntil(`upsd serving ${ups}`, async () => served(ups), { timeoutMs: 10000, everyMs: 50 });
 */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetImmediate = globalThis.setImmediate;

/** What a check gives: a value when the wait is over, else undefined, null or false. */
export type Check<T> = T | undefined | null | false;

export interface WaitOptions {
  /** Real time before the wait fails (default 15 s). */
  timeoutMs?: number;
  /**
   * Time between two checks. Default: a turn of the event loop for the
   * first 100 checks (a flow with no I/O settles within a few), then 10 ms
   * (no busy loop while a server answers). Give it for a check that reads
   * files, runs a command or asks a server.
   */
  everyMs?: number;
}

/**
 * Polls `check` (sync or async) until it gives a value (anything but
 * undefined, null or false) and resolves with it. Fails with `what` after
 * the time limit (a number is `timeoutMs`); an error thrown by `check` ends
 * the wait at once (e.g. "sshd exited": said now, not after the timeout).
 */
export async function waitUntil<T>(what: string, check: () => Check<T> | Promise<Check<T>>, within: number | WaitOptions = {}): Promise<T> {
  const { timeoutMs = 15000, everyMs } = typeof within === "number" ? { timeoutMs: within } : within;
  let expired = false;
  const timer = realSetTimeout(() => (expired = true), timeoutMs);
  try {
    for (let polls = 0; ; polls++) {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
      if (expired) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) =>
        everyMs !== undefined ? realSetTimeout(resolve, everyMs) : polls < 100 ? realSetImmediate(resolve) : realSetTimeout(resolve, 10),
      );
    }
  } finally {
    realClearTimeout(timer);
  }
}
