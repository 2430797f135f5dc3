/**
 * core/format.ts: one way to write a charge, a runtime, a duration and a
 * countdown, whichever node shows it. Minutes are whole and rounded down.
 */
import should from "../harness/should";
import fc from "fast-check";
import { aggregateStatus } from "../../core/decide/aggregate";
import { initialTiers, tierInput, tierStatus, DEFAULT_TIERS } from "../../core/decide/tiers";
import { formatCharge, formatCountdown, formatDuration, formatLevels, formatMinutes, formatRuntime, formatSeconds, formatUpsLevels } from "../../core/format";
import { nodeStatus, summarize, toUpsState } from "../../core/nut/ups-state";
import { shown } from "../harness/catalog";
import { T0, aggregateMachine, ups } from "../harness/decide-fixtures";

describe("format", () => {
  it("minutes are whole, rounded down; under a minute <1 min; from an hour on, hours and minutes", () => {
    should(formatMinutes(59)).equal("<1 min");
    should(formatMinutes(60)).equal("1 min");
    should(formatMinutes(1290)).equal("21 min");
    should(formatMinutes(1319)).equal("21 min");
    should(formatMinutes(3599)).equal("59 min");
    should(formatMinutes(3600)).equal("1 h 00 min");
    should(formatMinutes(3900)).equal("1 h 05 min");
  });

  it("a runtime never reads longer than it is", () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 365 * 86_400 }), (s) => {
        const m = /^(?:(\d+) h )?(\d+) min$/.exec(formatMinutes(s));
        should.exist(m, formatMinutes(s));
        const shownSeconds = (Number(m[1] ?? 0) * 60 + Number(m[2])) * 60;
        should(shownSeconds).be.belowOrEqual(s, `${s} s reads ${formatMinutes(s)}`);
        should(s - shownSeconds).be.below(60, `${s} s reads ${formatMinutes(s)}`);
      }),
    );
  });

  it("runtime, charge, levels, durations, countdowns", () => {
    should(formatRuntime(null)).equal(null);
    should(formatRuntime(30)).equal("<1 min");
    should(formatRuntime(1290)).equal("~21 min");
    should(formatCharge(64.55)).equal("64.6");
    should(formatLevels(64, 1080)).equal("64 % ~18 min");
    should(formatLevels(null, null)).equal("? %");
    should(formatUpsLevels(73, 1290)).equal("73% 21 min");
    should(formatUpsLevels(8, null)).equal("8%");
    should(formatUpsLevels(null, null)).equal("");
    should(formatDuration(45_400)).equal("45 s");
    should(formatDuration(15 * 60_000 + 59_000)).equal("15 min");
    should(formatCountdown(T0 + 2001, T0)).equal("3 s");
    should(formatCountdown(T0 - 5, T0)).equal("0 s");
    should(formatSeconds(420)).equal("0.4 s");
  });

  it("a runtime of 1290 s reads 21 min in nut-ups-in, ups-aggregate and battery tiers, statuses and summaries alike", () => {
    const vars: Array<[string, string]> = [
      ["ups.status", "OB DISCHRG"],
      ["battery.charge", "73"],
      ["battery.runtime", "1290"],
    ];
    const state = toUpsState({ ups: "ups1", vars, error: null, reachable: true }, "nas:3493", null, T0, 0, ["ONBATT"], false).state;
    should(shown("nut-ups-in", nodeStatus(state)).text).equal("OB 73% 21 min");
    should(summarize("ups1@nas:3493", state)).equal("ups1@nas:3493 on battery: 73 %, ~21 min (ONBATT)");

    const m = aggregateMachine({ confirmMs: 0 });
    const out = m.send("ups1@nas:3493", ups("ups1@nas:3493", "OB DISCHRG", { charge: 73, runtime: 1290 }), T0);
    should(out?.summary).equal("Power lost: weakest ups1@nas:3493 at 73 %, ~21 min");
    should(shown("ups-aggregate", aggregateStatus(m.config, m.state, m.last().payload, T0)).text).equal("on battery 73 % ~21 min (ups1)");

    const config = { tiers: DEFAULT_TIERS, mode: "while" as const, staleCounts: false, fsdAll: true };
    const step = tierInput(config, initialTiers(0), { payload: m.last().payload, outage: m.last().outage, summary: null }, 0);
    should(shown("battery-tier-switch", tierStatus(config, step.state)).text).equal("backup (1/4) 73 % ~21 min");
  });
});
