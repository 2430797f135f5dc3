/**
 * A moment read on two clocks. Every duration (confirm, restore, dead time,
 * time on battery, retries, …) is measured on `mono`, a clock that only moves
 * forward at its own pace, so an NTP step (a Raspberry Pi without an RTC
 * jumps by months at boot) can neither fire nor end anything. `wall` is
 * for what people read, for outage identities and for what is stored.
 */
export interface Moment {
  /** Milliseconds on the monotonic clock (CLOCK_MONOTONIC: since boot, never steps). */
  mono: number;
  /** Epoch milliseconds (the wall clock: may step). */
  wall: number;
}

/** The wall-clock time of an earlier monotonic time `mono`, seen from `now`. */
export function wallOf(now: Moment, mono: number): number {
  return now.wall - (now.mono - mono);
}

/**
 * Whole seconds from `from` to `now` (monotonic ms), counted as a deadline
 * `from + s * 1000` is reached (`<= now`). In doubles, (from + 5000) - from
 * can be 4999.99999999 when the sum crosses a power of two (2^22 ms of
 * uptime is 70 min, 2^26 ms 18.6 h): a plain floor of the difference would
 * disagree with the timer it was woken by.
 */
export function wholeSecondsSince(from: number, now: number): number {
  const s = Math.floor((now - from) / 1000);
  if (from + (s + 1) * 1000 <= now) return s + 1;
  return from + s * 1000 > now ? s - 1 : s;
}

/**
 * The longest delay setTimeout keeps (about 24.8 days): a longer one fires
 * at once. Timers further away are armed for this long and re-armed.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A setTimeout delay for a deadline at `at` (mono) seen from `now` (mono), within setTimeout's range. */
export function timerDelay(at: number, now: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, at - now));
}
