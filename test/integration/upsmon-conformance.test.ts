/**
 * The differential test against NUT's own upsmon (a bounded slice; the full
 * set is `npm run conformance`): named fault timelines and generated ones,
 * played on a real upsd to a real upsmon and to nut-ups-in → ups-aggregate
 * (NUT minimum supplies). They must agree on whether the shutdown is due,
 * and when (test/harness/conformance.ts: tolerance).
 */
import should from "../harness/should";
import { generated, runTimelines, tolerance, SETTINGS, type Verdict } from "../harness/conformance";
import { NAMED } from "../harness/conformance-timelines";
import { nutLabMissing, NUT_LAB_INSTALL } from "../harness/nut-lab";
import { requireComponent } from "../harness/system";
import { UPSMON_INSTALL, upsmonBinary, upsmonVersion } from "../harness/upsmon";

/** The seed of the generated slice: the same timelines every run. */
const SEED = 20261205;

function report(verdicts: Verdict[]): string {
  return verdicts
    .filter((v) => !v.agree)
    .map(
      (v) =>
        `\n${v.timeline.name}: upsmon ${v.upsmon ?? "never"}, ours ${v.ours ?? "never"}${v.expected !== undefined ? `, upsmon.c 2.8.x ${v.expected ?? "never"}` : ""}\n  ${v.trace.join("\n  ")}`,
    )
    .join("\n");
}

describe(`differential test against upsmon ${upsmonVersion() ?? ""} (real upsd, real upsmon, nut-ups-in → ups-aggregate)`, function () {
  this.timeout(300_000);

  const GENERATED = generated(SEED, 8);
  let verdicts: Verdict[] = [];

  before(async function () {
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    requireComponent(this, "upsmon (NUT)", upsmonBinary() ? null : "upsmon not found", UPSMON_INSTALL);
    // every timeline at once: each has its own upsd, upsmon and sub-flow
    verdicts = await runTimelines([...NAMED, ...GENERATED]);
  });

  it(`the ${NAMED.length} named fault timelines: same verdict, within ${tolerance(SETTINGS).late} s late / ${tolerance(SETTINGS).early} s early`, () => {
    const named = verdicts.slice(0, NAMED.length);
    should(named.filter((v) => v.agree).length).equal(NAMED.length, report(named));
    // the test can tell: some timelines shut down, others must not
    should(named.some((v) => v.ours !== null)).be.true();
    should(named.some((v) => v.ours === null)).be.true();
  });

  it(`${GENERATED.length} generated timelines (seed ${SEED}): same verdict`, () => {
    const gen = verdicts.slice(NAMED.length);
    should(gen.filter((v) => v.agree).length).equal(GENERATED.length, report(gen));
  });
});
