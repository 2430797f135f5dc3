/**
 * The battery-tier-switch core (core/decide/tiers.ts) as plain functions:
 * conditions, modes, due times.
 */
import should from "../harness/should";
import fc from "fast-check";
import type { OutageIdentity, PowerState } from "../../core/contract";
import {
  type TierConfig,
  type TierRule,
  type TierStep,
  checkTierConfig,
  checkTierInput,
  DEFAULT_TIERS,
  initialTiers,
  nextTierDeadline,
  tierInput,
  tierStatus,
  tierTick,
} from "../../core/decide/tiers";
import type { StatusView } from "../../core/status";
import { shown } from "../harness/catalog";
import { outage, power } from "../harness/decide-fixtures";

/** A status as battery-tier-switch shows it, in English. */
const tiers = (view: StatusView) => shown("battery-tier-switch", view);

const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);
const O1 = outage("outage-1", T0);
const O2 = outage("outage-2", T0 + 3_600_000);
const R = "ups1@nas:3493";

const none: Omit<TierRule, "name"> = { charge: null, runtime: null, onBatteryFor: null, lowBattery: false, critical: false, depletion: null };

function switcher(over: Partial<TierConfig> = {}) {
  const config: TierConfig = { tiers: DEFAULT_TIERS, mode: "while", staleCounts: false, fsdAll: true, ...over };
  should(checkTierConfig(config)).eql([]);
  let state = initialTiers(T0);
  return {
    config,
    get state() {
      return state;
    },
    input(p: Partial<PowerState>, o: OutageIdentity | null, now: number, summary: string | null = null): TierStep {
      const payload = power({ reference: R, ...p });
      should(checkTierInput(payload, o)).equal(null);
      const step = tierInput(config, state, { payload, outage: o, summary }, now);
      state = step.state;
      return step;
    },
    tick(now: number): TierStep {
      const step = tierTick(config, state, now);
      state = step.state;
      return step;
    },
  };
}

const names = (s: TierStep) => s.emits.map((e) => e.tier.name);
const onBatt = (charge: number, extra: Partial<PowerState> = {}): Partial<PowerState> => ({ onBattery: true, charge, onBatterySeconds: 60, ...extra });

describe("battery-tier-switch core", () => {
  describe("default tiers (backup 90, storage 50, production 20, everything 10)", () => {
    it("boundaries: 90.1 % nothing, 90 % and 89.9 % backup", () => {
      should(names(switcher().input(onBatt(90.1), O1, T0))).eql([]);
      should(names(switcher().input(onBatt(90), O1, T0))).eql(["backup"]);
      should(names(switcher().input(onBatt(89.9), O1, T0))).eql(["backup"]);
    });

    it("at 15 % backup, storage and production all hold, in order", () => {
      const s = switcher().input(onBatt(15), O1, T0);
      should(names(s)).eql(["backup", "storage", "production"]);
      should(s.emits.map((e) => e.index)).eql([0, 1, 2]);
      should(s.emits[2].tier.reason).equal("charge 15 % ≤ 20 %");
    });

    it("a jump from 100 % to 8 % fires every tier, in order", () => {
      const sw = switcher();
      should(names(sw.input(onBatt(100), O1, T0))).eql([]);
      should(names(sw.input(onBatt(8), O1, T0 + 1000))).eql(["backup", "storage", "production", "everything"]);
    });

    it("never fires on line power, even at 3 % (recharging after an outage)", () => {
      const sw = switcher();
      const s = sw.input({ onBattery: false, charge: 3, critical: false, event: "POWER_BACK" }, O1, T0);
      should(s.emits).eql([]);
      should(s.restored).equal(null);
      should(tiers(tierStatus(sw.config, sw.state)).text).match(/^power back 3 %/);
    });

    it("the last tier also fires on a critical state, and implies the tiers above", () => {
      const s = switcher().input(onBatt(95, { critical: true }), O1, T0);
      should(names(s)).eql(["backup", "storage", "production", "everything"]);
      should(s.emits[3].tier.reason).equal("power state critical");
      should(s.emits[0].tier.reason).equal("implied by everything (power state critical)");
    });

    it("the summary names the tier, the reason and the power state", () => {
      const sw = switcher();
      sw.input(onBatt(85), O1, T0);
      const s = sw.input(onBatt(45), O1, T0, "On battery: weakest ups1@nas:3493 at 45 %");
      should(s.emits[1].summary).equal("Tier storage reached: charge 45 % ≤ 50 %; On battery: weakest ups1@nas:3493 at 45 %");
      should(s.emits[1].tier.together).eql(["storage"]);
      should(s.emits[0].tier.together).eql(["backup"], "sent again, alone");
    });
  });

  describe("emission modes", () => {
    it("while: every message while a tier holds", () => {
      const sw = switcher();
      should(names(sw.input(onBatt(85), O1, T0))).eql(["backup"]);
      should(names(sw.input(onBatt(84), O1, T0 + 1000))).eql(["backup"]);
      should(names(sw.input(onBatt(49), O1, T0 + 2000))).eql(["backup", "storage"]);
    });

    it("first: only when a tier is first reached in this outage; again in the next outage", () => {
      const sw = switcher({ mode: "first" });
      should(names(sw.input(onBatt(85), O1, T0))).eql(["backup"]);
      should(names(sw.input(onBatt(84), O1, T0 + 1000))).eql([]);
      should(names(sw.input(onBatt(15), O1, T0 + 2000))).eql(["storage", "production"]);
      // power back (flicker), then out again in the same outage: nothing new
      sw.input({ onBattery: false, charge: 16, event: "POWER_BACK" }, O1, T0 + 3000);
      should(names(sw.input(onBatt(15), O1, T0 + 4000))).eql([]);
      should(names(sw.input(onBatt(85), O2, O2.since + 5000))).eql(["backup"]);
    });
  });

  describe("power restored", () => {
    it("OUTAGE_END sends the restored message and forgets the outage", () => {
      const sw = switcher({ mode: "first" });
      sw.input(onBatt(40), O1, T0);
      const s = sw.input({ onBattery: false, charge: 60, event: "OUTAGE_END" }, { ...O1, ended: T0 + 900_000 }, T0 + 900_000, "Outage over after 15 min");
      should(s.emits).eql([]);
      should(s.restored?.summary).equal("Power restored (outage-1 over): re-arm latches, cancel pending shutdowns; Outage over after 15 min");
      should(sw.state.outageId).equal(null);
      should(sw.state.reached).equal(-1);
      should(tiers(tierStatus(sw.config, sw.state)).text).equal("on line power 60 % ~1 h 00 min");
    });

    it("says 'no data' rather than 'on line power' when no UPS can tell (all stale or never reported)", () => {
      const sw = switcher();
      sw.input({ onBattery: false, reference: null, charge: null, runtime: null, stale: [R, "ups2@nas:3493"] }, null, T0);
      should(tiers(tierStatus(sw.config, sw.state))).eql({ fill: "grey", shape: "ring", text: "no data · stale 2" });
    });

    it("POWER_BACK is not the restored message (the outage is still open)", () => {
      const s = switcher().input({ onBattery: false, event: "POWER_BACK" }, O1, T0);
      should(s.restored).equal(null);
    });
  });

  describe("conditions", () => {
    const one = (r: Partial<TierRule>) => switcher({ tiers: [{ name: "t", ...none, ...r }] });

    it("runtime ≤ S", () => {
      should(names(one({ runtime: 600 }).input(onBatt(80, { runtime: 601 }), O1, T0))).eql([]);
      const s = one({ runtime: 600 }).input(onBatt(80, { runtime: 600 }), O1, T0);
      should(s.emits[0].tier.reason).equal("runtime 600 s ≤ 600 s");
    });

    it("time on battery ≥ T", () => {
      should(names(one({ onBatteryFor: 300 }).input(onBatt(99, { onBatterySeconds: 299 }), O1, T0))).eql([]);
      should(names(one({ onBatteryFor: 300 }).input(onBatt(99, { onBatterySeconds: 300 }), O1, T0))).eql(["t"]);
    });

    it("time on battery comes due without a message: deadline and tick", () => {
      const sw = one({ onBatteryFor: 300 });
      sw.input(onBatt(99, { onBatterySeconds: 10 }), O1, T0 + 10_000);
      should(nextTierDeadline(sw.config, sw.state)).equal(T0 + 300_000);
      const s = sw.tick(T0 + 300_000);
      should(names(s)).eql(["t"]);
      should(s.emits[0].tier.reason).equal("on battery 300 s ≥ 300 s");
      should(nextTierDeadline(sw.config, sw.state)).equal(null);
    });

    it("fires at its deadline whatever the monotonic time's fraction: the count of seconds and the deadline agree", () => {
      // A monotonic time just below 2^26 ms (18.6 h of uptime) with a fraction: (at + 600 000) - at is 599 999.99999999 in doubles.
      const at = 2 ** 26 - 300_000 + 0.7612525;
      should((at + 600_000 - at) / 1000).be.below(600);
      const sw = one({ onBatteryFor: 600 });
      sw.input(onBatt(95, { onBatterySeconds: 0 }), O1, at);
      const due = nextTierDeadline(sw.config, sw.state);
      should(due).equal(at + 600_000);
      should(names(sw.tick(due! - 0.001))).eql([]);
      should(sw.tick(due!).emits[0]?.tier.reason).equal("on battery 600 s ≥ 600 s");
    });

    it("no deadline on line power", () => {
      const sw = one({ onBatteryFor: 300 });
      sw.input({ onBattery: false }, null, T0);
      should(nextTierDeadline(sw.config, sw.state)).equal(null);
      should(sw.tick(T0 + 400_000).emits).eql([]);
    });

    it("LB flag of the reference UPS", () => {
      const sources = [{ topic: R, lowBattery: true }] as unknown as PowerState["sources"];
      should(names(one({ lowBattery: true }).input(onBatt(60, { sources }), O1, T0))).eql(["t"]);
      should(names(one({ lowBattery: true }).input(onBatt(60), O1, T0))).eql([]);
    });

    it("critical only when asked for", () => {
      should(names(one({ charge: 10 }).input(onBatt(60, { critical: true }), O1, T0))).eql([]);
      should(names(one({ critical: true }).input(onBatt(60, { critical: true }), O1, T0))).eql(["t"]);
    });

    it("conditions are combined with OR", () => {
      const sw = one({ charge: 30, runtime: 300 });
      should(names(sw.input(onBatt(80, { runtime: 200 }), O1, T0))).eql(["t"]);
      should(names(sw.input(onBatt(25, { runtime: 2000 }), O1, T0))).eql(["t"]);
      should(names(sw.input(onBatt(80, { runtime: 2000 }), O1, T0))).eql([]);
    });
  });

  describe("depletion rate", () => {
    const fast = (graceS: number) => switcher({ tiers: [{ name: "fast", ...none, depletion: { rate: 2, windowS: 60, graceS } }] });

    it("fires when the charge falls at least R %/min over the window, after the grace period", () => {
      const sw = fast(60);
      // power lost at T0: the first minute's readings jump (grace)
      sw.input(onBatt(100), O1, T0);
      sw.input(onBatt(90), O1, T0 + 30_000);
      should(names(sw.input(onBatt(88), O1, T0 + 60_000))).eql([], "readings inside the grace period are not used");
      should(names(sw.input(onBatt(87), O1, T0 + 90_000))).eql([], "no reading a full window old yet");
      const s = sw.input(onBatt(85.9), O1, T0 + 120_000);
      should(names(s)).eql(["fast"]);
      should(s.emits[0].tier.reason).equal("charge falling 2.1 %/min ≥ 2 %/min over 60 s");
    });

    it("a slower fall does not fire", () => {
      const sw = fast(0);
      sw.input(onBatt(80), O1, T0);
      should(names(sw.input(onBatt(78.5), O1, T0 + 60_000))).eql([]);
    });

    it("a burst of readings keeps one a second: 10 000 power states in 10 s hold 10 readings, and the rate still fires", () => {
      const sw = fast(0);
      for (let i = 0; i < 10_000; i++) sw.input(onBatt(80 - (i % 2) * 0.1), O1, T0 + i);
      should(sw.state.samples.map((x) => x.t - T0)).eql([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
      should(names(sw.input(onBatt(77), O1, T0 + 60_500))).eql(["fast"], "80 % a minute ago, 77 % now: 3 %/min");
    });

    it("readings from before power came back are not mixed in", () => {
      const sw = fast(0);
      sw.input(onBatt(80), O1, T0);
      sw.input({ onBattery: false, charge: 80, event: "POWER_BACK" }, O1, T0 + 10_000);
      sw.input(onBatt(79), O1, T0 + 70_000);
      should(names(sw.input(onBatt(78), O1, T0 + 100_000))).eql([]);
    });
  });

  describe("stale data", () => {
    const stale = (charge: number) => onBatt(charge, { stale: [R] });

    it("a stale reference does not reach a tier by charge...", () => {
      should(names(switcher().input(stale(5), O1, T0))).eql([]);
    });

    it("...unless the operator says stale values count", () => {
      should(names(switcher({ staleCounts: true }).input(stale(5), O1, T0))).eql(["backup", "storage", "production", "everything"]);
    });

    it("the aggregate's critical verdict (e.g. a UPS dead while on battery) still fires", () => {
      should(names(switcher().input({ ...stale(0), critical: true }, O1, T0))).eql(["backup", "storage", "production", "everything"]);
    });

    it("another stale source than the reference does not block", () => {
      should(names(switcher().input(onBatt(45, { stale: ["ups9@x:3493"] }), O1, T0))).eql(["backup", "storage"]);
    });
  });

  describe("bad input", () => {
    const cases: Array<[string, unknown, unknown, RegExp]> = [
      ["no payload object", "x", null, /msg.payload must be a power state/],
      ["charge as string", power({ charge: "50" as unknown as number }), null, /payload.charge must be a number or null \(got string "50"\)/],
      ["NaN runtime", power({ runtime: NaN }), null, /payload.runtime must be a number or null \(got NaN\)/],
      ["negative runtime", power({ runtime: -1 }), null, /payload.runtime must not be negative/],
      ["missing onBattery", { ...power(), onBattery: undefined }, null, /payload.onBattery must be true or false \(got nothing\)/],
      ["no msg.outage", power(), undefined, /msg.outage is missing/],
      ["on battery with a null outage", power({ onBattery: true }), null, /payload.onBattery is true but msg.outage is null/],
      ["malformed outage", power(), { id: 5 }, /msg.outage must be an outage identity/],
      ["an outage starting at NaN", power(), { id: "o", since: NaN }, /msg.outage must be an outage identity/],
      ["a charge of 1e308", power({ charge: 1e308 }), null, /payload.charge must be at most 110/],
      ["fsd as text", { ...power(), fsd: "yes" }, null, /payload.fsd must be true or false/],
      ["unknown event", power({ event: "BOOM" as PowerState["event"] }), null, /payload.event is not a power event/],
    ];
    for (const [what, payload, o, re] of cases) {
      it(`refuses ${what}`, () => {
        should(checkTierInput(payload, o) ?? "").match(re);
      });
    }

    it("checks its configuration", () => {
      should(
        checkTierConfig({
          mode: "while",
          staleCounts: false,
          fsdAll: true,
          tiers: [
            { name: "a", ...none, charge: 150 },
            { name: "", ...none },
            { name: "c", ...none, depletion: { rate: 0, windowS: 60, graceS: 0 } },
          ],
        }),
      ).eql([
        "a: charge must be at most 100 %",
        "tier 2: no condition set, it would never fire",
        "c: depletion needs a rate > 0, a window > 0 and a grace >= 0",
      ]);
    });
  });

  describe("properties", () => {
    it("tiers emitted are always a prefix 0..k in order, and nothing fires off battery", () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              onBattery: fc.boolean(),
              charge: fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
              critical: fc.boolean(),
              dt: fc.nat(120_000),
            }),
            { maxLength: 40 },
          ),
          (seq) => {
            const sw = switcher();
            let t = T0;
            for (const e of seq) {
              t += e.dt;
              const s = sw.input(
                { onBattery: e.onBattery || e.critical, charge: e.charge, critical: e.critical, onBatterySeconds: e.onBattery ? 10 : null },
                e.onBattery || e.critical ? O1 : null,
                t,
              );
              const idx = s.emits.map((x) => x.index);
              should(idx).eql(idx.map((_, i) => i));
              if (!(e.onBattery || e.critical)) should(idx).have.length(0);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
