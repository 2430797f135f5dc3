/**
 * nut-server + nut-ups-in in a Node-RED runtime (node-red-node-test-helper):
 * against a real upsd where a user would have one, against nut-sim for the
 * faults and fine control. The long real-upsd scenarios (transitions,
 * restarts, stale drivers): test/integration/nut-ups-in-upsd.test.ts.
 */
import should from "../harness/should";
import { createServer, type Server, type Socket } from "node:net";
import nutServerNode from "../../nodes/nut-server";
import nutUpsInNode from "../../nodes/nut-ups-in";
import { startNutSim, type NutSim } from "../../tools/nut-sim";
import { startNutLab, nutLabMissing, NUT_LAB_INSTALL, type NutLab } from "../harness/nut-lab";
import type { NutServerNode } from "../../nodes/lib/nut-server-api";
import type { UpsMsg } from "../harness/decide-fixtures";
import { callsOf, helper, permissionGuarded, watch } from "../harness/red-helper";
import { waitUntil } from "../harness/wait";
import { freePort, requireComponent } from "../harness/system";

const nodes = [nutServerNode, nutUpsInNode];

interface FlowOptions {
  port: number;
  server?: Record<string, unknown>;
  in?: Record<string, unknown>;
}

function flow(o: FlowOptions): object[] {
  return [
    { id: "srv", type: "nut-server", host: "127.0.0.1", port: o.port, usetls: false, tls: "", login: "", interval: 5, timeout: 1, ...o.server },
    {
      id: "in",
      type: "nut-ups-in",
      server: "srv",
      mode: "one",
      ups: "ups1",
      interval: 0.2,
      alertInterval: 0.2,
      output: "change",
      vars: false,
      nocomm: 60,
      wires: [["out"]],
      ...o.in,
    },
    { id: "out", type: "helper" },
  ];
}

const OL_VARS = { "battery.charge": 100, "battery.charge.low": 20, "battery.runtime": 2700, "ups.load": 25, "ups.status": "OL" };

describe("nut-ups-in with a real upsd", function () {
  let lab: NutLab;
  before(async function () {
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    lab = await startNutLab({ upses: 2 });
  });
  after(async () => {
    await helper.unload();
    await lab?.stop();
  });
  afterEach(() => helper.unload());

  it("sends the UPS state: topic ups@host:port, numbers as numbers, a summary; status green 'OL 100% 45 min'", async () => {
    await helper.load(nodes, flow({ port: lab.port, in: { vars: true } }));
    const w = watch<UpsMsg>("in", "out");
    const msg = await w.next("messages", () => true);
    should(msg.topic).equal(`ups1@127.0.0.1:${lab.port}`);
    const p = msg.payload;
    should(p.ups).equal("ups1");
    should(p.server).equal(`127.0.0.1:${lab.port}`);
    should(p.status).equal("OL");
    should(p.flags).eql(["OL"]);
    should(p.online).be.true();
    should(p.charge).equal(100);
    should(p.runtime).equal(2700);
    should(p.load).equal(25);
    should(p.stale).be.false();
    should(p.reachable).be.true();
    should(p.error).equal(null);
    should(p.event).equal(null, "the first OL is not an event");
    should(p.vars?.["battery.charge.low"]).equal(20);
    should(p.vars?.["device.serial"]).equal("LAB-ups1");
    should(msg.summary).equal(`ups1@127.0.0.1:${lab.port} on line power: 100 %, ~45 min`);
    await w.next("statuses", (s) => s.text === "OL 100% 45 min" && s.fill === "green" && s.shape === "dot");
  });

  it("all UPSes: one message per UPS", async () => {
    await helper.load(nodes, flow({ port: lab.port, in: { mode: "all", ups: "" } }));
    const w = watch<UpsMsg>("in", "out");
    await waitUntil("a message from each UPS", () => new Set(w.messages.map((m) => m.payload.ups)).size === 2, 10000);
    should([...new Set(w.messages.map((m) => m.topic))].sort()).eql([`ups1@127.0.0.1:${lab.port}`, `ups2@127.0.0.1:${lab.port}`]);
  });

  it("unknown UPS: a stale message with UNKNOWN-UPS, node.error once, red ring", async () => {
    await helper.load(nodes, flow({ port: lab.port, in: { ups: "nosuch" } }));
    const w = watch<UpsMsg>("in", "out");
    const msg = await w.next("messages", () => true);
    should(msg.payload.error).equal("UNKNOWN-UPS");
    should(msg.payload.stale).be.true();
    should(msg.payload.reachable).be.true();
    should(msg.payload.online).be.false();
    const err = await w.next("errors", () => true);
    should(err.text).match(/nosuch@127\.0\.0\.1:\d+: GET VAR nosuch ups\.status: ERR UNKNOWN-UPS \(unknown UPS/);
    should((err.msg as UpsMsg).topic).equal(msg.topic, "node.error carries the message for a Catch node");
    await w.next("statuses", (s) => s.fill === "red" && s.shape === "ring" && /unknown UPS/.test(s.text ?? ""));
    await waitUntil("three polls", () => w.statuses.length >= 3, 5000);
    should(w.errors.length).equal(1, "told once, not every poll");
  });
});

describe("nut-ups-in with nut-sim", function () {
  let sim: NutSim;
  beforeEach(async () => {
    sim = await startNutSim({ users: { mon: { password: "monpass", upsmon: true } } });
    sim.addUps("ups1", OL_VARS);
    sim.addUps("ups2", { ...OL_VARS, "battery.charge": 90 });
  });
  afterEach(async () => {
    await helper.unload();
    await sim.close();
  });

  it("nut-server hands its users a reader, not its client: reads on the shared connection, NOT-CONNECTED once the last user has left", async () => {
    await helper.load(nodes, flow({ port: sim.port }));
    const w = watch("in", "out");
    await w.next("messages", () => true);
    const srv = helper.getNode("srv") as unknown as NutServerNode;
    should("client" in srv).be.false();
    should((await srv.reader.listUps()).map((u) => u.name)).eql(["ups1", "ups2"]);
    should(await srv.reader.getVars("ups1", ["ups.status"])).eql(["OL"]);
    await helper.clearFlows();
    await should(srv.reader.listVar("ups1")).be.rejectedWith({ code: "NOT-CONNECTED" });
    const [err] = await srv.reader.getVars("ups1", ["ups.status"]);
    should(typeof err === "object" && err.code).equal("NOT-CONNECTED", "getVars never rejects: each name gets the error");
  });

  it("on change: OL, then ONBATT with a yellow status, then nothing while nothing changes", async () => {
    await helper.load(nodes, flow({ port: sim.port }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("messages", (m) => m.payload.status === "OL");
    sim.setStatus("ups1", "OB DISCHRG");
    sim.setVar("ups1", "battery.charge", 73);
    sim.setVar("ups1", "battery.runtime", 1260);
    const ob = await w.next("messages", (m) => m.payload.event === "ONBATT");
    should(ob.payload.events).eql(["ONBATT"]);
    should(ob.payload.onBattery).be.true();
    should(ob.summary).equal(`ups1@127.0.0.1:${sim.port} on battery: 73 %, ~21 min (ONBATT)`);
    await w.next("statuses", (s) => s.text === "OB 73% 21 min" && s.fill === "yellow");
    const count = w.messages.length;
    const polls = sim.commands.length;
    await waitUntil("three more polls", () => sim.commands.length >= polls + 3, 5000);
    should(w.messages).have.length(count);
  });

  it("every poll: a message per poll; events only: only transitions", async () => {
    await helper.load(nodes, flow({ port: sim.port, in: { output: "poll" } }));
    let w = watch<UpsMsg>("in", "out");
    await waitUntil("three messages", () => w.messages.length >= 3, 5000);
    await helper.unload();
    await helper.load(nodes, flow({ port: sim.port, in: { output: "events" } }));
    w = watch<UpsMsg>("in", "out");
    const polls = sim.commands.length;
    await waitUntil("three polls", () => sim.commands.length >= polls + 3, 5000);
    should(w.messages.length).equal(0, "the first OL is no event");
    sim.setStatus("ups1", "OB LB");
    const m = await w.next("messages", () => true);
    should(m.payload.events).eql(["ONBATT", "LOWBATT"]);
    await w.next("statuses", (s) => s.text === "LB 100%" && s.fill === "red");
  });

  it("an input message forces a poll, is answered whatever the mode, and done() is called after", async () => {
    await helper.load(nodes, flow({ port: sim.port, in: { interval: 3600, output: "events" } }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("statuses", (s) => s.text === "OL 100% 45 min");
    helper.getNode("in").receive({ payload: "now", _msgid: "m-1" });
    const msg = await w.next("messages", () => true);
    should(msg._msgid).equal("m-1");
    should(msg.payload.ups).equal("ups1");
    await w.next("completed", (m) => m._msgid === "m-1");
  });

  it("at most 16 input messages wait for their poll: the next is refused with an error for Catch, and taken again once they are answered", async () => {
    await helper.load(nodes, flow({ port: sim.port, in: { interval: 3600, output: "events" } }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("statuses", (s) => s.text === "OL 100% 45 min");
    const n = helper.getNode("in");
    // twenty at once: all arrive before the first poll's reply, the others wait behind it
    for (let i = 0; i < 20; i++) n.receive({ payload: "now", _msgid: `q-${i}` });
    await waitUntil("four refused", () => w.errors.length === 4);
    should(w.errors.map((e) => e.msg?._msgid)).eql(["q-16", "q-17", "q-18", "q-19"]);
    should(w.errors[0].text).match(/^16 messages already wait for a poll of this UPS; this one was not added/);
    await waitUntil("the 16 answered", () => w.completed.filter((m) => String(m._msgid).startsWith("q-")).length === 16);
    n.receive({ payload: "now", _msgid: "after" });
    await w.next("completed", (m) => m._msgid === "after");
    should(w.errors).have.length(4);
  });

  it("a trigger message Node-RED cannot copy still gets its reading (without what could not be copied) and a warning", async () => {
    await helper.load(nodes, flow({ port: sim.port, in: { interval: 3600, output: "events" } }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("statuses", (s) => s.text === "OL 100% 45 min");
    // An object whose prototype is a Map (a function node can build one): RED.util.cloneMessage throws on it.
    const odd: Record<string, unknown> = { a: 1 };
    Object.setPrototypeOf(odd, new Map([["k", 1]]));
    helper.getNode("in").receive({ payload: "now", odd, keep: { b: 2 }, _msgid: "m-2" });
    const msg = await w.next("messages", () => true);
    should(msg.payload.ups).equal("ups1");
    should((msg as unknown as { keep: unknown }).keep).eql({ b: 2 });
    should((msg as unknown as { odd?: unknown }).odd).equal(undefined);
    const n = helper.getNode("in");
    should(callsOf(n, n.warn).map((c) => c.args[0])).eql(["Properties of the message that Node-RED could not copy were left out of the messages sent: odd"]);
    should(w.errors).eql([]);
  });

  it("shares ONE connection per server; polls with a GET VAR per state variable, or one LIST VAR when sending every variable", async () => {
    const f = flow({ port: sim.port });
    f.push({ ...(f[1] as object), id: "in2", ups: "ups2", vars: true, wires: [["out"]] });
    await helper.load(nodes, f);
    const w = watch<UpsMsg>("in", "out");
    await waitUntil("messages of both UPSes", () => new Set(w.messages.map((m) => m.payload.ups)).size === 2, 5000);
    const start = sim.commands.length;
    await waitUntil("fifteen more commands", () => sim.commands.length >= start + 15, 5000);
    should(sim.connections).equal(1);
    const ups1 = ["ups.status", "battery.charge", "battery.runtime", "ups.load"].map((v) => `GET VAR ups1 ${v}`);
    should(new Set(sim.commands.slice(start))).eql(new Set([...ups1, "LIST VAR ups2"]));
    const m1 = w.messages.filter((m) => m.payload.ups === "ups1").at(-1);
    should(m1?.payload.vars).equal(undefined, "no vars asked, none sent");
    should(m1?.payload.charge).equal(100);
    should(w.messages.filter((m) => m.payload.ups === "ups2").at(-1)?.payload.vars?.["battery.charge.low"]).equal(20);
  });

  it("nodes polling every 0.5 s and every 1 s: each poll of the second leaves in the same write as one of the first (one wake-up, not two)", async () => {
    const f = flow({ port: sim.port, in: { interval: 0.5, alertInterval: 0.5 } });
    f.push({ ...(f[1] as object), id: "in2", ups: "ups2", interval: 1, alertInterval: 1, wires: [["out"]] });
    await helper.load(nodes, f);
    const w = watch<UpsMsg>("in", "out");
    await waitUntil("messages of both UPSes", () => new Set(w.messages.map((m) => m.payload.ups)).size === 2, 5000);
    const from = sim.reads.length;
    const ups2Reads = () => sim.reads.slice(from).filter((r) => r.includes("GET VAR ups2 ups.status"));
    await waitUntil("four polls of ups2", () => ups2Reads().length >= 4, 10000);
    const alone = ups2Reads().filter((r) => !r.includes("GET VAR ups1 ups.status"));
    should(alone).eql([], "every read of ups2 also carries ups1's poll");
    const ups1Polls = sim.reads.slice(from).filter((r) => r.includes("GET VAR ups1 ups.status")).length;
    should(ups1Polls).be.aboveOrEqual(2 * ups2Reads().length - 2, "ups1 still polled every 0.5 s");
  });

  it("a UPS without battery.runtime or ups.load (VAR-NOT-SUPPORTED): those read as null, no error, the rest as usual", async () => {
    sim.deleteVar("ups1", "battery.runtime");
    sim.deleteVar("ups1", "ups.load");
    await helper.load(nodes, flow({ port: sim.port, in: { output: "poll" } }));
    const w = watch<UpsMsg>("in", "out");
    const msg = await w.next("messages", () => true);
    should(msg.payload.runtime).equal(null);
    should(msg.payload.load).equal(null);
    should(msg.payload.charge).equal(100);
    should(msg.payload.online).be.true();
    should(msg.payload.error).equal(null);
    should(msg.summary).equal(`ups1@127.0.0.1:${sim.port} on line power: 100 %`);
    await waitUntil("three polls", () => w.messages.length >= 3, 5000);
    should(w.errors).eql([], "nothing to report");
  });

  it("closing the flow closes the connection (LOGOUT), also with two users", async () => {
    await helper.load(nodes, flow({ port: sim.port }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("messages", () => true);
    should(sim.connections).equal(1);
    await helper.unload();
    await waitUntil("the connection closed", () => sim.connections === 0, 5000);
    should(sim.commands).containEql("LOGOUT");
  });

  it("fault: garbage from the server -> COMMBAD, stale, node.error; then COMMOK when it behaves", async () => {
    await helper.load(nodes, flow({ port: sim.port }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("messages", () => true);
    sim.setFault("garbage");
    const bad = await w.next("messages", (m) => m.payload.event === "COMMBAD");
    should(bad.payload.error).equal("PROTOCOL-ERROR");
    should(bad.payload.stale).be.true();
    should(bad.payload.reachable).be.false();
    should(bad.payload.online).be.false();
    should(bad.payload.charge).equal(100, "last known values kept");
    await w.next("errors", (e) => /unexpected reply/.test(e.text));
    await w.next("statuses", (s) => s.shape === "ring" && /^disconnected · was OL/.test(s.text ?? ""));
    sim.setFault(null);
    const good = await w.next("messages", (m) => m.payload.event === "COMMOK");
    should(good.payload.stale).be.false();
    should(good.payload.online).be.true();
  });

  it("fault: a server that stops answering -> TIMEOUT, COMMBAD; replies split across packets read fine", async () => {
    await helper.load(nodes, flow({ port: sim.port, server: { timeout: 0.3 } }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("messages", () => true);
    sim.setFault("silent");
    const bad = await w.next("messages", (m) => m.payload.event === "COMMBAD");
    should(bad.payload.error).equal("TIMEOUT");
    sim.setFault("split");
    const back = await w.next("messages", (m) => m.payload.event === "COMMOK");
    should(back.payload.charge).equal(100);
  });

  it("fault: connection closed mid-list -> CLOSED, COMMBAD, then COMMOK after the reconnect", async () => {
    await helper.load(nodes, flow({ port: sim.port, in: { vars: true } }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("messages", () => true);
    sim.setFault("close-mid-list");
    const bad = await w.next("messages", (m) => m.payload.event === "COMMBAD");
    should(bad.payload.error).equal("CLOSED");
    sim.setFault(null);
    await w.next("messages", (m) => m.payload.event === "COMMOK");
  });

  it("driver gone / data stale: the ERR code, stale but reachable, red ring 'stale'", async () => {
    await helper.load(nodes, flow({ port: sim.port }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("messages", () => true);
    sim.setUpsError("ups1", "DATA-STALE");
    const stale = await w.next("messages", (m) => m.payload.event === "COMMBAD");
    should(stale.payload.error).equal("DATA-STALE");
    should(stale.payload.reachable).be.true();
    should(stale.summary).match(/data stale; last known on line power 100 %, ~45 min \(COMMBAD\)$/);
    await w.next("statuses", (s) => s.fill === "red" && s.shape === "ring" && /^stale/.test(s.text ?? ""));
  });

  it("a value that should be a number and is not: node.error with the message, the field null", async () => {
    sim.setVar("ups1", "battery.charge", "full");
    await helper.load(nodes, flow({ port: sim.port }));
    const w = watch<UpsMsg>("in", "out");
    const msg = await w.next("messages", () => true);
    should(msg.payload.charge).equal(null);
    const err = await w.next("errors", () => true);
    should(err.text).match(/battery\.charge is not a number: "full"/);
    should((err.msg as UpsMsg).payload.ups).equal("ups1");
  });

  it("server down at deploy: a stale unreachable message at once, NOCOMM after the configured time", async () => {
    const port = await freePort();
    await helper.load(nodes, flow({ port, in: { nocomm: 0.6 } }));
    const w = watch<UpsMsg>("in", "out");
    const first = await w.next("messages", () => true);
    should(first.payload.reachable).be.false();
    should(first.payload.stale).be.true();
    should(first.payload.error).equal("ECONNREFUSED");
    should(first.payload.status).equal(null);
    should(first.payload.event).equal(null, "no COMMBAD: nothing was lost");
    await w.next("statuses", (s) => s.fill === "grey" && s.shape === "ring" && /^disconnected/.test(s.text ?? ""));
    const nocomm = await w.next("messages", (m) => m.payload.event === "NOCOMM");
    should(nocomm.summary).match(/upsd unreachable \(connection refused\); nothing read yet \(NOCOMM\)/);
  });

  it("server down at deploy, all UPSes: nothing to send for, so node.error (Catch) with topic *@host:port, then NOCOMM", async () => {
    const port = await freePort();
    await helper.load(nodes, flow({ port, in: { mode: "all", ups: "", nocomm: 0.6 } }));
    const w = watch<UpsMsg>("in", "out");
    const first = await w.next("errors", () => true);
    should(first.text).match(new RegExp(`^\\*@127\\.0\\.0\\.1:${port}: `));
    should((first.msg as UpsMsg).topic).equal(`*@127.0.0.1:${port}`);
    await w.next("errors", (e) => /NOCOMM/.test(e.text));
    should(w.messages).have.length(0);
  });

  it("LOGIN refused (wrong password): told once via node.error, reading goes on", async () => {
    await helper.load(nodes, flow({ port: sim.port, server: { login: "ups1" } }), { srv: { username: "mon", password: "bad-pass-1" } });
    const w = watch<UpsMsg>("in", "out");
    const err = await w.next("errors", () => true);
    should(err.text).match(/^upsd 127\.0\.0\.1:\d+ refused: LOGIN ups1: ERR ACCESS-DENIED .*Reading goes on without it\.$/);
    const msg = await w.next("messages", () => true);
    should(msg.payload.stale).be.false();
    should(JSON.stringify(w.errors)).not.containEql("bad-pass-1");
    should(sim.commands).containEql("PASSWORD ****");
  });

  it("TLS required but upsd has no certificate: stale with FEATURE-NOT-CONFIGURED, never plaintext", async () => {
    await helper.load(nodes, flow({ port: sim.port, server: { usetls: true } }), { srv: { username: "mon", password: "monpass" } });
    const w = watch<UpsMsg>("in", "out");
    const msg = await w.next("messages", () => true);
    should(msg.payload.error).equal("FEATURE-NOT-CONFIGURED");
    should(msg.payload.reachable).be.false();
    await w.next("errors", (e) => /STARTTLS: ERR FEATURE-NOT-CONFIGURED/.test(e.text));
    should(sim.commands.some((c) => c.startsWith("USERNAME") || c.startsWith("LIST"))).be.false();
  });

  it("a server address that cannot work: nut-server says so at start, the UPS reads as unreachable, nothing crashes", async () => {
    await helper.load(nodes, flow({ port: 70000 }));
    const w = watch<UpsMsg>("in", "out");
    const m = await w.next("messages", () => true);
    should(m.payload.reachable).be.false();
    should(m.payload.error).equal("ERR_SOCKET_BAD_PORT");
    // the helper's spy on Node.prototype.error kept the call made while the flow started
    const srv = helper.getNode("srv");
    const serverErrors = callsOf(srv, srv.error).map((c) => c.args[0]);
    should(serverErrors).eql(['"127.0.0.1" port 70000 is not a usable upsd address (a host name or IP address, and a port from 1 to 65535).']);
  });

  it("a list that never ends (every variable): PROTOCOL-ERROR, COMMBAD, told once; then COMMOK", async () => {
    await helper.load(nodes, flow({ port: sim.port, in: { vars: true } }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("messages", () => true);
    sim.setFault("endless-list");
    const bad = await w.next("messages", (m) => m.payload.event === "COMMBAD");
    should(bad.payload.error).equal("PROTOCOL-ERROR");
    should(bad.payload.charge).equal(100, "last known values kept");
    const err = await w.next("errors", () => true);
    should(err.text).match(/LIST VAR ups1: reply longer than 1048576 bytes$/);
    sim.setFault(null);
    await w.next("messages", (m) => m.payload.event === "COMMOK");
    should(w.errors).have.length(1);
  });

  it("all UPSes, a UPS list that never ends: every known UPS reads PROTOCOL-ERROR", async () => {
    await helper.load(nodes, flow({ port: sim.port, in: { mode: "all", ups: "" } }));
    const w = watch<UpsMsg>("in", "out");
    await waitUntil("a message from each UPS", () => new Set(w.messages.map((m) => m.payload.ups)).size === 2, 10000);
    sim.setFault("endless-list");
    const from = w.messages.length;
    await waitUntil("COMMBAD of both", () => w.messages.slice(from).filter((m) => m.payload.event === "COMMBAD").length === 2, 10000);
    should(w.messages.slice(from).every((m) => m.payload.error === "PROTOCOL-ERROR")).be.true();
    await w.next("errors", (e) => /LIST UPS: reply longer than 1048576 bytes$/.test(e.text));
  });

  it("an ERR word is a bounded code of safe characters in payload.error and the summary", async () => {
    await helper.load(nodes, flow({ port: sim.port }));
    const w = watch<UpsMsg>("in", "out");
    await w.next("messages", () => true);
    sim.setUpsError("ups1", "<b>".repeat(2000));
    const odd = await w.next("messages", (m) => m.payload.event === "COMMBAD");
    should(odd.payload.error).equal("UNKNOWN");
    should(odd.summary).match(/ unknown; last known on line power/);
    const told = await w.next("errors", () => true);
    should(told.text.length).be.below(300, `${told.text.length} characters`);
    sim.setUpsError("ups1", "constructor");
    const ctor = await w.next("messages", (m) => m.payload.error === "constructor");
    should(ctor.summary).match(/ constructor; last known/);
    should(ctor.summary).not.containEql("function");
  });

  describe("bad configuration", () => {
    for (const [what, cfg, text] of [
      ["no UPS name", { ups: "" }, "No UPS name is configured."],
      ["a UPS name upsd cannot read", { ups: "a\nb" }, 'The UPS name "a\nb" cannot be sent to upsd (printable ASCII only).'],
      ["a poll interval below the minimum", { interval: 0.01 }, "The interval must be a number of seconds, at least 0.2."],
      ["a missing server", { server: "nope" }, "No NUT server is configured."],
    ] as const) {
      it(`${what}: node.error at start and for each input (with the message), done() called, no polling`, async () => {
        await helper.load(nodes, flow({ port: sim.port, in: cfg }));
        const w = watch<UpsMsg>("in", "out");
        helper.getNode("in").receive({ payload: 1, _msgid: "bad-1" });
        const err = await w.next("errors", (e) => e.msg?._msgid === "bad-1");
        should(err.text).equal(`Invalid configuration, message not handled: ${text}`);
        const n = helper.getNode("in");
        should(callsOf(n, n.error)[0].args).eql([`Invalid configuration: ${text}`], "said once at start, with no message");
        await w.next("completed", (m) => m._msgid === "bad-1");
        should(sim.commands.filter((c) => c.startsWith("LIST"))).have.length(0);
      });
    }
  });
});

describe("nut-server editor endpoint POST /nut-server/list-ups", function () {
  let sim: NutSim;
  let silent: Server | null = null;
  const permissions: string[] = [];
  /** nut-server with RED.auth.needsPermission recorded and enforced by a test header. */
  const guardedServerNode = permissionGuarded(nutServerNode, permissions);
  const post = (body: object) => helper.request().post("/nut-server/list-ups").set("x-test-permission", "nut-server.write").send(body);

  beforeEach(async () => {
    permissions.length = 0;
    sim = await startNutSim();
    sim.addUps("ups1", OL_VARS, "rack A");
    sim.addUps("ups2", OL_VARS, "rack B");
    await helper.load([guardedServerNode, nutUpsInNode], flow({ port: sim.port, server: { login: "" } }), {
      srv: { username: "mon", password: "stored-secret" },
    });
  });
  afterEach(async () => {
    await helper.unload();
    await sim.close();
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
    silent = null;
  });

  it("needs the nut-server.write permission", async () => {
    // list-ups and list-commands (nut-command's dialog)
    should(permissions).eql(["nut-server.write", "nut-server.write"]);
    const res = await helper.request().post("/nut-server/list-ups").send({ host: "127.0.0.1", port: sim.port });
    should(res.status).equal(401);
  });

  it("lists the UPSes of a typed host/port, sending no credentials", async () => {
    // the deployed nut-server has its own connection (with credentials): let it settle first
    await waitUntil("the deployed connection polling", () => sim.commands.includes("GET VAR ups1 ups.status"), 5000);
    const before = sim.commands.length;
    const res = await post({ host: "127.0.0.1", port: sim.port });
    should(res.status).equal(200);
    should(res.body).eql({
      upses: [
        { name: "ups1", description: "rack A" },
        { name: "ups2", description: "rack B" },
      ],
    });
    should(sim.commands.slice(before).filter((c) => !c.startsWith("GET VAR ups1 "))).eql(["NETVER", "LIST UPS", "LOGOUT"]);
  });

  it("answers each description as one line: a control character of upsd's text is a '?'", async () => {
    sim.addUps("ups3", {}, "line\u001b[2Jbell\u0007");
    const res = await post({ host: "127.0.0.1", port: sim.port });
    should(res.status).equal(200);
    should((res.body as { upses: Array<{ name: string; description: string }> }).upses[2]).eql({ name: "ups3", description: "line?[2Jbell?" });
  });

  it("uses the deployed server's connection when asked by id with the same host/port", async () => {
    await waitUntil("the deployed connection", () => sim.connections === 1 && sim.commands.includes("GET VAR ups1 ups.status"), 5000);
    const res = await post({ id: "srv", host: "127.0.0.1", port: sim.port });
    should(res.status).equal(200);
    should(res.body.upses as unknown[]).have.length(2);
    should(sim.connections).equal(1);
  });

  it("refuses anything but a host name or address and a port", async () => {
    // A number is no host (found by test/fuzz/node-inputs.test.ts: String(0.424) went to the resolver, an IPv4 address to it).
    for (const body of [
      { host: "http://x/", port: 80 },
      { host: "127.0.0.1", port: 0 },
      { host: "-oProxy", port: 22 },
      { host: 0.424, port: 3493 },
      { host: 2130706433, port: 3493 },
      { host: "127.0.0.1", port: { toString: 1 } },
      {},
    ]) {
      const res = await post(body);
      should(res.status).equal(400, JSON.stringify(body));
      should(res.body.code).equal("INVALID-ARGUMENT");
    }
  });

  it("does not echo what a non-NUT service says (not an open proxy): only a code and a fixed text", async () => {
    sim.setFault("banner");
    const res = await post({ host: "127.0.0.1", port: sim.port });
    should(res.status).equal(502);
    should(res.body.code).equal("PROTOCOL-ERROR");
    should(res.body.message).equal(`127.0.0.1:${sim.port} does not answer like a NUT server (upsd).`);
    should(JSON.stringify(res.body)).not.containEql("SSH");
  });

  it("reports a refused connection and a silent server by code, within its timeout", async () => {
    const refused = await post({ host: "127.0.0.1", port: await freePort() });
    should(refused.status).equal(502);
    should(refused.body.code).equal("ECONNREFUSED");
    silent = createServer((s) => s.resume());
    await new Promise<void>((r) => silent!.listen(0, "127.0.0.1", () => r()));
    const addr = silent.address();
    const res = await post({ host: "127.0.0.1", port: typeof addr === "object" && addr ? addr.port : 0 });
    should(res.status).equal(502);
    should(res.body.code).equal("TIMEOUT");
  });

  /** A peer (kept in `silent`, closed after each test) that answers NETVER, then `reply` to LIST UPS; its open connections. */
  async function rawPeer(reply: string | null): Promise<{ port: number; connections: Set<Socket> }> {
    const connections = new Set<Socket>();
    silent = createServer((s) => {
      connections.add(s);
      s.on("close", () => connections.delete(s));
      s.on("error", () => undefined);
      s.on("data", (d: Buffer) => {
        for (const line of d.toString().split("\n")) {
          if (line === "NETVER") s.write("1.3\n");
          else if (line === "LIST UPS" && reply !== null) s.write(reply + "\n");
        }
      });
    });
    await new Promise<void>((r) => silent!.listen(0, "127.0.0.1", () => r()));
    const addr = silent.address();
    return { port: typeof addr === "object" && addr ? addr.port : 0, connections };
  }

  it("an ERR word is answered as a code of NUT's list (else UNKNOWN), never the peer's text", async () => {
    for (const [word, code] of [
      ["A".repeat(5000), "UNKNOWN"],
      ["constructor", "UNKNOWN"],
      ["NEW-THING", "UNKNOWN"],
      ["ACCESS-DENIED", "ACCESS-DENIED"],
    ]) {
      const { port } = await rawPeer(`ERR ${word} and some free text`);
      const res = await post({ host: "127.0.0.1", port });
      should(res.status).equal(502);
      should(res.body).eql({ code, message: `127.0.0.1:${port} answered ERR ${code}.` }, word.slice(0, 20));
      await new Promise<void>((r) => silent!.close(() => r()));
      silent = null;
    }
  });

  it("a probe holds at most 256 KiB: a line or a list that never ends, or 600 UPSes of 1 kB, is PROTOCOL-ERROR at once", async () => {
    const items = Array.from({ length: 600 }, (_, i) => `UPS u${i} "${"d".repeat(1000)}"`);
    const big = await rawPeer(["BEGIN LIST UPS", ...items, "END LIST UPS"].join("\n"));
    const a = await post({ host: "127.0.0.1", port: big.port });
    should([a.status, a.body.code]).eql([502, "PROTOCOL-ERROR"]);
    await new Promise<void>((r) => silent!.close(() => r()));
    const long = await rawPeer("x".repeat(120_000));
    const b = await post({ host: "127.0.0.1", port: long.port });
    should([b.status, b.body.code]).eql([502, "PROTOCOL-ERROR"]);
    sim.setFault("endless-list");
    const c = await post({ host: "127.0.0.1", port: sim.port });
    should([c.status, c.body.code]).eql([502, "PROTOCOL-ERROR"]);
  });

  it("at most 4 at once: a fifth is refused (429 BUSY) while they run, served once they end", async () => {
    const hung = await rawPeer(null);
    const running = Array.from({ length: 4 }, () => Promise.resolve(post({ host: "127.0.0.1", port: hung.port })));
    await waitUntil("4 probes connected", () => hung.connections.size === 4, 5000);
    const fifth = await post({ host: "127.0.0.1", port: sim.port });
    should(fifth.status).equal(429);
    should(fifth.body).eql({ code: "BUSY", message: "Too many List UPSes requests at once (at most 4): try again in a moment." });
    for (const s of hung.connections) s.destroy();
    should((await Promise.all(running)).map((r) => [r.status, r.body.code])).eql(Array(4).fill([502, "CLOSED"]));
    const after = await post({ host: "127.0.0.1", port: sim.port });
    should(after.status).equal(200);
    should(after.body).eql({
      upses: [
        { name: "ups1", description: "rack A" },
        { name: "ups2", description: "rack B" },
      ],
    });
  });
});

/** UPS names that are members of Object.prototype: upsd serves them (measured on 2.8.0). */
const PROTO_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty"];

describe("nut-ups-in with a real upsd serving UPSes named __proto__, constructor, toString, hasOwnProperty", function () {
  let lab: NutLab;
  before(async function () {
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    lab = await startNutLab({ upses: PROTO_NAMES });
  });
  after(async () => {
    await helper.unload();
    await lab?.stop();
  });
  afterEach(() => helper.unload());

  it("all UPSes: a message for each, each tracked apart (ONBATT of one only), no error", async () => {
    await helper.load(nodes, flow({ port: lab.port, in: { mode: "all", ups: "", vars: true } }));
    const w = watch<UpsMsg>("in", "out");
    await waitUntil("a message from each UPS", () => new Set(w.messages.map((m) => m.payload.ups)).size === PROTO_NAMES.length, 10000);
    should([...new Set(w.messages.map((m) => m.topic))].sort()).eql(PROTO_NAMES.map((n) => `${n}@127.0.0.1:${lab.port}`).sort());
    for (const m of w.messages) {
      should(m.payload.online).be.true(m.topic);
      should(m.payload.charge).equal(100, m.topic);
      should(m.payload.vars?.["device.serial"]).equal(`LAB-${m.payload.ups}`);
    }
    await lab.setVar("constructor", "ups.status", "OB DISCHRG");
    const ob = await w.next("messages", (m) => m.payload.event === "ONBATT");
    should(ob.payload.ups).equal("constructor");
    should(ob.summary).match(/^constructor@127\.0\.0\.1:\d+ on battery: 100 %/);
    await w.next("statuses", (s) => s.text === `constructor: OB 100% 45 min (${PROTO_NAMES.length} UPS)`);
    should(w.errors).eql([]);
    await lab.setVar("constructor", "ups.status", "OL");
  });

  it("one UPS: each name read on its own", async () => {
    const f = flow({ port: lab.port, in: { ups: PROTO_NAMES[0] } });
    PROTO_NAMES.slice(1).forEach((ups, i) => f.push({ ...(f[1] as object), id: `in${i + 2}`, ups, wires: [["out"]] }));
    await helper.load(nodes, f);
    const w = watch<UpsMsg>("in", "out");
    await waitUntil("a message from each node", () => new Set(w.messages.map((m) => m.payload.ups)).size === PROTO_NAMES.length, 10000);
    for (const m of w.messages) should([m.payload.status, m.payload.error]).eql(["OL", null], m.topic);
    should(w.errors).eql([]);
  });
});
