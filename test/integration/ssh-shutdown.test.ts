/**
 * The ssh-shutdown and ssh-host nodes in the real Node-RED runtime against
 * real (recording) sshd hosts.
 */
import should from "../harness/should";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ShutdownResult } from "../../core/contract";
import sshHostNode from "../../nodes/ssh-host";
import sshShutdownNode from "../../nodes/ssh-shutdown";
import aggregateNode from "../../nodes/ups-aggregate";
import latchNode from "../../nodes/outage-latch";
import { aggregateNodeDef, ups } from "../harness/decide-fixtures";
import { requireComponent } from "../harness/system";
import { SSH_LAB_INSTALL, SshLab, sshLabMissing } from "../harness/ssh-lab";
import { MAX_SHARED_REQUESTS } from "../../core/ssh/shutdown";
import { guestPlan, readGuestConfig } from "../../core/ssh/guests";
import type { RawGuestConfig } from "../../core/ssh/guests";
import { closeContextStores, collect, collectCompleted, helper, loadContextStores, loggedText, settle, statusTexts, waitForCalls } from "../harness/red-helper";
import { waitUntil } from "../harness/wait";
import type { TestNode } from "../harness/red-helper";
import { translator } from "../harness/catalog";

/** The statuses and texts of ssh-shutdown these tests look for (locales/en-US/ssh-shutdown.json). */
const SAID = {
  sent: /^sent (\d+)\/\1$/,
  cancelled: /^cancelled (\d+)\/\1$/,
  sentFailed: /^sent \d+\/\d+, [1-9]\d* failed$/,
  checkFailed: /^check failed \d+\/\d+$/,
  retrying: /^\w+ \d+\/\d+…, [1-9]\d* retrying$/,
  nothingToCancel: "nothing to cancel",
  restoredNoCancel: "power restored: nothing to cancel here",
  busy: /^refused: the shutdown in progress already reports to \d+ messages; this one was not added \(nothing is sent again\)$/,
  memoryStore: "ssh-shutdown: pending delayed shutdowns are kept in a memory context",
  notSentAtClose: "ssh-shutdown: stopped (redeploy or restart) before the shutdown reached",
  stoppedByCancel: "not sent: stopped by a cancel before the command reached the host",
  noPin: "no host key fingerprint pinned, every connection will be refused until one is",
};
const last = (texts: string[]): string => texts.at(-1) ?? "";

type Auth = "keyFile" | "pastedRsa" | "passphrase" | "password";
type Creds = Record<string, Record<string, string>>;

const SHUTDOWN = "sudo -n /sbin/shutdown -h +2 'Power failure'";
const CANCEL = "sudo -n /sbin/shutdown -c";

describe("ssh-shutdown and ssh-host nodes against real sshd hosts", function () {
  this.timeout(60000);
  let lab: SshLab;

  before(async function () {
    requireComponent(this, "OpenSSH sshd as root", sshLabMissing(), SSH_LAB_INSTALL);
    const fleet = Array.from({ length: 20 }, (_, i) => `s${i + 1}`);
    lab = await SshLab.start({ hosts: [...fleet, "late", "rekeyed", { name: "multi", rsa: true, ecdsa: true }] });
  });
  after(async () => {
    await lab?.stop();
  });
  afterEach(async () => {
    await helper.unload();
    lab?.resetBehaviours();
    await lab.startHost("late");
    lab.clearRecords();
  });

  /** An ssh-host config node for lab host `name` and its credentials. */
  function host(name: string, auth: Auth = "keyFile", over: Record<string, unknown> = {}): { node: object; creds: Creds } {
    const h = lab.host(name);
    const node = {
      id: `host-${name}`,
      type: "ssh-host",
      name,
      address: h.address,
      port: h.port,
      username: lab.user,
      keyFile: auth === "keyFile" ? lab.keyFile("ed25519") : "",
      fingerprints: `ssh-ed25519 ${h.fingerprints.ed25519}`,
      acceptAnyHostKey: false,
      ...over,
    };
    const creds: Record<string, string> = {};
    if (auth === "pastedRsa") creds.privateKey = lab.keyText("rsa");
    if (auth === "passphrase") Object.assign(creds, { privateKey: lab.keyText("ed25519Pass"), passphrase: lab.passphrase });
    if (auth === "password") creds.password = lab.password;
    return { node, creds: { [`host-${name}`]: creds } };
  }

  function shutdownNode(id: string, hosts: string[], over: Record<string, unknown> = {}): object {
    return {
      id,
      type: "ssh-shutdown",
      name: "",
      hosts: hosts.map((h) => `host-${h}`),
      preset: "linux",
      delay: 2,
      message: "Power failure",
      action: "shutdown",
      allowed: ["shutdown", "cancel", "check", "simulate"],
      connectTimeout: 5,
      commandTimeout: 5,
      deadline: 5,
      wires: [["out"]],
      ...over,
    };
  }

  async function load(
    hosts: { node: object; creds: Creds }[],
    nodes: object[],
    more: unknown[] = [],
  ): Promise<{ out: TestNode; got: Record<string, unknown>[] }> {
    const creds = Object.assign({}, ...hosts.map((h) => h.creds)) as Creds;
    await helper.load([sshHostNode, sshShutdownNode, ...more], [...hosts.map((h) => h.node), ...nodes, { id: "out", type: "helper" }], creds);
    const out = helper.getNode("out");
    return { out, got: collect(out) };
  }

  const results = (got: Record<string, unknown>[]): ShutdownResult[] => got.map((m) => m.payload as ShutdownResult);
  const commands = (name: string): string[] => lab.records(name).map((r) => r.command);

  it("shutdown: one result per host as it answers, with key file, pasted RSA key, passphrase key and password", async () => {
    const names = ["s1", "s2", "s3", "s4"];
    const auths: Auth[] = ["keyFile", "pastedRsa", "passphrase", "password"];
    const { out, got } = await load(
      names.map((n, i) => host(n, auths[i])),
      [shutdownNode("n", names)],
    );
    const outage = { id: "outage-20261125T164730Z-3f9a", since: 1_790_000_000_000 };
    const tier = { index: 0, name: "backup", reason: "charge 88 % ≤ 90 %" };
    helper.getNode("n").receive({ payload: { charge: 88 }, outage, tier, topic: "power" });
    await waitForCalls(out, "input", 4);
    for (const n of names) should(commands(n)).eql([SHUTDOWN], n);
    should(names.map((n) => lab.records(n)[0].auth)).eql(["publickey", "publickey", "publickey", "password"]);
    for (const m of got) {
      const r = m.payload as ShutdownResult;
      should(r.ok).be.true(r.error ?? "");
      should(m.topic).equal(r.host);
      should(m.outage).eql(outage, "outage identity carried unchanged");
      should(m.tier).eql(tier);
      should(r.command).equal(SHUTDOWN);
      should(r.exitCode).equal(0);
      should(r.stdout).equal(`[sshlab ${r.host}] recorded: ${SHUTDOWN}\n`);
      should(r.address).equal(lab.host(r.host).address);
      should(String(m.summary)).match(new RegExp(`^${r.host}: shutdown sent \\(exit 0, \\d+\\.\\d s\\)$`));
    }
    should(
      results(got)
        .map((r) => r.host)
        .sort(),
    ).eql(names);
    should(last(statusTexts(helper.getNode("n")))).match(SAID.sent);
  });

  it("cancel goes only to hosts sent a delayed shutdown, once", async () => {
    const hosts = ["s5", "s6", "s7"].map((n) => host(n));
    const { out, got } = await load(hosts, [shutdownNode("delayed", ["s5", "s6"]), shutdownNode("now", ["s7"], { preset: "linux-poweroff" })]);
    helper.getNode("delayed").receive({});
    helper.getNode("now").receive({});
    await waitForCalls(out, "input", 3);
    const pending = helper.getNode("delayed").context().get("sshShutdownPending") as Record<string, unknown>;
    should(Object.keys(pending).sort()).eql(["host-s5", "host-s6"]);

    const nowDone = collectCompleted(helper.getNode("now"));
    helper.getNode("delayed").receive({ action: "cancel", reset: true });
    helper.getNode("now").receive({ action: "cancel", reset: true });
    await waitForCalls(out, "input", 2);
    await waitUntil("the cancel handled by the immediate node", () => nowDone.length === 1);
    should(commands("s5")).eql([SHUTDOWN, CANCEL]);
    should(commands("s6")).eql([SHUTDOWN, CANCEL]);
    should(commands("s7")).eql(["sudo -n /bin/systemctl poweroff"], "an immediate shutdown is never cancelled");
    should(last(statusTexts(helper.getNode("now")))).match(SAID.sent, "what happened stays shown: nothing to cancel replaces nothing");
    for (const m of got.slice(3)) {
      should((m.payload as ShutdownResult).action).equal("cancel");
      should(m.reset).be.true();
      should(String(m.summary)).match(/: shutdown cancelled \(exit 0, /);
    }
    should(helper.getNode("delayed").context().get("sshShutdownPending")).equal(undefined);

    // cancelled: a second cancel has nothing to do, and the status still says what was done
    const delayedDone = collectCompleted(helper.getNode("delayed"));
    helper.getNode("delayed").receive({ action: "cancel" });
    await waitUntil("the second cancel handled", () => delayedDone.length === 1);
    should(last(statusTexts(helper.getNode("delayed")))).match(SAID.cancelled);
    should(commands("s5")).eql([SHUTDOWN, CANCEL]);
    should(got).have.length(5);
  });

  it("pending shutdowns: forgotten at a redeploy with no context store configured (and warned about)", async () => {
    const hosts = [host("s5")];
    const flow = [shutdownNode("n", ["s5"])];
    await load(hosts, flow);
    should(loggedText()).containEql(SAID.memoryStore);
    const out = helper.getNode("out");
    helper.getNode("n").receive({});
    await waitForCalls(out, "input", 1);
    // Node-RED deletes a node's context when the node closes unless a context store is configured
    await helper.setFlows([...hosts.map((h) => h.node), ...flow, { id: "out", type: "helper" }], "full", hosts[0].creds);
    const status = waitForCalls(helper.getNode("n"), "call:status", 1);
    helper.getNode("n").receive({ action: "cancel" });
    await status;
    should(statusTexts(helper.getNode("n")).at(-1)).equal(SAID.nothingToCancel);
    should(commands("s5")).eql([SHUTDOWN]);
  });

  it("pending shutdowns: kept across a restart with a persistent (localfilesystem) context store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ssh-context-"));
    helper.settings({ contextStorage: { default: { module: "localfilesystem", config: { dir, flushInterval: 30 } } } });
    try {
      const hosts = [host("s6"), host("s7")];
      const creds = Object.assign({}, ...hosts.map((h) => h.creds)) as Creds;
      const flow = [...hosts.map((h) => h.node), shutdownNode("n", ["s6", "s7"]), { id: "out", type: "helper" }];
      const start = async (): Promise<void> => {
        await loadContextStores(); // a fresh store instance, reading what is on disk
        await helper.setFlows(flow, "full", creds);
      };
      await load(hosts, []);
      await start();
      should(loggedText()).not.containEql(SAID.memoryStore);
      helper.getNode("n").receive({});
      await waitForCalls(helper.getNode("out"), "input", 2);

      await closeContextStores(); // "restart": the store is flushed and closed, then opened again
      await start();
      const out = helper.getNode("out");
      const got = collect(out);
      helper.getNode("n").receive({ action: "cancel" });
      await waitForCalls(out, "input", 2);
      should(
        results(got)
          .map((r) => [r.host, r.action, r.ok])
          .sort(),
      ).eql([
        ["s6", "cancel", true],
        ["s7", "cancel", true],
      ]);
      should(commands("s6")).eql([SHUTDOWN, CANCEL]);
    } finally {
      await helper.unload();
      await closeContextStores();
      helper.settings({});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("check verifies the privilege with sudo -n -l and reports a host where it fails", async () => {
    const { out, got } = await load([host("s8"), host("s9")], [shutdownNode("n", ["s8", "s9"], { action: "check" })]);
    lab.behave("s9", { exit: 1, reply: "Sorry, user nuttest is not allowed to execute '/sbin/shutdown -c' as root\n" });
    const errors = waitForCalls(helper.getNode("n"), "call:error", 1);
    helper.getNode("n").receive({});
    await waitForCalls(out, "input", 2);
    const check = `sudo -n -l /sbin/shutdown -h +2 'Power failure' && ${CANCEL.replace("sudo -n", "sudo -n -l")}`;
    should(commands("s8")).eql([check]);
    const byHost = Object.fromEntries(results(got).map((r) => [r.host, r]));
    should(byHost.s8.ok).be.true();
    should(byHost.s9.ok).be.false();
    should(byHost.s9.exitCode).equal(1);
    should(String((await errors)[0].args[0])).match(/^s9: check FAILED: exit code 1: sshlab s9: exit 1 as configured/);
    should(last(statusTexts(helper.getNode("n")))).match(SAID.checkFailed);
  });

  it("simulate makes no connection at all: nothing recorded, no TCP connection accepted", async () => {
    const before = ["s10", "s11"].map((n) => lab.connections(n));
    const { out, got } = await load([host("s10"), host("s11")], [shutdownNode("n", ["s10", "s11"], { action: "simulate" })]);
    helper.getNode("n").receive({});
    await waitForCalls(out, "input", 2);
    should(
      results(got)
        .map((r) => [r.host, r.command, r.ok])
        .sort(),
    ).eql([
      ["s10", SHUTDOWN, true],
      ["s11", SHUTDOWN, true],
    ]);
    should(commands("s10")).eql([]);
    should(commands("s11")).eql([]);
    should(["s10", "s11"].map((n) => lab.connections(n))).eql(before);
  });

  it("a message that tries to set a host or a command is refused and reaches no host", async () => {
    const before = lab.connections("s12");
    await load([host("s12")], [shutdownNode("n", ["s12"])]);
    const n = helper.getNode("n");
    for (const msg of [{ host: "127.0.0.1" }, { command: "id" }, { action: "format" }, { address: lab.host("s1").address, action: "cancel" }]) {
      const error = waitForCalls(n, "call:error", 1);
      n.receive(msg);
      await error;
    }
    should(commands("s12")).eql([]);
    should(lab.connections("s12")).equal(before);
  });

  it("20 hosts, 2 hung: every live host is recorded and reported before the hung ones give up", async () => {
    const fleet = Array.from({ length: 20 }, (_, i) => `s${i + 1}`);
    lab.behave("s20", { sleep: 300 });
    const hosts = fleet.map((n) => (n === "s19" ? host(n, "keyFile", { address: lab.blackhole.address }) : host(n)));
    const { out, got } = await load(hosts, [shutdownNode("n", fleet, { connectTimeout: 6, commandTimeout: 6, deadline: 6 })]);
    const seen: { host: string; recorded: string[] }[] = [];
    out.on("input", (m: Record<string, unknown>) => {
      const recorded = lab
        .records()
        .filter((r) => r.command === SHUTDOWN)
        .map((r) => r.host);
      seen.push({ host: String(m.topic), recorded });
    });
    const before = lab.records().length;
    helper.getNode("n").receive({});
    await waitForCalls(out, "input", 20);
    const live = fleet.filter((n) => n !== "s19" && n !== "s20");
    should(
      seen
        .slice(-2)
        .map((s) => s.host)
        .sort(),
    ).eql(["s19", "s20"], "the hung hosts report last");
    should(
      seen
        .slice(0, 18)
        .map((s) => s.host)
        .sort(),
    ).eql([...live].sort());
    for (const n of live) should(seen[18].recorded.includes(n)).be.true(`${n} recorded before a hung host gave up`);
    const byHost = Object.fromEntries(results(got).map((r) => [r.host, r]));
    should(byHost.s19.error ?? "").match(/no SSH handshake/);
    should(byHost.s20.error ?? "").match(/command still running/);
    should(lab.records().length - before).equal(19, "18 live hosts + the hung command, each once");
    should(last(statusTexts(helper.getNode("n")))).match(SAID.sentFailed);
  });

  it("retries until the host comes up within the deadline", async () => {
    await lab.stopHost("late");
    const { out, got } = await load([host("late")], [shutdownNode("n", ["late"], { deadline: 30 })]);
    const n = helper.getNode("n");
    n.receive({});
    await waitUntil("a retrying status", () => statusTexts(n).some((t) => SAID.retrying.test(t)));
    await lab.startHost("late");
    await waitForCalls(out, "input", 1);
    const [r] = results(got);
    should(r.ok).be.true(r.error ?? "");
    should(r.attempts).be.aboveOrEqual(2);
    should(commands("late")).eql([SHUTDOWN]);
    should(String(got[0].summary)).match(/^late: shutdown sent \(exit 0, \d+ attempts, /);
  });

  it("200 messages at once: one connection and one recorded shutdown per host; 16 messages share the run, the rest are refused; every message is done", async () => {
    const names = ["s1", "s2"];
    const before = names.map((h) => lab.connections(h));
    const { got } = await load(
      names.map((h) => host(h)),
      [shutdownNode("n", names)],
    );
    const n = helper.getNode("n");
    const handled = collectCompleted(n);
    const errors: string[] = [];
    n.on("call:error", (c: { args: unknown[] }) => errors.push(String((c.args[0] as Error).message ?? c.args[0])));
    for (let i = 0; i < 200; i++) n.receive({ payload: i, seq: i }); // (not msg.req: Node-RED's clone treats it as an HTTP request)
    // done() is reported at once; a sent message and an error reach their listeners a turn later: wait for all, then let the rest settle
    const expected = { results: MAX_SHARED_REQUESTS * names.length, refused: 200 - MAX_SHARED_REQUESTS };
    await waitUntil(
      "every message done, its results and errors delivered",
      () => handled.length === 200 && got.length >= expected.results && errors.length >= expected.refused,
      30_000,
    );
    await settle();
    should(commands("s1")).eql([SHUTDOWN]);
    should(commands("s2")).eql([SHUTDOWN]);
    await waitUntil("sshd logged its connections", () => names.every((h, i) => lab.connections(h) > before[i]));
    should(names.map((h, i) => lab.connections(h) - before[i])).eql([1, 1], "one connection per host");
    // the first MAX_SHARED_REQUESTS messages each get one result per host: the run's
    const perMessage = new Map<number, string[]>();
    for (const m of got) perMessage.set(Number(m.seq), [...(perMessage.get(Number(m.seq)) ?? []), String(m.topic)].sort());
    should([...perMessage.keys()].sort((a, b) => a - b)).eql(Array.from({ length: MAX_SHARED_REQUESTS }, (_, i) => i));
    for (const hosts of perMessage.values()) should(hosts).eql(names);
    should(results(got).every((r) => r.ok)).be.true("every shared result is the run's success");
    should(got.filter((m) => !(m.payload as ShutdownResult).joined).map((m) => m.seq)).eql([0, 0], "the first message ran it, once per host");
    should(got).have.length(expected.results);
    should(errors.filter((e) => SAID.busy.test(e))).have.length(expected.refused);
    should(errors.length).equal(expected.refused, "no failure besides the refusals");
  });

  it("a request for a run in progress joins it: a host that answered is not contacted again, a host still retrying is shared", async () => {
    await lab.stopHost("late");
    const before = lab.connections("s3");
    const { out, got } = await load([host("late"), host("s3")], [shutdownNode("n", ["late", "s3"], { deadline: 30 })]);
    const n = helper.getNode("n");
    n.receive({ payload: "first" });
    await waitUntil("s3 done and late retrying", () => got.length === 1 && statusTexts(n).some((t) => SAID.retrying.test(t)));
    n.receive({ payload: "second" });
    await waitUntil("the second message has s3's result at once", () => got.length === 2);
    should([got[1].payload, got[1].topic].map(String)).eql(["[object Object]", "s3"]);
    should((got[1].payload as ShutdownResult).joined).be.true();
    await lab.startHost("late");
    await waitForCalls(out, "input", 2);
    should(commands("s3")).eql([SHUTDOWN], "sent once, for both messages");
    should(commands("late")).eql([SHUTDOWN], "sent once, for both messages");
    should(lab.connections("s3") - before).equal(1);
    const late = got.filter((m) => m.topic === "late").map((m) => m.payload as ShutdownResult);
    should(late.map((r) => [r.ok, r.joined])).eql([
      [true, false],
      [true, true],
    ]);
    should(String(got.at(-1)?.summary)).match(/^late: shutdown sent \(exit 0, \d+ attempts, [\d.]+ s, shared with an earlier message\)$/);
  });

  it("stopped while a shutdown is still retrying: a warning names the host (it is not sent, nor resumed after the restart)", async () => {
    await lab.stopHost("late");
    const { got } = await load([host("late"), host("s3")], [shutdownNode("n", ["late", "s3"], { deadline: 30 })]);
    const n = helper.getNode("n");
    n.receive({ payload: "go" });
    await waitUntil("s3 done and late retrying", () => got.length === 1 && statusTexts(n).some((t) => SAID.retrying.test(t)));
    await helper.clearFlows();
    const log = loggedText();
    should(log.includes(`${SAID.notSentAtClose} late:`)).be.true("the operator is told");
    should(log.split(SAID.notSentAtClose).length - 1).equal(1, "only for the host not reached (s3 got it)");
    should(commands("late")).eql([]);
  });

  it("a shutdown asked for after a cancel does not join the stopped run: it is sent", async () => {
    await lab.stopHost("late");
    const { got } = await load([host("late")], [shutdownNode("n", ["late"], { deadline: 30 })]);
    const n = helper.getNode("n");
    n.receive({});
    await waitUntil("late retrying", () => statusTexts(n).some((t) => SAID.retrying.test(t)));
    n.receive({ reset: true }); // power back: the unsent shutdown stops
    await waitUntil("the stopped shutdown reported", () => got.length === 1);
    should((got[0].payload as ShutdownResult).error).equal(SAID.stoppedByCancel);
    n.receive({}); // power lost again
    await waitUntil("the new shutdown retrying", () => statusTexts(n).filter((t) => SAID.retrying.test(t)).length >= 2);
    await lab.startHost("late");
    await waitUntil("the new shutdown's result", () => got.length === 2);
    const r = got[1].payload as ShutdownResult;
    should([r.ok, r.joined]).eql([true, false], r.error ?? "");
    should(commands("late")).eql([SHUTDOWN]);
  });

  it("one connection per host and action: a shutdown asked for while a cancelled run's command still runs waits for it", async () => {
    lab.behave("s7", { sleep: 2 });
    const { out, got } = await load([host("s7")], [shutdownNode("n", ["s7"], { commandTimeout: 10 })]);
    const n = helper.getNode("n");
    const shutdownsWhenFirstEnded: number[] = [];
    out.on("input", (m: Record<string, unknown>) => {
      const r = m.payload as ShutdownResult;
      if (r.action === "shutdown" && shutdownsWhenFirstEnded.length === 0) shutdownsWhenFirstEnded.push(commands("s7").filter((c) => c === SHUTDOWN).length);
    });
    n.receive({});
    await lab.waitForRecords((r) => r.some((x) => x.command === SHUTDOWN)); // sent; the command runs for 2 s
    n.receive({ reset: true }); // power back: cancels the pending delayed shutdown
    await lab.waitForRecords((r) => r.some((x) => x.command === CANCEL));
    n.receive({}); // power lost again: a new run, but the first shutdown's connection is still open
    await waitUntil("both shutdowns and the cancel reported", () => got.length === 3, 20_000);
    should(shutdownsWhenFirstEnded).eql([1], "the second shutdown connected only after the first one ended");
    should(commands("s7")).eql([SHUTDOWN, CANCEL, SHUTDOWN]);
    should(results(got).map((r) => [r.action, r.ok, r.joined])).eql([
      ["shutdown", true, false],
      ["cancel", true, false],
      ["shutdown", true, false],
    ]);
  });

  it("check is a test: one attempt per host, it fails fast and its status counts the failures", async () => {
    const refused = host("s4", "keyFile", { address: lab.refused.address });
    const { out, got } = await load([refused], [shutdownNode("n", ["s4"], { action: "check", connectTimeout: 10, deadline: 55 })]);
    const n = helper.getNode("n");
    n.receive({});
    await waitForCalls(out, "input", 1);
    const [r] = results(got);
    should(r.ok).be.false();
    should(r.attempts).equal(1, "no retry for a check");
    should(r.error ?? "").match(/connection refused/);
    should(last(statusTexts(n))).match(SAID.checkFailed);
    should(statusTexts(n).some((t) => SAID.retrying.test(t))).be.false();

    // the operator may ask for retries: then it retries like a shutdown
    await helper.unload();
    const again = await load([refused], [shutdownNode("n", ["s4"], { action: "check", deadline: 3, checkRetry: true })]);
    helper.getNode("n").receive({});
    await waitForCalls(again.out, "input", 1);
    should(results(again.got)[0].attempts).be.aboveOrEqual(2, `retried: ${results(again.got)[0].attempts} attempts`);
  });

  it("check against a host that never answers: one connection, ended by the connect timeout", async () => {
    const before = lab.blackholeConnections();
    const { out, got } = await load(
      [host("s5", "keyFile", { address: lab.blackhole.address })],
      [shutdownNode("n", ["s5"], { action: "check", connectTimeout: 2, deadline: 55 })],
    );
    helper.getNode("n").receive({});
    await waitForCalls(out, "input", 1, 20_000);
    const [r] = results(got);
    should(r.attempts).equal(1);
    should(r.error ?? "").match(/no SSH handshake .* within 2 s, the connect timeout/);
    should(lab.blackholeConnections() - before).equal(1);
  });

  it("after the outage the status keeps what was done; 'nothing to cancel' shows only when nothing was done", async () => {
    const { out } = await load(
      [host("s6")],
      [shutdownNode("done", ["s6"], { preset: "linux-poweroff" }), shutdownNode("idle", ["s6"], { allowed: ["check"] })],
    );
    const nodeDone = helper.getNode("done");
    nodeDone.receive({});
    await waitForCalls(out, "input", 1);
    should(last(statusTexts(nodeDone))).match(SAID.sent);
    const handled = collectCompleted(nodeDone);
    const shown = statusTexts(nodeDone).length;
    nodeDone.receive({ reset: true }); // power back: an immediate shutdown has nothing to cancel
    nodeDone.receive({ payload: { event: "OUTAGE_END" }, outage: { id: "o1", since: 1, ended: 2 } });
    await waitUntil("both handled", () => handled.length === 2);
    should(statusTexts(nodeDone).length).equal(shown, "the status that told what happened stays");
    const idle = helper.getNode("idle");
    const idleHandled = collectCompleted(idle);
    idle.receive({ reset: true }); // no cancel allowed, nothing done yet
    await waitUntil("handled", () => idleHandled.length === 1);
    should(statusTexts(idle).at(-1)).equal(SAID.restoredNoCancel);
    should(commands("s6")).eql(["sudo -n /bin/systemctl poweroff"]);
  });

  it("a cancel stops a shutdown still trying to reach its host; it never arrives", async () => {
    await lab.stopHost("late");
    const { out, got } = await load([host("late"), host("s13")], [shutdownNode("n", ["late", "s13"], { deadline: 30 })]);
    const n = helper.getNode("n");
    n.receive({});
    await waitUntil("s13 done and late retrying", () => got.length === 1 && statusTexts(n).some((t) => SAID.retrying.test(t)));
    const warned = waitForCalls(n, "call:warn", 1);
    n.receive({ action: "cancel" });
    await waitForCalls(out, "input", 2);
    await warned;
    const late = results(got).find((r) => r.host === "late" && r.action === "shutdown");
    should(late?.ok).be.false();
    should(late?.error).equal(SAID.stoppedByCancel);
    should(commands("s13")).eql([SHUTDOWN, CANCEL]);
    await lab.startHost("late");
    should(commands("late")).eql([]);
  });

  it("stop/redeploy ends in-flight connections and finishes closing without waiting for the command", async () => {
    lab.behave("s14", { sleep: 300 });
    const log = (): string => readFileSync(join(lab.dir, "hosts", "s14", "sshd.log"), "utf8");
    const { got } = await load([host("s14")], [shutdownNode("n", ["s14"], { commandTimeout: 3600 })]);
    helper.getNode("n").receive({});
    await lab.waitForRecords((r) => r.some((x) => x.host === "s14"));
    const ends = (log().match(/Connection (closed|reset)|Disconnected|Received disconnect|Close session/g) ?? []).length;
    await helper.unload(); // would hang for an hour if close waited for the command
    await waitUntil(
      "sshd to see the connection end",
      () => (log().match(/Connection (closed|reset)|Disconnected|Received disconnect|Close session/g) ?? []).length > ends,
    );
    should(got.length).equal(0, "no result after close");
  });

  it("secrets never appear in messages, logs, status or errors", async () => {
    const wrongPass = host("s15", "passphrase");
    wrongPass.creds["host-s15"].passphrase = "wrong-" + lab.passphrase;
    const badPassword = host("s16", "password");
    badPassword.creds["host-s16"].password = "Wrong-Pw-" + lab.password;
    const hosts = [host("s17", "pastedRsa"), host("s18", "passphrase"), wrongPass, badPassword, host("s12", "password")];
    const { out, got } = await load(hosts, [shutdownNode("n", ["s17", "s18", "s15", "s16", "s12"], { action: "check", deadline: 1 })]);
    helper.getNode("n").receive({});
    await waitForCalls(out, "input", 5);
    helper.getNode("n").receive({ action: "shutdown" });
    await waitForCalls(out, "input", 5);
    const byHost = Object.fromEntries(results(got).map((r) => [r.host, r]));
    should(byHost.s15.error ?? "").match(/wrong passphrase/);
    should(byHost.s16.error ?? "").match(/authentication failed/);
    const everything = [JSON.stringify(got), loggedText(), JSON.stringify(statusTexts(helper.getNode("n")))].join("\n");
    const secrets = [lab.password, lab.passphrase, "Wrong-Pw-" + lab.password];
    for (const k of ["rsa", "ed25519Pass"] as const) {
      secrets.push(
        ...lab
          .keyText(k)
          .split("\n")
          .filter((l) => l.length > 20 && !l.startsWith("-----"))
          .map((l) => l.slice(0, 24)),
      );
    }
    for (const s of secrets) should(everything.includes(s)).be.false(`secret leaked: ${s.slice(0, 6)}…`);
    should(everything.includes("authentication failed")).be.true("the scan saw the errors");
  });

  it("a changed host key is refused by the node, naming both fingerprints; nothing runs", async () => {
    const pinned = lab.host("rekeyed").fingerprints.ed25519;
    const { out, got } = await load([host("rekeyed")], [shutdownNode("n", ["rekeyed"])]);
    const now = (await lab.rekey("rekeyed")).fingerprints.ed25519;
    const errors = waitForCalls(helper.getNode("n"), "call:error", 1);
    helper.getNode("n").receive({});
    await waitForCalls(out, "input", 1);
    const [r] = results(got);
    should(r.ok).be.false();
    should(r.attempts).equal(1);
    should(r.error?.includes(pinned)).be.true(r.error ?? "");
    should(r.error!.includes(now)).be.true(r.error ?? "");
    should(String((await errors)[0].args[0])).match(/^rekeyed: shutdown FAILED: host key of rekeyed/);
    should(commands("rekeyed")).eql([]);
  });

  it("an unknown host key with no pin is refused (and warned about at deploy)", async () => {
    const { out, got } = await load([host("s11", "keyFile", { fingerprints: "" })], [shutdownNode("n", ["s11"])]);
    should(loggedText()).containEql(SAID.noPin);
    helper.getNode("n").receive({});
    await waitForCalls(out, "input", 1);
    should(results(got)[0].error ?? "").match(/no fingerprint is pinned \(expected: none\), the server offered SHA256:/);
    should(commands("s11")).eql([]);
  });

  it("the fingerprint button's endpoint returns the server's fingerprints, and nothing else", async () => {
    await load([host("multi")], []);
    const m = lab.host("multi");
    const want = [`ssh-ed25519 ${m.fingerprints.ed25519}`, `ecdsa-sha2-nistp256 ${m.fingerprints.ecdsa}`, `ssh-rsa ${m.fingerprints.rsa}`].sort();
    for (const body of [{ id: "host-multi" }, { address: m.address, port: m.port }, { id: "not-deployed-yet", address: m.address, port: String(m.port) }]) {
      const r = await helper.request().post("/ssh-host/fingerprints").send(body);
      should(r.status).equal(200, JSON.stringify(r.body));
      should(Object.keys(r.body as object)).eql(["fingerprints"]);
      const fps = (r.body as { fingerprints: { type: string; fingerprint: string }[] }).fingerprints;
      should(fps.map((f) => Object.keys(f).sort().join())).eql(fps.map(() => "fingerprint,type"));
      should(fps.map((f) => `${f.type} ${f.fingerprint}`).sort()).eql(want);
    }
    should(commands("multi")).eql([], "no login");
    // what fails is said with a code and our own text, nothing the peer sent
    for (const [where, code] of [
      [lab.refused, "refused"],
      [lab.blackhole, "timeout"],
    ] as const) {
      const r = await helper.request().post("/ssh-host/fingerprints").send({ address: where.address, port: where.port });
      should(r.status).equal(502);
      should(r.body).eql({ code, error: translator()(`ssh-host.fetch.err.${code}`, { address: `${where.address}:${where.port}` }) });
    }
  });

  describe("guests before hosts", () => {
    /** The guest steps and their checks the node builds for the lab's user (core/ssh/guests.ts, unit-tested there). */
    const planFor = (raw: RawGuestConfig): ReturnType<typeof guestPlan> => guestPlan(readGuestConfig(raw, []), lab.user);

    it("shutdown: the guest step, then the host's shutdown, in order, on one connection; the result carries the step", async () => {
      const raw = { guests: "proxmox", guestTag: "ups", guestTimeout: 90 };
      const [step] = planFor(raw).steps;
      const conns = lab.connections("s13");
      const { out, got } = await load([host("s13")], [shutdownNode("n", ["s13"], { preset: "proxmox", ...raw })]);
      helper.getNode("n").receive({});
      await waitForCalls(out, "input", 1);
      should(commands("s13")).eql([step.command, SHUTDOWN], "the guests first, then the host");
      should(lab.connections("s13") - conns).equal(1, "one SSH connection for the guest step and the host's command");
      const r = results(got)[0];
      should(r.ok).be.true(r.error ?? "");
      should(r.steps.map((s) => [s.label, s.command, s.ok, s.exitCode])).eql([["stop Proxmox guests tagged ups", step.command, true, 0]]);
      // the recorder echoes the step: its output, cut to 1000 characters in the result
      should(r.steps[0].stdout).equal(`[sshlab s13] recorded: ${step.command}\n`.slice(0, 1000) + "…");
      should(String(got[0].summary)).match(/^s13: shutdown sent \(exit 0, \d+\.\d s\)$/);
    });

    it("Docker: one step per project in the listed order; a failed step is reported and the host still goes down", async () => {
      const raw = { guests: "docker", guestProjects: "web db", guestTimeout: 20 };
      const steps = planFor(raw).steps;
      lab.behaveOn("s14", steps[0].command, { exit: 1, reply: "no such project: web" });
      const { out, got } = await load([host("s14")], [shutdownNode("n", ["s14"], { preset: "linux-poweroff", ...raw })]);
      helper.getNode("n").receive({});
      await waitForCalls(out, "input", 1);
      should(commands("s14")).eql([steps[0].command, steps[1].command, "sudo -n /bin/systemctl poweroff"]);
      const r = results(got)[0];
      should(r.ok).be.true("the battery will not wait: the host's shutdown is sent whatever became of a guest step");
      should(r.steps.map((s) => [s.label, s.ok, s.exitCode])).eql([
        ["docker compose down web", false, 1],
        ["docker compose down db", true, 0],
      ]);
      should(String(got[0].summary)).match(/^s14: shutdown sent \(exit 0, [^)]*\); guest step FAILED: docker compose down web: exit code 1: /);
      const logged = helper
        .log()
        .getCalls()
        .map((c) => c.args[0] as { level: number; msg: unknown })
        .filter((e) => e.msg === got[0].summary);
      should(logged.map((e) => e.level)).eql([30], "logged once, as a warning (not an error: the host went down)");
    });

    it("check: each step's privilege check before the host's check; a refused one fails the check; simulate runs nothing", async () => {
      const raw = { guests: "libvirt", guestForce: true };
      const { steps, checks } = planFor(raw);
      should(checks[0].command).equal(
        "sudo -n -l /usr/bin/virsh list --uuid --state-running && sudo -n -l /usr/bin/virsh shutdown 00000000-0000-0000-0000-000000000000 && " +
          "sudo -n -l /usr/bin/virsh destroy 00000000-0000-0000-0000-000000000000",
      );
      lab.behaveOn("s15", checks[0].command, { exit: 1, reply: "" });
      const { out, got } = await load([host("s15"), host("s16")], [shutdownNode("n", ["s15", "s16"], { ...raw, action: "check" })]);
      helper.getNode("n").receive({});
      await waitForCalls(out, "input", 2);
      const hostCheck = "sudo -n -l /sbin/shutdown -h +2 'Power failure' && sudo -n -l /sbin/shutdown -c";
      for (const n of ["s15", "s16"]) should(commands(n)).eql([checks[0].command, hostCheck], n);
      const byHost = new Map(results(got).map((r) => [r.host, r]));
      should(byHost.get("s16")?.ok).be.true();
      should(byHost.get("s15")?.ok).be.false("a guest step's privilege is missing");
      should(byHost.get("s15")?.error).match(/^guest step "check: stop libvirt domains" exit code 1/);
      should(last(statusTexts(helper.getNode("n")))).match(SAID.checkFailed);

      helper.getNode("n").receive({ action: "simulate" });
      await waitForCalls(out, "input", 2);
      should(commands("s16")).have.length(2, "simulate opens no connection");
      should(String(got[2].summary)).equal(`s15: simulate, would run: stop libvirt domains, then ${SHUTDOWN}`);
      should(results(got)[2].steps.map((s) => s.command)).eql([steps[0].command]);
    });
  });

  it("power back is never a shutdown: aggregate → once per outage → ssh shutdown sends one shutdown, then one cancel; no reset spelling runs a shutdown", async () => {
    const A = "ups1@nas:3493";
    const { out, got } = await load(
      [host("s1")],
      [
        aggregateNodeDef([A], { confirm: 0, restore: 0, wires: [["latch"]] }),
        { id: "latch", type: "outage-latch", name: "", key: "outage", store: "", forwardReset: true, wires: [["n"]] },
        shutdownNode("n", ["s1"]),
      ],
      [aggregateNode, latchNode],
    );
    const agg = helper.getNode("agg");
    agg.receive({ topic: A, payload: ups(A, "OB DISCHRG", { charge: 80 }) });
    await waitForCalls(out, "input", 1);
    should(commands("s1")).eql([SHUTDOWN]);
    agg.receive({ topic: A, payload: ups(A, "OB DISCHRG", { charge: 70 }) });
    agg.receive({ topic: A, payload: ups(A, "OL CHRG", { charge: 70 }) });
    await waitForCalls(out, "input", 1);
    should(commands("s1")).eql([SHUTDOWN, CANCEL], "power back: the pending shutdown is cancelled, not sent again");
    const n = helper.getNode("n");
    const handled = collectCompleted(n);
    for (const reset of [true, "true", 1, "yes", 0, "", {}, null]) n.receive({ reset, payload: { charge: 5 }, topic: "inject" });
    n.receive({ reset: true, action: "shutdown" });
    n.receive({ payload: { policy: "weakest", onBattery: false, critical: false, event: "POWER_BACK" } });
    await waitUntil("every message handled", () => handled.length >= 10, 10_000);
    should(commands("s1").slice(2).includes(SHUTDOWN)).be.false(`no shutdown after power back: ${commands("s1").join(" | ")}`);
    should(got.filter((m) => (m.payload as ShutdownResult).action === "shutdown")).have.length(1);
  });
});
