/**
 * The outage-latch core (core/decide/latch.ts) as plain functions: outage ids,
 * re-arming, saved state.
 */
import should from "../harness/should";
import fc from "fast-check";
import {
  type LatchConfig,
  type LatchMessage,
  type LatchState,
  LATCH_LIMITS,
  initialLatch,
  latchInput,
  latchStatus,
  parseSavedLatch,
} from "../../core/decide/latch";
import { restoredKind, saysPowerOn } from "../../core/decide/restored";
import { shown } from "../harness/catalog";
import { outage, power } from "../harness/decide-fixtures";

const T0 = Date.UTC(2026, 10, 25, 13, 2, 0);
const O1 = outage("outage-20261125T130200Z-ab12", T0);
const O2 = outage("outage-20261125T150000Z-ab12", T0 + 7_200_000);

function latch(config: LatchConfig = { key: "outage" }, start: LatchState = initialLatch()) {
  let state = start;
  return {
    get state() {
      return state;
    },
    feed(msg: LatchMessage, now = T0) {
      const step = latchInput(config, state, msg, now);
      state = step.state;
      return step;
    },
  };
}

describe("outage-latch core", () => {
  it("lets the first message of an outage through and blocks the repeats", () => {
    const l = latch();
    const first = l.feed({ outage: O1, payload: power({ onBattery: true }) });
    should(first.action).equal("pass");
    should(first.save).be.true();
    const again = l.feed({ outage: O1 }, T0 + 1000);
    should(again.action).equal("block");
    should(again.save).be.false("a blocked message needs no write");
    should(l.feed({ outage: O1 }, T0 + 2000).action).equal("block");
    should(l.state.blocked).equal(2);
  });

  it("re-arms on a new outage id", () => {
    const l = latch();
    l.feed({ outage: O1 });
    l.feed({ outage: O1 });
    const next = l.feed({ outage: O2 }, O2.since);
    should(next.action).equal("pass");
    should(l.state.outageId).equal(O2.id);
    should(l.state.blocked).equal(0);
  });

  it("blocks a late message of an older outage (it must not re-arm the latch)", () => {
    const l = latch();
    l.feed({ outage: O2 }, O2.since);
    const late = l.feed({ outage: O1 }, O2.since + 1000);
    should(late.action).equal("block");
    should(late.reason).equal(`message of an older outage (${O1.id})`);
    should(l.state.outageId).equal(O2.id);
    should(l.feed({ outage: O2 }, O2.since + 2000).action).equal("block", "O2 still latched");
  });

  it("re-arms on msg.reset: the same outage passes again", () => {
    const l = latch();
    l.feed({ outage: O1 });
    const r = l.feed({ reset: true }, T0 + 60_000);
    should(r.action).equal("reset");
    should(r.save).be.true();
    should(l.feed({ outage: O1 }, T0 + 61_000).action).equal("pass");
  });

  it("re-arms when the outage ended (OUTAGE_END power state, ended identity); a late message of that outage is blocked, the next outage passes", () => {
    for (const end of [
      { payload: power({ event: "OUTAGE_END" }), outage: { ...O1, ended: T0 + 60_000 } },
      { outage: { ...O1, ended: T0 + 60_000 } },
    ] as LatchMessage[]) {
      const l = latch();
      l.feed({ outage: O1 });
      should(l.feed(end, T0 + 60_000).action).equal("reset");
      const late = l.feed({ outage: O1 }, T0 + 61_000);
      should(late.action).equal("block", `after ${JSON.stringify(end)}`);
      should(late.reason).equal(`message of an outage that has ended (${O1.id})`);
      should(l.feed({ outage: O2 }, O2.since).action).equal("pass");
    }
  });

  it("one definition of 'power restored': msg.reset in any spelling but false, OUTAGE_END, an ended identity", () => {
    for (const reset of [true, "true", 1, "yes", 0, "", {}, null, "false"]) should(restoredKind({ reset })).equal("reset", JSON.stringify(reset));
    should(restoredKind({ reset: false })).equal(null);
    should(restoredKind({})).equal(null);
    should(restoredKind({ payload: { event: "OUTAGE_END" } })).equal("ended");
    should(restoredKind({ outage: { id: "x", since: 1, ended: 2 } })).equal("ended");
    should(restoredKind({ outage: { id: "x", since: 1, ended: NaN } })).equal(null);
    should(saysPowerOn({ payload: power({ onBattery: false, event: "POWER_BACK" }) })).be.true();
    should(saysPowerOn({ payload: power({ onBattery: true }) })).be.false();
    should(saysPowerOn({ payload: power({ onBattery: false, critical: true }) })).be.false();
    should(saysPowerOn({ payload: { onBattery: false } })).be.false("not a power state");
  });

  it("a forged or clock-ahead outage start in the future never blocks later outages, and a reset always re-arms", () => {
    const l = latch();
    const future = outage("outage-forged", T0 + 365 * 86_400_000);
    should(l.feed({ outage: future }).action).equal("pass");
    should(l.feed({ outage: O1 }, T0 + 1000).action).equal("pass", "a start a year ahead proves nothing");
    const m = latch();
    m.feed({ outage: outage("outage-soon", T0 + 30_000) });
    should(m.feed({ outage: O1 }, T0).action).equal("block", "within a minute ahead it still tells an older outage");
    should(m.feed({ reset: true }, T0).action).equal("reset");
    should(m.feed({ outage: O1 }, T0).action).equal("pass", "a reset always re-arms");
  });

  it("bounds what messages make it keep: ids, topics and their number", () => {
    const l = latch({ key: "topic" });
    should(l.feed({ outage: { id: "x".repeat(201), since: T0 } }).reason ?? "").match(/msg.outage.id is too long/);
    should(l.feed({ outage: O1, topic: "t".repeat(201) }).reason ?? "").match(/msg.topic is too long/);
    for (let i = 0; i < LATCH_LIMITS.keys; i++) should(l.feed({ outage: O1, topic: `t${i}` }).action).equal("pass");
    const over = l.feed({ outage: O1, topic: "one more" });
    should(over.action).equal("error");
    should(over.reason ?? "").match(/already let 64 topics through/);
  });

  it("topic key: one message per topic per outage", () => {
    const l = latch({ key: "topic" });
    should(l.feed({ outage: O1, topic: "backup" }).action).equal("pass");
    should(l.feed({ outage: O1, topic: "storage" }).action).equal("pass");
    should(l.feed({ outage: O1, topic: "backup" }).action).equal("block");
    should(l.feed({ outage: O2, topic: "backup" }, O2.since).action).equal("pass");
  });

  it("topics named like Object properties pass once like any other", () => {
    const l = latch({ key: "topic" });
    for (const topic of ["constructor", "__proto__", "toString"]) {
      should(l.feed({ outage: O1, topic }).action).equal("pass", topic);
      should(l.feed({ outage: O1, topic }).action).equal("block", topic);
    }
    should(parseSavedLatch(JSON.parse(JSON.stringify(l.state)))?.passed).eql(l.state.passed);
  });

  it("refuses messages without an outage, or with a malformed one, and keeps its state", () => {
    const l = latch();
    l.feed({ outage: O1 });
    const before = l.state;
    const cases: Array<[LatchMessage, RegExp]> = [
      [{ payload: 1 }, /message has no msg.outage/],
      [{ outage: null }, /message has no msg.outage/],
      [{ outage: "outage-1" }, /msg.outage must be an outage identity \{id, since\} \(got string "outage-1"\)/],
      [{ outage: { id: "x", since: NaN } }, /msg.outage.since must be a time in epoch ms \(got NaN\)/],
      [{ outage: { id: "", since: 1 } }, /msg.outage.id must be a non-empty text \(got string ""\)/],
      [{ outage: { id: {}, since: 1 } }, /msg.outage.id must be a non-empty text \(got object\)/],
    ];
    for (const [msg, re] of cases) {
      const r = latchInput({ key: "outage" }, before, msg, T0);
      should(r.action).equal("error");
      should(r.reason ?? "").match(re);
      should(r.state).equal(before);
    }
    const r = latchInput({ key: "topic" }, before, { outage: O1 }, T0);
    should(r.reason ?? "").match(/msg.topic must be set/);
  });

  it("status: armed, passed HH:MM (outage …), blocked n", () => {
    const l = latch();
    should(shown("outage-latch", latchStatus(l.state))).eql({ fill: "grey", shape: "ring", text: "armed" });
    l.feed({ outage: O1 }, T0);
    l.feed({ outage: O1 }, T0 + 1);
    const d = new Date(T0);
    const hhmm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
    should(shown("outage-latch", latchStatus(l.state))).eql({ fill: "green", shape: "dot", text: `passed ${hhmm} · blocked 1` });
  });

  it("status: what the context store will forget, and a store that failed or lost the state (red)", () => {
    const armed = initialLatch();
    const text = (store: Parameters<typeof latchStatus>[1]) => shown("outage-latch", latchStatus(armed, store));
    should(text({ problem: null, keeps: "nothing" })).eql({ fill: "grey", shape: "ring", text: "armed · memory only, lost on redeploy" });
    should(text({ problem: null, keeps: "redeploy" }).text).equal("armed · memory only");
    should(text({ problem: null, keeps: "unknown" }).text).equal("armed · unknown context store");
    should(text({ problem: null, keeps: "restart" }).text).equal("armed");
    should(text({ problem: "failed", keeps: "redeploy" })).eql({ fill: "red", shape: "ring", text: "armed · store error" });
    should(text({ problem: "lost", keeps: "restart" })).eql({ fill: "red", shape: "ring", text: "armed · stored state lost" });
  });

  it("its state survives a JSON round trip (a restart with a persistent store)", () => {
    const l = latch({ key: "topic" });
    l.feed({ outage: O1, topic: "backup" });
    const restored = parseSavedLatch(JSON.parse(JSON.stringify(l.state)));
    should(restored).eql(l.state);
    const after = latch({ key: "topic" }, restored ?? initialLatch());
    should(after.feed({ outage: O1, topic: "backup" }).action).equal("block", "not sent again");
    should(after.feed({ outage: O1, topic: "storage" }).action).equal("pass", "not forgotten");
    should(parseSavedLatch(undefined)).equal(null);
    should(parseSavedLatch({ passed: [] })).equal(null);
    // the form stored before 0.2: passed as {key: time}
    should(parseSavedLatch({ outageId: O1.id, since: O1.since, passed: { backup: T0 }, blocked: 2 })).eql({
      outageId: O1.id,
      since: O1.since,
      passed: [{ key: "backup", at: T0 }],
      blocked: 2,
      ended: [],
    });
  });

  it("a stored count that is not one reads as 0, and what passed still blocks", () => {
    for (const blocked of [NaN, -1e308, -1, 2.5, 1e308]) {
      const saved = parseSavedLatch({ outageId: O1.id, since: O1.since, passed: [{ key: "backup", at: T0 }], blocked, ended: [] });
      should(saved?.blocked).equal(0, `blocked ${blocked}`);
      should(latch({ key: "topic" }, saved ?? initialLatch()).feed({ outage: O1, topic: "backup" }).action).equal("block");
    }
  });

  it("property: within one outage each key passes exactly once, whatever the order", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("backup", "storage", "production", "everything"), { maxLength: 50 }), (topics) => {
        const l = latch({ key: "topic" });
        const passed = topics.filter((t) => l.feed({ outage: O1, topic: t }).action === "pass");
        should(passed).eql([...new Set(topics)]);
      }),
    );
  });

  it("property: any message never throws", () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (o, topic, reset) => {
        latchInput({ key: "topic" }, initialLatch(), { outage: o, topic, reset } as LatchMessage, T0);
      }),
      { numRuns: 500 },
    );
  });
});
