/**
 * A whole outage timeline through a real flow: ups-aggregate -> battery-tier-switch
 * -> one once-per-outage latch per tier, the "power restored" output wired to every
 * latch. Two UPSes drain at different rates; the power flickers; it comes back while
 * the batteries are low and recharging; then a second outage. The test checks which
 * messages get past the latches, in which order, and that each does once.
 */
import should from "../harness/should";
import type { NodeMessage } from "node-red";
import type { OutageIdentity, PowerState, TierInfo } from "../../core/contract";
import tierNode from "../../nodes/battery-tier-switch";
import latchNode from "../../nodes/outage-latch";
import aggregateNode from "../../nodes/ups-aggregate";
import { aggregateNodeDef, ups } from "../harness/decide-fixtures";
import { clock } from "../harness/decide-node-helper";
import { helper, settle, watch } from "../harness/red-helper";

const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);
const A = "ups1@nas:3493";
const B = "ups2@rack:3493";
const TIERS = ["backup", "storage", "production", "everything"];
type Msg = NodeMessage & { payload: PowerState; outage: OutageIdentity | null; tier?: TierInfo; summary: string; action?: string; reset?: boolean };

function flow() {
  return [
    aggregateNodeDef([A, B], { wires: [["tiers", "power"]] }),
    {
      id: "tiers",
      type: "battery-tier-switch",
      mode: "while",
      outputs: 5,
      // each tier output to its latch and to a probe that sees what the switch sends before any latch
      wires: [...TIERS.map((t) => [`latch-${t}`, `raw-${t}`]), TIERS.map((t) => `latch-${t}`)],
    },
    ...TIERS.map((t) => ({ id: `latch-${t}`, type: "outage-latch", key: "outage", store: "", forwardReset: true, wires: [[`out-${t}`]] })),
    ...TIERS.map((t) => ({ id: `out-${t}`, type: "helper" })),
    ...TIERS.map((t) => ({ id: `raw-${t}`, type: "helper" })),
    { id: "power", type: "helper" },
  ];
}

describe("decision scenario: two UPSes, a flicker, recharge, a second outage", () => {
  afterEach(async () => {
    clock.stop();
    await helper.unload();
  });

  it("lets each tier through once per outage, in order, and nothing on line power", async () => {
    await helper.load([aggregateNode, tierNode, latchNode], flow());
    /** What got past the latches, in arrival order. */
    const passed: Array<{ sink: string; what: string; outage: string | undefined }> = [];
    /** What the tier switch sent, before the latches. */
    const raw: Array<{ tier: string; t: number; onBattery: boolean; charge: number | null }> = [];
    const power: Msg[] = [];
    for (const t of TIERS) {
      helper
        .getNode(`out-${t}`)
        .on("input", (m: Msg) => passed.push({ sink: t, what: m.action === "cancel" ? "cancel" : (m.tier?.name ?? "?"), outage: m.outage?.id }));
      helper.getNode(`raw-${t}`).on("input", (m: Msg) => raw.push({ tier: t, t: Date.now(), onBattery: m.payload.onBattery, charge: m.payload.charge }));
    }
    helper.getNode("power").on("input", (m: Msg) => power.push(m));
    const agg = watch(helper.getNode("agg"));

    clock.start(T0);
    let now = T0;
    /** Moves the clock to `minutes` after T0 (firing the nodes' timers), then lets everything land. */
    async function at(minutes: number) {
      const to = T0 + minutes * 60_000;
      clock.tick(to - now);
      now = to;
      await settle();
    }
    /** A UPS state from nut-ups-in; waits until it went through the whole flow. */
    function report(topic: string, status: string, charge: number) {
      return agg.receive({ topic, payload: ups(topic, status, { charge, runtime: Math.round(charge * 30) }) });
    }
    const events = () => power.map((m) => m.payload.event).filter((e) => e !== "UPDATE");

    // On line power.
    await report(A, "OL", 100);
    await report(B, "OL", 100);

    // Outage 1 at minute 1: ups1 drains 1.5 %/min, ups2 4 %/min; both report every minute.
    const charges = (m: number) => ({ a: 100 - 1.5 * (m - 1), b: 100 - 4 * (m - 1) });
    await at(1);
    await report(A, "OB DISCHRG", 100);
    await report(B, "OB DISCHRG", 100);
    await at(1 + 5 / 60);
    should(events()).eql(["POWER_LOST"]);
    const outage1 = power[power.length - 1].outage?.id;
    should(outage1).be.ok();

    for (let m = 2; m <= 5; m++) {
      await at(m);
      await report(A, "OB DISCHRG", charges(m).a);
      await report(B, "OB DISCHRG", charges(m).b);
    }
    // minute 4: ups2 at 88 % -> backup
    should(passed).eql([{ sink: "backup", what: "backup", outage: outage1 }]);

    // A flicker at 5.5 min: the mains come back for 10 s, then go again (inside the 30 s restore time).
    await at(5.5);
    await report(A, "OL CHRG", charges(5).a);
    await report(B, "OL CHRG", charges(5).b);
    await at(5.5 + 10 / 60);
    await report(A, "OB DISCHRG", charges(5).a);
    await report(B, "OB DISCHRG", charges(5).b);
    await at(5.5 + 15 / 60);
    should(events()).eql(["POWER_LOST", "POWER_BACK"], "the flicker continues outage 1: no new POWER_LOST");
    should(power.every((m) => m.outage === null || m.outage.id === outage1)).be.true();

    for (let m = 6; m <= 22; m++) {
      await at(m);
      await report(A, "OB DISCHRG", charges(m).a);
      await report(B, "OB DISCHRG", charges(m).b);
    }
    // ups2: 48 % at minute 14 (storage), 16 % at minute 22 (production)
    should(passed.map((p) => p.what)).eql(["backup", "storage", "production"]);
    should(raw.filter((r) => r.tier === "backup").length).be.above(10, "the switch kept sending backup: the latch held the repeats");

    // Power back at minute 23 with ups2 at 16 %: recharging, low, on line power.
    await at(23);
    await report(A, "OL CHRG", 67); // ups2 is still on battery: the outage holds, the tiers too
    const rawBefore = raw.length;
    await report(B, "OL CHRG", 13);
    for (let s = 10; s <= 60; s += 10) {
      await at(23 + s / 60);
      await report(B, "OL CHRG", 13 + s / 20);
    }
    should(raw.length).equal(rawBefore, "no tier fires on line power, even at 13 %");
    should(events()).eql(["POWER_LOST", "POWER_BACK", "POWER_BACK", "OUTAGE_END"]);
    const end = power.find((m) => m.payload.event === "OUTAGE_END");
    should(end?.outage?.id).equal(outage1);
    should(typeof end?.outage?.ended).equal("number");
    // the restored message re-armed every latch and went on to the shutdown side as "cancel"
    should(passed.slice(3).map((p) => `${p.sink}:${p.what}`)).eql(TIERS.map((t) => `${t}:cancel`));

    // Outage 2 at minute 30: the batteries have barely recharged (ups2 at 16 %).
    await at(30);
    await report(A, "OB DISCHRG", 70);
    await report(B, "OB DISCHRG", 16);
    await at(30 + 5 / 60);
    const outage2 = power[power.length - 1].outage?.id;
    should(power[power.length - 1].payload.event).equal("POWER_LOST");
    should(outage2).not.equal(outage1);
    for (let m = 31; m <= 33; m++) {
      await at(m);
      await report(A, "OB DISCHRG", 70 - 1.5 * (m - 30));
      await report(B, "OB DISCHRG", 16 - 4 * (m - 30));
    }

    // Everything that got past the latches, in order, once each.
    should(passed).eql([
      { sink: "backup", what: "backup", outage: outage1 },
      { sink: "storage", what: "storage", outage: outage1 },
      { sink: "production", what: "production", outage: outage1 },
      ...TIERS.map((t) => ({ sink: t, what: "cancel", outage: outage1 })),
      // at 16 % the first three tiers are reached at once, in tier order
      { sink: "backup", what: "backup", outage: outage2 },
      { sink: "storage", what: "storage", outage: outage2 },
      { sink: "production", what: "production", outage: outage2 },
      // 8 % at minute 32
      { sink: "everything", what: "everything", outage: outage2 },
    ]);
    // and nothing from the tier switch ever carried a line-power state
    should(raw.every((r) => r.onBattery)).be.true();
  });
});
