/**
 * nut-command in Node-RED against a real upsd with dummy-ups (NUT 2.8):
 * FSD, INSTCMD with tracking (the driver's own answer), SET VAR, missing
 * rights, an unknown command, a message that tries to choose, the load-off
 * guard, "power restored" cancelling a wait, the wait for hosts' results and
 * for a real upsmon-like LOGIN to leave. A tracked SET VAR reaches SUCCESS
 * through the real driver; an instant command cannot: dummy-ups answers
 * every INSTCMD "unknown" (ERR UNKNOWN from GET TRACKING), in repeater mode
 * too (its instcmd() does not forward, a FIXME in NUT 2.8.0's dummy-ups.c).
 * So an instant command's final SUCCESS / FAILED, and a upsd without
 * tracking (before 2.8.0), are played against nut-sim.
 */
import { connect, type Socket } from "node:net";
import should from "../harness/should";
import nutServerNode from "../../nodes/nut-server";
import nutUpsInNode from "../../nodes/nut-ups-in";
import nutCommandNode from "../../nodes/nut-command";
import sshHostNode from "../../nodes/ssh-host";
import type { NutCommandResult, ShutdownResult } from "../../core/contract";
import { NutClient } from "../../core/nut/client";
import { listClients } from "../../core/nut/commander";
import { startNutLab, nutLabMissing, NUT_LAB_INSTALL, NUT_LAB_USERS, type NutLab } from "../harness/nut-lab";
import { sshHostDef } from "../harness/ssh-target";
import { callsOf, helper, loadContextStores, statusTexts, watch, type Watch } from "../harness/red-helper";
import { fileStores } from "../harness/decide-node-helper";
import { requireComponent } from "../harness/system";
import { waitUntil } from "../harness/wait";
import type { NutSim } from "../../tools/nut-sim";
import { loadCommandOnSim } from "../harness/nut-command-sim";
import type { NodeMessage } from "node-red";

type ResultMsg = NodeMessage & { payload: NutCommandResult; summary: string; outage?: { id: string } };

const nodes = [nutServerNode, nutUpsInNode, nutCommandNode, sshHostNode];
const ADMIN = { srv: NUT_LAB_USERS.admin };
const host = (id: string) => sshHostDef(id, `web-${id}`);

/** An ssh-shutdown result message of `hostId` in `outage`. */
function shutdownResult(hostId: string, outage: string, ok = true): object {
  const payload: ShutdownResult & { hostId: string } = {
    host: hostId,
    hostId,
    address: "127.0.0.1",
    port: 22,
    action: "simulate",
    command: "sudo shutdown -h +1",
    ok,
    exitCode: null,
    signal: null,
    stdout: "",
    stderr: "",
    duration: 0,
    attempts: 0,
    error: null,
    time: Date.now(),
    joined: false,
    steps: [],
  };
  return { payload, outage: { id: outage, since: Date.now() } };
}

describe("nut-command against a real upsd (integration)", function () {
  this.timeout(60000);
  let lab: NutLab;

  function flow(command: Record<string, unknown>, server: Record<string, unknown> = {}, extra: object[] = []): object[] {
    return [
      { id: "srv", type: "nut-server", host: lab.host, port: lab.port, usetls: false, tls: "", login: "", interval: 5, timeout: 2, ...server },
      {
        id: "cmd",
        type: "nut-command",
        server: "srv",
        ups: "ups1",
        kind: "instcmd",
        command: "load.off",
        param: "",
        allowOnLine: false,
        trackingTimeout: 5,
        hosts: [],
        margin: 0,
        waitClients: false,
        deadline: 60,
        store: "",
        wires: [["out"]],
        ...command,
      },
      { id: "out", type: "helper" },
      ...extra,
    ];
  }

  async function deploy(command: Record<string, unknown>, creds: object = ADMIN, server: Record<string, unknown> = {}, extra: object[] = []) {
    await helper.load([...nodes, loadContextStores], flow(command, server, extra), creds);
    return watch<ResultMsg>("cmd", "out");
  }

  const result = async (w: Watch<ResultMsg>, from = 0): Promise<ResultMsg> => w.next("messages", () => true, 20000, from);

  before(async function () {
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    lab = await startNutLab({ upses: 1, vars: { "ups.delay.shutdown": 20 } });
  });
  afterEach(async () => {
    await helper.unload();
    await lab.ensureRunning();
    await lab.setVar("ups1", "ups.status", "OL");
  });
  after(async () => {
    await lab?.stop();
  });

  /**
   * FSD is a latch in upsd: only a restart of upsd clears it. The driver is
   * restarted too: measured on NUT 2.8.0, after FSD and a upsd restart
   * dummy-ups no longer applies SET VAR (later tests set ups.status).
   */
  async function clearFsd(): Promise<void> {
    await lab.stopUpsd();
    await lab.startUpsd();
    await lab.stopDriver("ups1");
    await lab.startDriver("ups1");
  }

  it("FSD: sets the flag (upsd serves 'FSD OL' until it restarts), result SUCCESS, status 'FSD set'", async () => {
    const w = await deploy({ kind: "fsd", command: "" });
    await w.receive({ payload: "go", outage: { id: "o1", since: 1 } });
    const m = await result(w);
    should(m.payload).containDeep({ ups: "ups1", kind: "fsd", command: "FSD", result: "SUCCESS", code: null, tracking: false, joined: false });
    should(m.outage).eql({ id: "o1", since: 1 }, "msg.outage is carried");
    should(m.summary).match(/^ups1@127\.0\.0\.1:\d+: FSD SUCCESS/);
    should(w.lastStatus()).equal("FSD set");
    should(await lab.getVar("ups1", "ups.status")).equal("FSD OL");
    await lab.setVar("ups1", "battery.charge", 90); // the flag stays while the driver goes on
    should(await lab.getVar("ups1", "ups.status")).equal("FSD OL");
    await clearFsd();
    should(await lab.getVar("ups1", "ups.status")).equal("OL");
  });

  it("INSTCMD with tracking: the driver's final answer is the result (dummy-ups answers unknown: UNKNOWN, 'driver')", async () => {
    // on battery: the load-off guard lets load.off through
    await lab.setVar("ups1", "ups.status", "OB DISCHRG");
    const w = await deploy({ command: "load.off" });
    await w.receive({ payload: "go" });
    const m = await result(w);
    should(m.payload).containDeep({ kind: "instcmd", command: "load.off", result: "UNKNOWN", code: "UNKNOWN", tracking: true, unknownBecause: "driver" });
    should(m.summary).match(/load\.off result UNKNOWN \(the driver answered unknown\)/);
    should(w.lastStatus()).equal("load.off: UNKNOWN");
  });

  it("INSTCMD without tracking ('Wait for the result' 0): upsd queues it for the driver, the result is SENT", async () => {
    await lab.setVar("ups1", "ups.status", "OB DISCHRG");
    const before = lab.driverLog("ups1").split("instcmd: unknown command [load.off]").length;
    const w = await deploy({ command: "load.off", trackingTimeout: 0 });
    await w.receive({ payload: "go" });
    const m = await result(w);
    should(m.payload).containDeep({ kind: "instcmd", command: "load.off", result: "SENT", code: null, tracking: false, unknownBecause: null });
    should(m.summary).match(/load\.off SENT \(not tracked: outcome unknown\)/);
    should(w.lastStatus()).equal("load.off: sent (no tracking)");
    // the driver got it (dummy-ups logs the commands it cannot carry out)
    await waitUntil("dummy-ups logs load.off", () => lab.driverLog("ups1").split("instcmd: unknown command [load.off]").length > before);
  });

  it("load.off on line power is refused (nothing sent), and sent when 'allow on line power' is ticked", async () => {
    let w = await deploy({ command: "load.off" });
    await w.receive({ payload: "go" });
    let m = await result(w);
    should(m.payload).containDeep({ result: "REFUSED", code: "ON-LINE-POWER" });
    should(m.payload.error).match(/load\.off turns the load of ups1 off without return, and ups1 is on line power \(ups\.status "OL"\): not sent/);
    should(w.lastStatus()).equal("refused: on line power");
    should(w.errorTexts().some((t) => t.includes("REFUSED"))).be.true();
    await helper.unload();
    w = await deploy({ command: "load.off", allowOnLine: true });
    await w.receive({ payload: "go" });
    m = await result(w);
    should(m.payload).containDeep({ result: "UNKNOWN", tracking: true, unknownBecause: "driver" });
  });

  it("shutdown.return is not guarded on line power (it cycles the load): dummy-ups does not support it, CMD-NOT-SUPPORTED names the UPS and the list", async () => {
    const w = await deploy({ command: "shutdown.return" });
    await w.receive({ payload: "go" });
    const m = await result(w);
    should(m.payload).containDeep({ result: "FAILED", code: "CMD-NOT-SUPPORTED" });
    should(m.payload.error).match(/ups1 does not support shutdown\.return; pick one from the list the node's dialog shows for this UPS/);
    should(w.lastStatus()).equal("shutdown.return: FAILED CMD-NOT-SUPPORTED");
  });

  it("SET VAR of a writable variable: upsd serves the new value afterwards", async () => {
    const w = await deploy({ kind: "setvar", command: "ups.delay.shutdown", param: "45" });
    await w.receive({ payload: "go" });
    const m = await result(w);
    // dummy-ups handles SET VAR: tracking reaches SUCCESS through the real driver
    should(m.payload).containDeep({ kind: "setvar", command: "ups.delay.shutdown", param: "45", tracking: true, result: "SUCCESS", code: null });
    should(w.lastStatus()).equal("ups.delay.shutdown: SUCCESS");
    await waitUntil("upsd serves the value set", async () => (await lab.getVar("ups1", "ups.delay.shutdown")) === "45");
  });

  it("SET VAR of a variable the UPS does not have: VAR-NOT-SUPPORTED", async () => {
    const w = await deploy({ kind: "setvar", command: "ups.delay.start", param: "30" });
    await w.receive({ payload: "go" });
    const m = await result(w);
    should(m.payload).containDeep({ result: "FAILED", code: "VAR-NOT-SUPPORTED" });
  });

  for (const c of [
    { kind: "fsd", command: "", line: "actions = FSD" },
    { kind: "instcmd", command: "load.off", line: "instcmds = load.off", allowOnLine: true },
    { kind: "setvar", command: "ups.delay.shutdown", param: "30", line: "actions = SET" },
  ]) {
    it(`missing rights (${c.kind} as viewer): the error names the upsd.users line "${c.line}"`, async () => {
      const w = await deploy({ param: "", ...c }, { srv: NUT_LAB_USERS.viewer });
      await w.receive({ payload: "go" });
      const m = await result(w);
      should(m.payload).containDeep({ result: "FAILED", code: "ACCESS-DENIED" });
      should(m.payload.error).containEql(`in upsd.users, under [viewer], add "${c.line}"`);
      should(w.errorTexts().join("\n")).containEql(c.line);
      should(await lab.getVar("ups1", "ups.status")).equal("OL");
    });
  }

  it("no credentials on the nut-server: said at deploy (warning, yellow status); a go sends nothing, the error names the line and the user to set", async () => {
    const w = await deploy({ kind: "fsd", command: "" }, {});
    const n = helper.getNode("cmd");
    should(callsOf(n, n.warn).map((c) => String(c.args[0]))).eql([
      `The NUT server 127.0.0.1:${lab.port} has no username and password: this node's command will fail. Set them in the NUT server node, for a user of upsd.users with "actions = FSD".`,
    ]);
    should(statusTexts(n)[0]).equal("FSD: no NUT user set");
    await w.receive({ payload: "go" });
    const m = await result(w);
    should(m.payload).containDeep({ result: "FAILED", code: "NO-CREDENTIALS" });
    should(m.payload.error).match(/under \[the user\] \(and set that user's name and password in the nut-server node\), add "actions = FSD"/);
    should(await lab.getVar("ups1", "ups.status")).equal("OL");
  });

  it("a margin as long as the deadline is said at deploy: the command would always go before the margin passed", async () => {
    await deploy({ hosts: ["h1"], margin: 120, deadline: 120 }, ADMIN, {}, [host("h1")]);
    const n = helper.getNode("cmd");
    should(callsOf(n, n.warn).map((c) => String(c.args[0]))).eql([
      'The margin after the hosts (120 s) is not shorter than "Send anyway after" (120 s), which counts from the go: the command will always go before the margin has passed. Make the deadline longer than the margin plus the time the hosts take to report.',
    ]);
  });

  it("a message that tries to choose the command is refused with an error and nothing reaches upsd", async () => {
    const w = await deploy({ kind: "fsd", command: "" });
    for (const msg of [{ command: "load.off" }, { payload: { value: 1 } }, { ups: "ups2" }]) await w.receive(msg);
    should(w.errorTexts()).eql([
      "refused: msg.command is not accepted; the UPS, the command and its value come only from the node's configuration (a message can only say go)",
      "refused: msg.payload.value is not accepted; the UPS, the command and its value come only from the node's configuration (a message can only say go)",
      "refused: msg.ups is not accepted; the UPS, the command and its value come only from the node's configuration (a message can only say go)",
    ]);
    should(w.messages).have.length(0);
    should(await lab.getVar("ups1", "ups.status")).equal("OL");
  });

  it("'power restored' cancels a wait in progress: result CANCELLED, nothing sent; a restored message is never a go", async () => {
    const w = await deploy({ kind: "fsd", command: "", hosts: ["h1"] }, ADMIN, {}, [host("h1")]);
    await w.receive({ reset: true }); // nothing waits: nothing happens
    should(w.messages).have.length(0);
    w.receive({ payload: "go", outage: { id: "o1", since: 1 } }).catch(() => undefined);
    await w.next("statuses", (s) => s.text === "waiting for 0/1 hosts");
    await w.receive({ payload: { event: "OUTAGE_END" }, outage: { id: "o1", since: 1, ended: 2 } });
    const m = await result(w);
    should(m.payload).containDeep({ result: "CANCELLED", waited: { hosts: { reported: 0, expected: 1 } } });
    should(w.lastStatus()).equal("cancelled: power restored");
    should(await lab.getVar("ups1", "ups.status")).equal("OL");
  });

  it("a redeploy while waiting ends the wait: nothing is sent, the node closes", async () => {
    const w = await deploy({ kind: "fsd", command: "", hosts: ["h1"] }, ADMIN, {}, [host("h1")]);
    w.receive({ payload: "go" }).catch(() => undefined);
    await w.next("statuses", (s) => s.text === "waiting for 0/1 hosts");
    await helper.unload();
    should(w.messages).have.length(0);
    should(w.completed).have.length(1, "the waiting message was finished");
    should(await lab.getVar("ups1", "ups.status")).equal("OL");
  });

  it("waits for every listed host's result of this outage, then the margin; a second go joins; results of another outage do not count", async () => {
    const w = await deploy({ kind: "fsd", command: "", hosts: ["h1", "h2"], margin: 0.2 }, ADMIN, {}, [host("h1"), host("h2")]);
    await w.receive(shutdownResult("h2", "old-outage"));
    w.receive({ payload: "go", outage: { id: "o1", since: 1 } }).catch(() => undefined);
    await w.next("statuses", (s) => s.text === "waiting for 0/2 hosts");
    await w.receive(shutdownResult("h1", "o1", false));
    await w.next("statuses", (s) => s.text === "waiting for 1/2 hosts");
    w.receive({ payload: "again", outage: { id: "o1", since: 1 } }).catch(() => undefined);
    should(await lab.getVar("ups1", "ups.status")).equal("OL", "not sent while a host has not reported");
    await w.receive(shutdownResult("h2", "o1"));
    const first = await result(w);
    const second = await w.next("messages", () => true, 20000, 1);
    should(first.payload).containDeep({ result: "SUCCESS", joined: false, waited: { hosts: { reported: 2, expected: 2 }, marginSeconds: 0.2, cutShort: [] } });
    should(second.payload).containDeep({ result: "SUCCESS", joined: true });
    should(second.payload.time).equal(first.payload.time);
    should(await lab.getVar("ups1", "ups.status")).equal("FSD OL");
    await clearFsd();
  });

  it("the hosts' results survive a Node-RED restart (file context store): a result from before the restart counts", async () => {
    const stores = fileStores();
    try {
      const dir = stores.open();
      const cfg = { kind: "fsd", command: "", hosts: ["h1", "h2"], store: "file" };
      const hosts = [host("h1"), host("h2")];
      let w = await deploy(cfg, ADMIN, {}, hosts);
      await w.receive(shutdownResult("h1", "o1"));
      await stores.restart(dir, "clean");
      w = await deploy(cfg, ADMIN, {}, hosts);
      await w.receive(shutdownResult("h2", "o1"));
      await w.receive({ payload: "go", outage: { id: "o1", since: 1 } });
      const m = await result(w);
      should(m.payload).containDeep({ result: "SUCCESS", waited: { hosts: { reported: 2, expected: 2 }, cutShort: [] } });
      await clearFsd();
    } finally {
      await stores.removeAll();
    }
  });

  it("the deadline sends anyway and says which waits it cut short", async () => {
    const w = await deploy({ kind: "fsd", command: "", hosts: ["h1"], deadline: 0.5 }, ADMIN, {}, [host("h1")]);
    await w.receive({ payload: "go" });
    const m = await result(w);
    should(m.payload).containDeep({ result: "SUCCESS", waited: { hosts: { reported: 0, expected: 1 }, cutShort: ["hosts"] } });
    should(m.summary).containEql("waits cut short: hosts");
    await clearFsd();
  });

  it("waits until the other upsmon clients logged out (LIST CLIENT), leaving out the nut-server's own LOGIN", async () => {
    // a upsmon-like client: LOGIN as monuser on its own connection
    const upsmon: Socket = connect(lab.port, lab.host);
    const replies: string[] = [];
    upsmon.on("data", (d) => replies.push(...d.toString().split("\n").filter(Boolean)));
    upsmon.write(`USERNAME ${NUT_LAB_USERS.monitor.username}\nPASSWORD ${NUT_LAB_USERS.monitor.password}\nLOGIN ups1\n`);
    await waitUntil("the upsmon-like client logged in", () => replies.length >= 3 && replies);
    should(replies).eql(["OK", "OK", "OK"]);
    // the server's shared connection LOGINs too (a nut-ups-in keeps it open)
    const reader = {
      id: "in",
      type: "nut-ups-in",
      server: "srv",
      mode: "one",
      ups: "ups1",
      interval: 1,
      alertInterval: 1,
      output: "change",
      vars: false,
      nocomm: 60,
      wires: [[]],
    };
    const w = await deploy({ kind: "fsd", command: "", waitClients: true }, ADMIN, { login: "ups1" }, [reader]);
    const probe = new NutClient({ host: lab.host, port: lab.port });
    probe.on("state", () => undefined);
    probe.start();
    try {
      await waitUntil("both LOGINs counted by upsd", async () => (await listClients(probe, "ups1")).length === 2);
    } finally {
      await probe.close();
    }
    w.receive({ payload: "go" }).catch(() => undefined);
    await w.next("statuses", (s) => s.text === "waiting for upsmon clients to log out");
    should(await lab.getVar("ups1", "ups.status")).equal("OL", "not sent while another client is logged in");
    upsmon.end("LOGOUT\n");
    const m = await result(w);
    should(m.payload).containDeep({ result: "SUCCESS", waited: { clientsLeft: true, cutShort: [] } });
    await clearFsd();
  });
});

describe("nut-command against nut-sim (final SUCCESS / FAILED and a upsd without tracking)", function () {
  this.timeout(30000);
  let sim: NutSim;

  async function deploy(netver: string, command: string, param = ""): Promise<Watch<ResultMsg>> {
    sim = await loadCommandOnSim(command, { netver, param, instcmds: { "shutdown.return": "SUCCESS", "beeper.disable": "FAILED" } });
    return watch<ResultMsg>("cmd", "out");
  }
  afterEach(async () => {
    await helper.unload();
    await sim?.close();
  });

  it("protocol 1.3: PENDING then SUCCESS is the result SUCCESS", async () => {
    const w = await deploy("1.3", "shutdown.return");
    await w.receive({ payload: "go" });
    const m = await w.next("messages", () => true);
    should(m.payload).containDeep({ result: "SUCCESS", code: null, tracking: true });
    should(w.lastStatus()).equal("shutdown.return: SUCCESS");
    should(sim.commands.filter((c) => c.startsWith("GET TRACKING")).length).equal(2);
  });

  it("protocol 1.3: a driver's ERR FAILED is the result FAILED with its code", async () => {
    const w = await deploy("1.3", "beeper.disable");
    await w.receive({ payload: "go" });
    const m = await w.next("messages", () => true);
    should(m.payload).containDeep({ result: "FAILED", code: "FAILED", tracking: true });
  });

  it("protocol 1.2 (upsd before 2.8.0): no SET TRACKING, the result is SENT and the status says so", async () => {
    const w = await deploy("1.2", "shutdown.return");
    await w.receive({ payload: "go" });
    const m = await w.next("messages", () => true);
    should(m.payload).containDeep({ result: "SENT", tracking: false });
    should(sim.commands.some((c) => c.includes("TRACKING"))).be.false();
    should(w.lastStatus()).equal("shutdown.return: sent (no tracking)");
  });

  it("protocol 1.2: an instant command's parameter needs 1.3, so nothing is sent and the error says why", async () => {
    const w = await deploy("1.2", "shutdown.return", "30");
    await w.receive({ payload: "go" });
    const m = await w.next("messages", () => true);
    should(m.payload).containDeep({ result: "FAILED", code: "PROTOCOL-TOO-OLD", param: "30" });
    should(m.payload.error).containEql("an INSTCMD parameter needs 1.3 (NUT 2.8.0)");
    should(sim.commands.some((c) => c.startsWith("INSTCMD"))).be.false();
  });
});
