/**
 * The pure decisions of nut-command (core/nut/command.ts): its
 * configuration, what a message is, the load-off guard, GET TRACKING
 * replies, the waits before the command, the upsd.users line of a refusal.
 */
import should from "../harness/should";
import {
  type CommandConfig,
  type HostReport,
  commandLabel,
  decideWait,
  failureText,
  guardRefusal,
  otherClients,
  parseReports,
  readCommandConfig,
  readInput,
  readTracking,
  recordReport,
  turnsLoadOff,
  usersLine,
} from "../../core/nut/command";
import { protocolAtLeast } from "../../core/nut/commander";

const base = (over: Partial<CommandConfig> = {}): CommandConfig => ({
  ...readCommandConfig({ ups: "ups1", kind: "instcmd", command: "shutdown.return" }).config,
  ...over,
});

describe("nut-command core: configuration", () => {
  it("defaults: 30 s tracking, 30 s margin, 120 s deadline, no hosts, no client wait, guard on", () => {
    const { config, problems } = readCommandConfig({ ups: "ups1", kind: "instcmd", command: "shutdown.return" });
    should(problems).eql([]);
    should(config).eql({
      ups: "ups1",
      kind: "instcmd",
      command: "shutdown.return",
      param: "",
      allowOnLine: false,
      trackingTimeoutMs: 30000,
      hosts: [],
      marginMs: 30000,
      waitClients: false,
      deadlineMs: 120000,
    });
  });

  it("names every problem: no UPS, a name that is not NUT's, a kind, a missing value, a bad parameter, seconds out of range", () => {
    const keys = (raw: object) => readCommandConfig(raw).problems.map((p) => p.key);
    should(keys({ kind: "fsd" })).eql(["no-ups"]);
    should(keys({ ups: "ups 1", kind: "fsd" })).eql(["bad-name"]);
    should(keys({ ups: "ups1", kind: "reboot" })).eql(["bad-kind"]);
    should(keys({ ups: "ups1", kind: "instcmd" })).eql(["no-command"]);
    should(keys({ ups: "ups1", kind: "setvar", command: "ups.delay.shutdown" })).eql(["no-value"]);
    should(keys({ ups: "ups1", kind: "instcmd", command: "load.off;rm" })).eql(["bad-name"]);
    should(keys({ ups: "ups1", kind: "instcmd", command: "load.off.delay", param: "1\n2" })).eql(["bad-param"]);
    should(keys({ ups: "ups1", kind: "fsd", deadline: -1, margin: "x", trackingTimeout: -1 })).eql(["bad-number", "bad-number", "bad-number"]);
    should(readCommandConfig({ ups: "ups1", kind: "instcmd", command: "load.off", trackingTimeout: 0 }).config.trackingTimeoutMs).equal(
      0,
      "0: no TRACKING asked",
    );
    should(keys({ ups: "ups1", kind: "fsd", hosts: Array.from({ length: 65 }, (_, i) => `h${i}`) })).eql(["too-many-hosts"]);
  });

  it("FSD has no command or value, whatever the dialog left in those fields", () => {
    const { config } = readCommandConfig({ ups: "ups1", kind: "fsd", command: "load.off", param: "x" });
    should(config).containDeep({ kind: "fsd", command: "", param: "" });
    should(commandLabel(config)).equal("FSD");
  });
});

describe("nut-command core: what a message is", () => {
  const config = base({ hosts: ["h1", "h2"] });
  const result = (payload: object, outage?: object) => readInput({ payload, ...(outage ? { outage } : {}) }, config, 1000);
  const shutdownPayload = { host: "web1", ok: true, action: "shutdown", exitCode: 0, command: "sudo shutdown -h +1" };

  it("any other message is a go, with its outage id", () => {
    should(readInput({ payload: "go", outage: { id: "o1", since: 1 } }, config, 0)).eql({ type: "go", outage: "o1" });
    should(readInput({ payload: { onBattery: true, policy: "weakest", critical: true } }, config, 0)).eql({ type: "go", outage: null });
  });

  for (const k of ["ups", "kind", "command", "instcmd", "cmd", "variable", "var", "value", "param"]) {
    it(`msg.${k} and msg.payload.${k} choose: refused`, () => {
      should(readInput({ [k]: "x" }, config, 0)).eql({ type: "choosing", property: `msg.${k}` });
      should(readInput({ payload: { [k]: 0 } }, config, 0)).eql({ type: "choosing", property: `msg.payload.${k}` });
    });
  }

  it("power restored, however spelled, and power on are never a go", () => {
    for (const msg of [{ reset: true }, { reset: 0 }, { payload: { event: "OUTAGE_END" } }, { outage: { id: "o", since: 1, ended: 2 } }]) {
      should(readInput(msg, config, 0)).eql({ type: "restored" });
    }
    should(readInput({ payload: { policy: "weakest", onBattery: false, critical: false } }, config, 0)).eql({ type: "power-on" });
  });

  it("an ssh-shutdown result is never a go (its payload.command is the host's): kept for an awaited host's shutdown or simulate", () => {
    should(result({ ...shutdownPayload, hostId: "h1" }, { id: "o1" })).eql({
      type: "result",
      report: { host: "h1", outage: "o1", ok: true, action: "shutdown", time: 1000 },
    });
    should(result({ ...shutdownPayload, hostId: "h1", ok: false, action: "simulate" })).containDeep({
      report: { ok: false, action: "simulate", outage: null },
    });
    should(result({ ...shutdownPayload, hostId: "h9" })).eql({ type: "result", report: null });
    should(result({ ...shutdownPayload, hostId: "h1", action: "cancel" })).eql({ type: "result", report: null });
    // a pre-flight at power loss is never a host's shutdown: the final step still waits for the real one
    should(result({ ...shutdownPayload, hostId: "h1", action: "prepare" })).eql({ type: "result", report: null });
    should(result({ ...shutdownPayload })).eql({ type: "result", report: null });
  });

  it("keeps the latest report per awaited host, and reads back only well-formed stored ones", () => {
    const r = (host: string, outage: string): HostReport => ({ host, outage, ok: true, action: "shutdown", time: 1 });
    let reports = recordReport([], r("h1", "a"), config.hosts);
    reports = recordReport(reports, r("h1", "b"), config.hosts);
    reports = recordReport(reports, r("h2", "b"), config.hosts);
    should(reports.map((x) => `${x.host}:${x.outage}`)).eql(["h1:b", "h2:b"]);
    should(parseReports({ reports: [...reports, r("h9", "b"), { host: "h1" }, "x"] }, config.hosts)).eql(reports);
    should(parseReports([], config.hosts)).equal(null);
  });
});

describe("nut-command core: the load-off guard", () => {
  it("commands that leave the load off (load.off[.delay], shutdown.stayoff, outlet.N / outlet.group.N load.off[.delay])", () => {
    for (const c of ["load.off", "load.off.delay", "shutdown.stayoff", "outlet.1.load.off", "outlet.12.load.off.delay", "outlet.group.2.load.off"]) {
      should(turnsLoadOff("instcmd", c)).be.true(c);
    }
    for (const c of ["shutdown.return", "shutdown.reboot", "load.cycle", "outlet.1.load.cycle", "load.on", "beeper.off", "beeper.disable", "shutdown.stop"]) {
      should(turnsLoadOff("instcmd", c)).be.false(c);
    }
    for (const c of ["LOAD.OFF", "Shutdown.StayOff", "OUTLET.1.LOAD.OFF.DELAY"])
      should(turnsLoadOff("instcmd", c)).be.true(`${c}: upsd reads it whatever its case`);
    should(guardRefusal(base({ command: "LOAD.OFF" }), "OL")).equal("on-line");
    should(turnsLoadOff("setvar", "load.off")).be.false();
    should(turnsLoadOff("fsd", "")).be.false();
  });

  it("refused on line power (OL without OB) or when ups.status is unknown; allowed on battery, or with the tick", () => {
    const off = base({ command: "load.off" });
    should(guardRefusal(off, "OL")).equal("on-line");
    should(guardRefusal(off, "OL CHRG")).equal("on-line");
    should(guardRefusal(off, null)).equal("status-unknown");
    should(guardRefusal(off, "OB DISCHRG")).equal(null);
    should(guardRefusal(off, "OL OB")).equal(null);
    should(guardRefusal({ ...off, allowOnLine: true }, "OL")).equal(null);
    should(guardRefusal(base({ command: "shutdown.return" }), "OL")).equal(null);
  });
});

describe("nut-command core: tracking, rights, protocol", () => {
  it("GET TRACKING: PENDING goes on; SUCCESS; ERR UNKNOWN is the driver's unknown; other codes FAILED", () => {
    should(readTracking({ ok: "PENDING" })).eql({ pending: true });
    should(readTracking({ ok: "SUCCESS" })).eql({ pending: false, result: "SUCCESS", code: null });
    should(readTracking({ err: "UNKNOWN" })).eql({ pending: false, result: "UNKNOWN", code: "UNKNOWN" });
    should(readTracking({ err: "FAILED" })).eql({ pending: false, result: "FAILED", code: "FAILED" });
    should(readTracking({ err: "INVALID-ARGUMENT" })).eql({ pending: false, result: "FAILED", code: "INVALID-ARGUMENT" });
    should(readTracking({ ok: "MAYBE" })).eql({ pending: false, result: "UNKNOWN", code: "PROTOCOL-ERROR" });
  });

  it("the upsd.users line of each kind, named in a refusal with the user", () => {
    should(usersLine("fsd", "")).equal("actions = FSD");
    should(usersLine("setvar", "ups.delay.shutdown")).equal("actions = SET");
    should(usersLine("instcmd", "shutdown.return")).equal("instcmds = shutdown.return");
    const text = failureText(base(), "nas:3493", "ACCESS-DENIED", "admin", "");
    should(text).equal(
      'upsd refused shutdown.return on ups1@nas:3493 (ACCESS-DENIED): in upsd.users, under [admin], add "instcmds = shutdown.return", then reload upsd (upsd -c reload)',
    );
    should(failureText(base(), "nas:3493", "CMD-NOT-SUPPORTED", "admin", "")).containEql("pick one from the list");
    should(failureText(base(), "nas:3493", "INSTCMD-FAILED", "admin", "driver gone")).equal("shutdown.return on ups1@nas:3493: driver gone");
  });

  it("protocol versions: 1.3 and later have TRACKING and INSTCMD parameters", () => {
    should(protocolAtLeast("1.3", [1, 3])).be.true();
    should(protocolAtLeast("1.10", [1, 3])).be.true();
    should(protocolAtLeast("2.0", [1, 3])).be.true();
    should(protocolAtLeast("1.2", [1, 3])).be.false();
    should(protocolAtLeast(null, [1, 3])).be.false();
  });
});

describe("nut-command core: the waits before the command", () => {
  const config = base({ hosts: ["h1", "h2"], marginMs: 30000, deadlineMs: 120000 });
  const report = (host: string, outage: string | null): HostReport => ({ host, outage, ok: true, action: "shutdown", time: 0 });
  const wait = (over: Partial<Parameters<typeof decideWait>[0]>) =>
    decideWait({ config, outage: "o1", reports: [], reportedAt: new Map(), clientsGone: null, since: 1000, now: 1000, ...over });

  it("waits for every host of this outage, then the margin after the last one", () => {
    let d = wait({ reports: [report("h1", "o1"), report("h2", "old")], reportedAt: new Map([["h1", 2000]]) });
    should(d).containDeep({ ready: false, waitingFor: "hosts", waited: { hosts: { reported: 1, expected: 2 } } });
    should(d.next).equal(121000);
    const both = {
      reports: [report("h1", "o1"), report("h2", "o1")],
      reportedAt: new Map([
        ["h1", 2000],
        ["h2", 5000],
      ]),
    };
    d = wait({ ...both, now: 6000 });
    should(d).containDeep({ ready: false, waitingFor: "margin" });
    should(d.next).equal(35000);
    d = wait({ ...both, now: 35000 });
    should(d).containDeep({ ready: true, waited: { hosts: { reported: 2, expected: 2 }, cutShort: [], clientsLeft: null } });
  });

  it("hosts reported before the go: the margin counts from the go", () => {
    const d = wait({
      reports: [report("h1", "o1"), report("h2", "o1")],
      reportedAt: new Map([
        ["h1", 10],
        ["h2", 20],
      ]),
      now: 1000,
    });
    should(d).containDeep({ ready: false, waitingFor: "margin" });
    should(d.next).equal(31000);
  });

  it("then the other upsmon clients, when asked", () => {
    const c = { ...config, hosts: [], waitClients: true };
    should(wait({ config: c, clientsGone: false })).containDeep({ ready: false, waitingFor: "clients" });
    should(wait({ config: c, clientsGone: null })).containDeep({ ready: false, waitingFor: "clients" });
    should(wait({ config: c, clientsGone: true })).containDeep({ ready: true, waited: { clientsLeft: true, cutShort: [] } });
  });

  it("the deadline sends anyway and says what it cut short", () => {
    should(wait({ now: 121000 })).containDeep({ ready: true, waited: { cutShort: ["hosts"] } });
    const both = {
      reports: [report("h1", "o1"), report("h2", "o1")],
      reportedAt: new Map([
        ["h1", 120000],
        ["h2", 120000],
      ]),
    };
    should(wait({ ...both, now: 121000 })).containDeep({ ready: true, waited: { cutShort: ["margin"] } });
    const c = { ...config, waitClients: true };
    should(wait({ config: c, now: 121000, clientsGone: false })).containDeep({ ready: true, waited: { cutShort: ["hosts", "clients"], clientsLeft: false } });
  });

  it("LIST CLIENT without the nut-server's own LOGIN (once, by address, IPv4-mapped or not)", () => {
    should(otherClients(["127.0.0.1", "::ffff:127.0.0.1", "10.0.0.2"], "127.0.0.1")).eql(["127.0.0.1", "10.0.0.2"]);
    should(otherClients(["::ffff:10.0.0.5"], "10.0.0.5")).eql([]);
    should(otherClients(["10.0.0.5"], null)).eql(["10.0.0.5"]);
  });
});
