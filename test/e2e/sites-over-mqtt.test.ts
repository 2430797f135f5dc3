/**
 * Many sites, one view, everything real: a `node-red` process running the
 * shipped site example (06) against a real upsd with two dummy-ups UPSes,
 * a second one running the central view (07), one real Mosquitto on
 * loopback between them, and a plain MQTT client beside them.
 *
 *   outage → 85 % (the backup step and its simulated result) → power back
 *   and the outage over: every power state, step and result the site
 *   printed is what crossed the broker, field for field (the message
 *   contract is plain JSON), under the documented topics with the documented
 *   QoS and retain flags; the central view turns each back into the
 *   package's message; a client that connects late gets the site's last
 *   power state and its controller `online` (retained).
 */
import should from "../harness/should";
import mqtt from "mqtt";
import { loadExample, pointAtNut, setOnType, type FlowNode } from "../../tools/example-flow";
import { type Broker, MOSQUITTO_INSTALL, mosquittoMissing, startBroker } from "../harness/mqtt-broker";
import { type NodeRedProcess, removeUserDir, startNodeRed } from "../harness/node-red";
import { NUT_LAB_INSTALL, nutLabMissing, startNutLab, type NutLab } from "../harness/nut-lab";
import { runtimeLabel } from "../harness/runtime";
import { requireComponent } from "../harness/system";
import { waitUntil } from "../harness/wait";
import { setBoth } from "../harness/plan-e2e";

const SITE = "nut-shutdown/site-a";
type Kind = "power" | "event" | "result";
const KINDS: Kind[] = ["power", "event", "result"];

interface Received {
  topic: string;
  payload: unknown;
  qos: number;
  retain: boolean;
}

describe(`end to end: sites over a real Mosquitto, a site and a central view in two real ${runtimeLabel()}, real upsd`, function () {
  this.timeout(240_000);
  let nut: NutLab | undefined;
  let broker: Broker | undefined;
  let client: mqtt.MqttClient | undefined;
  const nodeReds: NodeRedProcess[] = [];

  before(async function () {
    requireComponent(this, "mosquitto (Debian mosquitto)", mosquittoMissing(), MOSQUITTO_INSTALL);
    requireComponent(this, "upsd (Debian nut-server)", nutLabMissing(), NUT_LAB_INSTALL);
    nut = await startNutLab({ upses: 2, driverPollInterval: 1 });
    broker = await startBroker();
  });
  after(async () => {
    await client?.endAsync();
    for (const nr of nodeReds) {
      await nr.stop();
      removeUserDir(nr.userDir);
    }
    await broker?.stop();
    await nut?.stop();
  });

  /** An observer printing `tag` and the message's contract fields as JSON, wired from each of `from`. */
  function observe(flow: FlowNode[], tag: string, from: FlowNode[]): void {
    const id = `e2e-${tag.replace(/\W/g, "-")}`;
    for (const n of from) (n.wires as string[][])[0].push(id);
    flow.push({
      id,
      type: "function",
      z: from[0].z,
      name: id,
      func: `node.log(${JSON.stringify(tag)} + " " + JSON.stringify({ topic: msg.topic, site: msg.site, summary: msg.summary, payload: msg.payload, outage: msg.outage, tier: msg.tier })); return null;`,
      outputs: 0,
      x: 100,
      y: 900,
      wires: [],
    });
  }

  const one = (flow: FlowNode[], test: (n: FlowNode) => boolean): FlowNode => {
    const found = flow.filter(test);
    should(found).have.length(1);
    return found[0];
  };

  function pointAtBroker(flow: FlowNode[], b: Broker): void {
    for (const n of flow.filter((x) => x.type === "mqtt-broker")) Object.assign(n, { broker: b.host, port: String(b.port) });
  }

  /** What `nr` printed under `tag`, parsed. */
  const printed = (nr: NodeRedProcess, tag: string): Array<Record<string, unknown>> =>
    [...nr.log().matchAll(new RegExp(`${tag} (\\{.*\\})$`, "gm"))].map((m) => JSON.parse(m[1]) as Record<string, unknown>);

  it("every power state, step and result crosses the broker unchanged, under the documented topics; the central view gets the package's messages back", async () => {
    const b = broker as Broker;
    const lab = nut as NutLab;
    // A client on every topic before anything is published.
    const got: Received[] = [];
    client = await mqtt.connectAsync(b.url, { clean: true, protocolVersion: 5 });
    // (the controller's word is plain text; everything else is JSON)
    client.on("message", (topic, p, packet) =>
      got.push({ topic, payload: topic.includes("/controller/") ? p.toString() : JSON.parse(p.toString()), qos: packet.qos, retain: packet.retain }),
    );
    await client.subscribeAsync("nut-shutdown/#", { qos: 1 });

    const central = loadExample("07");
    pointAtBroker(central, b);
    observe(central, "CENTRAL", [one(central, (n) => n.type === "change")]);
    const centralRed = await startNodeRed({ flows: central });
    nodeReds.push(centralRed);

    const site = pointAtNut(loadExample("06"), lab.host, lab.port);
    pointAtBroker(site, b);
    setOnType(site, "nut-server", { interval: 1 });
    setOnType(site, "nut-ups-in", { alertInterval: 1 });
    setOnType(site, "ups-aggregate", { confirm: 2, restore: 5 });
    observe(site, "SITE-power", [one(site, (n) => n.type === "ups-aggregate")]);
    observe(site, "SITE-event", [one(site, (n) => n.name === "steps only, not power back")]);
    observe(site, "SITE-result", [one(site, (n) => n.type === "junction")]);
    const siteRed = await startNodeRed({ flows: site });
    nodeReds.push(siteRed);
    for (const nr of [siteRed, centralRed]) await nr.waitForLog(/Connected to broker/, 30_000);

    await setBoth(lab, "OB DISCHRG", 97, 95);
    await siteRed.waitForLog(/Power lost/, 30_000);
    await setBoth(lab, "OB DISCHRG", 97, 85);
    await siteRed.waitForLog(/SITE-result /, 30_000);
    await setBoth(lab, "OL CHRG", 97, 85);
    await siteRed.waitForLog(/Outage over/, 60_000);

    const local = (k: Kind) => printed(siteRed, `SITE-${k}`);
    const crossed = (k: Kind) => got.filter((m) => m.topic === `${SITE}/${k}`);
    await waitUntil("every message the site printed to have crossed the broker", () => KINDS.every((k) => crossed(k).length >= local(k).length), 30_000);
    should(local("event")).have.length(1, "one step: backup");
    should(local("event")[0].tier).containEql({ name: "backup" });
    should(local("result").length).be.aboveOrEqual(1);
    should(local("power").map((m) => (m.payload as { event: string }).event)).containDeep(["POWER_LOST", "POWER_BACK", "OUTAGE_END"]);
    for (const k of KINDS) {
      // field for field, in order: what the site had is what the broker delivered
      should(crossed(k).map((m) => m.payload)).eql(local(k), `${k} crossed unchanged`);
      for (const m of crossed(k)) should({ qos: m.qos, retain: m.retain }).eql({ qos: 1, retain: false }, `${k}: QoS 1, delivered live`);
    }

    // The central view: each message back as the package's, with its site.
    await waitUntil("the central view got them all", () => printed(centralRed, "CENTRAL").length >= KINDS.reduce((s, k) => s + local(k).length, 0), 30_000);
    for (const k of KINDS) {
      const there = printed(centralRed, "CENTRAL").filter((m) => m.topic === `${SITE}/${k}`);
      should(there.map(({ payload, outage, tier }) => ({ payload, outage, tier }))).eql(
        local(k).map(({ payload, outage, tier }) => ({ payload, outage, tier })),
        `${k} in the central view`,
      );
      should(there.map((m) => m.summary)).eql(local(k).map((m) => `[site-a] ${String(m.summary)}`));
      for (const m of there) should(m.site).equal("site-a");
    }

    // A client that connects late: the last power state and the controller's word are retained.
    const late: Received[] = [];
    const lateClient = await mqtt.connectAsync(b.url, { clean: true });
    lateClient.on("message", (topic, p, packet) => late.push({ topic, payload: p.toString(), qos: packet.qos, retain: packet.retain }));
    await lateClient.subscribeAsync([`${SITE}/power`, `${SITE}/controller/+`], { qos: 1 });
    await waitUntil("the retained messages", () => late.length >= 2, 10_000);
    await lateClient.endAsync();
    const lastPower = local("power").at(-1);
    const retainedPower = late.find((m) => m.topic === `${SITE}/power`);
    should(retainedPower?.retain).be.true();
    should(JSON.parse(String(retainedPower?.payload))).eql(lastPower);
    should(late.find((m) => m.topic === `${SITE}/controller/main`)).containEql({ retain: true, payload: "online" });
  });
});
