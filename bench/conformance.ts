/**
 * The differential test against upsmon in full (test/harness/conformance.ts):
 * the named fault timelines and `count` generated ones, `batch` at a time,
 * each on its own real upsd with a real upsmon and nut-ups-in → ups-aggregate.
 * Prints every disagreement with its trace, then one line of figures; fails
 * (exit 1) on any disagreement.
 *
 *   npm run conformance [-- --count 200 --seed N --batch 10]
 *   npm run bench -- conformance [--quick] [--count 200 --seed N --batch 10]
 */
import { generated, runTimelines, tolerance, SETTINGS, type Timeline, type Verdict } from "../test/harness/conformance";
import { NAMED } from "../test/harness/conformance-timelines";
import { upsmonVersion } from "../test/harness/upsmon";
import { median } from "./lib/stats";

export interface ConformanceOptions {
  /** Generated timelines, beside the named ones. */
  count: number;
  seed: number;
  /** Timelines played at once, each on its own upsd. */
  batch: number;
}

/** Plays them all; prints every disagreement and the figures; throws when any timeline disagrees. */
export async function runConformance({ count, seed, batch }: ConformanceOptions): Promise<void> {
  const all: Timeline[] = [...NAMED, ...generated(seed, count)];
  const started = Date.now();
  const verdicts: Verdict[] = [];
  for (let i = 0; i < all.length; i += batch) {
    const part = await runTimelines(all.slice(i, i + batch));
    verdicts.push(...part);
    for (const v of part.filter((x) => !x.agree)) {
      process.stdout.write(`\nDISAGREE ${v.timeline.name}: upsmon ${v.upsmon ?? "never"}, ours ${v.ours ?? "never"}\n  ${v.trace.join("\n  ")}\n`);
    }
    process.stdout.write(
      `conformance: ${verdicts.length}/${all.length} played, ${verdicts.filter((v) => !v.agree).length} disagree (${Math.round((Date.now() - started) / 1000)} s)\n`,
    );
  }
  const due = verdicts.filter((v) => v.upsmon !== null || v.ours !== null);
  const both = verdicts.filter((v) => v.upsmon !== null && v.ours !== null);
  const diffs = both.map((v) => (v.ours as number) - (v.upsmon as number)).sort((a, b) => a - b);
  const known = verdicts.filter((v) => v.expected !== undefined);
  const { early, late } = tolerance(SETTINGS);
  process.stdout.write(
    `\nupsmon ${upsmonVersion() ?? "?"}: ${verdicts.length} timelines (${NAMED.length} named, ${count} generated, seed ${seed}), ` +
      `${verdicts.filter((v) => v.agree).length} agree, ${verdicts.length - verdicts.filter((v) => v.agree).length} disagree; ` +
      `shutdown due in ${due.length}; ours − upsmon when both: median ${diffs.length ? median(diffs).toFixed(1) : "-"} s, ` +
      `range ${diffs.length ? `${diffs[0].toFixed(1)}…${diffs[diffs.length - 1].toFixed(1)}` : "-"} s (allowed −${early}…+${late} s); ` +
      `${known.length} held to upsmon.c 2.8.x rules the installed upsmon lacks; poll ${SETTINGS.poll} s, dead time ${SETTINGS.dead} s; ` +
      `${Math.round((Date.now() - started) / 1000)} s\n`,
  );
  const disagree = verdicts.filter((v) => !v.agree).length;
  if (disagree) throw new Error(`${disagree} of ${verdicts.length} timelines disagree with upsmon`);
}
