/**
 * npm run conformance [-- --count 200 --seed N --batch 10]: the differential
 * test against upsmon in full (test/harness/conformance.ts): the named fault
 * timelines and `count` generated ones, `batch` at a time, each on its own
 * real upsd with a real upsmon and nut-ups-in → ups-aggregate. Prints every
 * disagreement with its trace, then one line of figures; exits 1 on any.
 */
import { generated, runTimelines, tolerance, SETTINGS, type Timeline, type Verdict } from "../test/harness/conformance";
import { NAMED } from "../test/harness/conformance-timelines";
import { upsmonBinary, upsmonVersion } from "../test/harness/upsmon";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const count = arg("count", 200);
  const seed = arg("seed", 20261205);
  const batch = arg("batch", 10);
  if (!upsmonBinary()) throw new Error("upsmon not found (apt-get install -y nut-client)");
  const all: Timeline[] = [...NAMED, ...generated(seed, count)];
  const started = Date.now();
  const verdicts: Verdict[] = [];
  for (let i = 0; i < all.length; i += batch) {
    const part = await runTimelines(all.slice(i, i + batch));
    verdicts.push(...part);
    for (const v of part.filter((x) => !x.agree)) {
      process.stdout.write(`\nDISAGREE ${v.timeline.name}: upsmon ${v.upsmon ?? "never"}, ours ${v.ours ?? "never"}\n  ${v.trace.join("\n  ")}\n`);
    }
    process.stdout.write(`conformance: ${verdicts.length}/${all.length} played, ${verdicts.filter((v) => !v.agree).length} disagree (${Math.round((Date.now() - started) / 1000)} s)\n`);
  }
  const due = verdicts.filter((v) => v.upsmon !== null || v.ours !== null);
  const both = verdicts.filter((v) => v.upsmon !== null && v.ours !== null);
  const diffs = both.map((v) => (v.ours as number) - (v.upsmon as number)).sort((a, b) => a - b);
  const known = verdicts.filter((v) => v.expected !== undefined);
  const { early, late } = tolerance(SETTINGS);
  process.stdout.write(
    `\nupsmon ${upsmonVersion() ?? "?"}: ${verdicts.length} timelines (${NAMED.length} named, ${count} generated, seed ${seed}), ` +
      `${verdicts.filter((v) => v.agree).length} agree, ${verdicts.length - verdicts.filter((v) => v.agree).length} disagree; ` +
      `shutdown due in ${due.length}; ours − upsmon when both: median ${diffs.length ? diffs[Math.floor(diffs.length / 2)].toFixed(1) : "-"} s, ` +
      `range ${diffs.length ? `${diffs[0].toFixed(1)}…${diffs[diffs.length - 1].toFixed(1)}` : "-"} s (allowed −${early}…+${late} s); ` +
      `${known.length} held to upsmon.c 2.8.x rules the installed upsmon lacks; poll ${SETTINGS.poll} s, dead time ${SETTINGS.dead} s; ` +
      `${Math.round((Date.now() - started) / 1000)} s\n`,
  );
  process.exit(verdicts.every((v) => v.agree) ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`conformance: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
