/**
 * Everything real: a `node-red` process with this package, the shipped
 * progressive example (re-pointed at the test fixtures, actions set to
 * `shutdown`), a real upsd with two dummy-ups UPSes, and five real sshd hosts
 * whose ForceCommand only records what they are asked to run.
 *
 * The batteries are drained step by step; after every step the recorded
 * commands must be exactly the ones the plan calls for so far: nothing on
 * line power (even at 15 % while recharging), backup at 90 %, storage at 50 %,
 * production at 20 %, the rest below 10 %, each once; Node-RED restarted in
 * the middle of the outage sends nothing twice; power back cancels the
 * delayed shutdowns still pending; a second outage fires again.
 */
import should from "../harness/should";
import type { FlowNode } from "../../tools/example-flow";
import type { NodeRedProcess } from "../harness/node-red";
import { runtimeLabel } from "../harness/runtime";
import {
  assertOnlyPlanCommands,
  checked,
  PLAN_HOSTS,
  planFlow,
  recorded,
  setBoth as setBothOf,
  usePlanLabs,
  waitRecorded as waitRecordedOf,
  type PlanHost,
} from "../harness/plan-e2e";

describe(`end to end: progressive example, real ${runtimeLabel()}, real upsd, real sshd hosts`, function () {
  this.timeout(240000);
  const labs = usePlanLabs("127.0.45");
  let nr: NodeRedProcess | undefined;

  /** The shipped example, re-pointed at the fixtures, with faster timings and every debug node also printing to the log. */
  function testFlow(): FlowNode[] {
    const flow = planFlow(labs.nut, labs.ssh);
    // One more observer: every power state, so a step can wait until the plan has seen a value.
    const agg = flow.find((n) => n.type === "ups-aggregate") as FlowNode & { wires: string[][] };
    agg.wires[0].push("e2e-observer");
    flow.push({
      id: "e2e-observer",
      type: "debug",
      z: agg.z,
      name: "e2e observer",
      active: true,
      tosidebar: false,
      console: true,
      tostatus: false,
      complete: "summary",
      targetType: "msg",
      x: 400,
      y: 560,
      wires: [],
    });
    return flow;
  }

  const setBoth = (status: string, charge1: number, charge2: number): Promise<void> => setBothOf(labs.nut, status, charge1, charge2);

  /** Waits until the plan has seen ups2 at `charge` % (the observer prints the power state's summary). */
  async function planSees(charge: number, prefix: RegExp, from: number): Promise<void> {
    await (nr as NodeRedProcess).waitForLog(new RegExp(`${prefix.source}.*ups2@[^ ]+ at ${charge} %`), 30000, from);
  }

  const waitRecorded = (want: string[], what: string): Promise<void> => waitRecordedOf(labs.ssh, want, what);

  it("shuts down backup at 90 %, storage at 50 %, production at 20 %, the rest below 10 %: once each, in order, surviving a restart; cancels on power back; fires again next outage", async () => {
    nr = await labs.startNodeRed({ flows: testFlow() });
    await nr.waitForLog(/connected to upsd/, 30000);

    // Recharging on line power at 15 %: nothing may fire.
    let from = nr.log().length;
    await setBoth("OL CHRG", 100, 15);
    await planSees(15, /On line power/, from);

    // Power lost at 95 %: the outage starts, no tier reached yet.
    from = nr.log().length;
    await setBoth("OB DISCHRG", 97, 95);
    await planSees(95, /Power lost|On battery/, from);
    should(recorded(labs.ssh)).eql([], "nothing may be sent on line power or above 90 %");
    // ...but the pre-flight checks every host of the plan at power loss, long before its tier
    await labs.ssh.waitForRecords(() => new Set(checked(labs.ssh)).size === PLAN_HOSTS.length, 30000);
    should([...new Set(checked(labs.ssh))].sort()).eql([...PLAN_HOSTS].sort());

    const done: string[] = [];
    const step = async (charge: number, status: string, expect: PlanHost[], what: string) => {
      const f = (nr as NodeRedProcess).log().length;
      await Promise.all([labs.nut.setVar("ups2", "battery.charge", charge), labs.nut.setVar("ups2", "ups.status", status)]);
      await planSees(charge, /On battery/, f);
      done.push(...expect.map((h) => `${h}:shutdown`));
      await waitRecorded(done, what);
    };

    await step(89, "OB DISCHRG", ["backup-server"], "backup at 90 %");
    await step(60, "OB DISCHRG", [], "nothing new between 90 and 50 %");
    await step(49, "OB DISCHRG", ["storage-server"], "storage at 50 %");

    // Node-RED restarted in the middle of the outage: the latches remember what passed.
    await nr.stop();
    nr = await labs.startNodeRed();
    await nr.waitForLog(/connected to upsd/, 30000);
    await planSees(49, /Power lost|On battery/, 0);
    await waitRecorded(done, "after the restart nothing is sent again");

    await step(19, "OB DISCHRG", ["prod-server-1", "prod-server-2"], "production at 20 %");
    await step(8, "OB DISCHRG LB", ["hypervisor"], "the rest below 10 % (and LB)");

    // Power returns: after the restore time the outage ends; the delayed shutdowns still pending are cancelled
    // (storage-server's Synology preset powers off at once: nothing to cancel there).
    from = nr.log().length;
    await setBoth("OL CHRG", 40, 9);
    await nr.waitForLog(/Outage over/, 30000, from);
    done.push("backup-server:cancel", "prod-server-1:cancel", "prod-server-2:cancel", "hypervisor:cancel");
    await waitRecorded(done, "power back cancels the pending delayed shutdowns");
    // the power-restored message went through the four latches: "power events" shows it once, "steps passed" not at all
    const back = nr.log().slice(from);
    should(back.split("\n").filter((l) => l.includes("[debug:steps passed]"))).eql([], "power back is not a step passed");
    should(back.split("\n").filter((l) => l.includes("[debug:power events]") && /Outage over/.test(l)).length).equal(1, back);

    // Recharging at low charge fires nothing; a second outage fires again (new outage, latches re-armed).
    from = nr.log().length;
    await setBoth("OL CHRG", 50, 30);
    await planSees(30, /On line power/, from);
    from = nr.log().length;
    await setBoth("OB DISCHRG", 50, 30);
    await planSees(30, /Power lost|On battery/, from);
    done.push("backup-server:shutdown", "storage-server:shutdown");
    await waitRecorded(done, "a second outage fires again");

    // Every recorded command came from the node with the pinned key and the test user, never anything else.
    assertOnlyPlanCommands(labs.ssh);
  });
});
