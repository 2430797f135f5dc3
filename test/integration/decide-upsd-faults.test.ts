/**
 * The bundled plan under the faults of a real site, against a real upsd:
 * nut-ups-in sending on change (as the example does) → ups-aggregate
 * (weakest, dead time) → battery-tier-switch (90/50/20/10 % or critical).
 * Both UPSes sit on battery at 85 % with steady readings for longer than the
 * dead time (so nut-ups-in sends nothing), then upsd restarts, a driver
 * freezes, a driver dies. Only what fresh data justifies may fire within
 * the dead time; after it, upsmon's verdict (dead while on battery = exhausted).
 */
import should from "../harness/should";
import type { NodeMessage } from "node-red";
import type { PowerState, TierInfo } from "../../core/contract";
import aggregateNode from "../../nodes/ups-aggregate";
import tierNode from "../../nodes/battery-tier-switch";
import nutServerNode from "../../nodes/nut-server";
import nutUpsInNode from "../../nodes/nut-ups-in";
import { startNutLab, nutLabMissing, NUT_LAB_INSTALL, type NutLab } from "../harness/nut-lab";
import { collect, helper, loadContextStores } from "../harness/red-helper";
import { waitUntil } from "../harness/wait";
import { PLAN_TIERS, aggregateNodeDef } from "../harness/decide-fixtures";
import { requireComponent } from "../harness/system";

type TierMsg = NodeMessage & { payload: PowerState; tier?: TierInfo };
const TIERS = ["backup", "storage", "production", "everything", "restored"];
const DEAD = 12;
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

describe("the plan under faults, real upsd, nut-ups-in on change (integration)", function () {
  this.timeout(120_000);
  let lab: NutLab;

  before(async function () {
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    lab = await startNutLab({ upses: 2, maxAge: 4, driverPollInterval: 1 });
  });
  afterEach(() => helper.unload());
  after(async () => {
    await lab?.stop();
  });

  const topic = (u: string) => `${u}@${lab.host}:${lab.port}`;
  /** The server and both inputs as the example has them: sending on change, into "agg". */
  const inputs = () => [
    { id: "srv", type: "nut-server", host: lab.host, port: lab.port, usetls: false, tls: "", login: "", interval: 1, timeout: 3 },
    ...["ups1", "ups2"].map((u) => ({
      id: `in-${u}`,
      type: "nut-ups-in",
      server: "srv",
      mode: "one",
      ups: u,
      interval: 1,
      alertInterval: 1,
      output: "change",
      vars: false,
      nocomm: 60,
      wires: [["agg"]],
    })),
  ];
  const aggregate = (over: object) => aggregateNodeDef([topic("ups1"), topic("ups2")], { confirm: 2, deadtime: DEAD, ...over });

  it("steady on battery longer than the dead time, then upsd restarted and a driver frozen: nothing more fires; a driver dead past the dead time: the critical tier", async () => {
    await helper.load(
      [nutServerNode, nutUpsInNode, aggregateNode, tierNode],
      [
        ...inputs(),
        aggregate({ wires: [["power", "tiers"]] }),
        { id: "power", type: "helper" },
        {
          id: "tiers",
          type: "battery-tier-switch",
          name: "",
          tiers: PLAN_TIERS,
          mode: "while",
          staleCounts: false,
          outputs: 5,
          wires: TIERS.map((t) => [t]),
        },
        ...TIERS.map((id) => ({ id, type: "helper" })),
      ],
    );
    const power = collect<TierMsg>(helper.getNode("power"));
    const got = Object.fromEntries(TIERS.map((t) => [t, collect<TierMsg>(helper.getNode(t))]));
    const fired = () => TIERS.filter((t) => got[t].length > 0);

    await lab.setVar("ups1", "battery.charge", 85);
    await lab.setVar("ups2", "battery.charge", 86);
    await lab.setVar("ups1", "ups.status", "OB DISCHRG");
    await lab.setVar("ups2", "ups.status", "OB DISCHRG");
    await waitUntil("the backup tier", () => got.backup.length > 0, 20_000);
    // steady: longer than the dead time without a message from nut-ups-in
    const quiet = power.length;
    await sleep(DEAD + 3);
    should(power.length).equal(quiet, "nut-ups-in sent nothing while the readings were steady");

    await lab.stopUpsd();
    await sleep(5);
    await lab.startUpsd();
    lab.pauseDriver("ups1");
    await sleep(5);
    lab.resumeDriver("ups1");
    await waitUntil("every UPS fresh again", () => power.length > quiet && power[power.length - 1].payload.stale.length === 0, 20_000);
    should(power.slice(quiet).some((m) => m.payload.stale.length > 0)).be.true("the faults were seen (stale)");
    should(power.every((m) => !m.payload.critical)).be.true("never critical within the dead time");
    should(fired()).eql(["backup"], "nothing beyond what the fresh data justifies");

    const before = power.length;
    await lab.stopDriver("ups2");
    const critical = await waitUntil("the critical power state", () => power.slice(before).find((m) => m.payload.critical), 30_000);
    const stale = power.slice(before).find((m) => m.payload.stale.length > 0);
    should.exist(stale);
    const after = (critical.payload.time - stale.payload.time) / 1000;
    should(after).be.aboveOrEqual(DEAD - 2, `critical ${after} s after the driver died: its dead time counts from its last good read`);
    should(after).be.belowOrEqual(DEAD + 2, `critical ${after} s after the driver died: its dead time counts from its last good read`);
    should(critical.payload.reference).equal(topic("ups1"), "the readable UPS stays the reference");
    should(critical.payload.charge).equal(85);
    await waitUntil("the critical tier", () => got.everything.length > 0, 5000);
    should(fired()).eql(["backup", "storage", "production", "everything"]);
    should(got.everything[0].tier?.reason).equal("power state critical");
    should(got.storage[got.storage.length - 1].tier?.reason).equal("implied by everything (power state critical)");
  });

  it("an aggregate redeployed alone in mid-outage (modified nodes) asks the inputs for the current state: no UPS counts as never reported, the outage goes on", async () => {
    const flow = (name: string) => [...inputs(), aggregate({ name, wires: [["power"]] }), { id: "power", type: "helper" }];
    await lab.ensureRunning();
    await lab.setVar("ups1", "ups.status", "OB DISCHRG");
    await lab.setVar("ups2", "ups.status", "OB DISCHRG");
    // a memory context store: kept over a redeploy, as Node-RED's default configured store
    helper.settings({ contextStorage: { default: { module: "memory" } } });
    try {
      await helper.load([nutServerNode, nutUpsInNode, aggregateNode, loadContextStores], flow("power"));
      let power = collect<TierMsg>(helper.getNode("power"));
      const lost = await waitUntil("POWER_LOST", () => power.find((m) => m.payload.event === "POWER_LOST"), 20_000);
      // the readings stay the same: the inputs send nothing more
      await helper.setFlows(flow("power (renamed)"), "nodes");
      power = collect<TierMsg>(helper.getNode("power"));
      // without asking, a UPS whose readings stay the same would stay "never reported" for good
      const known = await waitUntil("both UPSes known to the restarted aggregate", () => power.find((m) => m.payload.stale.length === 0), 10_000);
      should(power.every((m) => m.payload.onBattery && m.payload.event === "UPDATE")).be.true("the outage goes on: no POWER_BACK, no new POWER_LOST");
      const id = (m: TierMsg) => (m as TierMsg & { outage?: { id: string } }).outage?.id;
      should(id(known)).equal(id(lost), "the same outage");
    } finally {
      helper.settings({});
    }
  });
});
