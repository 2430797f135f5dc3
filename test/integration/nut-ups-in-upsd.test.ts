/**
 * nut-server + nut-ups-in in Node-RED against a real upsd with two dummy-ups
 * UPSes: the transitions and faults a user meets (power events, upsd
 * restart, driver killed or frozen, wrong password, server down at deploy,
 * TLS asked of a server without certificates, FSD).
 */
import should from "../harness/should";
import nutServerNode from "../../nodes/nut-server";
import nutUpsInNode from "../../nodes/nut-ups-in";
import { startNutLab, nutLabMissing, NUT_LAB_INSTALL, NUT_LAB_USERS, type NutLab } from "../harness/nut-lab";
import type { UpsMsg } from "../harness/decide-fixtures";
import { helper, watch, type Watch } from "../harness/red-helper";
import { requireComponent } from "../harness/system";

const nodes = [nutServerNode, nutUpsInNode];

describe("nut-ups-in against a real upsd (integration)", function () {
  this.timeout(60000);
  let lab: NutLab;

  function flow(server: Record<string, unknown> = {}, upsIn: Record<string, unknown> = {}): object[] {
    return [
      { id: "srv", type: "nut-server", host: lab.host, port: lab.port, usetls: false, tls: "", login: "", interval: 5, timeout: 2, ...server },
      {
        id: "in",
        type: "nut-ups-in",
        server: "srv",
        mode: "one",
        ups: "ups1",
        interval: 0.25,
        alertInterval: 0.25,
        output: "change",
        vars: true,
        nocomm: 60,
        wires: [["out"]],
        ...upsIn,
      },
      { id: "out", type: "helper" },
    ];
  }

  async function deploy(server: Record<string, unknown> = {}, upsIn: Record<string, unknown> = {}, creds?: object): Promise<Watch<UpsMsg>> {
    await helper.load(nodes, flow(server, upsIn), creds);
    return watch<UpsMsg>("in", "out");
  }

  /** The events of the messages received so far, in order. */
  const events = (w: Watch<UpsMsg>) => w.messages.flatMap((m) => m.payload.events);

  before(async function () {
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    // MAXAGE 4: a frozen driver turns DATA-STALE within seconds
    lab = await startNutLab({ upses: 2, maxAge: 4 });
  });
  afterEach(async () => {
    await helper.unload();
    await lab.ensureRunning();
    await lab.setVar("ups1", "ups.status", "OL");
    await lab.setVar("ups1", "battery.charge", 100);
  });
  after(() => lab?.stop());

  it("reads numbers as numbers; battery.charge and battery.charge.low (leaf and prefix) both in payload.vars", async () => {
    const w = await deploy();
    const m = await w.next("messages", () => true);
    should(m.payload.charge).equal(100);
    should(m.payload.vars?.["battery.charge"]).equal(100);
    should(m.payload.vars?.["battery.charge.low"]).equal(20);
    should(m.payload.vars?.["battery.voltage"]).equal(13.6);
    should(m.payload.vars?.["ups.status"]).equal("OL");
  });

  it("OL -> OB -> OB LB -> OL: ONBATT, LOWBATT, ONLINE, each once, with the levels read", async () => {
    const w = await deploy();
    await w.next("messages", () => true);
    await lab.setVar("ups1", "battery.charge", 73);
    await lab.setVar("ups1", "ups.status", "OB DISCHRG");
    const ob = await w.next("messages", (m) => m.payload.event === "ONBATT");
    should(ob.payload.charge).equal(73);
    should(ob.payload.online).be.false();
    await w.next("statuses", (s) => s.fill === "yellow" && /^OB 73%/.test(s.text ?? ""));
    await lab.setVar("ups1", "battery.charge", 8);
    await lab.setVar("ups1", "ups.status", "OB DISCHRG LB");
    const lb = await w.next("messages", (m) => m.payload.event === "LOWBATT");
    should(lb.payload.lowBattery).be.true();
    await w.next("statuses", (s) => s.fill === "red" && s.text === "LB 8%");
    await lab.setVar("ups1", "ups.status", "OL CHRG");
    await w.next("messages", (m) => m.payload.event === "ONLINE");
    should(events(w)).eql(["ONBATT", "LOWBATT", "ONLINE"]);
  });

  it("upsd restarted mid-poll: COMMBAD (last values kept, never online), then COMMOK after the reconnect", async () => {
    const w = await deploy();
    await w.next("messages", () => true);
    await lab.stopUpsd();
    const bad = await w.next("messages", (m) => m.payload.event === "COMMBAD");
    should(bad.payload.reachable).be.false();
    should(bad.payload.stale).be.true();
    should(bad.payload.online).be.false();
    should(bad.payload.status).equal("OL");
    await w.next("statuses", (s) => s.fill === "grey" && /^disconnected/.test(s.text ?? ""));
    await lab.startUpsd();
    const ok = await w.next("messages", (m) => m.payload.event === "COMMOK");
    should(ok.payload.online).be.true();
    should(events(w)).eql(["COMMBAD", "COMMOK"]);
  });

  it("driver killed: DRIVER-NOT-CONNECTED, COMMBAD; driver back: COMMOK", async () => {
    const w = await deploy();
    await w.next("messages", () => true);
    await lab.stopDriver("ups1");
    const bad = await w.next("messages", (m) => m.payload.event === "COMMBAD");
    // upsd may answer WAIT for a moment while it notices the driver is gone
    should(["DRIVER-NOT-CONNECTED", "WAIT"].includes(bad.payload.error ?? "")).be.true(String(bad.payload.error));
    should(bad.payload.reachable).be.true();
    await w.next("messages", (m) => m.payload.error === "DRIVER-NOT-CONNECTED");
    await w.next("errors", (e) => /DRIVER-NOT-CONNECTED/.test(e.text));
    await w.next("statuses", (s) => s.fill === "red" && /^stale/.test(s.text ?? ""));
    await lab.startDriver("ups1");
    await w.next("messages", (m) => m.payload.event === "COMMOK");
  });

  it("driver frozen: cached values, then DATA-STALE after MAXAGE (COMMBAD, stale); resumed: COMMOK", async () => {
    const w = await deploy();
    await w.next("messages", () => true);
    lab.pauseDriver("ups1");
    try {
      const bad = await w.next("messages", (m) => m.payload.event === "COMMBAD", 20000);
      should(bad.payload.error).equal("DATA-STALE");
      should(bad.payload.stale).be.true();
      should(bad.payload.charge).equal(100, "last known value kept");
      // how old the kept values are: since the last good read (polls every 0.25 s), what the dead time counts from
      should.exist(bad.payload.age, `age ${bad.payload.age} ms`);
      should(bad.payload.age).be.above(0, `age ${bad.payload.age} ms`);
      should(bad.payload.age).be.below(2000, `age ${bad.payload.age} ms`);
      should(Math.abs(bad.payload.time + (bad.payload.age ?? 0) - Date.now())).be.below(2000, "time of the last good read + age = now");
    } finally {
      lab.resumeDriver("ups1");
    }
    await w.next("messages", (m) => m.payload.event === "COMMOK", 20000);
  });

  it("wrong password: upsd only refuses it at LOGIN (ACCESS-DENIED); the node says so once and keeps reading", async () => {
    const w = await deploy({ login: "ups1" }, {}, { srv: { username: NUT_LAB_USERS.monitor.username, password: "wrong-pass-9" } });
    const err = await w.next("errors", () => true);
    should(err.text).match(/^upsd [^ ]+ refused: LOGIN ups1: ERR ACCESS-DENIED .*Reading goes on without it\.$/);
    should(err.msg?.payload).eql({ error: "ACCESS-DENIED" });
    should((err.msg as UpsMsg).topic).equal(`ups1@${lab.host}:${lab.port}`);
    const m = await w.next("messages", () => true);
    should(m.payload.stale).be.false();
    should(JSON.stringify([w.errors, w.messages, w.statuses])).not.containEql("wrong-pass-9");
  });

  it("server down at deploy: stale and unreachable at once, NOCOMM later; COMMOK when upsd comes up", async () => {
    await lab.stopUpsd();
    try {
      const w = await deploy({}, { nocomm: 1 });
      const first = await w.next("messages", () => true);
      should(first.payload.reachable).be.false();
      should(first.payload.event).equal(null);
      await w.next("messages", (m) => m.payload.event === "NOCOMM");
      await lab.startUpsd();
      const ok = await w.next("messages", (m) => m.payload.event === "COMMOK", 20000);
      should(ok.payload.online).be.true();
      should(events(w)).not.containEql("COMMBAD");
      should(events(w).includes("ONLINE")).be.false("the first OL is still no event");
    } finally {
      if (!(await lab.getVar("ups1", "ups.status"))) await lab.startUpsd();
    }
  });

  it("TLS configured, upsd has no certificate (Debian NSS build): FEATURE-NOT-CONFIGURED, told to the user, never plaintext", async () => {
    const w = await deploy({ usetls: true }, {}, { srv: NUT_LAB_USERS.monitor });
    const m = await w.next("messages", () => true);
    should(m.payload.error).equal("FEATURE-NOT-CONFIGURED");
    should(m.payload.stale).be.true();
    const err = await w.next("errors", () => true);
    should(err.text).match(/STARTTLS: ERR FEATURE-NOT-CONFIGURED .*; not connecting without TLS/);
  });

  it("FSD set on the server: the FSD event (last), red status; cleared by an upsd restart", async () => {
    const w = await deploy();
    await w.next("messages", () => true);
    await lab.setFsd("ups1");
    const fsd = await w.next("messages", (m) => m.payload.event === "FSD");
    should(fsd.payload.flags).eql(["FSD", "OL"]);
    await w.next("statuses", (s) => s.fill === "red" && /^FSD/.test(s.text ?? ""));
    await lab.stopUpsd();
    await lab.startUpsd();
    // (a restart faster than a poll may go unseen: no COMMBAD/COMMOK is promised here)
    const back = await w.next("messages", (m) => !m.payload.stale && !m.payload.flags.includes("FSD"));
    should(back.payload.flags).eql(["OL"]);
  });
});
