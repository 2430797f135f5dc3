/**
 * Pre-flight (msg.action "prepare"), kept sessions and phases of ssh-shutdown
 * in the real Node-RED runtime against real (recording) sshd hosts: the
 * problems are found at power loss, each reported once; the tier then goes
 * out on the open sessions (no second TCP connection); a session dropped
 * meanwhile is opened again; phases keep their order and their deadline.
 */
import should from "../harness/should";
import { execFileSync } from "node:child_process";
import type { ShutdownResult } from "../../core/contract";
import sshHostNode from "../../nodes/ssh-host";
import sshShutdownNode from "../../nodes/ssh-shutdown";
import { requireComponent } from "../harness/system";
import { SSH_LAB_INSTALL, SshLab, sshLabMissing } from "../harness/ssh-lab";
import { collect, helper, statusTexts, waitForCalls } from "../harness/red-helper";
import { waitUntil } from "../harness/wait";
import type { TestNode } from "../harness/red-helper";

const SHUTDOWN = "sudo -n /sbin/shutdown -h +2 'Power failure'";
const CHECK = "sudo -n -l /sbin/shutdown -h +2 'Power failure' && sudo -n -l /sbin/shutdown -c";

type Creds = Record<string, Record<string, string>>;

/** Established TCP connections from this process to `address:port`, as `ss` lists them. */
function established(address: string, port: number): number {
  const out = execFileSync("ss", ["-tnH", "state", "established", "dst", `${address}:${port}`], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.trim() !== "").length;
}

describe("ssh-shutdown pre-flight, kept sessions and phases against real sshd hosts", function () {
  this.timeout(60000);
  let lab: SshLab;

  before(async function () {
    requireComponent(this, "OpenSSH sshd as root", sshLabMissing(), SSH_LAB_INSTALL);
    lab = await SshLab.start({ hosts: ["p1", "p2", "p3", "nosudo", "rekeyed"] });
  });
  after(async () => {
    await lab?.stop();
  });
  afterEach(async () => {
    await helper.unload();
    lab?.resetBehaviours();
    for (const h of lab.hosts()) await lab.startHost(h.name);
    lab.clearRecords();
  });

  /** An ssh-host for lab host `name` (or, with `address`, for a host that is not there). */
  function host(name: string, address?: string): { node: object; creds: Creds } {
    const h = lab.host(name);
    return {
      node: {
        id: `host-${name}`,
        type: "ssh-host",
        name,
        address: address ?? h.address,
        port: h.port,
        username: lab.user,
        keyFile: lab.keyFile("ed25519"),
        fingerprints: `ssh-ed25519 ${h.fingerprints.ed25519}`,
        acceptAnyHostKey: false,
      },
      creds: { [`host-${name}`]: {} },
    };
  }

  function shutdownNode(id: string, hosts: string[], over: Record<string, unknown> = {}): object {
    return {
      id,
      type: "ssh-shutdown",
      hosts: hosts.map((h) => `host-${h}`),
      preset: "linux",
      delay: 2,
      message: "Power failure",
      action: "shutdown",
      allowed: ["shutdown", "cancel", "check", "simulate", "prepare"],
      connectTimeout: 3,
      commandTimeout: 5,
      deadline: 5,
      wires: [["out"]],
      ...over,
    };
  }

  async function load(hosts: { node: object; creds: Creds }[], nodes: object[]): Promise<{ out: TestNode; got: Record<string, unknown>[] }> {
    const creds = Object.assign({}, ...hosts.map((h) => h.creds)) as Creds;
    await helper.load([sshHostNode, sshShutdownNode], [...hosts.map((h) => h.node), ...nodes, { id: "out", type: "helper" }], creds);
    const out = helper.getNode("out");
    return { out, got: collect(out) };
  }

  const results = (got: Record<string, unknown>[]): ShutdownResult[] => got.map((m) => m.payload as ShutdownResult);
  const commands = (name: string): string[] => lab.records(name).map((r) => r.command);
  const errorsOf = (node: TestNode): string[] =>
    (node as unknown as { error: { getCalls(): { args: unknown[] }[] } }).error.getCalls().map((c) => String(c.args[0]));

  it("at power loss: a changed key, a missing sudoers right, an unreachable and a hung host are each reported once; then the tier goes out on the open sessions", async () => {
    const pinned = host("rekeyed");
    const { out, got } = await load(
      [
        host("p1"),
        host("p2"),
        host("nosudo"),
        pinned,
        host("p3", lab.refused.address),
        { ...host("p3"), node: { ...(host("p3").node as object), id: "host-hung", name: "hung", address: lab.blackhole.address } },
      ],
      [shutdownNode("n", ["p1", "p2", "nosudo", "rekeyed", "p3", "hung"])],
    );
    await lab.rekey("rekeyed");
    lab.behaveOn("nosudo", CHECK, { exit: 1, reply: "sudo: a password is required\n" });
    const n = helper.getNode("n");
    // the aggregate's power state at POWER_LOST, turned into a pre-flight: 20 minutes of battery
    const prepared = waitForCalls(out, "input", 6);
    n.receive({ action: "prepare", payload: { event: "POWER_LOST", onBattery: true, runtime: 1200 }, topic: "power" });
    await prepared;

    should(results(got).every((r) => r.action === "prepare")).be.true();
    const errors = errorsOf(n);
    should(errors).have.length(4);
    const said = (name: string) => errors.filter((e) => e.startsWith(`${name}: pre-flight FAILED: `));
    should(said("nosudo")).have.length(1);
    should(said("nosudo")[0]).match(/^nosudo: pre-flight FAILED: exit code 1: .+ — fix it within the next ~20 min$/);
    should(said("rekeyed")).have.length(1);
    should(said("rekeyed")[0]).match(/host key of rekeyed/);
    should(said("p3")).have.length(1);
    should(said("p3")[0]).match(/connection refused/);
    should(said("hung")).have.length(1);
    should(said("hung")[0]).match(/no SSH handshake/);
    // nothing was shut down: only the check reached the hosts
    for (const name of ["p1", "p2", "nosudo"]) should(commands(name)).eql([CHECK], name);
    should(last(statusTexts(n))).equal("pre-flight: 4/6 not ready");

    // the sessions stay open, one per host that answered
    const live = ["p1", "p2", "nosudo"];
    for (const name of live) should(established(lab.host(name).address, lab.host(name).port)).equal(1, name);
    const before = live.map((name) => lab.connections(name));

    // the tier fires: the shutdown goes out on the kept sessions, no new TCP connection
    got.length = 0;
    const tier = waitForCalls(out, "input", 6);
    n.receive({ payload: { onBattery: true, charge: 88 }, topic: "power" });
    await tier;
    for (const name of ["p1", "p2"]) should(commands(name)).eql([CHECK, SHUTDOWN], name);
    should(live.map((name) => lab.connections(name))).eql(before, "no second handshake");
    should(
      results(got)
        .filter((r) => r.ok)
        .map((r) => r.host)
        .sort(),
    ).eql(["nosudo", "p1", "p2"]);
  });

  it("a session dropped between the pre-flight and the tier is opened again; power back ends the kept sessions", async () => {
    const { out, got } = await load([host("p1"), host("p2")], [shutdownNode("n", ["p1", "p2"])]);
    const n = helper.getNode("n");
    const prepared = waitForCalls(out, "input", 2);
    n.receive({ action: "prepare" });
    await prepared;
    const p1 = lab.host("p1");
    should(established(p1.address, p1.port)).equal(1);
    // p1's sshd stops (its sessions with it) and comes back
    await lab.stopHost("p1");
    await lab.startHost("p1");
    const before = lab.connections("p1");
    const tier = waitForCalls(out, "input", 2);
    n.receive({});
    await tier;
    should(commands("p1")).eql([CHECK, SHUTDOWN]);
    should(lab.connections("p1")).equal(before + 1, "one new connection for the dropped session");

    // a fresh pre-flight, then power back: the kept sessions close
    const again = waitForCalls(out, "input", 2);
    n.receive({ action: "prepare" });
    await again;
    const p2 = lab.host("p2");
    await waitUntil("p2's kept session open", () => established(p2.address, p2.port) === 1);
    // power back: the delayed shutdowns sent are cancelled (on connections of their own), and the kept sessions close
    const cancels = waitForCalls(out, "input", 2);
    n.receive({ reset: true });
    await cancels;
    should(
      results(got)
        .slice(-2)
        .map((r) => [r.action, r.ok]),
    ).eql([
      ["cancel", true],
      ["cancel", true],
    ]);
    await waitUntil("the kept sessions closed", () => established(p1.address, p1.port) + established(p2.address, p2.port) === 0);
  });

  it("a node on simulate connects to nothing for a pre-flight, and does not refuse it (npm start's demo allows only simulate)", async () => {
    const before = lab.connections("p1");
    await load([host("p1")], [shutdownNode("n", ["p1"], { action: "simulate", allowed: ["simulate"] })]);
    const n = helper.getNode("n");
    const done = waitForCalls(n, "call:status", 1);
    n.receive({ action: "prepare" });
    await done;
    should(last(statusTexts(n))).equal("simulate: no pre-flight");
    should(errorsOf(n)).eql([]);
    should(lab.connections("p1")).equal(before);
    should(commands("p1")).eql([]);
  });

  it("phases: phase 2 is sent only once phase 1 reported; a hung phase-1 host holds it back only until the phase deadline", async () => {
    lab.behave("p1", { sleep: 2 });
    const { out, got } = await load([host("p1"), host("p2")], [shutdownNode("n", ["p1", "p2"], { phases: [1, 2] })]);
    const recordedAtResult: Record<string, string[]> = {};
    out.on("input", (m: Record<string, unknown>) => {
      recordedAtResult[(m.payload as ShutdownResult).host] = lab.records().map((r) => r.host);
    });
    const both = waitForCalls(out, "input", 2);
    helper.getNode("n").receive({});
    await both;
    should(results(got).map((r) => r.host)).eql(["p1", "p2"]);
    should(recordedAtResult.p1).eql(["p1"], "p2 not contacted before p1 reported");

    await helper.unload();
    lab.clearRecords();
    const hung = { ...host("p1"), node: { ...(host("p1").node as object), id: "host-hung", name: "hung", address: lab.blackhole.address } };
    const second = await load([hung, host("p2")], [shutdownNode("m", ["hung", "p2"], { phases: [1, 2], phaseDeadline: 1, connectTimeout: 20, deadline: 20 })]);
    const first = waitForCalls(second.out, "input", 1);
    helper.getNode("m").receive({});
    await first;
    should(results(second.got).map((r) => [r.host, r.ok])).eql([["p2", true]], "phase 2 went at its deadline, the hung host still had no result");
    should(commands("p2")).eql([SHUTDOWN]);
  });
});

function last(texts: string[]): string {
  return texts.at(-1) ?? "";
}
