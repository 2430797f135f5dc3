/**
 * The ups-aggregate core (core/decide/aggregate.ts) as plain functions:
 * policies, dead time, upsmon's rules.
 */
import should from "../harness/should";
import fc from "fast-check";
import {
  type AggregateConfig,
  AGGREGATE_DEFAULTS,
  aggregateInput,
  aggregateStatus,
  aggregateTick,
  checkAggregateConfig,
  initialAggregate,
  nextDeadline,
  parseSavedOutage,
  savedOutage,
} from "../../core/decide/aggregate";
import type { Moment } from "../../core/moment";
import { aggregateMachine, aggregateShown, source, ups } from "../harness/decide-fixtures";

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
      should.exist(o);
      should(o.payload.onBattery).be.false();
      should(o.payload.event).equal("UPDATE");
      should(o.outage).equal(null);
      should(o.summary).match(/^On line power: weakest ups1@nas:3493 at 100 %/);
    });

    it("declares POWER_LOST only after the confirm time, from the moment power went", () => {
      const m = machine();
      m.send(A, ups(A, "OL"));
      const first = m.send(A, ups(A, "OB DISCHRG", { charge: 99 }), T0 + 1000);
      should.exist(first);
      should(first.payload.onBattery).be.false("not before the confirm time");
      should(nextDeadline(m.config, m.state)).equal(T0 + 6000);
      m.advance(T0 + 5999);
      should(m.last().payload.event).equal("UPDATE");
      m.advance(T0 + 6000);
      const lost = m.last();
      should(lost.payload.event).equal("POWER_LOST");
      should(lost.payload.onBattery).be.true();
      should(lost.outage).eql({ id: "outage-20261125T140001Z-t001", since: T0 + 1000 });
      should(lost.payload.onBatterySeconds).equal(5);
      should(lost.summary).match(/^Power lost: weakest ups1@nas:3493 at 99 %, ~1 h 00 min$/);
    });

    it("filters a flicker shorter than the confirm time: no outage at all", () => {
      const m = machine();
      m.send(A, ups(A, "OL"));
      m.send(A, ups(A, "OB"), T0 + 1000);
      m.send(A, ups(A, "OL"), T0 + 5999);
      m.advance(T0 + 60_000);
      should(m.events()).eql(["UPDATE", "UPDATE", "UPDATE"]);
      should(m.outs.every((o) => o.outage === null && !o.payload.onBattery)).be.true();
      should(nextDeadline(m.config, m.state)).equal(null);
    });

    it("POWER_BACK keeps the outage open; OUTAGE_END after the restore time; the next loss is a new outage", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      const id = m.last().outage?.id;
      const back = m.send(A, ups(A, "OL CHRG", { charge: 40 }), T0 + 600_000);
      should.exist(back);
      should(back.payload.event).equal("POWER_BACK");
      should(back.payload.onBattery).be.false();
      should(back.outage?.id).equal(id);
      should(back.outage?.ended).equal(undefined);
      m.advance(T0 + 629_999);
      should(m.last().payload.event).equal("POWER_BACK");
      m.advance(T0 + 630_000);
      const end = m.last();
      should(end.payload.event).equal("OUTAGE_END");
      should(end.outage).eql({ id, since: T0, ended: T0 + 630_000 });
      should(end.summary).match(/^Outage over after 10 h|^Outage over after 10 min/);
      should(m.state.outage).equal(null);
      m.send(A, ups(A, "OB"), T0 + 700_000);
      m.advance(T0 + 705_000);
      const second = m.last();
      should(second.payload.event).equal("POWER_LOST");
      should(second.outage?.id).not.equal(id);
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
      should(again.payload.event).equal("UPDATE");
      should(again.payload.onBattery).be.true();
      should(again.outage?.id).equal(id);
      should(again.payload.onBatterySeconds).equal(75);
      should(m.events().filter((e) => e === "POWER_LOST")).have.length(1);
    });

    it("a short blip on battery while the outage is open does not count (confirm time applies again)", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OL"), T0 + 60_000);
      const blip = m.send(A, ups(A, "OB"), T0 + 61_000);
      should(blip?.payload.onBattery).be.false();
      m.send(A, ups(A, "OL"), T0 + 62_000);
      m.advance(T0 + 62_000 + 30_000);
      should(m.last().payload.event).equal("OUTAGE_END");
      should(m.outs.filter((o) => o.payload.time > T0 + 5000).every((o) => !o.payload.onBattery)).be.true();
    });

    it("confirm time boundary: 4999 ms is not enough, 5000 ms is", () => {
      for (const [gap, lost] of [
        [4999, false],
        [5000, true],
        [5001, true],
      ] as const) {
        const m = machine();
        m.send(A, ups(A, "OB"), T0);
        m.send(A, ups(A, "OB", { charge: 99 }), T0 + gap);
        should(m.last().payload.onBattery).equal(lost, `after ${gap} ms`);
      }
    });

    it("a critical state skips the confirm time: OB LB loses power at once", () => {
      const m = machine();
      m.send(A, ups(A, "OL"));
      const o = m.send(A, ups(A, "OB LB", { charge: 9 }), T0 + 100);
      should(o?.payload.event).equal("POWER_LOST");
      should(o?.payload.critical).be.true();
      should(o?.outage?.since).equal(T0 + 100);
      should(o?.summary ?? "").match(/^Power lost, CRITICAL/);
    });

    it("FSD is critical even on line power (upsmon shuts down on it too)", () => {
      const m = machine();
      const o = m.send(A, ups(A, "FSD OL"));
      should(o?.payload.event).equal("POWER_LOST");
      should(o?.payload.critical).be.true();
      should(o?.payload.onBattery).be.true();
    });

    it("OL LB (recharging, low) is not critical", () => {
      const m = machine();
      const o = m.send(A, ups(A, "OL CHRG LB", { charge: 5 }));
      should(o?.payload.critical).be.false();
      should(o?.payload.onBattery).be.false();
    });

    it("zero confirm and restore times: loss and end come at once, ids still differ", () => {
      const m = machine({ confirmMs: 0, restoreMs: 0 });
      m.send(A, ups(A, "OB"), T0);
      const first = m.last().outage?.id;
      m.send(A, ups(A, "OL"), T0 + 10);
      m.advance(T0 + 10);
      should(m.last().payload.event).equal("OUTAGE_END");
      m.send(A, ups(A, "OB"), T0 + 20);
      should(m.last().payload.event).equal("POWER_LOST");
      should(m.last().outage?.id).not.equal(first);
    });

    it("each deadline fires when its timer wakes the node, whatever the monotonic time's fraction; the seconds agree", () => {
      // Uptime just below 2^22 ms (70 min) or 2^26 ms (18.6 h), with fractions for which, in doubles,
      // (lost + 5000) - lost < 5000: compared as a difference, the confirm time was not over when its timer fired.
      for (const base of [2 ** 22, 2 ** 26]) {
        for (const f of [0.123456, 0.5000001, 0.7612525, 0.9999]) {
          const config: AggregateConfig = { ...AGGREGATE_DEFAULTS, idTag: "t001", sources: [{ topic: A, power: 1 }] };
          const m0 = base - 3000 + f;
          const at = (mono: number): Moment => ({ mono, wall: T0 + Math.round(mono - m0) });
          let state = initialAggregate(config, at(m0));
          const online = aggregateInput(config, state, A, ups(A, "OL"), at(m0));
          const ob = aggregateInput(config, online.state, A, ups(A, "OB"), at(m0 + 1000));
          state = ob.state;
          const confirm = nextDeadline(config, state) as number;
          const last = ob.output?.payload ?? online.output?.payload ?? null;
          should(aggregateShown(aggregateStatus(config, state, last, m0 + 2000)).text).equal("power out, confirming 4 s");
          const lost = aggregateTick(config, state, at(confirm));
          should(lost.output?.payload.event).equal("POWER_LOST", `confirm at ${base} - 3000 + ${f}`);
          should(lost.output?.payload.onBatterySeconds).equal(5);
          state = aggregateInput(config, lost.state, A, ups(A, "OL"), at(confirm + 1000)).state;
          const restore = nextDeadline(config, state) as number;
          const end = aggregateTick(config, state, at(restore));
          should(end.output?.payload.event).equal("OUTAGE_END", `restore at ${base} - 3000 + ${f}`);
          should(end.output?.payload.onBatterySeconds).equal(36);
        }
      }
    });
  });

  describe("change detection", () => {
    it("emit=change: the same state twice gives one message; emit=always: two", () => {
      const change = machine();
      should.exist(change.send(A, ups(A, "OL")));
      should(change.send(A, ups(A, "OL"), T0 + 1000)).equal(null);
      const always = machine({ emit: "always" });
      always.send(A, ups(A, "OL"));
      should.exist(always.send(A, ups(A, "OL"), T0 + 1000));
    });

    it("a tick with nothing new sends nothing", () => {
      const m = machine({ silentMs: 60_000 });
      m.send(A, ups(A, "OL"));
      const r = aggregateTick(m.config, m.state, at(T0 + 1000));
      should(r.output).equal(null);
    });
  });

  describe("weakest policy", () => {
    const two = {
      sources: [
        { topic: A, power: 1 },
        { topic: B, power: 1 },
      ],
    };

    it("any feed on battery is power lost; the reference is the lowest charge on battery, not a charging UPS", () => {
      const m = machine(two);
      m.send(A, ups(A, "OL CHRG", { charge: 30 }));
      m.send(B, ups(B, "OB", { charge: 80, runtime: 1200 }), T0);
      m.advance(T0 + 5000);
      const o = m.last();
      should(o.payload.onBattery).be.true();
      should(o.payload.reference).equal(B);
      should(o.payload.charge).equal(80);
    });

    it("charge and runtime disagree: lowest of each; reference = lowest charge, the summary names the runtime's UPS", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 40, runtime: 1800 }), T0);
      m.send(B, ups(B, "OB", { charge: 60, runtime: 600 }), T0);
      m.advance(T0 + 5000);
      const o = m.last();
      should(o.payload.reference).equal(A);
      should(o.payload.charge).equal(40);
      should(o.payload.runtime).equal(600);
      should(o.summary).match(/weakest ups1@nas:3493 at 40 %, ~10 min \(runtime of ups2@nas:3493\)/);
    });

    it("equal charges: the shorter runtime is the reference; unknown charge sorts last", () => {
      const m = machine({
        sources: [
          { topic: A, power: 1 },
          { topic: B, power: 1 },
          { topic: C, power: 1 },
        ],
      });
      m.send(A, ups(A, "OB", { charge: 50, runtime: 900 }), T0);
      m.send(B, ups(B, "OB", { charge: 50, runtime: 300 }), T0);
      m.send(C, ups(C, "OB", { charge: null, runtime: null }), T0);
      m.advance(T0 + 5000);
      should(m.last().payload.reference).equal(B);
    });

    it("a UPS stale within its dead time does not hide the fresh readings of another", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 40 }), T0);
      m.send(B, ups(B, "OB", { charge: 45 }), T0);
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OB", { charge: 40, stale: true }), T0 + 6000);
      const o = m.last();
      should(o.payload.reference).equal(B);
      should(o.payload.charge).equal(45);
      should(source(o.payload, A).counted).be.true("still counted (on battery) until the dead time");
      m.send(B, ups(B, "OB", { charge: 44, stale: true }), T0 + 7000);
      should(m.last().payload.reference).equal(A, "all stale: the lowest last known charge");
    });

    it("any counted feed critical makes it critical", () => {
      const m = machine(two);
      m.send(A, ups(A, "OL"));
      const o = m.send(B, ups(B, "OB LB", { charge: 8 }));
      should(o?.payload.critical).be.true();
      should(o?.payload.reference).equal(B);
    });
  });

  describe("redundant policy", () => {
    const two = {
      policy: "redundant" as const,
      sources: [
        { topic: A, power: 1 },
        { topic: B, power: 1 },
      ],
    };

    it("one feed of two on battery is not an outage; both is", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 70 }));
      m.send(B, ups(B, "OL"));
      m.advance(T0 + 60_000);
      should(m.last().payload.onBattery).be.false();
      should(m.last().payload.reference).equal(A, "display reference: the feed on battery");
      m.send(B, ups(B, "OB", { charge: 90 }), T0 + 60_000);
      m.advance(T0 + 65_000);
      should(m.last().payload.event).equal("POWER_LOST");
      should(m.last().summary).match(/2 of 2 feeds on battery \(2 needed\)/);
    });

    it("the reference is the feed that lasts longest, its runtime halved (it will carry the other's load)", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 40, runtime: 600 }));
      m.send(B, ups(B, "OB", { charge: 70, runtime: 1800 }));
      m.advance(T0 + 5000);
      const o = m.last();
      should(o.payload.reference).equal(B);
      should(o.payload.charge).equal(70);
      should(o.payload.runtime).equal(900);
    });

    it("when one feed is lost the survivor's own runtime is used as is (it already carries the load)", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB", { charge: 40, runtime: 600 }));
      m.send(B, ups(B, "OB", { charge: 70, runtime: 1800 }));
      m.send(A, ups(A, "OB LB", { charge: 5, runtime: 60 }), T0 + 10_000);
      const o = m.last();
      should(o.payload.critical).be.false("one feed left");
      should(o.payload.reference).equal(B);
      should(o.payload.runtime).equal(1800);
      m.send(B, ups(B, "OB LB", { charge: 9 }), T0 + 20_000);
      should(m.last().payload.critical).be.true();
    });

    it("a feed dead while last seen on battery counts as lost", () => {
      const m = machine({ ...two, deadMs: 30_000 });
      m.send(A, ups(A, "OB", { charge: 60 }));
      m.send(B, ups(B, "OB", { charge: 60 }));
      m.advance(T0 + 5000);
      // the last good read was at T0 (the UPS stayed steady, nut-ups-in sent nothing until the read failed)
      m.send(A, ups(A, "OB", { charge: 60, stale: true, age: 10_000 }), T0 + 10_000);
      m.advance(T0 + 29_999);
      should(source(m.last().payload, A).counted).be.true();
      should(source(m.last().payload, A).note).not.equal(null);
      m.advance(T0 + 30_000);
      const o = m.last();
      should(source(o.payload, A).note ?? "").match(/last seen on battery: counted as exhausted/);
      should(o.payload.stale).eql([A]);
      should(o.payload.onBattery).be.true();
      should(o.payload.critical).be.false();
      should(o.payload.reference).equal(B);
    });

    it("at least N of M: 2 of 3", () => {
      const m = machine({
        policy: "redundant",
        feedsOut: 2,
        sources: [
          { topic: A, power: 1 },
          { topic: B, power: 1 },
          { topic: C, power: 1 },
        ],
      });
      m.send(A, ups(A, "OB"));
      m.send(B, ups(B, "OL"));
      m.send(C, ups(C, "OL"));
      m.advance(T0 + 10_000);
      should(m.last().payload.onBattery).be.false();
      m.send(C, ups(C, "OB"), T0 + 10_000);
      m.advance(T0 + 15_000);
      should(m.last().payload.onBattery).be.true();
      should(m.last().summary).match(/2 of 3 feeds on battery \(2 needed\)/);
    });

    it("a feed that never reported keeps 'all feeds' from being met (it is not known to be on battery)", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB"));
      m.advance(T0 + 120_000);
      const o = m.last();
      should(o.payload.onBattery).be.false();
      should(o.payload.stale).eql([B]);
      should(source(o.payload, B).note).equal("never reported: not counted");
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
      should(m.last().payload.onBattery).be.false("B still on line power");
      m.send(B, ups(B, "OB", { charge: 80 }), T0 + 10_000);
      m.advance(T0 + 15_000);
      should(m.last().payload.event).equal("POWER_LOST");
      should(m.last().payload.critical).be.false();
      m.send(A, ups(A, "OB LB", { charge: 5 }), T0 + 20_000);
      should(m.last().payload.critical).be.false("B still supplies 1 >= 1");
      m.send(B, ups(B, "OB LB", { charge: 5 }), T0 + 30_000);
      should(m.last().payload.critical).be.true();
      should(m.last().summary).match(/power value 0 supplying, 0 on line power, 1 needed/);
    });

    it("power values: a UPS feeding 2 supplies of 3 needed", () => {
      const m = machine(pv(2, 1, 2));
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OB LB", { charge: 3 }));
      should(m.last().payload.critical).be.false("A alone gives 2");
      m.send(A, ups(A, "OB LB", { charge: 3 }), T0 + 1000);
      should(m.last().payload.critical).be.true();
    });

    it("FSD stops a UPS counting", () => {
      const m = machine(pv(1, 1, 2));
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OL"));
      m.send(B, ups(B, "FSD OL"), T0 + 1000);
      should(m.last().payload.critical).be.true();
    });

    it("power value 0 is monitoring only: it never counts", () => {
      const m = machine(pv(1, 0, 1));
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OB LB", { charge: 1 }));
      should(m.last().payload.critical).be.false();
      should(m.last().payload.onBattery).be.false();
    });

    it("a UPS never heard from is not assumed lost (no shutdown on missing data by default)", () => {
      const m = machine(pv(1, 1, 2));
      m.send(A, ups(A, "OL"));
      m.advance(T0 + 3_600_000);
      should(m.last().payload.critical).be.false();
      should(m.last().payload.onBattery).be.false();
      should(m.last().payload.stale).eql([B]);
    });

    it("a UPS dead while last seen on battery stops counting after the dead time", () => {
      const m = machine({ ...pv(1, 1, 2), deadMs: 15_000 });
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OB", { charge: 70 }));
      m.send(B, ups(B, "OB", { charge: 70, reachable: false, age: 5000 }), T0 + 5000);
      should(m.last().payload.critical).be.false();
      m.advance(T0 + 15_000);
      should(m.last().payload.critical).be.true();
      should(source(m.last().payload, B).note ?? "").match(/^server unreachable beyond the dead time \(15 s\), last seen on battery/);
    });

    it("the reference is the UPS whose exhaustion breaks MINSUPPLIES", () => {
      const m = machine({
        policy: "minsupplies",
        minSupplies: 2,
        sources: [
          { topic: A, power: 1 },
          { topic: B, power: 1 },
          { topic: C, power: 1 },
        ],
      });
      m.send(A, ups(A, "OB", { charge: 30, runtime: 300 }));
      m.send(B, ups(B, "OB", { charge: 60, runtime: 900 }));
      m.send(C, ups(C, "OB", { charge: 90, runtime: 2400 }));
      m.advance(T0 + 5000);
      const o = m.last();
      // A goes first (3 -> 2, still enough), B next (2 -> 1 < 2): B is the reference, sharing its load with A until then.
      should(o.payload.reference).equal(B);
      should(o.payload.runtime).equal(450);
    });
  });

  describe("stale, silent and unknown sources", () => {
    it("deadtime rule: last values kept during the dead time, then a UPS last seen on line power is not counted", () => {
      const m = machine({ deadMs: 20_000 });
      m.send(A, ups(A, "OL", { charge: 90 }));
      const s = m.send(A, ups(A, "OL", { charge: 90, stale: true, age: 5000 }), T0 + 5000);
      should(source(s?.payload, A).counted).be.true();
      should(s?.payload.stale).eql([A]);
      should(s?.summary ?? "").match(/stale: ups1@nas:3493 \(stale\)/);
      m.advance(T0 + 20_000);
      const o = m.last();
      should(source(o.payload, A).counted).be.false();
      should(o.payload.onBattery).be.false();
      should(o.summary).match(/^No data: no UPS reports; stale: ups1@nas:3493/);
    });

    it("deadtime rule: a UPS dead while last seen on battery becomes critical (exhausted)", () => {
      const m = machine({ deadMs: 20_000 });
      m.send(A, ups(A, "OB", { charge: 70 }));
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OB", { charge: 70, stale: true, age: 10_000 }), T0 + 10_000);
      should(m.last().payload.critical).be.false();
      m.advance(T0 + 20_000);
      const o = m.last();
      should(o.payload.critical).be.true();
      should(source(o.payload, A).verdict).equal("lost");
      should(source(o.payload, A).note ?? "").match(/counted as exhausted/);
      // nothing else can be read: its last values stand, marked stale (the tiers do not use them by default)
      should(o.payload.charge).equal(70);
      should(o.payload.stale).eql([A]);
      should(o.summary).match(/^On battery, CRITICAL \(ups1@nas:3493 lost\): weakest ups1@nas:3493 at 70 %, ~1 h 00 min \(lost: last values\)/);
    });

    it("no data at all holds the decision: a source going silent does not complete the restore time", () => {
      const m = machine({ deadMs: 20_000, restoreMs: 60_000 });
      m.send(A, ups(A, "OB", { charge: 70 }));
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OL CHRG", { charge: 70 }), T0 + 10_000);
      should(m.last().payload.event).equal("POWER_BACK");
      m.send(A, ups(A, "OL CHRG", { charge: 70, stale: true }), T0 + 11_000);
      m.advance(T0 + 3_600_000);
      should(m.events().includes("OUTAGE_END")).be.false();
      should(source(m.last().payload, A).counted).be.false();
      should.exist(m.state.outage, "the outage stays open");
      m.send(A, ups(A, "OL CHRG", { charge: 90 }), T0 + 3_600_000);
      m.advance(T0 + 3_660_000);
      should(m.last().payload.event).equal("OUTAGE_END");
    });

    it("ignore rule: a stale source is not counted while another reports; when none does, the dead time applies", () => {
      const m = machine({
        staleRule: "ignore",
        deadMs: 20_000,
        sources: [
          { topic: A, power: 1 },
          { topic: B, power: 1 },
        ],
      });
      m.send(A, ups(A, "OB", { charge: 20 }));
      m.send(B, ups(B, "OL"));
      m.send(A, ups(A, "OB", { charge: 20, stale: true }), T0 + 1000);
      m.advance(T0 + 10_000);
      const o = m.last();
      should(source(o.payload, A).counted).be.false();
      should(source(o.payload, A).note ?? "").match(/ignored while other sources report/);
      should(o.payload.onBattery).be.false();
      m.send(B, ups(B, "OL", { stale: true }), T0 + 25_000);
      m.advance(T0 + 25_000);
      should(m.last().payload.critical).be.true("A is dead while last seen on battery");
    });

    it("lost rule: after the dead time any stale source counts as lost, even one last seen on line power", () => {
      const m = machine({ staleRule: "lost", deadMs: 20_000 });
      m.send(A, ups(A, "OL"));
      m.send(A, ups(A, "OL", { reachable: false, age: 1000 }), T0 + 1000);
      m.advance(T0 + 19_999);
      should(m.last().payload.onBattery).be.false();
      m.advance(T0 + 20_000);
      should(m.last().payload.event).equal("POWER_LOST");
      should(m.last().payload.critical).be.true();
    });

    it("lost rule: a source that never reports counts as lost after the dead time from start", () => {
      const m = machine({
        staleRule: "lost",
        deadMs: 20_000,
        sources: [
          { topic: A, power: 1 },
          { topic: B, power: 1 },
        ],
      });
      m.send(A, ups(A, "OL"));
      m.advance(T0 + 20_000);
      should(m.last().payload.critical).be.true();
      should(source(m.last().payload, B).note ?? "").match(/never reported within the dead time/);
    });

    it("silent sources: no message for the silent time makes a source stale", () => {
      const m = machine({ silentMs: 15_000, deadMs: 30_000 });
      m.send(A, ups(A, "OB", { charge: 50 }));
      m.advance(T0 + 5000);
      should(nextDeadline(m.config, m.state)).equal(T0 + 15_000);
      m.advance(T0 + 15_000);
      should(m.last().payload.stale).eql([A]);
      should(source(m.last().payload, A).note ?? "").match(/^silent for 15 s or more/);
      m.advance(T0 + 30_000);
      should(m.last().payload.critical).be.true();
      m.send(A, ups(A, "OB", { charge: 45 }), T0 + 31_000);
      should(m.last().payload.stale).eql([]);
      should(m.last().payload.critical).be.false();
    });

    it("a UPS neither OL nor OB (status OFF) is not counted, with a note", () => {
      const m = machine();
      const o = m.send(A, ups(A, "OFF"));
      should(source(o?.payload, A).counted).be.false();
      should(source(o?.payload, A).note ?? "").match(/status OFF: neither OL nor OB/);
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
      ["an age of 1e308 ms", { ...ups(A, "OB", { stale: true }), age: 1e308 }, /payload.age must be at most 31536000000/],
      [
        "33 status words",
        { ...ups(A, "OB"), flags: ["OB", ...Array.from({ length: 32 }, (_, i) => `W${i}`)] },
        /at most 32 status words of at most 32 characters \(got 33 words\)/,
      ],
      ["a status word of 33 characters", { ...ups(A, "OB"), flags: ["OB", "X".repeat(33)] }, /at most 32 status words of at most 32 characters/],
      [
        "a status text longer than upsd serves",
        { ...ups(A, "OB"), status: "OB " + "X".repeat(300) },
        /payload.status must be at most 255 characters, as upsd serves it \(got 303\)/,
      ],
    ];
    for (const [what, payload, re] of bad) {
      it(`refuses ${what} and keeps its state`, () => {
        const m = machine();
        m.send(A, ups(A, "OL"));
        const before = m.state;
        const r = aggregateInput(m.config, before, A, payload, at(T0 + 1000));
        should(r.error ?? "").match(re);
        should(r.state).equal(before);
        should(r.output).equal(null);
      });
    }

    it("keeps only what it reads of a message: a large vars is not held", () => {
      const m = machine();
      const vars: Record<string, string> = {};
      for (let i = 0; i < 1000; i++) vars[`x.v${i}`] = "y".repeat(100);
      m.send(A, Object.assign(ups(A, "OB", { charge: 60 }), { vars, extra: "z".repeat(10_000) }));
      const kept = (m.state as unknown as { sources: Map<string, { data: Record<string, unknown> }> }).sources.get(A)?.data ?? {};
      should(Object.keys(kept).sort()).eql(["age", "charge", "flags", "lowBattery", "onBattery", "reachable", "runtime", "stale", "status"]);
      should(source(m.last().payload, A).charge).equal(60);
    });

    it("refuses a topic not in the list, naming the expected ones", () => {
      const m = machine();
      const r = aggregateInput(m.config, m.state, "ups9@x:3493", ups("ups9@x:3493", "OB"), at(T0));
      should(r.error).equal("unknown topic ups9@x:3493: not in this node's list of UPSes (ups1@nas:3493)");
      should(r.state).equal(m.state);
    });

    it("a topic named like an Object property is an unknown topic, then an ordinary one", () => {
      const m = machine();
      for (const t of ["__proto__", "constructor", "toString"]) {
        should(aggregateInput(m.config, m.state, t, ups(A, "OB"), at(T0)).error ?? "").match(/^unknown topic/);
      }
      const open = machine({ sources: [] });
      open.send("__proto__", ups(A, "OB", { charge: 40 }));
      open.send("constructor", ups(A, "OL"));
      should(open.last().payload.sources.map((x) => x.topic)).eql(["__proto__", "constructor"]);
      should(source(open.last().payload, "__proto__").charge).equal(40);
    });

    it("a UPS whose server changed (same UPS name, other host or port) is taken for the listed one, and says so", () => {
      const m = machine({
        sources: [
          { topic: "ups1@127.0.0.1:3493", power: 1 },
          { topic: "ups2@127.0.0.1:3493", power: 1 },
        ],
      });
      const o = m.send("ups1@127.0.0.1:3494", ups("ups1@127.0.0.1:3494", "OB", { charge: 60 }));
      should(o?.payload.sources.map((x) => x.topic)).eql(["ups1@127.0.0.1:3493", "ups2@127.0.0.1:3493"]);
      should(source(o?.payload, "ups1@127.0.0.1:3493").charge).equal(60);
      should(source(o?.payload, "ups1@127.0.0.1:3493").note ?? "").match(/^reported as ups1@127\.0\.0\.1:3494: matched by UPS name, update the list/);
      const r = aggregateInput(m.config, m.state, "ups3@127.0.0.1:3494", ups("ups3@127.0.0.1:3494", "OB"), at(T0));
      should(r.error ?? "").match(/^unknown topic ups3@127\.0\.0\.1:3494/);
      should(r.unknownTopic).equal("ups3@127.0.0.1:3494");
    });

    it("matching by UPS name never guesses: two listed UPSes of that name, or the listed one already reporting, refuse it", () => {
      const two = machine({
        sources: [
          { topic: "ups@nas1:3493", power: 1 },
          { topic: "ups@nas2:3493", power: 1 },
        ],
      });
      should(aggregateInput(two.config, two.state, "ups@nas3:3493", ups("ups@nas3:3493", "OB"), at(T0)).error ?? "").match(/^unknown topic/);
      const one = machine({ sources: [{ topic: "ups1@nas:3493", power: 1 }] });
      one.send("ups1@nas:3493", ups("ups1@nas:3493", "OL"));
      should(aggregateInput(one.config, one.state, "ups1@other:3493", ups("ups1@other:3493", "OB"), at(T0)).error ?? "").match(/^unknown topic/);
    });

    it("refuses a message with no topic", () => {
      const m = machine();
      const r = aggregateInput(m.config, m.state, undefined, ups(A, "OB"), at(T0));
      should(r.error ?? "").match(/msg.topic must name the UPS/);
    });

    it("with an empty list, accepts every topic as it comes (power value 1)", () => {
      const m = machine({ sources: [] });
      m.send(A, ups(A, "OL"));
      m.send(B, ups(B, "OB", { charge: 60 }));
      should(m.last().payload.sources.map((x) => x.topic)).eql([A, B]);
    });

    it("checks its configuration", () => {
      const problems = checkAggregateConfig({
        ...AGGREGATE_DEFAULTS,
        sources: [
          { topic: A, power: 1 },
          { topic: A, power: -1 },
        ],
        confirmMs: NaN,
        minSupplies: 1.5,
      });
      should(problems).eql([
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
      should.exist(saved);
      const id = saved.outage?.id;
      const config = m.config;
      let state = initialAggregate(config, at(T0 + 60_000), saved);
      let r = aggregateInput(config, state, A, ups(A, "OB", { charge: 80 }), at(T0 + 61_000));
      should(r.output?.payload.event).equal("UPDATE");
      should(r.output?.outage?.id).equal(id);
      should(r.output?.payload.onBattery).be.true();
      state = r.state;
      r = aggregateInput(config, state, A, ups(A, "OL"), at(T0 + 62_000));
      should(r.output?.payload.event).equal("POWER_BACK");
      state = r.state;
      const end = aggregateTick(config, state, at(nextDeadline(config, state) ?? 0));
      should(end.output?.payload.event).equal("OUTAGE_END");
      should(end.output?.outage?.id).equal(id);
    });

    it("after a restart in mid-outage, power is not declared back before every listed UPS reported (or the dead time)", () => {
      const two = {
        sources: [
          { topic: A, power: 1 },
          { topic: B, power: 1 },
        ],
        deadMs: 30_000,
      };
      const before = machine(two);
      before.send(A, ups(A, "OB"));
      before.send(B, ups(B, "OB"));
      before.advance(T0 + 5000);
      const saved = savedOutage(before.state, null);
      const restart = T0 + 60_000;
      const config = before.config;
      let state = initialAggregate(config, at(restart), saved);
      let r = aggregateInput(config, state, A, ups(A, "OL"), at(restart + 1000));
      should(r.output?.payload.onBattery).be.true("ups2 has not reported yet");
      should(r.output?.payload.event).equal("UPDATE");
      state = r.state;
      r = aggregateInput(config, state, B, ups(B, "OB", { charge: 50 }), at(restart + 2000));
      should(r.output?.payload.onBattery).be.true();
      should(r.output?.outage?.id).equal(saved.outage?.id);
      // and when ups2 never reports, the dead time ends the wait
      state = initialAggregate(config, at(restart), saved);
      state = aggregateInput(config, state, A, ups(A, "OL"), at(restart + 1000)).state;
      should(nextDeadline(config, state)).equal(restart + 30_000);
      const t = aggregateTick(config, state, at(restart + 30_000));
      should(t.output?.payload.event).equal("POWER_BACK");
    });

    it("ignores a saved value it does not recognise", () => {
      should(parseSavedOutage("garbage")).equal(null);
      should(parseSavedOutage({ outage: { id: 3 }, powerOut: true })?.outage).equal(null);
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
        fc.property(
          fc.array(event, { maxLength: 60 }),
          fc.constantFrom("weakest", "redundant", "minsupplies"),
          fc.constantFrom("deadtime", "ignore", "lost"),
          (evs, policy, staleRule) => {
            const m = machine({
              policy: policy as AggregateConfig["policy"],
              staleRule: staleRule as AggregateConfig["staleRule"],
              silentMs: 20_000,
              sources: [
                { topic: A, power: 1 },
                { topic: B, power: 1 },
              ],
            });
            let t = T0;
            for (const e of evs) {
              t += e.dt;
              if (e.tickOnly) m.advance(t);
              else m.send(e.src, ups(e.src, e.status, { charge: e.charge, stale: e.stale }), t);
            }
            let open: string | null = null;
            for (const o of m.outs) {
              if (o.payload.onBattery) should.exist(o.outage, "on battery without an outage");
              if (o.payload.event === "POWER_LOST") {
                should(open).equal(null, "POWER_LOST while an outage is open");
                open = o.outage?.id ?? null;
              } else if (o.payload.event === "OUTAGE_END") {
                should(o.outage?.id).equal(open);
                should(typeof o.outage?.ended).equal("number");
                open = null;
              } else {
                should(o.outage?.id ?? null).equal(open, "outage id changed without POWER_LOST / OUTAGE_END");
              }
              if (o.payload.critical) should(o.payload.onBattery).be.true("critical without power out");
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it("any payload: never throws; refused input leaves the state as it was", () => {
      fc.assert(
        fc.property(fc.anything(), fc.oneof(fc.constant(A), fc.anything()), (payload, topic) => {
          const m = machine();
          const before = m.state;
          const r = aggregateInput(m.config, before, topic, payload, at(T0));
          if (r.error) should(r.state).equal(before);
        }),
        { numRuns: 500 },
      );
    });
  });
});
