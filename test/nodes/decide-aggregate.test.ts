/**
 * The ups-aggregate node in the real Node-RED runtime (test helper): messages
 * in, power state out, status, restarts, bad input.
 */
import should from "../harness/should";
import type { NodeMessage } from "node-red";
import type { OutageIdentity, PowerState } from "../../core/contract";
import aggregateNode from "../../nodes/ups-aggregate";
import { aggregateNodeDef, source, ups } from "../harness/decide-fixtures";
import { clock, fileStores } from "../harness/decide-node-helper";
import { callsOf, collect, helper, loadContextStores, settle, watch } from "../harness/red-helper";
import { waitUntil } from "../harness/wait";

const A = "ups1@nas:3493";
const B = "ups2@nas:3493";
type Out = NodeMessage & { payload: PowerState; outage: OutageIdentity | null; summary: string };

function flow(extra: object = {}) {
  return [aggregateNodeDef([A, B], { wires: [["out"]], ...extra }), { id: "out", type: "helper" }];
}

async function start(extra: object = {}) {
  await helper.load([aggregateNode, loadContextStores], flow(extra));
  const agg = helper.getNode("agg");
  const w = watch(agg);
  const got = collect(helper.getNode("out")) as Out[];
  const send = (topic: unknown, payload: unknown) => w.receive({ topic, payload });
  const tick = (ms: number) => w.step(`ups-aggregate's timer after ${ms} ms`, () => clock.tick(ms));
  return { agg, got, send, tick, ...w };
}

describe("ups-aggregate node", () => {
  afterEach(async () => {
    clock.stop();
    await helper.unload();
    helper.settings({});
  });

  it("sends one power state with msg.outage and a summary; status on line power", async () => {
    const n = await start();
    await waitUntil("the aggregate to read its stored outage", () => n.lastStatus() === "waiting for UPS states");
    await n.send(A, ups(A, "OL", { charge: 100, runtime: 2700 }));
    should(n.got).have.length(1);
    const m = n.got[0];
    should(m.topic).equal("power");
    should(m.outage).equal(null);
    should(m.payload.event).equal("UPDATE");
    should(m.payload.stale).eql([B], "the listed UPS that never reported is stale");
    should(m.summary).equal("On line power: weakest ups1@nas:3493 at 100 %, ~45 min; stale: ups2@nas:3493 (never reported)");
    should(n.lastStatus()).equal("on line power 100 % ~45 min · stale 1");
  });

  it("declares POWER_LOST on its own timer after the confirm time, then ends the outage after the restore time", async () => {
    const n = await start();
    clock.start(Date.UTC(2026, 10, 25, 14, 0, 0));
    await n.send(A, ups(A, "OL"));
    await n.send(B, ups(B, "OL"));
    await n.send(A, ups(A, "OB DISCHRG", { charge: 97 }));
    should(n.got[n.got.length - 1].payload.onBattery).be.false();
    await n.tick(5000);
    const lost = n.got[n.got.length - 1];
    should(lost.payload.event).equal("POWER_LOST");
    should(lost.outage?.since).equal(Date.UTC(2026, 10, 25, 14, 0, 0));
    should(lost.outage?.id ?? "").match(/^outage-20261125T140000Z-/);
    should(n.lastStatus()).match(/^on battery 97 % ~1 h 00 min \(ups1\)$/);
    await n.send(A, ups(A, "OL CHRG", { charge: 97 }));
    should(n.got[n.got.length - 1].payload.event).equal("POWER_BACK");
    should(n.lastStatus()).equal("power back, outage ends in 30 s");
    await n.tick(30_000);
    const end = n.got[n.got.length - 1];
    should(end.payload.event).equal("OUTAGE_END");
    should(end.outage?.id).equal(lost.outage?.id);
    should(end.outage?.ended).equal(Date.UTC(2026, 10, 25, 14, 0, 35));
  });

  it("counts down in its status while confirming, and an NTP step in the meantime changes nothing", async () => {
    const n = await start();
    clock.start(Date.UTC(2026, 10, 25, 14, 0, 0));
    await n.send(A, ups(A, "OL"));
    await n.send(B, ups(B, "OL"));
    await n.send(A, ups(A, "OB DISCHRG", { charge: 97 }));
    should(n.lastStatus()).equal("power out, confirming 5 s");
    await n.tick(1000);
    should(n.lastStatus()).equal("power out, confirming 4 s");
    clock.stepWall(120 * 86_400_000);
    await n.tick(1000);
    should(n.lastStatus()).equal("power out, confirming 3 s");
    await n.tick(1000);
    await n.tick(1000);
    await n.tick(1000);
    const lost = n.got[n.got.length - 1];
    should(lost.payload.event).equal("POWER_LOST");
    should(lost.outage?.since).equal(Date.UTC(2026, 10, 25, 14, 0, 0) + 120 * 86_400_000, "the wall clock of now, less the monotonic time since power went");
    should(lost.payload.onBatterySeconds).equal(5);
  });

  it("notices a silent UPS on its timer", async () => {
    const n = await start({ silent: 10 });
    clock.start(Date.UTC(2026, 10, 25, 14, 0, 0));
    await n.send(A, ups(A, "OL"));
    await n.send(B, ups(B, "OL"));
    await n.tick(10_000);
    const m = n.got[n.got.length - 1];
    should(m.payload.stale).eql([A, B]);
    should(source(m.payload, A).note ?? "").match(/^silent for 10 s or more/);
  });

  it("refuses bad input with an error a catch node can route, and keeps its state", async () => {
    const n = await start();
    await n.send(A, ups(A, "OL"));
    await n.send(A, { ...ups(A, "OB"), charge: "73" });
    await n.send(A, { ...ups(A, "OB"), runtime: -3 });
    await n.send("ups9@nas:3493", ups("ups9@nas:3493", "OB"));
    await n.send(A, null);
    should(n.errorTexts()).eql([
      'Message ignored: payload.charge must be a number or null (got string "73")',
      "Message ignored: payload.runtime must not be negative (got -3)",
      "Message ignored: unknown topic ups9@nas:3493: not in this node's list of UPSes (ups1@nas:3493, ups2@nas:3493)",
      "Message ignored: msg.payload must be a UPS state object (got null)",
    ]);
    should(n.got.length).equal(1, "nothing sent for the bad ones");
    should(n.lastStatus()).equal(
      "on line power 100 % ~1 h 00 min · stale 1 · unknown topic ups9@nas:3493",
      "the unknown topic stays visible, after what the node decided",
    );
    await n.send(B, ups(B, "OL"));
    should(source(n.got[n.got.length - 1].payload, A).status).equal("OL", "state intact");
    // the refused topic never hides what the node decided
    await n.send(A, ups(A, "OB LB", { charge: 8 }));
    should(n.got[n.got.length - 1].payload.critical).be.true();
    should(n.lastStatus()).match(/^CRITICAL [^\n]* · unknown topic ups9@nas:3493$/);
  });

  it("reports a bad configuration as an error and handles no message", async () => {
    await helper.load(
      [aggregateNode, loadContextStores],
      flow({
        sources: [
          { topic: A, power: 1 },
          { topic: A, power: 2 },
        ],
        confirm: "soon",
      }),
    );
    const logged = helper
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.level === 20 && e.id === "agg")
      .map((e) => String(e.msg));
    should(logged).eql(["Invalid configuration: source ups1@nas:3493 is listed twice; confirm time must be a number of seconds >= 0"]);
    const got = collect(helper.getNode("out"));
    helper.getNode("agg").receive({ topic: A, payload: ups(A, "OB LB") } as NodeMessage);
    await settle();
    should(got).have.length(0);
  });

  describe("with a persistent context store", () => {
    const stores = fileStores();
    afterEach(() => stores.removeAll());

    it("a restart in mid-outage continues the same outage identity", async () => {
      const dir = stores.open();
      const first = await start({ store: "file", confirm: 0 });
      await first.send(A, ups(A, "OB", { charge: 80 }));
      const id = first.got[0].outage?.id;
      should(first.got[0].payload.event).equal("POWER_LOST");
      // A clean stop flushes the store; only the files survive into the next run.
      await stores.restart(dir, "clean");
      const second = await start({ store: "file", confirm: 0 });
      await second.send(A, ups(A, "OB", { charge: 79 }));
      const m = second.got[0];
      should(m.payload.event).equal("UPDATE", "no second POWER_LOST");
      should(m.payload.onBattery).be.true();
      should(m.outage?.id).equal(id);
    });

    it("an empty context file (a crash while it was written): the outage identity is lost, said in red and to a Catch node until stored again", async () => {
      const dir = stores.open();
      const first = await start({ store: "file", confirm: 0 });
      await first.send(A, ups(A, "OB", { charge: 80 }));
      const next = await stores.restart(dir, "clean");
      const file = stores.overwrite(next, "outage", "");
      const second = await start({ store: "file", confirm: 0 });
      await waitUntil("the aggregate to read its stored outage", () => second.statuses.length > 0);
      const [err] = callsOf(second.agg, second.agg.error);
      should(err.args[0]).equal(
        `The stored outage identity is lost: its context file ${file} is empty (Node-RED was stopped while writing it, by a crash or a power cut). An outage open before the restart continues as a new outage, and "once per outage" nodes let its messages through again`,
      );
      should(err.args[1]).eql({ topic: "ups-aggregate/context", payload: { store: "file", key: "outage", problem: "empty-file", file } });
      should(second.statuses[0]).eql({ fill: "red", shape: "ring", text: "waiting · stored outage lost" }, "never a plain waiting");
      await second.send(A, ups(A, "OB", { charge: 79 }));
      const m = second.got[0];
      should(m.payload.event).equal("POWER_LOST", "a new outage: what the error said");
      should(second.lastStatus()).equal("on battery 79 % ~1 h 00 min (ups1) · stale 1", "stored again: the status is the power state's");
    });
  });
});
