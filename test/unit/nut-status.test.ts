import assert from "node:assert/strict";
import fc from "fast-check";
import type { UpsEvent } from "../../core/contract";
import { newTracker, observe, parseStatus, wantsAlertPolling, type EventTiming, type Observation, type UpsTracker } from "../../core/nut/status";

const T: EventTiming = { nocommWarnMs: 60_000, replbattWarnMs: 3600_000 };
const ok = (status: string): Observation => ({ ok: true, flags: parseStatus(status) });
const bad: Observation = { ok: false };

/** Feed observations at the given times; the events of each step. */
function run(steps: Array<[number, Observation]>, start = 0): { events: UpsEvent[][]; tracker: UpsTracker } {
  let tracker = newTracker(start);
  const events: UpsEvent[][] = [];
  for (const [now, obs] of steps) {
    const r = observe(tracker, obs, now, T);
    tracker = r.tracker;
    events.push(r.events);
  }
  return { events, tracker };
}

describe("ups.status flags", () => {
  it("splits, upper-cases and de-duplicates the tokens in upsd's order", () => {
    assert.deepEqual(parseStatus("OB DISCHRG LB"), ["OB", "DISCHRG", "LB"]);
    assert.deepEqual(parseStatus("  ol  chrg ol "), ["OL", "CHRG"]);
    assert.deepEqual(parseStatus(""), []);
    assert.deepEqual(parseStatus(null), []);
  });

  it("keeps at most 32 words of at most 32 characters (a peer's status is bounded)", () => {
    const words = parseStatus(Array.from({ length: 1000 }, (_, i) => `W${i}`).join(" "));
    assert.equal(words.length, 32);
    assert.deepEqual(parseStatus(`OB ${"X".repeat(5000)}`), ["OB", "X".repeat(32)]);
  });
});

describe("upsmon events", () => {
  it("does not report the first OL at start-up, nor the first good read as COMMOK", () => {
    assert.deepEqual(run([[0, ok("OL")]]).events, [[]]);
  });

  it("reports OL -> OB -> OB LB -> OL as ONBATT, LOWBATT, ONLINE", () => {
    const { events } = run([
      [0, ok("OL CHRG")],
      [5, ok("OB DISCHRG")],
      [7, ok("OB DISCHRG")],
      [9, ok("OB DISCHRG LB")],
      [11, ok("OB LB")],
      [13, ok("OL CHRG")],
      [15, ok("OL")],
    ]);
    assert.deepEqual(events, [[], ["ONBATT"], [], ["LOWBATT"], [], ["ONLINE"], []]);
  });

  it("reports a UPS already on battery at start-up (only the first OL is quiet)", () => {
    assert.deepEqual(run([[0, ok("OB LB")], [1, ok("OL")]]).events, [["ONBATT", "LOWBATT"], ["ONLINE"]]);
  });

  it("gives ONBATT before LOWBATT whatever upsd's token order", () => {
    assert.deepEqual(run([[0, ok("OL")], [1, ok("LB OB")]]).events, [[], ["ONBATT", "LOWBATT"]]);
  });

  it("treats OL and OB together as on battery", () => {
    assert.deepEqual(run([[0, ok("OL")], [1, ok("OL OB")]]).events, [[], ["ONBATT"]]);
  });

  it("clears LB silently and reports it again when it comes back", () => {
    assert.deepEqual(run([[0, ok("OB LB")], [1, ok("OB")], [2, ok("OB LB")]]).events, [["ONBATT", "LOWBATT"], [], ["LOWBATT"]]);
  });

  it("reports FSD last, once", () => {
    assert.deepEqual(run([[0, ok("OL")], [1, ok("FSD OB LB")], [2, ok("FSD OB LB")]]).events, [[], ["ONBATT", "LOWBATT", "FSD"], []]);
  });

  for (const [flag, on, off] of [
    ["CAL", "CAL", "NOTCAL"],
    ["OFF", "OFF", "NOTOFF"],
    ["BYPASS", "BYPASS", "NOTBYPASS"],
    ["OVER", "OVER", "NOTOVER"],
    ["TRIM", "TRIM", "NOTTRIM"],
    ["BOOST", "BOOST", "NOTBOOST"],
    ["ALARM", "ALARM", "NOTALARM"],
    ["ECO", "ECO", "NOTECO"],
  ] as const) {
    it(`reports ${on} when ${flag} appears and ${off} when it clears, once each`, () => {
      const { events } = run([[0, ok("OL")], [1, ok(`OL ${flag}`)], [2, ok(`OL ${flag}`)], [3, ok("OL")], [4, ok("OL")]]);
      assert.deepEqual(events, [[], [on], [], [off], []]);
    });
  }

  it("reports words NUT does not define as OTHER when their set changes, NOTOTHER when the last is gone (upsmon 2.8.3)", () => {
    const { events, tracker } = run([
      [0, ok("OL")],
      [1, ok("OL HE")],
      [2, ok("OL HE")],
      [3, ok("OL HE XYZ")],
      [4, ok("OL XYZ")],
      [5, ok("OL")],
      [6, ok("OL CHRG DISCHRG HB RB")],
    ]);
    assert.deepEqual(events, [[], ["OTHER"], [], ["OTHER"], ["OTHER"], ["NOTOTHER"], ["REPLBATT"]]);
    assert.deepEqual(tracker.other, []);
  });

  it("rate-limits REPLBATT to one per replbattWarnMs", () => {
    const { events } = run([[0, ok("OL RB")], [1000, ok("OL RB")], [3600_000, ok("OL RB")], [3600_001, ok("OL")]]);
    assert.deepEqual(events, [["REPLBATT"], [], ["REPLBATT"], []]);
  });

  it("reports COMMBAD once when a good UPS is lost, COMMOK when it is back", () => {
    const { events } = run([[0, ok("OL")], [5, bad], [10, bad], [15, ok("OL")], [20, ok("OL")]]);
    assert.deepEqual(events, [[], ["COMMBAD"], [], ["COMMOK"], []]);
  });

  it("reports what changed while it was lost after COMMOK (was OB, back OL)", () => {
    const { events } = run([[0, ok("OL")], [5, ok("OB")], [10, bad], [15, ok("OL")]]);
    assert.deepEqual(events, [[], ["ONBATT"], ["COMMBAD"], ["COMMOK", "ONLINE"]]);
  });

  it("reports NOCOMM after nocommWarnMs without a good read, then every nocommWarnMs", () => {
    const steps: Array<[number, Observation]> = [[0, ok("OL")]];
    for (let t = 5_000; t <= 200_000; t += 5_000) steps.push([t, bad]);
    const { events } = run(steps);
    const when = steps.flatMap(([t], i) => events[i].map((e) => `${e}@${t / 1000}`));
    assert.deepEqual(when, ["COMMBAD@5", "NOCOMM@60", "NOCOMM@120", "NOCOMM@180"]);
  });

  it("server down at deploy: no COMMBAD (nothing was lost), NOCOMM once nocommWarnMs passed since start, COMMOK when it answers", () => {
    const steps: Array<[number, Observation]> = [];
    for (let t = 1000; t <= 65_000; t += 2_000) steps.push([t, bad]);
    steps.push([70_000, ok("OL")]);
    const { events } = run(steps, 0);
    const when = steps.flatMap(([t], i) => events[i].map((e) => `${e}@${t / 1000}`));
    assert.deepEqual(when, ["NOCOMM@61", "COMMOK@70"]);
  });

  it("polls at the alert rate on battery, OFF, BYPASS or CAL, also while stale", () => {
    assert.equal(wantsAlertPolling(run([[0, ok("OL")]]).tracker), false);
    assert.equal(wantsAlertPolling(run([[0, ok("OB")]]).tracker), true);
    assert.equal(wantsAlertPolling(run([[0, ok("OL BYPASS")]]).tracker), true);
    assert.equal(wantsAlertPolling(run([[0, ok("OB")], [1, bad]]).tracker), true);
    assert.equal(wantsAlertPolling(run([[0, ok("OB")], [1, ok("OL")]]).tracker), false);
  });

  it("never reports ONLINE at the first observation, COMMOK without a failure before, or an event twice in a row (property)", () => {
    const statuses = fc.constantFrom("OL", "OB", "OB LB", "OL CHRG", "OL RB", "OL BYPASS", "FSD OB LB", "OL CAL", "OFF", "OL OVER TRIM", "");
    const obs = fc.oneof(statuses.map(ok), fc.constant(bad));
    fc.assert(
      fc.property(fc.array(obs, { minLength: 1, maxLength: 30 }), (list) => {
        const { events } = run(list.map((o, i) => [i * 1000, o]));
        assert.ok(!events[0].includes("ONLINE") && !events[0].includes("COMMOK"));
        events.forEach((ev, i) => {
          assert.equal(new Set(ev).size, ev.length, "no event twice in one step");
          if (ev.includes("COMMOK")) assert.equal(list[i - 1]?.ok, false);
          if (ev.includes("COMMBAD")) assert.equal(list[i - 1]?.ok, true);
          if (list[i].ok === false) assert.ok(ev.every((e) => e === "COMMBAD" || e === "NOCOMM"));
        });
      }),
    );
  });
});
