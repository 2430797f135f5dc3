/**
 * core/format.ts: one way to write a charge, a runtime, a duration and a
 * countdown, whichever node shows it. Minutes are whole and rounded down.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { aggregateStatus } from "../../core/decide/aggregate";
import { initialTiers, tierInput, tierStatus, DEFAULT_TIERS } from "../../core/decide/tiers";
import { formatCharge, formatCountdown, formatDuration, formatLevels, formatMinutes, formatRuntime, formatSeconds, formatUpsLevels } from "../../core/format";
import { nodeStatus, summarize, toUpsState } from "../../core/nut/ups-state";
import { shown } from "../harness/catalog";
import { T0, aggregateMachine, ups } from "../harness/decide-fixtures";

describe("format", () => {
  it("minutes are whole, rounded down; under a minute <1 min; from an hour on, hours and minutes", () => {
    assert.equal(formatMinutes(59), "<1 min");
    assert.equal(formatMinutes(60), "1 min");
    assert.equal(formatMinutes(1290), "21 min");
    assert.equal(formatMinutes(1319), "21 min");
    assert.equal(formatMinutes(3599), "59 min");
    assert.equal(formatMinutes(3600), "1 h 00 min");
    assert.equal(formatMinutes(3900), "1 h 05 min");
  });

  it("a runtime never reads longer than it is", () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 365 * 86_400 }), (s) => {
        const m = /^(?:(\d+) h )?(\d+) min$/.exec(formatMinutes(s));
        assert.ok(m, formatMinutes(s));
        const shownSeconds = (Number(m[1] ?? 0) * 60 + Number(m[2])) * 60;
        assert.ok(shownSeconds <= s && s - shownSeconds < 60, `${s} s reads ${formatMinutes(s)}`);
      }),
    );
  });

  it("runtime, charge, levels, durations, countdowns", () => {
    assert.equal(formatRuntime(null), null);
    assert.equal(formatRuntime(30), "<1 min");
    assert.equal(formatRuntime(1290), "~21 min");
    assert.equal(formatCharge(64.55), "64.6");
    assert.equal(formatLevels(64, 1080), "64 % ~18 min");
    assert.equal(formatLevels(null, null), "? %");
    assert.equal(formatUpsLevels(73, 1290), "73% 21 min");
    assert.equal(formatUpsLevels(8, null), "8%");
    assert.equal(formatUpsLevels(null, null), "");
    assert.equal(formatDuration(45_400), "45 s");
    assert.equal(formatDuration(15 * 60_000 + 59_000), "15 min");
    assert.equal(formatCountdown(T0 + 2001, T0), "3 s");
    assert.equal(formatCountdown(T0 - 5, T0), "0 s");
    assert.equal(formatSeconds(420), "0.4 s");
  });

  it("a runtime of 1290 s reads 21 min in nut-ups-in, ups-aggregate and battery tiers, statuses and summaries alike", () => {
    const vars: Array<[string, string]> = [["ups.status", "OB DISCHRG"], ["battery.charge", "73"], ["battery.runtime", "1290"]];
    const state = toUpsState({ ups: "ups1", vars, error: null, reachable: true }, "nas:3493", null, T0, 0, ["ONBATT"], false).state;
    assert.equal(shown("nut-ups-in", nodeStatus(state)).text, "OB 73% 21 min");
    assert.equal(summarize("ups1@nas:3493", state), "ups1@nas:3493 on battery: 73 %, ~21 min (ONBATT)");

    const m = aggregateMachine({ confirmMs: 0 });
    const out = m.send("ups1@nas:3493", ups("ups1@nas:3493", "OB DISCHRG", { charge: 73, runtime: 1290 }), T0);
    assert.equal(out?.summary, "Power lost: weakest ups1@nas:3493 at 73 %, ~21 min");
    assert.equal(shown("ups-aggregate", aggregateStatus(m.config, m.state, m.last().payload, T0)).text, "on battery 73 % ~21 min (ups1)");

    const config = { tiers: DEFAULT_TIERS, mode: "while" as const, staleCounts: false, fsdAll: true };
    const step = tierInput(config, initialTiers(0), { payload: m.last().payload, outage: m.last().outage, summary: null }, 0);
    assert.equal(shown("battery-tier-switch", tierStatus(config, step.state)).text, "backup (1/4) 73 % ~21 min");
  });
});
