/**
 * Numbers as people read them, the same in every status and message: a
 * charge, a runtime left on battery, a duration, a countdown, a time of day.
 *
 * Minutes are whole and rounded down, everywhere: a runtime of 1290 s reads
 * "21 min" in nut-ups-in, in ups-aggregate and in battery tiers alike, and a
 * runtime never reads longer than the UPS estimates. Under a minute a
 * runtime reads "<1 min"; from an hour on, "1 h 05 min". These are
 * language-neutral units: statuses put them in translated texts as they are.
 */

/** "73", "64.5": a charge in % with at most one decimal. */
export function formatCharge(charge: number): string {
  return String(Math.round(charge * 10) / 10);
}

/** "64 %"; "? %" when unknown. */
export function formatPercent(charge: number | null): string {
  return charge == null ? "? %" : `${formatCharge(charge)} %`;
}

/** "21 min", "1 h 05 min": whole minutes, rounded down; "<1 min" under a minute. */
export function formatMinutes(seconds: number): string {
  if (seconds < 60) return "<1 min";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** A runtime left, as an estimate: "~21 min", "~1 h 05 min", "<1 min"; null when unknown. */
export function formatRuntime(seconds: number | null): string | null {
  if (seconds == null) return null;
  return seconds < 60 ? "<1 min" : `~${formatMinutes(seconds)}`;
}

/** "64 % ~18 min" (charge, and runtime when known): the levels ups-aggregate and battery tiers show. */
export function formatLevels(charge: number | null, runtime: number | null): string {
  const rt = formatRuntime(runtime);
  return rt ? `${formatPercent(charge)} ${rt}` : formatPercent(charge);
}

/** "73% 21 min", "8%" (LB, FSD: the runtime left out): the compact levels nut-ups-in shows beside NUT's flags. */
export function formatUpsLevels(charge: number | null, runtime: number | null): string {
  const parts: string[] = [];
  if (charge !== null) parts.push(`${formatCharge(charge)}%`);
  if (runtime !== null) parts.push(formatMinutes(runtime));
  return parts.join(" ");
}

/** "45 s", "12 min", "1 h 03 min": how long something lasted (seconds under a minute). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : formatMinutes(s);
}

/** "22 s": the seconds left until `at`, rounded up (a countdown never reads 0 s before its time). */
export function formatCountdown(at: number, now: number): string {
  // less a microsecond: (x + 5000) - (x + 1000) may be 4000.0000000001 in doubles, which is 4 s, not 5
  return `${Math.max(0, Math.ceil((at - now) / 1000 - 1e-6))} s`;
}

/** "0.4 s": a short duration to the tenth of a second. */
export function formatSeconds(ms: number): string {
  return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
}

/** Local wall-clock "14:02" of an epoch-ms time. */
export function formatClock(time: number): string {
  const d = new Date(time);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}
