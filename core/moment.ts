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
 * The longest delay setTimeout keeps (about 24.8 days): a longer one fires
 * at once. Timers further away are armed for this long and re-armed.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A setTimeout delay for a deadline at `at` (mono) seen from `now` (mono), within setTimeout's range. */
export function timerDelay(at: number, now: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, at - now));
}
