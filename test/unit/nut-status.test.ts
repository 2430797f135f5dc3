/**
 * core/nut/status.ts: ups.status flags parsed and bounded.
 */
import should from "../harness/should";
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
    should(parseStatus("OB DISCHRG LB")).eql(["OB", "DISCHRG", "LB"]);
    should(parseStatus("  ol  chrg ol ")).eql(["OL", "CHRG"]);
    should(parseStatus("")).eql([]);
    should(parseStatus(null)).eql([]);
  });

  it("keeps at most 32 words of at most 32 characters (a peer's status is bounded)", () => {
    const words = parseStatus(Array.from({ length: 1000 }, (_, i) => `W${i}`).join(" "));
    should(words).have.length(32);
    should(parseStatus(`OB ${"X".repeat(5000)}`)).eql(["OB", "X".repeat(32)]);
  });
});

describe("upsmon events", () => {
  it("does not report the first OL at start-up, nor the first good read as COMMOK", () => {
    should(run([[0, ok("OL")]]).events).eql([[]]);
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
    should(events).eql([[], ["ONBATT"], [], ["LOWBATT"], [], ["ONLINE"], []]);
  });

  it("reports a UPS already on battery at start-up (only the first OL is quiet)", () => {
    should(
      run([
        [0, ok("OB LB")],
        [1, ok("OL")],
      ]).events,
    ).eql([["ONBATT", "LOWBATT"], ["ONLINE"]]);
  });

  it("gives ONBATT before LOWBATT whatever upsd's token order", () => {
    should(
      run([
        [0, ok("OL")],
        [1, ok("LB OB")],
      ]).events,
    ).eql([[], ["ONBATT", "LOWBATT"]]);
  });

  it("treats OL and OB together as on battery", () => {
    should(
      run([
        [0, ok("OL")],
        [1, ok("OL OB")],
      ]).events,
    ).eql([[], ["ONBATT"]]);
  });

  it("clears LB silently and reports it again when it comes back", () => {
    should(
      run([
        [0, ok("OB LB")],
        [1, ok("OB")],
        [2, ok("OB LB")],
      ]).events,
    ).eql([["ONBATT", "LOWBATT"], [], ["LOWBATT"]]);
  });

  it("reports FSD last, once", () => {
    should(
      run([
        [0, ok("OL")],
        [1, ok("FSD OB LB")],
        [2, ok("FSD OB LB")],
      ]).events,
    ).eql([[], ["ONBATT", "LOWBATT", "FSD"], []]);
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
      const { events } = run([
        [0, ok("OL")],
        [1, ok(`OL ${flag}`)],
        [2, ok(`OL ${flag}`)],
        [3, ok("OL")],
        [4, ok("OL")],
      ]);
      should(events).eql([[], [on], [], [off], []]);
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
    should(events).eql([[], ["OTHER"], [], ["OTHER"], ["OTHER"], ["NOTOTHER"], ["REPLBATT"]]);
    should(tracker.other).eql([]);
  });

  it("rate-limits REPLBATT to one per replbattWarnMs", () => {
    const { events } = run([
      [0, ok("OL RB")],
      [1000, ok("OL RB")],
      [3600_000, ok("OL RB")],
      [3600_001, ok("OL")],
    ]);
    should(events).eql([["REPLBATT"], [], ["REPLBATT"], []]);
  });

  it("reports COMMBAD once when a good UPS is lost, COMMOK when it is back", () => {
    const { events } = run([
      [0, ok("OL")],
      [5, bad],
      [10, bad],
      [15, ok("OL")],
      [20, ok("OL")],
    ]);
    should(events).eql([[], ["COMMBAD"], [], ["COMMOK"], []]);
  });

  it("reports what changed while it was lost after COMMOK (was OB, back OL)", () => {
    const { events } = run([
      [0, ok("OL")],
      [5, ok("OB")],
      [10, bad],
      [15, ok("OL")],
    ]);
    should(events).eql([[], ["ONBATT"], ["COMMBAD"], ["COMMOK", "ONLINE"]]);
  });

  it("reports NOCOMM after nocommWarnMs without a good read, then every nocommWarnMs", () => {
    const steps: Array<[number, Observation]> = [[0, ok("OL")]];
    for (let t = 5_000; t <= 200_000; t += 5_000) steps.push([t, bad]);
    const { events } = run(steps);
    const when = steps.flatMap(([t], i) => events[i].map((e) => `${e}@${t / 1000}`));
    should(when).eql(["COMMBAD@5", "NOCOMM@60", "NOCOMM@120", "NOCOMM@180"]);
  });

  it("server down at deploy: no COMMBAD (nothing was lost), NOCOMM once nocommWarnMs passed since start, COMMOK when it answers", () => {
    const steps: Array<[number, Observation]> = [];
    for (let t = 1000; t <= 65_000; t += 2_000) steps.push([t, bad]);
    steps.push([70_000, ok("OL")]);
    const { events } = run(steps, 0);
    const when = steps.flatMap(([t], i) => events[i].map((e) => `${e}@${t / 1000}`));
    should(when).eql(["NOCOMM@61", "COMMOK@70"]);
  });

  it("polls at the alert rate on battery, OFF, BYPASS or CAL, also while stale", () => {
    should(wantsAlertPolling(run([[0, ok("OL")]]).tracker)).be.false();
    should(wantsAlertPolling(run([[0, ok("OB")]]).tracker)).be.true();
    should(wantsAlertPolling(run([[0, ok("OL BYPASS")]]).tracker)).be.true();
    should(
      wantsAlertPolling(
        run([
          [0, ok("OB")],
          [1, bad],
        ]).tracker,
      ),
    ).be.true();
    should(
      wantsAlertPolling(
        run([
          [0, ok("OB")],
          [1, ok("OL")],
        ]).tracker,
      ),
    ).be.false();
  });

  it("never reports ONLINE at the first observation, COMMOK without a failure before, or an event twice in a row (property)", () => {
    const statuses = fc.constantFrom("OL", "OB", "OB LB", "OL CHRG", "OL RB", "OL BYPASS", "FSD OB LB", "OL CAL", "OFF", "OL OVER TRIM", "");
    const obs = fc.oneof(statuses.map(ok), fc.constant(bad));
    fc.assert(
      fc.property(fc.array(obs, { minLength: 1, maxLength: 30 }), (list) => {
        const { events } = run(list.map((o, i) => [i * 1000, o]));
        should(events[0]).not.containEql("ONLINE");
        should(events[0]).not.containEql("COMMOK");
        events.forEach((ev, i) => {
          should(new Set(ev).size).equal(ev.length, "no event twice in one step");
          if (ev.includes("COMMOK")) should(list[i - 1]?.ok).be.false();
          if (ev.includes("COMMBAD")) should(list[i - 1]?.ok).be.true();
          if (list[i].ok === false) should(ev.every((e) => e === "COMMBAD" || e === "NOCOMM")).be.true();
        });
      }),
    );
  });
});
