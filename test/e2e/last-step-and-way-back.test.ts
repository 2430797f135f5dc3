/**
 * The last step and the way back, everything real: a `node-red` process
 * running the shipped progressive example with its final step enabled (the
 * two *cut … outlets* nut-command nodes, which wait for every host's result)
 * and its way back (wake-hosts), a real upsd with two dummy-ups UPSes, five
 * recording sshd hosts, and a loopback UDP socket standing for the LAN's
 * broadcast address.
 *
 *   outage → every step at once (8 %, LB) → the final command goes to both
 *   UPSes only after all five hosts reported (one of them failed) → Node-RED
 *   killed, as the UPS cutting its outlets would, and the four hosts shut down
 *   "powered off" (their sshd stopped) → power back at 30 %: Node-RED starts
 *   again and wakes nothing below the charge → 60 % and mains stable: magic
 *   packets for exactly the four hosts; each one's sshd starts only when its
 *   packet arrives, and the node reports it UP. The host whose shutdown
 *   failed, still running, is never woken.
 *
 * dummy-ups offers one instant command, load.off (on battery the guard lets
 * it through; the driver answers "unknown" to TRACKING), so the final step
 * sends that instead of the example's shutdown.return. Nothing leaves
 * loopback: wake-hosts' "broadcast" address is 127.0.0.1.
 */
import should from "../harness/should";
import type { FlowNode } from "../../tools/example-flow";
import type { NutCommandResult, WakeResult } from "../../core/contract";
import { magicPacket } from "../../core/wake/mac";
import { type LanListener, udpListener } from "../harness/lan";
import type { NodeRedProcess } from "../harness/node-red";
import { NUT_LAB_USERS } from "../harness/nut-lab";
import { runtimeLabel } from "../harness/runtime";
import { waitUntil } from "../harness/wait";
import { PLAN_HOSTS, deployAgain, kind, planFlow, setBoth, usePlanLabs, type PlanHost } from "../harness/plan-e2e";

/** The host whose shutdown command fails (its recorder exits 1): it stays up, so it is never woken. */
const FAILS: PlanHost = "hypervisor";
const SHUT: PlanHost[] = PLAN_HOSTS.filter((h) => h !== FAILS);

describe(`end to end: the last step and the way back, real ${runtimeLabel()}, real upsd, real sshd hosts`, function () {
  this.timeout(300_000);
  const labs = usePlanLabs("127.0.48");
  let nr: NodeRedProcess | undefined;
  let lan: LanListener | undefined;
  const red = (): NodeRedProcess => nr as NodeRedProcess;

  after(async () => {
    await nr?.stop();
    await lan?.close();
  });

  /** The example with its final step enabled and faster, waking towards `wolPort`, and one observer printing every final-step and wake result as JSON. */
  function testFlow(wolPort: number): FlowNode[] {
    const flow = planFlow(labs.nut, labs.ssh);
    const cuts = flow.filter((n) => n.type === "nut-command");
    should(cuts.map((n) => n.d)).eql([true, true], "the example ships its final step disabled");
    for (const n of cuts) {
      delete n.d;
      Object.assign(n, { command: "load.off", margin: 2, deadline: 90, trackingTimeout: 5 });
    }
    const wake = flow.find((n) => n.type === "wake-hosts") as FlowNode & { wires: string[][] };
    Object.assign(wake, { wolPort, stable: 3, repeat: 1, deadline: 60 });
    for (const n of [...cuts, wake] as Array<FlowNode & { wires: string[][] }>) n.wires[0].push("e2e-json");
    flow.push({
      id: "e2e-json",
      type: "function",
      z: wake.z,
      name: "e2e json",
      func: 'node.log("E2E " + JSON.stringify(msg.payload)); return null;',
      outputs: 0,
      x: 1700,
      y: 560,
      wires: [],
    });
    return flow;
  }

  /** What the observer printed so far: final-step results and wake results. */
  function observed(): { cuts: NutCommandResult[]; wakes: WakeResult[] } {
    const all = [
      ...red()
        .log()
        .matchAll(/E2E (\{.*\})$/gm),
    ].map((m) => JSON.parse(m[1]) as NutCommandResult | WakeResult);
    return { cuts: all.filter((p): p is NutCommandResult => "kind" in p), wakes: all.filter((p): p is WakeResult => "event" in p) };
  }

  const macOf = (flow: FlowNode[], host: PlanHost): string => String(flow.find((n) => n.type === "ssh-host" && n.name === host)?.mac);

  it("cuts the UPSes only after every host reported, survives its own power cut, and wakes exactly the hosts it shut down once mains is back, charged and stable", async () => {
    lan = await udpListener();
    const flow = testFlow(lan.port);
    const macs = new Map(PLAN_HOSTS.map((h) => [h, macOf(flow, h)]));
    const packetHex = new Map([...macs].map(([h, mac]) => [magicPacket(mac).toString("hex"), h]));
    /** Hosts whose first magic packet arrived, in order; each one's sshd is started then, not before. */
    const woken: PlanHost[] = [];
    lan.socket.on("message", (data) => {
      const host = packetHex.get(data.toString("hex"));
      if (host && !woken.includes(host)) {
        woken.push(host);
        void labs.ssh.startHost(host);
      }
    });
    labs.ssh.behave(FAILS, { exit: 1 });

    nr = await labs.startNodeRed({ flows: flow });
    await red().waitForLog(/connected to upsd/, 30_000);
    // the final step needs upsd rights: the NUT server's user, as an admin types it in the editor (a credential, never in the flow file)
    await deployAgain(red(), "full", (flows) => {
      const server = flows.find((n) => n.type === "nut-server") as FlowNode;
      server.credentials = { username: NUT_LAB_USERS.admin.username, password: NUT_LAB_USERS.admin.password };
    });

    // The outage, straight to the last tier: every step fires, and the final step waits for all five hosts.
    await setBoth(labs.nut, "OB DISCHRG", 97, 95);
    await red().waitForLog(/Power lost/, 30_000);
    await setBoth(labs.nut, "OB DISCHRG LB", 97, 8);
    await waitUntil("both final-step results", () => observed().cuts.length >= 2, { timeoutMs: 120_000 });
    const shutdowns = labs.ssh.records().filter((r) => kind(r) === "shutdown");
    should(shutdowns.map((r) => r.host).sort()).eql([...PLAN_HOSTS].sort(), "every host was asked once");
    for (const cut of observed().cuts) {
      should(cut).containEql({ kind: "instcmd", command: "load.off", result: "UNKNOWN", unknownBecause: "driver", tracking: true, joined: false });
      should(cut.waited).containEql({ hosts: { reported: 5, expected: 5 }, cutShort: [] });
      for (const r of shutdowns) should(r.time).be.below(cut.time, `the command to ${cut.ups} came after ${r.host} reported`);
    }
    should(
      observed()
        .cuts.map((c) => c.ups)
        .sort(),
    ).eql(["ups1", "ups2"]);

    // The UPS cuts its outlets: this controller dies at once (after the store's 1 s flush), the four hosts shut down are off.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await red().kill();
    for (const h of SHUT) await labs.ssh.stopHost(h);

    // Mains is back, batteries at 30 %: Node-RED starts again, remembers the four hosts, wakes none yet.
    await setBoth(labs.nut, "OL CHRG", 30, 30);
    nr = await labs.startNodeRed();
    await red().waitForLog(/Outage over/, 60_000);
    should(lan.got).have.length(0, "no packet below the charge");
    should(observed().wakes).eql([]);

    // Recharged to 60 % and stable for 3 s: exactly the four hosts shut down are woken, each UP once its packet started it.
    await setBoth(labs.nut, "OL CHRG", 60, 60);
    await waitUntil("four hosts up", () => observed().wakes.filter((w) => w.event === "UP").length >= SHUT.length, { timeoutMs: 90_000 });
    const up = observed().wakes.filter((w) => w.event === "UP");
    should(up.map((w) => w.host).sort()).eql([...SHUT].sort());
    should([...woken].sort()).eql([...SHUT].sort(), "packets for exactly the hosts shut down, none for the one that stayed up");
    for (const w of up) should(w).containEql({ mac: macs.get(w.host as PlanHost), broadcast: "127.0.0.1", wolPort: lan.port, simulated: false });
    should(observed().wakes.filter((w) => w.event !== "WAKING" && w.event !== "UP")).eql([]);
    // Nothing was shut down twice (cancels of the delayed shutdowns may follow once the hosts are up).
    const again = labs.ssh.records().filter((r) => kind(r) === "shutdown");
    should(again.length).equal(PLAN_HOSTS.length, "no second shutdown");
  });
});
