import assert from "node:assert/strict";
import { DEMO_CYCLE, DEMO_LOW, demoReadings, demoStart, demoStep, mainsOff, type DemoState } from "../../tools/demo-outage";

/** Runs the demo script second by second and records when the weakest UPS first crosses each threshold while on battery. */
function run(seconds: number): { crossings: Array<[number, number]>; states: DemoState[] } {
  let s = demoStart();
  const crossings: Array<[number, number]> = [];
  const pending = new Set([90, 50, 20, 10]);
  const states: DemoState[] = [];
  for (let i = 0; i < seconds; i++) {
    s = demoStep(s, 1);
    states.push(s);
    const r = demoReadings(s);
    const weakest = Math.min(r.ups1.charge, r.ups2.charge);
    for (const t of [...pending]) {
      if (mainsOff(s.t) && weakest <= t) {
        crossings.push([t, s.t]);
        pending.delete(t);
      }
    }
  }
  return { crossings, states };
}

describe("demo outage script (npm start)", () => {
  it("walks the first outage through 90, 50, 20 and 10 % in order within the outage, ups2 being the weakest", () => {
    const { crossings } = run(DEMO_CYCLE.outage[1]);
    assert.deepEqual(crossings.map(([t]) => t), [90, 50, 20, 10]);
    for (const [, at] of crossings) assert.ok(at > DEMO_CYCLE.outage[0] && at < DEMO_CYCLE.outage[1], `crossing at ${at}s is outside the outage`);
    const r = demoReadings(run(60).states[59]);
    assert.ok(r.ups2.charge < r.ups1.charge);
  });

  it("raises LB only on battery at or below the low mark, and recharges on line power", () => {
    const { states } = run(DEMO_CYCLE.second[0]);
    for (const s of states) {
      const r = demoReadings(s);
      for (const u of Object.values(r)) {
        assert.equal(u.status.split(" ").includes("LB"), mainsOff(s.t) && u.charge <= DEMO_LOW, `t=${s.t} ${u.status} ${u.charge}`);
        if (!mainsOff(s.t)) assert.ok(u.status.startsWith("OL"));
      }
    }
    const back = states[DEMO_CYCLE.outage[1] + 10];
    assert.ok(back.charge.ups2 > states[DEMO_CYCLE.outage[1] - 1].charge.ups2, "charges after power returns");
  });

  it("has a flicker shorter than the aggregate's 5 s confirm time, and a second outage", () => {
    assert.ok(DEMO_CYCLE.flicker[1] - DEMO_CYCLE.flicker[0] < 5);
    assert.equal(mainsOff(DEMO_CYCLE.flicker[0]), true);
    assert.equal(mainsOff(DEMO_CYCLE.flicker[1]), false);
    assert.equal(mainsOff(DEMO_CYCLE.second[0] + 1), true);
    assert.equal(mainsOff(DEMO_CYCLE.length + DEMO_CYCLE.outage[0] + 1), true, "repeats");
  });

  it("each cycle starts from full batteries: a late viewer sees the whole plan", () => {
    const { states } = run(DEMO_CYCLE.length + 5);
    assert.deepEqual(states[DEMO_CYCLE.length - 1].charge, { ups1: 100, ups2: 100 });
    assert.ok(states[DEMO_CYCLE.length - 2].charge.ups2 < 100, "not yet recharged by the end of the cycle");
  });
});
