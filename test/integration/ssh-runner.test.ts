/**
 * core/ssh/runner.ts against real sshd hosts: connect, host-key pinning,
 * timeouts, retries and the recorded commands.
 */
import should from "../harness/should";
import { utils } from "ssh2";
import { fetchHostKeys, parsePins } from "../../core/ssh/hostkey";
import { runAll, runCommand } from "../../core/ssh/runner";
import { SshSession } from "../../core/ssh/session";
import type { Job, RunOptions, RunOutcome, SshTarget } from "../../core/ssh/runner";
import { requireComponent } from "../harness/system";
import { labTarget } from "../harness/ssh-target";
import { SSH_LAB_INSTALL, SshLab, sshLabMissing } from "../harness/ssh-lab";
import type { ClientKey } from "../harness/ssh-lab";

const RUN: RunOptions = { connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadlineMs: 5000, retryDelayMs: 100 };
const HOSTS = 20;

describe("SSH runner against real sshd hosts", function () {
  this.timeout(60000);
  let lab: SshLab;

  before(async function () {
    requireComponent(this, "OpenSSH sshd as root", sshLabMissing(), SSH_LAB_INSTALL);
    const specs = Array.from({ length: HOSTS }, (_, i) => ({ name: `h${i + 1}` }));
    lab = await SshLab.start({ hosts: [...specs, { name: "multi", rsa: true, ecdsa: true }, { name: "late" }] });
  });
  after(async () => {
    await lab?.stop();
  });
  afterEach(() => {
    lab?.resetBehaviours();
  });

  const target = (name: string, over: Partial<SshTarget> = {}, key: ClientKey = "ed25519"): SshTarget => labTarget(lab, name, over, key);
  const lastRecord = (name: string): string | undefined => lab.records(name).at(-1)?.command;

  describe("authentication", () => {
    for (const key of ["ed25519", "rsa", "ecdsa", "ed25519Pass", "rsaPass"] as ClientKey[]) {
      it(`succeeds with the ${key} key (${key === "rsa" || key === "rsaPass" ? "PEM" : "OpenSSH"} format)`, async () => {
        const cmd = `shutdown with ${key}`;
        const o = await runCommand(target("h1", {}, key), cmd, RUN);
        should(o.ok).be.true(o.error ?? "");
        should(o.exitCode).equal(0);
        should(o.attempts).equal(1);
        should(o.stdout).equal(`[sshlab h1] recorded: ${cmd}\n`);
        const r = lab.records("h1").at(-1);
        should(r?.command).equal(cmd);
        should(r?.auth).equal("publickey");
      });
    }

    it("succeeds with a password", async () => {
      const o = await runCommand(target("h2", { key: null, password: lab.password }), "by password", RUN);
      should(o.ok).be.true(o.error ?? "");
      should(lab.records("h2").at(-1)?.auth).equal("password");
    });

    it("an encrypted key is decrypted once, not per connection", async () => {
      const original = utils.parseKey;
      let parses = 0;
      utils.parseKey = ((...args: Parameters<typeof original>) => {
        parses++;
        return original(...args);
      }) as typeof original;
      try {
        const t = target("h3", {}, "ed25519Pass");
        should(parses).equal(1, "parsed when loaded");
        for (let i = 0; i < 4; i++) should((await runCommand(t, `again ${i}`, RUN)).ok).be.true();
        should(parses).equal(1, "not parsed again by any connection");
        should(
          lab
            .records("h3")
            .map((r) => r.command)
            .filter((c) => c.startsWith("again")),
        ).eql(["again 0", "again 1", "again 2", "again 3"]);
      } finally {
        utils.parseKey = original;
      }
    });

    it("an unauthorised key fails authentication once, without retrying, and nothing runs", async () => {
      const before = lab.records("h4").length;
      const o = await runCommand(target("h4", {}, "unauthorized"), "never", RUN);
      should(o.ok).be.false();
      should(o.attempts).equal(1);
      should(o.sent).be.false();
      should(o.error ?? "").match(/^authentication failed for user nuttest on 127\.0\.40\.4:\d+ \(tried: publickey\)$/);
      should(lab.records("h4")).have.length(before);
    });

    it("a wrong password fails authentication and is not retried", async () => {
      const o = await runCommand(target("h4", { key: null, password: "not-the-password" }), "never", RUN);
      should(o.attempts).equal(1);
      should(o.error ?? "").match(/authentication failed .*\(tried: password\)/);
      should(o.error ?? "").not.containEql("not-the-password");
    });
  });

  describe("host keys", () => {
    it("a changed host key is refused, naming the pinned and the offered fingerprints; nothing runs", async () => {
      const pinned = lab.host("h5").fingerprints.ed25519;
      const t = target("h5");
      should((await runCommand(t, "before", RUN)).ok).be.true();
      const now = (await lab.rekey("h5")).fingerprints.ed25519;
      const o = await runCommand(t, "after rekey", RUN);
      should(o.ok).be.false();
      should(o.attempts).equal(1, "never retried");
      should(o.error?.includes(`expected ${pinned}`)).be.true(o.error ?? "");
      should(o.error?.includes(`offered ${now}`)).be.true(o.error ?? "");
      should(lastRecord("h5")).equal("before");
    });

    it("an unknown host key with no pin is refused, naming the offered fingerprint", async () => {
      const before = lab.records("h6").length;
      const o = await runCommand(target("h6", { pins: [] }), "never", RUN);
      should(o.ok).be.false();
      should(o.error ?? "").match(/no fingerprint is pinned \(expected: none\)/);
      should(o.error?.includes(lab.host("h6").fingerprints.ed25519)).be.true();
      should(lab.records("h6")).have.length(before);
    });

    it("a host pinned only by its RSA (or ECDSA) fingerprint is asked for that key type", async () => {
      const m = lab.host("multi");
      for (const pin of [`ssh-rsa ${m.fingerprints.rsa}`, `256 ${m.fingerprints.ecdsa} x (ECDSA)`]) {
        const o = await runCommand(target("multi", { pins: parsePins(pin).pins }), `pinned ${pin.slice(0, 7)}`, RUN);
        should(o.ok).be.true(o.error ?? "");
      }
      // untyped RSA pin: the server shows its ed25519 key first, and the refusal explains what to do
      const untyped = await runCommand(target("multi", { pins: parsePins(m.fingerprints.rsa ?? "").pins }), "x", RUN);
      should(untyped.ok).be.false();
      should(untyped.error ?? "").match(/write its type before the fingerprint/);
      should(untyped.error?.includes(m.fingerprints.ed25519)).be.true();
    });

    it("accepts any key only with the explicit insecure option", async () => {
      const o = await runCommand(target("h6", { pins: parsePins("SHA256:" + "A".repeat(43)).pins, acceptAnyHostKey: true }), "insecure", RUN);
      should(o.ok).be.true();
      should(lastRecord("h6")).equal("insecure");
    });

    it("fetches every fingerprint a server offers, without logging in", async () => {
      const m = lab.host("multi");
      const before = lab.records("multi").length;
      const keys = await fetchHostKeys(m.address, m.port, 5000);
      should(keys.map((k) => `${k.type} ${k.fingerprint}`).sort()).eql(
        [`ssh-ed25519 ${m.fingerprints.ed25519}`, `ecdsa-sha2-nistp256 ${m.fingerprints.ecdsa}`, `ssh-rsa ${m.fingerprints.rsa}`].sort(),
      );
      should(lab.records("multi")).have.length(before);
      await should(fetchHostKeys(lab.refused.address, lab.refused.port, 2000)).be.rejectedWith({
        name: "FetchHostKeysError",
        code: "refused",
        message: "connection refused",
      });
      await should(fetchHostKeys(lab.blackhole.address, lab.blackhole.port, 500)).be.rejectedWith({
        name: "FetchHostKeysError",
        code: "timeout",
        message: "no SSH handshake in time",
      });
    });
  });

  describe("faults", () => {
    it("refused: retried with backoff until the deadline, then a clear error", async () => {
      const retries: number[] = [];
      const o = await runCommand(target("h7", { address: lab.refused.address }), "never", {
        ...RUN,
        deadlineMs: 1000,
        onRetry: (n) => retries.push(n),
      });
      should(o.ok).be.false();
      should(o.sent).be.false();
      should(o.attempts).be.aboveOrEqual(2, `attempts ${o.attempts}`);
      should(retries).eql(Array.from({ length: o.attempts - 1 }, (_, i) => i + 1));
      should(o.error ?? "").match(/^connection refused by 127\.0\.40\.251:\d+ \(is sshd running\?\)$/);
    });

    it("accepts TCP but never sends a banner: ends at the connect timeout", async () => {
      const o = await runCommand(target("h7", { address: lab.blackhole.address }), "never", { ...RUN, connectTimeoutMs: 700, deadlineMs: 700 });
      should(o.ok).be.false();
      should(o.attempts).equal(1);
      should(o.error ?? "").match(/no SSH handshake from 127\.0\.40\.250:\d+ within 0.7 s, the connect timeout/);
    });

    it("no banner, cut short by the deadline: the error names the deadline, not the connect timeout", async () => {
      const o = await runCommand(target("h7", { address: lab.blackhole.address }), "never", { ...RUN, connectTimeoutMs: 10_000, deadlineMs: 800 });
      should(o.attempts).equal(1);
      should(o.error ?? "").match(/no SSH handshake from 127\.0\.40\.250:\d+ within 0.8 s, what was left of the deadline/);
    });

    it("a command exiting non-zero is a failure with its exit code and stderr, not retried", async () => {
      lab.behave("h8", { exit: 3 });
      const o = await runCommand(target("h8"), "sudo -n /sbin/shutdown -h +1", RUN);
      should(o.ok).be.false();
      should(o.exitCode).equal(3);
      should(o.attempts).equal(1);
      should(o.sent).be.true();
      should(o.stderr).match(/exit 3 as configured/);
      should(o.error).equal("exit code 3: sshlab h8: exit 3 as configured");
      should((await runCommand(target("h8"), "accepted", { ...RUN, okExitCodes: [0, 3] })).ok).be.true();
    });

    it("a command hanging past the command timeout: given up, not retried (it may still run)", async () => {
      lab.behave("h9", { sleep: 300 });
      const o = await runCommand(target("h9"), "hangs", { ...RUN, commandTimeoutMs: 800 });
      should(o.ok).be.false();
      should(o.sent).be.true();
      should(o.attempts).equal(1);
      should(o.error ?? "").match(/^command still running after 0.8 s/);
      should(lastRecord("h9")).equal("hangs");
    });

    it("succeeds when the host comes up before the deadline", async () => {
      await lab.stopHost("late");
      let started: Promise<void> | null = null;
      const o = await runCommand(target("late"), "came up", {
        ...RUN,
        deadlineMs: 20000,
        retryDelayMs: 200,
        // start the host as soon as the first attempt failed: no guessing of delays
        onRetry: () => {
          started ??= lab.startHost("late");
        },
      });
      await started;
      should(o.ok).be.true(o.error ?? "");
      should(o.attempts).be.aboveOrEqual(2);
      should(lab.records("late").map((r) => r.command)).eql(["came up"], "ran once");
    });

    it("bounds the output kept", async () => {
      lab.behave("h10", { reply: "x".repeat(10000) });
      const o = await runCommand(target("h10"), "loud", { ...RUN, outputLimit: 100 });
      should(o.stdout).equal("x".repeat(100) + "… [9900 more bytes]");
    });

    it("connect-only (null command) authenticates and runs nothing", async () => {
      const before = lab.records("h10").length;
      const o = await runCommand(target("h10"), null, RUN);
      should(o.ok).be.true();
      should(o.sent).be.false();
      should(lab.records("h10")).have.length(before);
    });

    it("an abort ends an in-flight connection at once and retries nothing", async () => {
      lab.behave("h11", { sleep: 300 });
      const ac = new AbortController();
      const o = await runCommand(target("h11"), "aborted while running", { ...RUN, commandTimeoutMs: 60000, signal: ac.signal, onSent: () => ac.abort() });
      should(o.aborted).be.true();
      should(o.sent).be.true();
      should(o.error).equal("aborted");
      const ac2 = new AbortController();
      const o2 = await runCommand(target("h11", { address: lab.refused.address }), "never", {
        ...RUN,
        deadlineMs: 60000,
        signal: ac2.signal,
        onRetry: () => ac2.abort(),
      });
      should(o2.aborted).be.true();
      should(o2.attempts).equal(1);
    });
  });

  describe("steps before the command, and sessions opened ahead", () => {
    const commands = (name: string, since: number): string[] =>
      lab
        .records(name)
        .slice(since)
        .map((r) => r.command);
    const step = (label: string, timeoutMs = 5000) => ({ label, command: `step ${label}`, timeoutMs });

    it("runs the steps in order, then the command, on one connection; a failed or hung step does not stop the rest", async () => {
      lab.behaveOn("h12", "step two", { exit: 3 });
      lab.behaveOn("h12", "step three", { sleep: 30 });
      const [records, conns] = [lab.records("h12").length, lab.connections("h12")];
      const o = await runCommand(target("h12"), "the host", { ...RUN, before: [step("one"), step("two"), step("three", 1000), step("four")] });
      should(o.ok).be.true(o.error ?? "");
      should(commands("h12", records)).eql(["step one", "step two", "step three", "step four", "the host"]);
      should(lab.connections("h12") - conns).equal(1, "one connection for every step and the command");
      should(o.steps.map((s) => [s.label, s.ok, s.exitCode])).eql([
        ["one", true, 0],
        ["two", false, 3],
        ["three", false, null],
        ["four", true, 0],
      ]);
      should(o.steps[1].error).match(/^exit code 3: sshlab h12: exit 3 as configured/);
      should(o.steps[2].error).match(/still running after 1 s/);
      should(o.steps[0].stdout).equal("[sshlab h12] recorded: step one\n");
    });

    it("a connection lost after a step: the next step and the command go on a new connection, the step is not sent again", async () => {
      lab.behaveOn("h13", "step two", { drop: true });
      const [records, conns] = [lab.records("h13").length, lab.connections("h13")];
      const o = await runCommand(target("h13"), "the host", { ...RUN, before: [step("one"), step("two"), step("three")] });
      should(o.ok).be.true(o.error ?? "");
      should(commands("h13", records)).eql(["step one", "step two", "step three", "the host"]);
      should(lab.connections("h13") - conns).equal(2);
      should(o.attempts).equal(2);
      should(o.steps.map((s) => s.ok)).eql([true, false, true]);
    });

    it("a session opened ahead carries the command without a handshake; the runner leaves it open", async () => {
      const opened = await SshSession.open(target("h14"), { connectTimeoutMs: 5000 });
      if (!opened.ok) throw new Error(opened.error);
      try {
        const conns = lab.connections("h14");
        const o = await runCommand(target("h14"), "over the open session", { ...RUN, session: opened.session, before: [step("guests")] });
        should(o.ok).be.true(o.error ?? "");
        should(o.reused).be.true();
        should(o.attempts).equal(1);
        should(lab.connections("h14")).equal(conns, "no new connection");
        should(opened.session.isOpen).be.true();
        const again = await opened.session.exec("and again", { timeoutMs: 5000 });
        should(again.exitCode).equal(0);
      } finally {
        await opened.session.close();
      }
      should(opened.session.isOpen).be.false();
    });

    it("a session that dropped before the tier: the runner connects again at once, without a retry pause", async () => {
      const opened = await SshSession.open(target("h15"), { connectTimeoutMs: 5000 });
      if (!opened.ok) throw new Error(opened.error);
      const closed = new Promise<void>((resolve) => opened.session.onClose(resolve));
      await lab.stopHost("h15");
      await lab.startHost("h15");
      await closed;
      const conns = lab.connections("h15");
      const retries: number[] = [];
      const o = await runCommand(target("h15"), "after the drop", { ...RUN, session: opened.session, onRetry: (n) => retries.push(n) });
      should(o.ok).be.true(o.error ?? "");
      should(o.reused).be.false();
      should(o.attempts).equal(1);
      should(retries).eql([]);
      should(lab.connections("h15") - conns).equal(1);
    });

    it("a session refuses a wrong host key and says so; opening again is the caller's choice", async () => {
      const o = await SshSession.open(target("h16", { pins: parsePins("SHA256:" + "A".repeat(43)).pins }), { connectTimeoutMs: 5000 });
      should(o.ok).be.false();
      if (!o.ok) {
        should(o.retryable).be.false();
        should(o.error).match(/host key/i);
      }
    });
  });

  describe("fan-out", () => {
    it(`${HOSTS} hosts, 2 hung: every live host is recorded and reported before the hung ones give up`, async () => {
      lab.behave("h20", { sleep: 300 }); // the command hangs
      const jobs: (Job & { name: string })[] = lab
        .hosts()
        .filter((h) => /^h\d+$/.test(h.name))
        .map((h) => ({ name: h.name, target: target(h.name), command: `fan-out ${h.name}` }));
      jobs[18] = { ...jobs[18], name: "blackhole", target: target("h19", { address: lab.blackhole.address }) }; // never a banner
      const live = jobs.filter((j) => j.name !== "blackhole" && j.name !== "h20").map((j) => j.name);
      const events: { name: string; outcome: RunOutcome; recorded: string[] }[] = [];
      const outcomes = await runAll(
        jobs,
        () => ({ ...RUN, connectTimeoutMs: 6000, commandTimeoutMs: 6000, deadlineMs: 6000 }),
        (job, outcome) => {
          // what the hosts had recorded when this result came out
          const recorded = lab
            .records()
            .filter((r) => r.command.startsWith("fan-out "))
            .map((r) => r.host);
          events.push({ name: job.name, outcome, recorded });
        },
      );
      should(outcomes).have.length(HOSTS);
      should(
        events
          .slice(-2)
          .map((e) => e.name)
          .sort(),
      ).eql(["blackhole", "h20"], "the hung hosts come last");
      const firstHung = events.findIndex((e) => e.name === "blackhole" || e.name === "h20");
      should(
        events
          .slice(0, firstHung)
          .map((e) => e.name)
          .sort(),
      ).eql([...live].sort(), "every live result came before");
      for (const name of live) should(events[firstHung].recorded.includes(name)).be.true(`${name} recorded before the first hung host gave up`);
      for (const e of events.slice(0, firstHung)) should(e.outcome.ok).be.true(`${e.name}: ${e.outcome.error}`);
      should(events.find((e) => e.name === "h20")?.outcome.error ?? "").match(/command still running/);
      should(events.find((e) => e.name === "blackhole")?.outcome.error ?? "").match(/no SSH handshake/);
    });
  });
});
