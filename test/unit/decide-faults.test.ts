/**
 * ups-aggregate core under faults: the dead time counted from the last good
 * read, a dead UPS that never blinds the plan, upsmon 2.8's criticality
 * rules, and a clock that cannot jump. Each case names the upsmon.c rule it
 * follows (clients/upsmon.c of NUT 2.8.x: is_ups_critical, recalc).
 */
import should from "../harness/should";
import type { PowerState } from "../../core/contract";
import { MAX_SOURCES, aggregateInput, aggregateStatus, initialAggregate, nextDeadline, parseSavedOutage, savedOutage } from "../../core/decide/aggregate";
import { DEFAULT_TIERS, initialTiers, tierInput, tierTick, nextTierDeadline, type TierConfig } from "../../core/decide/tiers";
import type { Moment } from "../../core/moment";
import { aggregateMachine, aggregateShown, source, ups } from "../harness/decide-fixtures";

const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);
const A = "ups1@nas:3493";
const B = "ups2@nas:3493";
const DAY = 86_400_000;
const machine = aggregateMachine;

const two = {
  sources: [
    { topic: A, power: 1 },
    { topic: B, power: 1 },
  ],
};
const critical = (p: PowerState) => p.critical;

describe("ups-aggregate core under faults", () => {
  describe("the dead time counts from the last good read (upsmon: DEADTIME since the last successful poll)", () => {
    it("a UPS steady on battery for 40 s (no message on change), then unreadable: critical 30 s after its last good read, not at once", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB DISCHRG", { charge: 85 }), T0);
      m.send(B, ups(B, "OB DISCHRG", { charge: 86 }), T0);
      m.advance(T0 + 40_000);
      should(m.last().payload.onBattery).be.true();
      // nut-ups-in polls every 2 s: its last good read was 2 s before the failed one
      const stale = m.send(A, ups(A, "OB DISCHRG", { charge: 85, stale: true, age: 2000 }), T0 + 40_000);
      should(stale?.payload.critical).be.false("within the dead time: the last values count");
      should(source(stale?.payload, A).verdict).equal("battery");
      should(nextDeadline(m.config, m.state)).equal(T0 + 68_000);
      m.advance(T0 + 67_999);
      should(m.last().payload.critical).be.false();
      m.advance(T0 + 68_000);
      should(m.last().payload.critical).be.true();
      should(m.firstWhen(critical)).equal(68_000);
    });

    it("upsd restarted for 10 s mid-outage (dead time 30 s): nothing beyond what the fresh data says", () => {
      const m = machine(two);
      m.send(A, ups(A, "OB DISCHRG", { charge: 85 }), T0);
      m.send(B, ups(B, "OB DISCHRG", { charge: 70 }), T0);
      m.advance(T0 + 40_000);
      const before = m.outs.length;
      m.send(A, ups(A, "OB DISCHRG", { charge: 85, reachable: false, stale: true, age: 1500 }), T0 + 40_000);
      m.send(B, ups(B, "OB DISCHRG", { charge: 70, reachable: false, stale: true, age: 1500 }), T0 + 40_000);
      m.send(A, ups(A, "OB DISCHRG", { charge: 84 }), T0 + 50_000);
      m.send(B, ups(B, "OB DISCHRG", { charge: 69 }), T0 + 50_000);
      m.advance(T0 + 200_000);
      const during = m.outs.slice(before);
      should(during.every((o) => !o.payload.critical && o.payload.onBattery)).be.true("never critical, never back on line");
      should(m.last().payload.stale).eql([]);
      should(m.last().payload.charge).equal(69);
    });

    it("without `age` (a message not from nut-ups-in), it counts from the stale message, never from an older fresh one", () => {
      const m = machine();
      m.send(A, ups(A, "OB", { charge: 85 }), T0);
      m.send(A, ups(A, "OB", { charge: 85, stale: true, age: null }), T0 + 40_000);
      m.advance(T0 + 200_000);
      should(m.firstWhen(critical)).equal(70_000);
    });

    it("an `age` reaching back before the last fresh message is bounded by it; later stale messages do not move it", () => {
      const m = machine();
      m.send(A, ups(A, "OB", { charge: 85 }), T0 + 10_000);
      m.send(A, ups(A, "OB", { charge: 85, stale: true, age: 60_000 }), T0 + 20_000);
      m.send(A, ups(A, "OB", { charge: 85, stale: true, age: 100 }), T0 + 30_000);
      m.advance(T0 + 200_000);
      should(m.firstWhen(critical)).equal(40_000);
    });

    it("silent after (nut-ups-in sending every poll): silent from the last message, dead from the last good read", () => {
      const m = machine({ silentMs: 6000, deadMs: 15_000 });
      m.send(A, ups(A, "OB", { charge: 85 }), T0);
      m.send(A, ups(A, "OB", { charge: 85 }), T0 + 2000);
      m.advance(T0 + 7999);
      should(m.last().payload.stale).eql([]);
      m.advance(T0 + 8000);
      should(m.last().payload.stale).eql([A]);
      should(m.last().payload.critical).be.false();
      m.advance(T0 + 40_000);
      should(m.firstWhen(critical)).equal(17_000);
    });
  });

  describe("a dead UPS never blinds the plan: the critical condition is added, the readings of the others stay", () => {
    it("weakest: ups1 dead on battery, ups2 on battery at 62 %: critical, charge and reference from ups2", () => {
      const m = machine({ ...two, deadMs: 10_000 });
      m.send(A, ups(A, "OB", { charge: 40, runtime: 600 }), T0);
      m.send(B, ups(B, "OB", { charge: 62, runtime: 1500 }), T0);
      m.send(A, ups(A, "OB", { charge: 40, runtime: 600, stale: true, age: 0 }), T0 + 6000);
      should(source(m.last().payload, A).verdict).equal("battery", "within the dead time it still counts as on battery");
      should(m.last().payload.reference).equal(B, "and the fresh readings of ups2 are not hidden by its stale ones");
      m.advance(T0 + 16_000);
      const o = m.last().payload;
      should(o.critical).be.true();
      should(o.reference).equal(B);
      should(o.charge).equal(62);
      should(o.runtime).equal(1500);
      should(source(o, A).verdict).equal("lost");
      should(m.last().summary).match(/^On battery, CRITICAL \(ups1@nas:3493 lost\): weakest ups2@nas:3493 at 62 %/);
      m.send(B, ups(B, "OB", { charge: 48, runtime: 1100 }), T0 + 30_000);
      should(m.last().payload.charge).equal(48, "the tiers keep following ups2");
    });

    it("the tiers keep following the readable UPS: storage at 48 % reached besides the critical tier; a charge-only plan still follows", () => {
      const m = machine({ ...two, deadMs: 10_000 });
      m.send(A, ups(A, "OB", { charge: 95 }), T0);
      m.send(B, ups(B, "OB", { charge: 95 }), T0);
      m.send(A, ups(A, "OB", { charge: 95, stale: true, age: 0 }), T0 + 6000);
      m.advance(T0 + 16_000);
      m.send(B, ups(B, "OB", { charge: 48 }), T0 + 20_000);
      const p = m.last();
      const charges: TierConfig = { tiers: DEFAULT_TIERS.map((t) => ({ ...t, critical: false })), mode: "while", staleCounts: false, fsdAll: true };
      const fired = tierInput(charges, initialTiers(0), { payload: p.payload, outage: p.outage, summary: p.summary }, 0);
      should(fired.emits.map((e) => e.tier.name)).eql(["backup", "storage"]);
      const plan: TierConfig = { tiers: DEFAULT_TIERS, mode: "while", staleCounts: false, fsdAll: true };
      const all = tierInput(plan, initialTiers(0), { payload: p.payload, outage: p.outage, summary: p.summary }, 0);
      should(all.emits.map((e) => e.tier.name)).eql(["backup", "storage", "production", "everything"]);
      should(all.emits[3].tier.reason).equal("power state critical");
      should(all.emits[1].tier.reason).equal("charge 48 % ≤ 50 %");
    });

    it("redundant: one feed lost, the other still read: not critical yet, the survivor is the reference", () => {
      const m = machine({ ...two, policy: "redundant", deadMs: 10_000 });
      m.send(A, ups(A, "OB", { charge: 50, runtime: 900 }), T0);
      m.send(B, ups(B, "OB", { charge: 80, runtime: 2000 }), T0);
      m.send(A, ups(A, "OB", { charge: 50, stale: true, age: 0 }), T0 + 5000);
      m.advance(T0 + 20_000);
      const o = m.last().payload;
      should(o.critical).be.false();
      should(o.onBattery).be.true();
      should(o.reference).equal(B);
      should(o.charge).equal(80);
    });
  });

  describe("upsmon 2.8 criticality rules", () => {
    it("OB LB with CAL is not critical, and a UPS calibrating on battery starts no outage (is_ups_critical: calibrating)", () => {
      const m = machine();
      m.send(A, ups(A, "OL"), T0);
      m.send(A, ups(A, "OB CAL DISCHRG", { charge: 60 }), T0 + 1000);
      m.send(A, ups(A, "OB LB CAL DISCHRG", { charge: 8 }), T0 + 60_000);
      m.advance(T0 + 120_000);
      should(m.outs.every((o) => !o.payload.onBattery && !o.payload.critical && o.outage === null)).be.true();
      should(source(m.last().payload, A).note ?? "").match(/calibrating \(CAL\): not a power loss/);
    });

    it("with 'calibration counts as on battery': an outage, and OB LB CAL is still not critical", () => {
      const m = machine({ calOnBattery: true });
      m.send(A, ups(A, "OB CAL DISCHRG", { charge: 60 }), T0);
      m.advance(T0 + 5000);
      should(m.last().payload.event).equal("POWER_LOST");
      m.send(A, ups(A, "OB LB CAL DISCHRG", { charge: 8 }), T0 + 60_000);
      should(m.last().payload.critical).be.false();
      should(source(m.last().payload, A).note ?? "").match(/low battery while calibrating \(CAL\): not critical/);
    });

    it("OFF counts as a lost feed only after the OFF duration (OFFDURATION 30 s); a 5 s OFF at a self-test is nothing", () => {
      const blip = machine();
      blip.send(A, ups(A, "OL"), T0);
      blip.send(A, ups(A, "OL OFF"), T0 + 1000);
      blip.send(A, ups(A, "OL"), T0 + 6000);
      blip.advance(T0 + 120_000);
      should(blip.outs.every((o) => !o.payload.onBattery && !o.payload.critical)).be.true();
      const off = machine();
      off.send(A, ups(A, "OL"), T0);
      off.send(A, ups(A, "OL OFF"), T0 + 1000);
      should(nextDeadline(off.config, off.state)).equal(T0 + 31_000);
      off.advance(T0 + 120_000);
      should(off.firstWhen(critical)).equal(31_000);
      should(source(off.last().payload, A).verdict).equal("lost");
      should(source(off.last().payload, A).note ?? "").match(/^OFF for 30 s or more: counted as a lost feed/);
      const never = machine({ offMs: null });
      never.send(A, ups(A, "OL OFF"), T0);
      never.advance(T0 + 3_600_000);
      should(never.firstWhen(critical)).equal(null);
    });

    it("a UPS last seen on BYPASS, in ALARM, calibrating or OFF that stops communicating is lost at once", () => {
      for (const status of ["OL BYPASS", "OL ALARM", "OB CAL", "OL OFF"]) {
        const m = machine();
        m.send(A, ups(A, status), T0);
        m.send(A, ups(A, status, { stale: true, age: 2000 }), T0 + 2000);
        should(m.firstWhen(critical)).equal(2000, status);
        should(source(m.last().payload, A).note ?? "").match(/^data stale, last seen .*: counted as lost$/, status);
      }
    });

    it("ALARMCRITICAL off: a UPS last seen in ALARM that stops communicating waits for the dead time like any other", () => {
      const m = machine({ alarmCritical: false });
      m.send(A, ups(A, "OB ALARM"), T0);
      m.send(A, ups(A, "OB ALARM", { stale: true, age: 2000 }), T0 + 2000);
      m.advance(T0 + 100_000);
      should(m.firstWhen(critical)).equal(30_000);
    });

    it("OVERDURATION: overloaded and not communicating is lost once OVER has lasted the duration; never by default", () => {
      const m = machine({ overMs: 10_000 });
      m.send(A, ups(A, "OL OVER"), T0);
      m.send(A, ups(A, "OL OVER", { stale: true, age: 2000 }), T0 + 4000);
      m.advance(T0 + 100_000);
      should(m.firstWhen(critical)).equal(10_000);
      const never = machine();
      never.send(A, ups(A, "OL OVER"), T0);
      never.send(A, ups(A, "OL OVER", { stale: true, age: 2000 }), T0 + 4000);
      never.advance(T0 + 3_600_000);
      should(never.firstWhen(critical)).equal(null, "last seen on line power: not counted after the dead time either");
    });

    it("OBLBDURATION: low battery must last before it is critical; a dead UPS last seen on battery too", () => {
      const m = machine({ oblbMs: 10_000 });
      m.send(A, ups(A, "OB LB", { charge: 9 }), T0);
      should(m.last().payload.critical).be.false();
      m.advance(T0 + 100_000);
      should(m.firstWhen(critical)).equal(10_000);
      const clears = machine({ oblbMs: 10_000 });
      clears.send(A, ups(A, "OB LB", { charge: 9 }), T0);
      clears.send(A, ups(A, "OB", { charge: 11 }), T0 + 5000);
      clears.advance(T0 + 100_000);
      should(clears.firstWhen(critical)).equal(null);
      const dead = machine({ oblbMs: 10_000 });
      dead.send(A, ups(A, "OB", { charge: 50 }), T0);
      dead.send(A, ups(A, "OB", { charge: 50, stale: true, age: 0 }), T0 + 1000);
      dead.advance(T0 + 100_000);
      should(dead.firstWhen(critical)).equal(41_000, "dead at 31 s, then low battery for 10 s");
    });

    it("FSD on line power: critical and fsd at once, an outage opens without the confirm time", () => {
      const m = machine();
      m.send(A, ups(A, "OL"), T0);
      m.send(A, ups(A, "FSD OL"), T0 + 1000);
      const o = m.last().payload;
      should(o.event).equal("POWER_LOST");
      should(o.critical).be.true();
      should(o.fsd).be.true();
      should(m.last().summary).match(/CRITICAL \(ups1@nas:3493 FSD\)/);
    });

    it("minimum supplies: FSD on a UPS of power value 0 shuts nothing down (recalc counts power values)", () => {
      const m = machine({
        policy: "minsupplies",
        minSupplies: 1,
        sources: [
          { topic: A, power: 1 },
          { topic: B, power: 0 },
        ],
      });
      m.send(A, ups(A, "OL"), T0);
      m.send(B, ups(B, "FSD OL"), T0);
      m.advance(T0 + 60_000);
      should(m.firstWhen(critical)).equal(null);
      should(m.last().payload.fsd).be.false();
    });
  });

  describe("a clock that cannot jump", () => {
    it("an NTP step of months while on battery fires no time tier and ends nothing; the time on battery runs on", () => {
      const m = machine();
      m.send(A, ups(A, "OB", { charge: 90 }), T0);
      m.advance(T0 + 5000);
      const lost = m.last();
      should(lost.outage?.since).equal(T0);
      m.stepWall(90 * DAY);
      m.send(A, ups(A, "OB", { charge: 89 }), T0 + 65_000);
      const o = m.last();
      should(o.payload.onBatterySeconds).equal(65);
      should(o.outage).eql(lost.outage, "the same outage, the same start");
      const t = tierInput(
        { tiers: [{ ...DEFAULT_TIERS[0], charge: null, onBatteryFor: 600 }], mode: "while", staleCounts: false, fsdAll: true },
        initialTiers(T0),
        { payload: o.payload, outage: o.outage, summary: o.summary },
        T0 + 65_000,
      );
      should(t.emits).eql([]);
    });

    it("a step back of a year during the confirm time neither fires nor cancels it", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.stepWall(-365 * DAY);
      m.advance(T0 + 4999);
      should(m.last().payload.onBattery).be.false();
      m.advance(T0 + 5000);
      should(m.last().payload.event).equal("POWER_LOST");
      should(m.last().outage?.since).equal(T0 - 365 * DAY, "the identity takes the wall clock of the moment");
    });

    it("the restore time runs on the monotonic clock", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OL"), T0 + 10_000);
      m.stepWall(30 * DAY);
      m.advance(T0 + 39_999);
      should(m.outs.some((o) => o.payload.event === "OUTAGE_END")).be.false();
      m.advance(T0 + 40_000);
      should(m.last().payload.event).equal("OUTAGE_END");
    });

    it("restart in the same boot: the stored monotonic start is exact, whatever the wall clock did", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      const saved = parseSavedOutage(JSON.parse(JSON.stringify(savedOutage(m.state, "boot-1"))));
      should.exist(saved);
      const later: Moment = { mono: T0 + 120_000, wall: T0 + 120_000 + 200 * DAY };
      const state = initialAggregate(m.config, later, saved, "boot-1");
      const r = aggregateInput(m.config, state, A, ups(A, "OB"), later);
      should(r.output?.payload.onBatterySeconds).equal(120);
    });

    it("restart after a reboot: from the wall clock, never negative (a clock behind makes the outage shorter)", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      const saved = savedOutage(m.state, "boot-1");
      const behind: Moment = { mono: 50_000, wall: T0 - 400 * DAY };
      let r = aggregateInput(m.config, initialAggregate(m.config, behind, saved, "boot-2"), A, ups(A, "OB"), behind);
      should(r.output?.payload.onBatterySeconds).equal(0);
      const right: Moment = { mono: 50_000, wall: T0 + 300_000 };
      r = aggregateInput(m.config, initialAggregate(m.config, right, saved, "boot-2"), A, ups(A, "OB"), right);
      should(r.output?.payload.onBatterySeconds).equal(300);
    });

    it("a time tier comes due on the monotonic clock from the last power state", () => {
      const config: TierConfig = { tiers: [{ ...DEFAULT_TIERS[0], charge: null, onBatteryFor: 300 }], mode: "while", staleCounts: false, fsdAll: true };
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 100_000);
      const o = m.last();
      const s = tierInput(config, initialTiers(0), { payload: { ...o.payload, onBatterySeconds: 100 }, outage: o.outage, summary: o.summary }, 7_000);
      should(nextTierDeadline(config, s.state)).equal(207_000);
      should(tierTick(config, s.state, 206_999).emits).eql([]);
      should(tierTick(config, s.state, 207_000).emits[0].tier.reason).equal("on battery 300 s ≥ 300 s");
    });
  });

  describe("the operator sees what the aggregate waits for", () => {
    it("power out, confirming, with the seconds left; then on battery", () => {
      const m = machine();
      m.send(A, ups(A, "OL"), T0);
      m.send(A, ups(A, "OB", { charge: 97 }), T0 + 1000);
      m.advance(T0 + 3000);
      should(m.status()).eql({ fill: "yellow", shape: "ring", text: "power out, confirming 3 s", countdown: true });
      m.advance(T0 + 6000);
      should(m.status()?.text).equal("on battery 97 % ~1 h 00 min (ups1)");
    });

    it("a UPS stale within its dead time shows the seconds left", () => {
      const m = machine({ ...two, deadMs: 30_000 });
      m.send(A, ups(A, "OB", { charge: 85 }), T0);
      m.send(B, ups(B, "OB", { charge: 90 }), T0);
      m.advance(T0 + 40_000);
      m.send(A, ups(A, "OB", { charge: 85, stale: true, age: 2000 }), T0 + 40_000);
      m.advance(T0 + 46_000);
      should(m.status()?.text).equal("on battery 90 % ~1 h 00 min (ups2) · stale 1, dead in 22 s");
      should(m.status()?.countdown).be.true();
    });

    it("a topic not in the list stays in the status (red) until the node is fixed", () => {
      const m = machine();
      m.send(A, ups(A, "OL", { charge: 100 }), T0);
      should(aggregateShown(aggregateStatus(m.config, m.state, m.last().payload, T0, "ups1@10.0.0.5:3494"))).eql({
        fill: "red",
        shape: "ring",
        text: "on line power 100 % ~1 h 00 min · unknown topic ups1@10.0.0.5:3494",
        countdown: false,
      });
      should(aggregateShown(aggregateStatus(m.config, m.state, null, T0, "x@y:1")).text).equal("unknown topic x@y:1");
      // what the node decided stays in front: power out, confirming (a countdown), then CRITICAL (a red dot)
      m.send(A, ups(A, "OB", { charge: 90 }), T0 + 1000);
      const confirming = aggregateShown(aggregateStatus(m.config, m.state, m.last().payload, T0 + 2000, "ups1@10.0.0.5:3494"));
      should(confirming).eql({ fill: "red", shape: "ring", text: "power out, confirming 4 s · unknown topic ups1@10.0.0.5:3494", countdown: true });
      m.send(A, ups(A, "OB LB", { charge: 5 }), T0 + 3000);
      const critical = aggregateShown(aggregateStatus(m.config, m.state, m.last().payload, T0 + 3000, "ups1@10.0.0.5:3494"));
      should(critical.text).match(/^CRITICAL .* · unknown topic ups1@10\.0\.0\.5:3494$/);
      should([critical.fill, critical.shape]).eql(["red", "dot"]);
    });

    it("power back: the seconds until the outage ends", () => {
      const m = machine();
      m.send(A, ups(A, "OB"), T0);
      m.advance(T0 + 5000);
      m.send(A, ups(A, "OL"), T0 + 10_000);
      m.advance(T0 + 20_000);
      should(m.status()?.text).equal("power back, outage ends in 20 s");
    });
  });

  it(`an empty UPS list follows at most ${MAX_SOURCES} topics; the next one is refused, the state kept`, () => {
    const m = machine({ sources: [] });
    for (let i = 0; i < MAX_SOURCES; i++) m.send(`ups${i}@nas:3493`, ups(`ups${i}@nas:3493`, "OL"), T0);
    const before = m.state;
    const r = aggregateInput(m.config, before, "one-more@nas:3493", ups("one-more@nas:3493", "OB"), { mono: T0, wall: T0 });
    should(r.error ?? "").match(/already follows 64 UPSes/);
    should(r.state).equal(before);
  });
});
