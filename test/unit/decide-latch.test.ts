import assert from "node:assert/strict";
import fc from "fast-check";
import { type LatchConfig, type LatchMessage, type LatchState, LATCH_LIMITS, initialLatch, latchInput, latchStatus, parseSavedLatch } from "../../core/decide/latch";
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
    assert.equal(first.action, "pass");
    assert.equal(first.save, true);
    const again = l.feed({ outage: O1 }, T0 + 1000);
    assert.equal(again.action, "block");
    assert.equal(again.save, false, "a blocked message needs no write");
    assert.equal(l.feed({ outage: O1 }, T0 + 2000).action, "block");
    assert.equal(l.state.blocked, 2);
  });

  it("re-arms on a new outage id", () => {
    const l = latch();
    l.feed({ outage: O1 });
    l.feed({ outage: O1 });
    const next = l.feed({ outage: O2 }, O2.since);
    assert.equal(next.action, "pass");
    assert.equal(l.state.outageId, O2.id);
    assert.equal(l.state.blocked, 0);
  });

  it("blocks a late message of an older outage (it must not re-arm the latch)", () => {
    const l = latch();
    l.feed({ outage: O2 }, O2.since);
    const late = l.feed({ outage: O1 }, O2.since + 1000);
    assert.equal(late.action, "block");
    assert.equal(late.reason, `message of an older outage (${O1.id})`);
    assert.equal(l.state.outageId, O2.id);
    assert.equal(l.feed({ outage: O2 }, O2.since + 2000).action, "block", "O2 still latched");
  });

  it("re-arms on msg.reset: the same outage passes again", () => {
    const l = latch();
    l.feed({ outage: O1 });
    const r = l.feed({ reset: true }, T0 + 60_000);
    assert.equal(r.action, "reset");
    assert.equal(r.save, true);
    assert.equal(l.feed({ outage: O1 }, T0 + 61_000).action, "pass");
  });

  it("re-arms when the outage ended (OUTAGE_END power state, ended identity); a late message of that outage is blocked, the next outage passes", () => {
    for (const end of [{ payload: power({ event: "OUTAGE_END" }), outage: { ...O1, ended: T0 + 60_000 } }, { outage: { ...O1, ended: T0 + 60_000 } }] as LatchMessage[]) {
      const l = latch();
      l.feed({ outage: O1 });
      assert.equal(l.feed(end, T0 + 60_000).action, "reset");
      const late = l.feed({ outage: O1 }, T0 + 61_000);
      assert.equal(late.action, "block", `after ${JSON.stringify(end)}`);
      assert.equal(late.reason, `message of an outage that has ended (${O1.id})`);
      assert.equal(l.feed({ outage: O2 }, O2.since).action, "pass");
    }
  });

  it("one definition of 'power restored': msg.reset in any spelling but false, OUTAGE_END, an ended identity", () => {
    for (const reset of [true, "true", 1, "yes", 0, "", {}, null, "false"]) assert.equal(restoredKind({ reset }), "reset", JSON.stringify(reset));
    assert.equal(restoredKind({ reset: false }), null);
    assert.equal(restoredKind({}), null);
    assert.equal(restoredKind({ payload: { event: "OUTAGE_END" } }), "ended");
    assert.equal(restoredKind({ outage: { id: "x", since: 1, ended: 2 } }), "ended");
    assert.equal(restoredKind({ outage: { id: "x", since: 1, ended: NaN } }), null);
    assert.equal(saysPowerOn({ payload: power({ onBattery: false, event: "POWER_BACK" }) }), true);
    assert.equal(saysPowerOn({ payload: power({ onBattery: true }) }), false);
    assert.equal(saysPowerOn({ payload: power({ onBattery: false, critical: true }) }), false);
    assert.equal(saysPowerOn({ payload: { onBattery: false } }), false, "not a power state");
  });

  it("a forged or clock-ahead outage start in the future never blocks later outages, and a reset always re-arms", () => {
    const l = latch();
    const future = outage("outage-forged", T0 + 365 * 86_400_000);
    assert.equal(l.feed({ outage: future }).action, "pass");
    assert.equal(l.feed({ outage: O1 }, T0 + 1000).action, "pass", "a start a year ahead proves nothing");
    const m = latch();
    m.feed({ outage: outage("outage-soon", T0 + 30_000) });
    assert.equal(m.feed({ outage: O1 }, T0).action, "block", "within a minute ahead it still tells an older outage");
    assert.equal(m.feed({ reset: true }, T0).action, "reset");
    assert.equal(m.feed({ outage: O1 }, T0).action, "pass", "a reset always re-arms");
  });

  it("bounds what messages make it keep: ids, topics and their number", () => {
    const l = latch({ key: "topic" });
    assert.match(l.feed({ outage: { id: "x".repeat(201), since: T0 } }).reason ?? "", /msg.outage.id is too long/);
    assert.match(l.feed({ outage: O1, topic: "t".repeat(201) }).reason ?? "", /msg.topic is too long/);
    for (let i = 0; i < LATCH_LIMITS.keys; i++) assert.equal(l.feed({ outage: O1, topic: `t${i}` }).action, "pass");
    const over = l.feed({ outage: O1, topic: "one more" });
    assert.equal(over.action, "error");
    assert.match(over.reason ?? "", /already let 64 topics through/);
  });

  it("topic key: one message per topic per outage", () => {
    const l = latch({ key: "topic" });
    assert.equal(l.feed({ outage: O1, topic: "backup" }).action, "pass");
    assert.equal(l.feed({ outage: O1, topic: "storage" }).action, "pass");
    assert.equal(l.feed({ outage: O1, topic: "backup" }).action, "block");
    assert.equal(l.feed({ outage: O2, topic: "backup" }, O2.since).action, "pass");
  });

  it("topics named like Object properties pass once like any other", () => {
    const l = latch({ key: "topic" });
    for (const topic of ["constructor", "__proto__", "toString"]) {
      assert.equal(l.feed({ outage: O1, topic }).action, "pass", topic);
      assert.equal(l.feed({ outage: O1, topic }).action, "block", topic);
    }
    assert.deepEqual(parseSavedLatch(JSON.parse(JSON.stringify(l.state)))?.passed, l.state.passed);
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
      assert.equal(r.action, "error");
      assert.match(r.reason ?? "", re);
      assert.equal(r.state, before);
    }
    const r = latchInput({ key: "topic" }, before, { outage: O1 }, T0);
    assert.match(r.reason ?? "", /msg.topic must be set/);
  });

  it("status: armed, passed HH:MM (outage …), blocked n", () => {
    const l = latch();
    assert.deepEqual(shown("outage-latch", latchStatus(l.state)), { fill: "grey", shape: "ring", text: "armed" });
    l.feed({ outage: O1 }, T0);
    l.feed({ outage: O1 }, T0 + 1);
    const d = new Date(T0);
    const hhmm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
    assert.deepEqual(shown("outage-latch", latchStatus(l.state)), { fill: "green", shape: "dot", text: `passed ${hhmm} · blocked 1` });
  });

  it("status: what the context store will forget, and a store that failed or lost the state (red)", () => {
    const armed = initialLatch();
    const text = (store: Parameters<typeof latchStatus>[1]) => shown("outage-latch", latchStatus(armed, store));
    assert.deepEqual(text({ problem: null, keeps: "nothing" }), { fill: "grey", shape: "ring", text: "armed · memory only, lost on redeploy" });
    assert.equal(text({ problem: null, keeps: "redeploy" }).text, "armed · memory only");
    assert.equal(text({ problem: null, keeps: "unknown" }).text, "armed · unknown context store");
    assert.equal(text({ problem: null, keeps: "restart" }).text, "armed");
    assert.deepEqual(text({ problem: "failed", keeps: "redeploy" }), { fill: "red", shape: "ring", text: "armed · store error" });
    assert.deepEqual(text({ problem: "lost", keeps: "restart" }), { fill: "red", shape: "ring", text: "armed · stored state lost" });
  });

  it("its state survives a JSON round trip (a restart with a persistent store)", () => {
    const l = latch({ key: "topic" });
    l.feed({ outage: O1, topic: "backup" });
    const restored = parseSavedLatch(JSON.parse(JSON.stringify(l.state)));
    assert.deepEqual(restored, l.state);
    const after = latch({ key: "topic" }, restored ?? initialLatch());
    assert.equal(after.feed({ outage: O1, topic: "backup" }).action, "block", "not sent again");
    assert.equal(after.feed({ outage: O1, topic: "storage" }).action, "pass", "not forgotten");
    assert.equal(parseSavedLatch(undefined), null);
    assert.equal(parseSavedLatch({ passed: [] }), null);
    // the form stored before 0.2: passed as {key: time}
    assert.deepEqual(parseSavedLatch({ outageId: O1.id, since: O1.since, passed: { backup: T0 }, blocked: 2 }), {
      outageId: O1.id,
      since: O1.since,
      passed: [{ key: "backup", at: T0 }],
      blocked: 2,
      ended: [],
    });
  });

  it("property: within one outage each key passes exactly once, whatever the order", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("backup", "storage", "production", "everything"), { maxLength: 50 }), (topics) => {
        const l = latch({ key: "topic" });
        const passed = topics.filter((t) => l.feed({ outage: O1, topic: t }).action === "pass");
        assert.deepEqual(passed, [...new Set(topics)]);
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
