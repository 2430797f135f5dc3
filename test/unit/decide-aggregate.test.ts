import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AggregateConfig,
  AGGREGATE_DEFAULTS,
  aggregateInput,
  aggregateTick,
  checkAggregateConfig,
  initialAggregate,
  nextDeadline,
  parseSavedOutage,
  savedOutage,
} from "../../core/decide/aggregate";
import type { Moment } from "../../core/moment";
import { aggregateMachine, source, ups } from "../harness/decide-fixtures";

const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);
const A = "ups1@nas:3493";
const B = "ups2@nas:3493";
const C = "ups3@rack:3493";
/** Both clocks at `t`. */
const at = (t: number): Moment => ({ mono: t, wall: t });
const machine = aggregateMachine;

describe("ups-aggregate core", () => {
  describe("outage lifecycle (weakest, one UPS)", () => {
    it("reports line power first, with no outage", () => {
      const m = machine();
      const o = m.send(A, ups(A, "OL CHRG"));
      assert.ok(o);
      assert.equal(o.payload.onBattery, false);
      assert.equal(o.payload.event, "UPDATE");
      assert.equal(o.outage, null);
      assert.match(o.summary, /^On line power: weakest ups1@nas:3493 at 100 %/);
    });

    it("declares POWER_LOST only after the confirm time, from the moment power went", () => {
      const m = machine();
      m.send(A, ups(A, "OL"));
      const first = m.send(A, ups(A, "OB DISCHRG", { charge: 99 }), T0 + 1000);
      assert.ok(first);
      assert.equal(first.payload.onBattery, false, "not before the confirm time");
      assert.equal(nextDeadline(m.config, m.state), T0 + 6000);
      m.advance(T0 + 5999);
      assert.equal(m.last().payload.event, "UPDATE");
      m.advance(T0 + 6000);
      const lost = m.last();
      assert.equal(lost.payload.event, "POWER_LOST");
      assert.equal(lost.payload.onBattery, true);
      assert.deepEqual(lost.outage, { id: "outage-20261125T140001Z-t001", since: T0 + 1000 });
      assert.equal(lost.payload.onBatterySeconds, 5);
      assert.match(lost.summary, /^Power lost: weakest ups1@nas:3493 at 99 %, ~1 h 00 min$/);
    });

    it("filters a flicker shorter than the confirm time: no outage at all", () => {
      const m = machine();
      m.send(A, ups(A, "OL"));
      m.send(A, ups(A, "OB"), T0 + 1000);
      m.send(A, ups(A, "OL"), T0 + 5999);
      m.advance(T0 + 60_000);
      assert.deepEqual(m.events(), ["UPDATE", "UPDATE", "UPDATE"]);
      assert.ok(m.outs.every((o) => o.outage === null && !o.payload.onBattery));
      assert.equal(nextDeadline(m.config, m.state), null);
    });

    it("POWER_BACK keeps the outage open; OUTAGE_END after the restore time; the next loss is a new outage", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      const id = m.last().outage?.id;
      const back = m.send(A, ups(A, "OL CHRG", { charge: 40 }), T0 + 600_000);
      assert.ok(back);
      assert.equal(back.payload.event, "POWER_BACK");
      assert.equal(back.payload.onBattery, false);
      assert.equal(back.outage?.id, id);
      assert.equal(back.outage?.ended, undefined);
      m.advance(T0 + 629_999);
      assert.equal(m.last().payload.event, "POWER_BACK");
      m.advance(T0 + 630_000);
      const end = m.last();
      assert.equal(end.payload.event, "OUTAGE_END");
      assert.deepEqual(end.outage, { id, since: T0, ended: T0 + 630_000 });
      assert.match(end.summary, /^Outage over after 10 h|^Outage over after 10 min/);
      assert.equal(m.state.outage, null);
      m.send(A, ups(A, "OB"), T0 + 700_000);
      m.advance(T0 + 705_000);
      const second = m.last();
      assert.equal(second.payload.event, "POWER_LOST");
      assert.notEqual(second.outage?.id, id);
    });

    it("a loss inside the restore time continues the same outage (no new id, no POWER_LOST)", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      const id = m.last().outage?.id;
      m.send(A, ups(A, "OL"), T0 + 60_000);
      m.send(A, ups(A, "OL CHRG", { charge: 99 }), T0 + 65_000);
      m.send(A, ups(A, "OB"), T0 + 70_000);
      m.advance(T0 + 75_000);
      const again = m.last();
      assert.equal(again.payload.event, "UPDATE");
      assert.equal(again.payload.onBattery, true);
      assert.equal(again.outage?.id, id);
      assert.equal(again.payload.onBatterySeconds, 75);
      assert.equal(m.events().filter((e) => e === "POWER_LOST").length, 1);
    });

    it("a short blip on battery while the outage is open does not count (confirm time applies again)", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OL"), T0 + 60_000);
      const blip = m.send(A, ups(A, "OB"), T0 + 61_000);
      assert.equal(blip?.payload.onBattery, false);
      m.send(A, ups(A, "OL"), T0 + 62_000);
      m.advance(T0 + 62_000 + 30_000);
      assert.equal(m.last().payload.event, "OUTAGE_END");
      assert.ok(m.outs.filter((o) => o.payload.time > T0 + 5000).every((o) => !o.payload.onBattery));
    });

    it("confirm time boundary: 4999 ms is not enough, 5000 ms is", () => {
      for (const [gap, lost] of [[4999, false], [5000, true], [5001, true]] as const) {
        const m = machine();
        m.send(A, ups(A, "OB"), T0);
        m.send(A, ups(A, "OB", { charge: 99 }), T0 + gap);
        assert.equal(m.last().payload.onBattery, lost, `after ${gap} ms`);
      }
    });

    it("a critical state skips the confirm time: OB LB loses power at once", () => {
      const m = machine();
      m.send(A, ups(A, "OL"));
      const o = m.send(A, ups(A, "OB LB", { charge: 9 }), T0 + 100);
      assert.equal(o?.payload.event, "POWER_LOST");
      assert.equal(o?.payload.critical, true);
      assert.equal(o?.outage?.since, T0 + 100);
      assert.match(o?.summary ?? "", /^Power lost, CRITICAL/);
    });

    it("FSD is critical even on line power (upsmon shuts down on it too)", () => {
      const m = machine();
      const o = m.send(A, ups(A, "FSD OL"));
      assert.equal(o?.payload.event, "POWER_LOST");
      assert.equal(o?.payload.critical, true);
      assert.equal(o?.payload.onBattery, true);
    });

    it("OL LB (recharging, low) is not critical", () => {
      const m = machine();
      const o = m.send(A, ups(A, "OL CHRG LB", { charge: 5 }));
      assert.equal(o?.payload.critical, false);
      assert.equal(o?.payload.onBattery, false);
    });

    it("zero confirm and restore times: loss and end come at once, ids still differ", () => {
      const m = machine({ confirmMs: 0, restoreMs: 0 });
      m.send(A, ups(A, "OB"), T0);
      const first = m.last().outage?.id;
      m.send(A, ups(A, "OL"), T0 + 10);
      m.advance(T0 + 10);
      assert.equal(m.last().payload.event, "OUTAGE_END");
      m.send(A, ups(A, "OB"), T0 + 20);
      assert.equal(m.last().payload.event, "POWER_LOST");
      assert.notEqual(m.last().outage?.id, first);
    });
  });

  describe("change detection", () => {
    it("emit=change: the same state twice gives one message; emit=always: two", () => {
      const change = machine();
      assert.ok(change.send(A, ups(A, "OL")));
      assert.equal(change.send(A, ups(A, "OL"), T0 + 1000), null);
      const always = machine({ emit: "always" });
      always.send(A, ups(A, "OL"));
      assert.ok(always.send(A, ups(A, "OL"), T0 + 1000));
    });

    it("a tick with nothing new sends nothing", () => {
      const m = machine({ silentMs: 60_000 });
      m.send(A, ups(A, "OL"));
      const r = aggregateTick(m.config, m.state, at(T0 + 1000));
      assert.equal(r.output, null);
    });
  });

  describe("weakest policy", () => {
    const two = { sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }] };

    it("any feed on battery is power lost; the reference is the lowest charge on battery, not a charging UPS", () => {
      const m = machine(two);
      m.send(A, ups(A, "OL CHRG", { charge: 30 }));
      m.send(B, ups(B, "OB", { charge: 80, runtime: 1200 }), T0);
      m.advance(T0 + 5000);
      const o = m.last();
      assert.equal(o.payload.onBattery, true);
      assert.equal(o.payload.reference, B);
      assert.equal(o.payload.charge, 80);
    });

    it("charge and runtime disagree: lowest of each; reference = lowest charge, the summary names the runtime's UPS", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 40, runtime: 1800 }), T0);
      m.send(B, ups(B, "OB", { charge: 60, runtime: 600 }), T0);
      m.advance(T0 + 5000);
      const o = m.last();
      assert.equal(o.payload.reference, A);
      assert.equal(o.payload.charge, 40);
      assert.equal(o.payload.runtime, 600);
      assert.match(o.summary, /weakest ups1@nas:3493 at 40 %, ~10 min \(runtime of ups2@nas:3493\)/);
    });

    it("equal charges: the shorter runtime is the reference; unknown charge sorts last", () => {
      const m = machine({ sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }, { topic: C, power: 1 }] });
      m.send(A, ups(A, "OB", { charge: 50, runtime: 900 }), T0);
      m.send(B, ups(B, "OB", { charge: 50, runtime: 300 }), T0);
      m.send(C, ups(C, "OB", { charge: null, runtime: null }), T0);
      m.advance(T0 + 5000);
      assert.equal(m.last().payload.reference, B);
    });

    it("a UPS stale within its dead time does not hide the fresh readings of another", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 40 }), T0);
      m.send(B, ups(B, "OB", { charge: 45 }), T0);
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OB", { charge: 40, stale: true }), T0 + 6000);
      const o = m.last();
      assert.equal(o.payload.reference, B);
      assert.equal(o.payload.charge, 45);
      assert.equal(source(o.payload, A).counted, true, "still counted (on battery) until the dead time");
      m.send(B, ups(B, "OB", { charge: 44, stale: true }), T0 + 7000);
      assert.equal(m.last().payload.reference, A, "all stale: the lowest last known charge");
    });

    it("any counted feed critical makes it critical", () => {
      const m = machine(two);
      m.send(A, ups(A, "OL"));
      const o = m.send(B, ups(B, "OB LB", { charge: 8 }));
      assert.equal(o?.payload.critical, true);
      assert.equal(o?.payload.reference, B);
    });
  });

  describe("redundant policy", () => {
    const two = { policy: "redundant" as const, sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }] };

    it("one feed of two on battery is not an outage; both is", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 70 }));
      m.send(B, ups(B, "OL"));
      m.advance(T0 + 60_000);
      assert.equal(m.last().payload.onBattery, false);
      assert.equal(m.last().payload.reference, A, "display reference: the feed on battery");
      m.send(B, ups(B, "OB", { charge: 90 }), T0 + 60_000);
      m.advance(T0 + 65_000);
      assert.equal(m.last().payload.event, "POWER_LOST");
      assert.match(m.last().summary, /2 of 2 feeds on battery \(2 needed\)/);
    });

    it("the reference is the feed that lasts longest, its runtime halved (it will carry the other's load)", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 40, runtime: 600 }));
      m.send(B, ups(B, "OB", { charge: 70, runtime: 1800 }));
      m.advance(T0 + 5000);
      const o = m.last();
      assert.equal(o.payload.reference, B);
      assert.equal(o.payload.charge, 70);
      assert.equal(o.payload.runtime, 900);
    });

    it("when one feed is lost the survivor's own runtime is used as is (it already carries the load)", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 40, runtime: 600 }));
      m.send(B, ups(B, "OB", { charge: 70, runtime: 1800 }));
      m.send(A, ups(A, "OB LB", { charge: 5, runtime: 60 }), T0 + 10_000);
      const o = m.last();
      assert.equal(o.payload.critical, false, "one feed left");
      assert.equal(o.payload.reference, B);
      assert.equal(o.payload.runtime, 1800);
      m.send(B, ups(B, "OB LB", { charge: 9 }), T0 + 20_000);
      assert.equal(m.last().payload.critical, true);
    });

    it("a feed dead while last seen on battery counts as lost", () => {
      const m = machine({ ...two, deadMs: 30_000 });
      m.send(A, ups(A, "OB", { charge: 60 }));
      m.send(B, ups(B, "OB", { charge: 60 }));
      m.advance(T0 + 5000);
      // the last good read was at T0 (the UPS stayed steady, nut-ups-in sent nothing until the read failed)
      m.send(A, ups(A, "OB", { charge: 60, stale: true, age: 10_000 }), T0 + 10_000);
      m.advance(T0 + 29_999);
      assert.equal(source(m.last().payload, A).counted, true);
      assert.notEqual(source(m.last().payload, A).note, null);
      m.advance(T0 + 30_000);
      const o = m.last();
      assert.match(source(o.payload, A).note ?? "", /last seen on battery: counted as exhausted/);
      assert.deepEqual(o.payload.stale, [A]);
      assert.equal(o.payload.onBattery, true);
      assert.equal(o.payload.critical, false);
      assert.equal(o.payload.reference, B);
    });

    it("at least N of M: 2 of 3", () => {
      const m = machine({ policy: "redundant", feedsOut: 2, sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }, { topic: C, power: 1 }] });
      m.send(A, ups(A, "OB"));
      m.send(B, ups(B, "OL"));
      m.send(C, ups(C, "OL"));
      m.advance(T0 + 10_000);
      assert.equal(m.last().payload.onBattery, false);
      m.send(C, ups(C, "OB"), T0 + 10_000);
      m.advance(T0 + 15_000);
      assert.equal(m.last().payload.onBattery, true);
      assert.match(m.last().summary, /2 of 3 feeds on battery \(2 needed\)/);
    });

    it("a feed that never reported keeps 'all feeds' from being met (it is not known to be on battery)", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB"));
      m.advance(T0 + 120_000);
      const o = m.last();
      assert.equal(o.payload.onBattery, false);
      assert.deepEqual(o.payload.stale, [B]);
      assert.equal(source(o.payload, B).note, "never reported: not counted");
    });
  });

  describe("minsupplies policy", () => {
    const pv = (a: number, b: number, min: number): Partial<AggregateConfig> => ({
      policy: "minsupplies",
      minSupplies: min,
      sources: [
        { topic: A, power: a },
        { topic: B, power: b },
      ],
    });

    it("on battery when the power value on line power drops below MINSUPPLIES; critical when the supplying value does", () => {
      const m = machine(pv(1, 1, 1));
      m.send(A, ups(A, "OB", { charge: 50 }));
      m.send(B, ups(B, "OL"));
      m.advance(T0 + 10_000);
      assert.equal(m.last().payload.onBattery, false, "B still on line power");
      m.send(B, ups(B, "OB", { charge: 80 }), T0 + 10_000);
      m.advance(T0 + 15_000);
      assert.equal(m.last().payload.event, "POWER_LOST");
      assert.equal(m.last().payload.critical, false);
      m.send(A, ups(A, "OB LB", { charge: 5 }), T0 + 20_000);
      assert.equal(m.last().payload.critical, false, "B still supplies 1 >= 1");
      m.send(B, ups(B, "OB LB", { charge: 5 }), T0 + 30_000);
      assert.equal(m.last().payload.critical, true);
      assert.match(m.last().summary, /power value 0 supplying, 0 on line power, 1 needed/);
    });

    it("power values: a UPS feeding 2 supplies of 3 needed", () => {
      const m = machine(pv(2, 1, 2));
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OB LB", { charge: 3 }));
      assert.equal(m.last().payload.critical, false, "A alone gives 2");
      m.send(A, ups(A, "OB LB", { charge: 3 }), T0 + 1000);
      assert.equal(m.last().payload.critical, true);
    });

    it("FSD stops a UPS counting", () => {
      const m = machine(pv(1, 1, 2));
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OL"));
      m.send(B, ups(B, "FSD OL"), T0 + 1000);
      assert.equal(m.last().payload.critical, true);
    });

    it("power value 0 is monitoring only: it never counts", () => {
      const m = machine(pv(1, 0, 1));
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OB LB", { charge: 1 }));
      assert.equal(m.last().payload.critical, false);
      assert.equal(m.last().payload.onBattery, false);
    });

    it("a UPS never heard from is not assumed lost (no shutdown on missing data by default)", () => {
      const m = machine(pv(1, 1, 2));
      m.send(A, ups(A, "OL"));
      m.advance(T0 + 3_600_000);
      assert.equal(m.last().payload.critical, false);
      assert.equal(m.last().payload.onBattery, false);
      assert.deepEqual(m.last().payload.stale, [B]);
    });

    it("a UPS dead while last seen on battery stops counting after the dead time", () => {
      const m = machine({ ...pv(1, 1, 2), deadMs: 15_000 });
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OB", { charge: 70 }));
      m.send(B, ups(B, "OB", { charge: 70, reachable: false, age: 5000 }), T0 + 5000);
      assert.equal(m.last().payload.critical, false);
      m.advance(T0 + 15_000);
      assert.equal(m.last().payload.critical, true);
      assert.match(source(m.last().payload, B).note ?? "", /^server unreachable beyond the dead time \(15 s\), last seen on battery/);
    });

    it("the reference is the UPS whose exhaustion breaks MINSUPPLIES", () => {
      const m = machine({ policy: "minsupplies", minSupplies: 2, sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }, { topic: C, power: 1 }] });
      m.send(A, ups(A, "OB", { charge: 30, runtime: 300 }));
      m.send(B, ups(B, "OB", { charge: 60, runtime: 900 }));
      m.send(C, ups(C, "OB", { charge: 90, runtime: 2400 }));
      m.advance(T0 + 5000);
      const o = m.last();
      // A goes first (3 -> 2, still enough), B next (2 -> 1 < 2): B is the reference, sharing its load with A until then.
      assert.equal(o.payload.reference, B);
      assert.equal(o.payload.runtime, 450);
    });
  });

  describe("stale, silent and unknown sources", () => {
    it("deadtime rule: last values kept during the dead time, then a UPS last seen on line power is not counted", () => {
      const m = machine({ deadMs: 20_000 });
      m.send(A, ups(A, "OL", { charge: 90 }));
      const s = m.send(A, ups(A, "OL", { charge: 90, stale: true, age: 5000 }), T0 + 5000);
      assert.equal(source(s?.payload, A).counted, true);
      assert.deepEqual(s?.payload.stale, [A]);
      assert.match(s?.summary ?? "", /stale: ups1@nas:3493 \(stale\)/);
      m.advance(T0 + 20_000);
      const o = m.last();
      assert.equal(source(o.payload, A).counted, false);
      assert.equal(o.payload.onBattery, false);
      assert.match(o.summary, /^No data: no UPS reports; stale: ups1@nas:3493/);
    });

    it("deadtime rule: a UPS dead while last seen on battery becomes critical (exhausted)", () => {
      const m = machine({ deadMs: 20_000 });
      m.send(A, ups(A, "OB", { charge: 70 }));
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OB", { charge: 70, stale: true, age: 10_000 }), T0 + 10_000);
      assert.equal(m.last().payload.critical, false);
      m.advance(T0 + 20_000);
      const o = m.last();
      assert.equal(o.payload.critical, true);
      assert.equal(source(o.payload, A).verdict, "lost");
      assert.match(source(o.payload, A).note ?? "", /counted as exhausted/);
      // nothing else can be read: its last values stand, marked stale (the tiers do not use them by default)
      assert.equal(o.payload.charge, 70);
      assert.deepEqual(o.payload.stale, [A]);
      assert.match(o.summary, /^On battery, CRITICAL \(ups1@nas:3493 lost\): weakest ups1@nas:3493 at 70 %, ~1 h 00 min \(lost: last values\)/);
    });

    it("no data at all holds the decision: a source going silent does not complete the restore time", () => {
      const m = machine({ deadMs: 20_000, restoreMs: 60_000 });
      m.send(A, ups(A, "OB", { charge: 70 }));
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OL CHRG", { charge: 70 }), T0 + 10_000);
      assert.equal(m.last().payload.event, "POWER_BACK");
      m.send(A, ups(A, "OL CHRG", { charge: 70, stale: true }), T0 + 11_000);
      m.advance(T0 + 3_600_000);
      assert.equal(m.events().includes("OUTAGE_END"), false);
      assert.equal(source(m.last().payload, A).counted, false);
      assert.ok(m.state.outage, "the outage stays open");
      m.send(A, ups(A, "OL CHRG", { charge: 90 }), T0 + 3_600_000);
      m.advance(T0 + 3_660_000);
      assert.equal(m.last().payload.event, "OUTAGE_END");
    });

    it("ignore rule: a stale source is not counted while another reports; when none does, the dead time applies", () => {
      const m = machine({ staleRule: "ignore", deadMs: 20_000, sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }] });
      m.send(A, ups(A, "OB", { charge: 20 }));
      m.send(B, ups(B, "OL"));
      m.send(A, ups(A, "OB", { charge: 20, stale: true }), T0 + 1000);
      m.advance(T0 + 10_000);
      const o = m.last();
      assert.equal(source(o.payload, A).counted, false);
      assert.match(source(o.payload, A).note ?? "", /ignored while other sources report/);
      assert.equal(o.payload.onBattery, false);
      m.send(B, ups(B, "OL", { stale: true }), T0 + 25_000);
      m.advance(T0 + 25_000);
      assert.equal(m.last().payload.critical, true, "A is dead while last seen on battery");
    });

    it("lost rule: after the dead time any stale source counts as lost, even one last seen on line power", () => {
      const m = machine({ staleRule: "lost", deadMs: 20_000 });
      m.send(A, ups(A, "OL"));
      m.send(A, ups(A, "OL", { reachable: false, age: 1000 }), T0 + 1000);
      m.advance(T0 + 19_999);
      assert.equal(m.last().payload.onBattery, false);
      m.advance(T0 + 20_000);
      assert.equal(m.last().payload.event, "POWER_LOST");
      assert.equal(m.last().payload.critical, true);
    });

    it("lost rule: a source that never reports counts as lost after the dead time from start", () => {
      const m = machine({ staleRule: "lost", deadMs: 20_000, sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }] });
      m.send(A, ups(A, "OL"));
      m.advance(T0 + 20_000);
      assert.equal(m.last().payload.critical, true);
      assert.match(source(m.last().payload, B).note ?? "", /never reported within the dead time/);
    });

    it("silent sources: no message for the silent time makes a source stale", () => {
      const m = machine({ silentMs: 15_000, deadMs: 30_000 });
      m.send(A, ups(A, "OB", { charge: 50 }));
      m.advance(T0 + 5000);
      assert.equal(nextDeadline(m.config, m.state), T0 + 15_000);
      m.advance(T0 + 15_000);
      assert.deepEqual(m.last().payload.stale, [A]);
      assert.match(source(m.last().payload, A).note ?? "", /^silent for 15 s or more/);
      m.advance(T0 + 30_000);
      assert.equal(m.last().payload.critical, true);
      m.send(A, ups(A, "OB", { charge: 45 }), T0 + 31_000);
      assert.deepEqual(m.last().payload.stale, []);
      assert.equal(m.last().payload.critical, false);
    });

    it("a UPS neither OL nor OB (status OFF) is not counted, with a note", () => {
      const m = machine();
      const o = m.send(A, ups(A, "OFF"));
      assert.equal(source(o?.payload, A).counted, false);
      assert.match(source(o?.payload, A).note ?? "", /status OFF: neither OL nor OB/);
    });
  });

  describe("bad input and topics", () => {
    const bad: Array<[string, unknown, RegExp]> = [
      ["not an object", "OB", /msg.payload must be a UPS state object \(got string "OB"\)/],
      ["charge as a string", { ...ups(A, "OB"), charge: "73" }, /payload.charge must be a number or null \(got string "73"\)/],
      ["charge NaN", { ...ups(A, "OB"), charge: NaN }, /payload.charge must be a number or null \(got NaN\)/],
      ["negative runtime", { ...ups(A, "OB"), runtime: -5 }, /payload.runtime must not be negative \(got -5\)/],
      ["missing flags", { ...ups(A, "OB"), flags: undefined }, /payload.flags must be a list/],
      ["onBattery as a string", { ...ups(A, "OB"), onBattery: "true" }, /payload.onBattery must be true or false/],
      ["missing charge", { ...ups(A, "OB"), charge: undefined }, /payload.charge must be a number or null \(got nothing\)/],
      ["a charge of 1e308", { ...ups(A, "OB"), charge: 1e308 }, /payload.charge must be at most 110 \(got 1e\+308\)/],
      ["a runtime of a century", { ...ups(A, "OB"), runtime: 3.2e9 }, /payload.runtime must be at most 31536000/],
      ["an age that is text", { ...ups(A, "OB", { stale: true }), age: "5" }, /payload.age must be a number or null/],
    ];
    for (const [what, payload, re] of bad) {
      it(`refuses ${what} and keeps its state`, () => {
        const m = machine();
        m.send(A, ups(A, "OL"));
        const before = m.state;
        const r = aggregateInput(m.config, before, A, payload, at(T0 + 1000));
        assert.match(r.error ?? "", re);
        assert.equal(r.state, before);
        assert.equal(r.output, null);
      });
    }

    it("refuses a topic not in the list, naming the expected ones", () => {
      const m = machine();
      const r = aggregateInput(m.config, m.state, "ups9@x:3493", ups("ups9@x:3493", "OB"), at(T0));
      assert.equal(r.error, "unknown topic ups9@x:3493: not in this node's list of UPSes (ups1@nas:3493)");
      assert.equal(r.state, m.state);
    });

    it("a topic named like an Object property is an unknown topic, then an ordinary one", () => {
      const m = machine();
      for (const t of ["__proto__", "constructor", "toString"]) {
        assert.match(aggregateInput(m.config, m.state, t, ups(A, "OB"), at(T0)).error ?? "", /^unknown topic/);
      }
      const open = machine({ sources: [] });
      open.send("__proto__", ups(A, "OB", { charge: 40 }));
      open.send("constructor", ups(A, "OL"));
      assert.deepEqual(open.last().payload.sources.map((x) => x.topic), ["__proto__", "constructor"]);
      assert.equal(source(open.last().payload, "__proto__").charge, 40);
    });

    it("a UPS whose server changed (same UPS name, other host or port) is taken for the listed one, and says so", () => {
      const m = machine({ sources: [{ topic: "ups1@127.0.0.1:3493", power: 1 }, { topic: "ups2@127.0.0.1:3493", power: 1 }] });
      const o = m.send("ups1@127.0.0.1:3494", ups("ups1@127.0.0.1:3494", "OB", { charge: 60 }));
      assert.deepEqual(o?.payload.sources.map((x) => x.topic), ["ups1@127.0.0.1:3493", "ups2@127.0.0.1:3493"]);
      assert.equal(source(o?.payload, "ups1@127.0.0.1:3493").charge, 60);
      assert.match(source(o?.payload, "ups1@127.0.0.1:3493").note ?? "", /^reported as ups1@127\.0\.0\.1:3494: matched by UPS name, update the list/);
      const r = aggregateInput(m.config, m.state, "ups3@127.0.0.1:3494", ups("ups3@127.0.0.1:3494", "OB"), at(T0));
      assert.match(r.error ?? "", /^unknown topic ups3@127\.0\.0\.1:3494/);
      assert.equal(r.unknownTopic, "ups3@127.0.0.1:3494");
    });

    it("matching by UPS name never guesses: two listed UPSes of that name, or the listed one already reporting, refuse it", () => {
      const two = machine({ sources: [{ topic: "ups@nas1:3493", power: 1 }, { topic: "ups@nas2:3493", power: 1 }] });
      assert.match(aggregateInput(two.config, two.state, "ups@nas3:3493", ups("ups@nas3:3493", "OB"), at(T0)).error ?? "", /^unknown topic/);
      const one = machine({ sources: [{ topic: "ups1@nas:3493", power: 1 }] });
      one.send("ups1@nas:3493", ups("ups1@nas:3493", "OL"));
      assert.match(aggregateInput(one.config, one.state, "ups1@other:3493", ups("ups1@other:3493", "OB"), at(T0)).error ?? "", /^unknown topic/);
    });

    it("refuses a message with no topic", () => {
      const m = machine();
      const r = aggregateInput(m.config, m.state, undefined, ups(A, "OB"), at(T0));
      assert.match(r.error ?? "", /msg.topic must name the UPS/);
    });

    it("with an empty list, accepts every topic as it comes (power value 1)", () => {
      const m = machine({ sources: [] });
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OB", { charge: 60 }));
      assert.deepEqual(m.last().payload.sources.map((x) => x.topic), [A, B]);
    });

    it("checks its configuration", () => {
      const problems = checkAggregateConfig({
        ...AGGREGATE_DEFAULTS,
        sources: [{ topic: A, power: 1 }, { topic: A, power: -1 }],
        confirmMs: NaN,
        minSupplies: 1.5,
      });
      assert.deepEqual(problems, [
        "source ups1@nas:3493 is listed twice",
        "power value of ups1@nas:3493 must be a whole number >= 0",
        "minimum supplies must be a whole number >= 0",
        "confirm time must be a number of seconds >= 0",
      ]);
    });
  });

  describe("restart", () => {
    it("a saved open outage continues with the same id, then ends normally", () => {
      const m = machine();
      m.send(A, ups(A, "OB"));
      m.advance(T0 + 5000);
      const saved = parseSavedOutage(JSON.parse(JSON.stringify(savedOutage(m.state, null))));
      assert.ok(saved);
      const id = saved.outage?.id;
      const config = m.config;
      let state = initialAggregate(config, at(T0 + 60_000), saved);
      let r = aggregateInput(config, state, A, ups(A, "OB", { charge: 80 }), at(T0 + 61_000));
      assert.equal(r.output?.payload.event, "UPDATE");
      assert.equal(r.output?.outage?.id, id);
      assert.equal(r.output?.payload.onBattery, true);
      state = r.state;
      r = aggregateInput(config, state, A, ups(A, "OL"), at(T0 + 62_000));
      assert.equal(r.output?.payload.event, "POWER_BACK");
      state = r.state;
      const end = aggregateTick(config, state, at(nextDeadline(config, state) ?? 0));
      assert.equal(end.output?.payload.event, "OUTAGE_END");
      assert.equal(end.output?.outage?.id, id);
    });

    it("after a restart in mid-outage, power is not declared back before every listed UPS reported (or the dead time)", () => {
      const two = { sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }], deadMs: 30_000 };
      const before = machine(two);
      before.send(A, ups(A, "OB"));
      before.send(B, ups(B, "OB"));
      before.advance(T0 + 5000);
      const saved = savedOutage(before.state, null);
      const restart = T0 + 60_000;
      const config = before.config;
      let state = initialAggregate(config, at(restart), saved);
      let r = aggregateInput(config, state, A, ups(A, "OL"), at(restart + 1000));
      assert.equal(r.output?.payload.onBattery, true, "ups2 has not reported yet");
      assert.equal(r.output?.payload.event, "UPDATE");
      state = r.state;
      r = aggregateInput(config, state, B, ups(B, "OB", { charge: 50 }), at(restart + 2000));
      assert.equal(r.output?.payload.onBattery, true);
      assert.equal(r.output?.outage?.id, saved.outage?.id);
      // and when ups2 never reports, the dead time ends the wait
      state = initialAggregate(config, at(restart), saved);
      state = aggregateInput(config, state, A, ups(A, "OL"), at(restart + 1000)).state;
      assert.equal(nextDeadline(config, state), restart + 30_000);
      const t = aggregateTick(config, state, at(restart + 30_000));
      assert.equal(t.output?.payload.event, "POWER_BACK");
    });

    it("ignores a saved value it does not recognise", () => {
      assert.equal(parseSavedOutage("garbage"), null);
      assert.equal(parseSavedOutage({ outage: { id: 3 }, powerOut: true })?.outage, null);
    });
  });

  describe("properties (random timelines)", () => {
    const statuses = ["OL", "OL CHRG", "OB DISCHRG", "OB LB", "FSD OL", "OFF", "OL LB"];
    const event = fc.record({
      dt: fc.integer({ min: 0, max: 40_000 }),
      src: fc.constantFrom(A, B),
      status: fc.constantFrom(...statuses),
      charge: fc.option(fc.integer({ min: 0, max: 100 })),
      stale: fc.boolean(),
      tickOnly: fc.boolean(),
    });

    it("power out always has an outage; ids change only through OUTAGE_END; POWER_LOST only when none is open", () => {
      fc.assert(
        fc.property(fc.array(event, { maxLength: 60 }), fc.constantFrom("weakest", "redundant", "minsupplies"), fc.constantFrom("deadtime", "ignore", "lost"), (evs, policy, staleRule) => {
          const m = machine({
            policy: policy as AggregateConfig["policy"],
            staleRule: staleRule as AggregateConfig["staleRule"],
            silentMs: 20_000,
            sources: [{ topic: A, power: 1 }, { topic: B, power: 1 }],
          });
          let t = T0;
          for (const e of evs) {
            t += e.dt;
            if (e.tickOnly) m.advance(t);
            else m.send(e.src, ups(e.src, e.status, { charge: e.charge, stale: e.stale }), t);
          }
          let open: string | null = null;
          for (const o of m.outs) {
            if (o.payload.onBattery) assert.ok(o.outage, "on battery without an outage");
            if (o.payload.event === "POWER_LOST") {
              assert.equal(open, null, "POWER_LOST while an outage is open");
              open = o.outage?.id ?? null;
            } else if (o.payload.event === "OUTAGE_END") {
              assert.equal(o.outage?.id, open);
              assert.equal(typeof o.outage?.ended, "number");
              open = null;
            } else {
              assert.equal(o.outage?.id ?? null, open, "outage id changed without POWER_LOST / OUTAGE_END");
            }
            if (o.payload.critical) assert.ok(o.payload.onBattery, "critical without power out");
          }
        }),
        { numRuns: 300 },
      );
    });

    it("any payload: never throws; refused input leaves the state as it was", () => {
      fc.assert(
        fc.property(fc.anything(), fc.oneof(fc.constant(A), fc.anything()), (payload, topic) => {
          const m = machine();
          const before = m.state;
          const r = aggregateInput(m.config, before, topic, payload, at(T0));
          if (r.error) assert.equal(r.state, before);
        }),
        { numRuns: 500 },
      );
    });
  });
});
