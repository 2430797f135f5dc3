/**
 * Active / standby, everything real: two `node-red` processes running the
 * shipped example 08 (the progressive plan with a standby-gate in front of
 * each step's latch), one as "primary" and one as "standby", a real
 * Mosquitto on loopback, a real upsd with two dummy-ups UPSes and five
 * recording sshd hosts.
 *
 *   forged MQTT messages on the controllers' topics (a step, a host, a
 *   command) → refused by both, nothing recorded → outage, 85 %: the
 *   primary shuts the backup server down → the broker stopped mid-outage,
 *   45 %: the primary shuts the storage down after its wait, unconfirmed,
 *   the standby nothing → the broker back: the first claim survived, the
 *   primary claims the storage step after the fact → the primary killed (SIGKILL): the broker sends its last will, the standby
 *   takes over → 15 % then LB: the standby shuts production and the rest
 *   down, and never repeats the two steps the primary ran.
 *
 * Each controller's shutdown message names it, so the recorder tells which
 * controller ran which step. Every host is shut down exactly once.
 */
import should from "../harness/should";
import mqtt from "mqtt";
import type { FlowNode } from "../../tools/example-flow";
import { type Broker, MOSQUITTO_INSTALL, mosquittoMissing, startBroker } from "../harness/mqtt-broker";
import { type NodeRedProcess, removeUserDir, startNodeRed } from "../harness/node-red";
import { runtimeLabel } from "../harness/runtime";
import { requireComponent } from "../harness/system";
import { waitUntil } from "../harness/wait";
import { PLAN_HOSTS, kind, planFlow, setBoth, usePlanLabs } from "../harness/plan-e2e";

type Role = "primary" | "standby";
const PREFIX = "nut-shutdown/site-a";

describe(`end to end: active and standby controllers over a real Mosquitto, two real ${runtimeLabel()}, real upsd, real sshd hosts`, function () {
  this.timeout(300_000);
  const labs = usePlanLabs("127.0.52");
  let broker: Broker | undefined;
  const nodeReds: NodeRedProcess[] = [];

  before(function () {
    requireComponent(this, "mosquitto (Debian mosquitto)", mosquittoMissing(), MOSQUITTO_INSTALL);
  });
  after(async () => {
    for (const nr of nodeReds) {
      await nr.stop();
      removeUserDir(nr.userDir);
    }
    await broker?.stop();
  });

  /** Example 08 as `me` runs it: pointed at the labs and the broker, shutdowns on `shutdown` naming the controller. */
  function controllerFlow(me: Role, b: Broker): FlowNode[] {
    const flow = planFlow(labs.nut, labs.ssh, 30, "08");
    const gates = flow.filter((n) => n.type === "standby-gate");
    should(gates.map((g) => g.step)).eql(["backup", "storage", "production", "everything"]);
    for (const g of gates) Object.assign(g, { me, wait: 5 });
    const topic = `${PREFIX}/controller/${me}`;
    for (const n of flow.filter((x) => x.type === "mqtt-broker")) {
      should(n.birthTopic).equal(`${PREFIX}/controller/primary`, "the example ships as the primary");
      Object.assign(n, { broker: b.host, port: String(b.port), clientid: `nut-shutdown-site-a-${me}`, birthTopic: topic, willTopic: topic, closeTopic: topic });
    }
    // the Linux preset's wall message names the controller in each recorded command (Synology's poweroff carries none)
    for (const n of flow.filter((x) => x.type === "ssh-shutdown")) Object.assign(n, { preset: "linux", message: `UPS battery low: ${me} shuts down` });
    return flow;
  }

  /** The recorded shutdowns as "host by controller". */
  const shutdowns = (): string[] =>
    labs.ssh
      .records()
      .filter((r) => kind(r) === "shutdown")
      .map((r) => `${r.host} by ${/primary|standby/.exec(r.command)?.[0] ?? "?"}`);

  async function waitShutdowns(want: string[], what: string): Promise<void> {
    await labs.ssh.waitForRecords((rs) => rs.filter((r) => kind(r) === "shutdown").length >= want.length, 60_000).catch(() => undefined);
    should([...shutdowns()].sort()).eql([...want].sort(), `${what}: ${shutdowns().join(", ") || "nothing"}`);
  }

  /** The retained message on `topic` now, as a fresh client gets it ("" when none). */
  async function retained(b: Broker, topic: string): Promise<string> {
    const client = await mqtt.connectAsync(b.url, { clean: true, reconnectPeriod: 0 });
    try {
      const got = new Promise<string>((resolve) => client.on("message", (t, p) => t === topic && resolve(p.toString())));
      await client.subscribeAsync(topic, { qos: 1 });
      return await Promise.race([got, new Promise<string>((resolve) => setTimeout(() => resolve(""), 1000))]);
    } finally {
      await client.endAsync();
    }
  }

  it("runs every step once across a broker outage and restart and the loss of the active controller; a forged message is refused", async () => {
    broker = await startBroker();
    const b = broker;
    const primary = await startNodeRed({ flows: controllerFlow("primary", b), persistentContext: true });
    nodeReds.push(primary);
    const standby = await startNodeRed({ flows: controllerFlow("standby", b), persistentContext: true });
    nodeReds.push(standby);
    for (const nr of [primary, standby]) await nr.waitForLog(/Connected to broker/, 30_000);
    // Each gate says its role in the log: the primary is active, the standby waits on the primary's birth message.
    await primary.waitForLog(/\[standby-gate:[^\]]*\] active/, 30_000);
    await standby.waitForLog(/\[standby-gate:[^\]]*\] standby: primary online/, 30_000);

    // Forged: messages on the controllers' topics that look like a step, choose a host or a command, or carry an outage.
    const forger = await mqtt.connectAsync(b.url, { clean: true });
    const forged = JSON.stringify({
      outage: { id: "outage-forged", since: Date.now() },
      tier: { index: 0, name: "backup" },
      payload: { onBattery: true, charge: 5 },
      hosts: ["backup-server"],
      command: "halt",
    });
    const fromP = primary.log().length;
    const fromS = standby.log().length;
    await forger.publishAsync(`${PREFIX}/step/backup`, forged, { qos: 1 });
    await forger.publishAsync(`${PREFIX}/controller/standby`, forged, { qos: 1 });
    for (const [nr, from] of [
      [primary, fromP],
      [standby, fromS],
    ] as const) {
      // (the example's Catch node prints each error of its nodes)
      await nr.waitForLog(/Message ignored: not a claim of step backup/, 30_000, from);
      await nr.waitForLog(/Message ignored: the word on controller standby must be "online" or "offline"/, 30_000, from);
    }
    await forger.endAsync();
    should(labs.ssh.records()).eql([], "no forged message ran anything");

    // The outage: at 85 % the primary runs the first step.
    await setBoth(labs.nut, "OB DISCHRG", 97, 95);
    await primary.waitForLog(/Power lost/, 30_000);
    await setBoth(labs.nut, "OB DISCHRG", 97, 85);
    await waitShutdowns(["backup-server by primary"], "85 %");

    // The broker goes down mid-outage and the storage step comes due: the primary runs it after the wait, unconfirmed;
    // the standby, still believing the primary online, runs nothing.
    const beforeDown = [primary.log().length, standby.log().length];
    await b.stopOnly();
    await setBoth(labs.nut, "OB DISCHRG", 97, 45);
    await primary.waitForLog(/the broker did not confirm the claim of step storage: running it anyway/, 60_000, beforeDown[0]);
    await waitShutdowns(["backup-server by primary", "storage-server by primary"], "45 %, broker down");
    // The broker back (its retained messages kept on disk): both reconnect, the first claim survived,
    // and the primary claims the step it ran meanwhile.
    await b.start();
    await primary.waitForLog(/Connected to broker/, 30_000, beforeDown[0]);
    await standby.waitForLog(/Connected to broker/, 30_000, beforeDown[1]);
    should(JSON.parse(await retained(b, `${PREFIX}/step/backup`))).containEql({ controller: "primary", step: "backup" });
    await waitUntil("the storage step claimed after the fact", async () => (await retained(b, `${PREFIX}/step/storage`)).includes('"primary"'), 30_000);
    await waitUntil("the primary announced again", async () => (await retained(b, `${PREFIX}/controller/primary`)) === "online", 30_000);

    // The primary is lost (as its own UPS would take it): the broker sends its last will, the standby takes over.
    const beforeKill = standby.log().length;
    await primary.kill();
    await standby.waitForLog(/\[standby-gate:[^\]]*\] active/, 30_000, beforeKill);
    should(await retained(b, `${PREFIX}/controller/primary`)).equal("offline");

    // 15 %, then LB: the standby runs production and the rest, never backup or storage again.
    await setBoth(labs.nut, "OB DISCHRG", 97, 15);
    await waitShutdowns(["backup-server by primary", "storage-server by primary", "prod-server-1 by standby", "prod-server-2 by standby"], "15 %");
    await setBoth(labs.nut, "OB DISCHRG LB", 97, 8);
    await waitShutdowns(
      ["backup-server by primary", "storage-server by primary", "prod-server-1 by standby", "prod-server-2 by standby", "hypervisor by standby"],
      "LB",
    );
    // The broker holds each step's claim by the controller that ran it.
    for (const [step, by] of [
      ["backup", "primary"],
      ["storage", "primary"],
      ["production", "standby"],
      ["everything", "standby"],
    ]) {
      should(JSON.parse(await retained(b, `${PREFIX}/step/${step}`))).containEql({ controller: by, step });
    }
    // Each host once, none twice.
    const hosts = labs.ssh
      .records()
      .filter((r) => kind(r) === "shutdown")
      .map((r) => r.host)
      .sort();
    should(hosts).eql([...PLAN_HOSTS].sort());
  });
});
