/**
 * The demo's simulated outage (npm start): its timeline and what the simulator
 * serves.
 */
import should from "../harness/should";
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
    should(crossings.map(([t]) => t)).eql([90, 50, 20, 10]);
    for (const [, at] of crossings) {
      should(at).be.above(DEMO_CYCLE.outage[0], `crossing at ${at}s is outside the outage`);
      should(at).be.below(DEMO_CYCLE.outage[1], `crossing at ${at}s is outside the outage`);
    }
    const r = demoReadings(run(60).states[59]);
    should(r.ups2.charge).be.below(r.ups1.charge);
  });

  it("raises LB only on battery at or below the low mark, and recharges on line power", () => {
    const { states } = run(DEMO_CYCLE.second[0]);
    for (const s of states) {
      const r = demoReadings(s);
      for (const u of Object.values(r)) {
        should(u.status.split(" ").includes("LB")).equal(mainsOff(s.t) && u.charge <= DEMO_LOW, `t=${s.t} ${u.status} ${u.charge}`);
        if (!mainsOff(s.t)) should(u.status.startsWith("OL")).be.true();
      }
    }
    const back = states[DEMO_CYCLE.outage[1] + 10];
    should(back.charge.ups2).be.above(states[DEMO_CYCLE.outage[1] - 1].charge.ups2, "charges after power returns");
  });

  it("has a flicker shorter than the aggregate's 5 s confirm time, and a second outage", () => {
    should(DEMO_CYCLE.flicker[1] - DEMO_CYCLE.flicker[0]).be.below(5);
    should(mainsOff(DEMO_CYCLE.flicker[0])).be.true();
    should(mainsOff(DEMO_CYCLE.flicker[1])).be.false();
    should(mainsOff(DEMO_CYCLE.second[0] + 1)).be.true();
    should(mainsOff(DEMO_CYCLE.length + DEMO_CYCLE.outage[0] + 1)).be.true("repeats");
  });

  it("each cycle starts from full batteries: a late viewer sees the whole plan", () => {
    const { states } = run(DEMO_CYCLE.length + 5);
    should(states[DEMO_CYCLE.length - 1].charge).eql({ ups1: 100, ups2: 100 });
    should(states[DEMO_CYCLE.length - 2].charge.ups2).be.below(100, "not yet recharged by the end of the cycle");
  });
});
