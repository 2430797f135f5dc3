/**
 * The battery-tier-switch node in the real Node-RED runtime: tiers by charge,
 * runtime and time on battery, with the test clock.
 */
import should from "../harness/should";
import type { NodeMessage } from "node-red";
import type { OutageIdentity, PowerState, TierInfo } from "../../core/contract";
import tierNode from "../../nodes/battery-tier-switch";
import { outage, power } from "../harness/decide-fixtures";
import { clock } from "../harness/decide-node-helper";
import { collect, helper, watch } from "../harness/red-helper";
import { waitUntil } from "../harness/wait";

const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);
const O1 = outage("outage-20261125T140000Z-ab12", T0);
type Out = NodeMessage & { payload: PowerState; outage: OutageIdentity | null; tier?: TierInfo; summary: string; reset?: boolean; action?: string };
const OUTS = ["backup", "storage", "production", "everything", "restored"];

/** A tier switch with its defaults (no `tiers` in the flow: a node dragged from the palette gets the defaults). */
async function start(extra: object = {}) {
  await helper.load(tierNode, [
    { id: "tiers", type: "battery-tier-switch", name: "", mode: "while", staleCounts: false, outputs: 5, wires: OUTS.map((o) => [o]), ...extra },
    ...OUTS.map((id) => ({ id, type: "helper" })),
  ]);
  const node = helper.getNode("tiers");
  const w = watch(node);
  const got: Record<string, Out[]> = {};
  for (const o of OUTS) got[o] = collect(helper.getNode(o)) as Out[];
  const send = w.receive;
  return { node, got, send, ...w };
}

const onBattery = (charge: number, extra: Partial<PowerState> = {}) => ({
  payload: power({ onBattery: true, charge, onBatterySeconds: 60, ...extra }),
  outage: O1,
  summary: `On battery at ${charge} %`,
});

describe("battery-tier-switch node", () => {
  afterEach(async () => {
    clock.stop();
    await helper.unload();
  });

  it("routes 15 % to backup, storage and production, each with msg.tier, topic and summary", async () => {
    const n = await start();
    await n.send(onBattery(15));
    should(OUTS.map((o) => n.got[o].length)).eql([1, 1, 1, 0, 0]);
    const m = n.got.production[0];
    should(m.tier).eql({ index: 2, name: "production", reason: "charge 15 % ≤ 20 %", together: ["backup", "storage", "production"] });
    should(m.topic).equal("production");
    should(m.summary).equal("Tier production reached (3 of 3 reached at once: backup, storage, production): charge 15 % ≤ 20 %; On battery at 15 %");
    should(m.outage).eql(O1);
    should(n.got.backup[0].tier?.reason).equal("charge 15 % ≤ 90 %");
    should(n.got.backup[0].payload).not.equal(n.got.storage[0].payload, "each output has its own copy");
    should(n.lastStatus()).equal("production (3/4) 15 % ~1 h 00 min");
  });

  it("sends nothing on line power, even at 4 %", async () => {
    const n = await start();
    await n.send({ payload: power({ onBattery: false, charge: 4, event: "POWER_BACK" }), outage: O1 });
    should(OUTS.map((o) => n.got[o].length)).eql([0, 0, 0, 0, 0]);
    should(n.lastStatus()).equal("power back 4 % ~1 h 00 min");
  });

  it("on OUTAGE_END sends 'power restored' with msg.reset and msg.action = cancel on the last output", async () => {
    const n = await start();
    await n.send(onBattery(40));
    await n.send({
      payload: power({ onBattery: false, charge: 60, event: "OUTAGE_END" }),
      outage: { ...O1, ended: T0 + 900_000 },
      summary: "Outage over after 15 min",
    });
    should(n.got.restored).have.length(1);
    const m = n.got.restored[0];
    should(m.reset).be.true();
    should(m.action).equal("cancel");
    should(m.topic).equal("restored");
    should(m.outage?.ended).equal(T0 + 900_000);
    should(m.summary).match(/^Power restored \(outage-20261125T140000Z-ab12 over\)/);
  });

  it("mode 'first' sends a tier once per outage", async () => {
    const n = await start({ mode: "first" });
    await n.send(onBattery(85));
    await n.send(onBattery(80));
    await n.send(onBattery(45));
    should(n.got.backup).have.length(1);
    should(n.got.storage).have.length(1);
  });

  it("custom tiers: outputs follow the list; a time-on-battery tier fires on its timer", async () => {
    const n = await start({
      outputs: 3,
      tiers: [
        { name: "notify", onBatteryFor: 120 },
        { name: "critical", critical: true, lowBattery: true },
      ],
      wires: [["backup"], ["storage"], ["restored"]],
    });
    clock.start(T0 + 60_000);
    await n.send(onBattery(99, { onBatterySeconds: 60 }));
    should(n.got.backup).have.length(0);
    await n.step("the time-on-battery timer", () => clock.tick(60_000));
    should(n.got.backup).have.length(1);
    should(n.got.backup[0].tier?.reason).equal("on battery 120 s ≥ 120 s");
    should(n.got.backup[0].payload.onBatterySeconds).equal(120);
    should(n.got.storage).have.length(0);
  });

  it("refuses bad input with an error, sends nothing", async () => {
    const n = await start();
    await n.send({ payload: power({ onBattery: true, charge: "15" as unknown as number }), outage: O1 });
    await n.send({ payload: power({ onBattery: true, charge: 15 }) });
    await n.send({ payload: power({ onBattery: true, charge: 15 }), outage: null });
    should(n.errorTexts()).eql([
      'Message ignored: payload.charge must be a number or null (got string "15")',
      "Message ignored: msg.outage is missing: feed this node from ups-aggregate",
      "Message ignored: payload.onBattery is true but msg.outage is null: a power loss always has an outage identity",
    ]);
    should(OUTS.every((o) => n.got[o].length === 0)).be.true();
  });

  it("a power state Node-RED cannot copy still fires its tiers (without what could not be copied) and warns", async () => {
    const n = await start();
    const odd: Record<string, unknown> = {};
    Object.setPrototypeOf(odd, new Map()); // RED.util.cloneMessage throws on it (found by test/fuzz/node-inputs.test.ts)
    await n.send({ payload: power({ onBattery: true, charge: 45, event: "POWER_LOST" }), outage: O1, odd } as NodeMessage);
    should(OUTS.map((o) => n.got[o].length)).eql([1, 1, 0, 0, 0], "the state moved on to storage: both messages went out");
    should((n.got.storage[0] as unknown as { odd?: unknown }).odd).equal(undefined);
    should(n.errorTexts()).eql([]);
  });

  it("refuses a configuration with a tier that can never fire", async () => {
    await helper.load(tierNode, [{ id: "tiers", type: "battery-tier-switch", tiers: [{ name: "x" }], outputs: 2, wires: [[], []] }]);
    const logged = helper
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.level === 20 && e.id === "tiers")
      .map((e) => String(e.msg));
    should(logged).eql(["Invalid configuration: x: no condition set, it would never fire"]);
  });

  it("tiers reached at once leave in tier order, even the critical one; msg.tier.together says which went together", async () => {
    const n = await start();
    const order: string[] = [];
    for (const o of OUTS) helper.getNode(o).on("input", (m: Out) => order.push(m.topic ?? ""));
    await n.send(onBattery(95, { critical: true }));
    should(order).eql(["backup", "storage", "production", "everything"]);
    should(n.got.everything[0].tier?.together).eql(["backup", "storage", "production", "everything"]);
  });

  it("FSD reaches every tier of a charge-only plan, in order; unticked, only tiers with the critical condition", async () => {
    const charges = [
      { name: "backup", charge: 90 },
      { name: "storage", charge: 50 },
      { name: "production", charge: 20 },
      { name: "everything", charge: 10 },
    ];
    const n = await start({ tiers: charges });
    await n.send(onBattery(100, { critical: true, fsd: true }));
    should(OUTS.map((o) => n.got[o].length)).eql([1, 1, 1, 1, 0]);
    should(n.got.everything[0].tier?.reason).equal("FSD: forced shutdown");
    await helper.unload();
    const off = await start({ tiers: charges, fsdAll: false });
    await off.send(onBattery(100, { critical: true, fsd: true }));
    should(OUTS.map((o) => off.got[o].length)).eql([0, 0, 0, 0, 0]);
  });

  it("an NTP step of months on the wall clock does not bring a time-on-battery tier forward", async () => {
    clock.start(T0);
    const n = await start({ tiers: [{ name: "long", onBatteryFor: 600 }], outputs: 2 });
    await n.send(onBattery(95, { onBatterySeconds: 0 }));
    clock.stepWall(90 * 86_400_000);
    await n.send(onBattery(95, { onBatterySeconds: 0 }));
    clock.tick(599_000);
    should(n.got.backup).have.length(0);
    await n.step("the time tier", () => clock.tick(1000));
    await waitUntil("the long tier's message", () => n.got.backup.length > 0, 5000);
    should(n.got.backup).have.length(1);
    should(n.got.backup[0].tier?.reason).equal("on battery 600 s ≥ 600 s");
  });

  it("a reset in any form is never a tier: it clears the outage's memory and goes on as power restored", async () => {
    const n = await start({ mode: "first" });
    await n.send(onBattery(45));
    should(OUTS.map((o) => n.got[o].length)).eql([1, 1, 0, 0, 0]);
    await n.send({ ...onBattery(5), reset: "yes" });
    should(OUTS.map((o) => n.got[o].length)).eql([1, 1, 0, 0, 1], "no tier, one power restored");
    should(n.got.restored[0].reset).be.true();
    should(n.got.restored[0].action).equal("cancel");
    await n.send({ reset: 0 });
    should(n.got.restored).have.length(2);
    await n.send(onBattery(45));
    should(OUTS.map((o) => n.got[o].length)).eql([2, 2, 0, 0, 2], "re-armed: the same outage passes its tiers again");
    should(n.errorTexts()).eql([]);
  });

  it("a time tier a month away does not spin: one timer of at most 24.8 days, not a timer firing every millisecond", async () => {
    const n = await start({ tiers: [{ name: "month", onBatteryFor: 30 * 86_400 }], outputs: 2 });
    await n.send(onBattery(95, { onBatterySeconds: 0 }));
    const shown = n.statuses.length;
    // real timers: a delay over 2^31-1 ms would fire at once and re-arm, hundreds of times in this pause
    await new Promise((r) => setTimeout(r, 300));
    should(n.statuses.length - shown).be.belowOrEqual(1, `${n.statuses.length - shown} statuses in 300 ms`);
    should(n.got.backup).have.length(0);
  });
});
