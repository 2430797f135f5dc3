import assert from "node:assert/strict";
import { utils } from "ssh2";
import { fetchHostKeys, parsePins } from "../../core/ssh/hostkey";
import { runAll, runCommand } from "../../core/ssh/runner";
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
    for (const h of lab?.hosts() ?? []) lab.behave(h.name, { exit: 0, sleep: 0, reply: null });
  });

  const target = (name: string, over: Partial<SshTarget> = {}, key: ClientKey = "ed25519"): SshTarget => labTarget(lab, name, over, key);
  const lastRecord = (name: string): string | undefined => lab.records(name).at(-1)?.command;

  describe("authentication", () => {
    for (const key of ["ed25519", "rsa", "ecdsa", "ed25519Pass", "rsaPass"] as ClientKey[]) {
      it(`succeeds with the ${key} key (${key === "rsa" || key === "rsaPass" ? "PEM" : "OpenSSH"} format)`, async () => {
        const cmd = `shutdown with ${key}`;
        const o = await runCommand(target("h1", {}, key), cmd, RUN);
        assert.equal(o.ok, true, o.error ?? "");
        assert.equal(o.exitCode, 0);
        assert.equal(o.attempts, 1);
        assert.equal(o.stdout, `[sshlab h1] recorded: ${cmd}\n`);
        const r = lab.records("h1").at(-1);
        assert.equal(r?.command, cmd);
        assert.equal(r?.auth, "publickey");
      });
    }

    it("succeeds with a password", async () => {
      const o = await runCommand(target("h2", { key: null, password: lab.password }), "by password", RUN);
      assert.equal(o.ok, true, o.error ?? "");
      assert.equal(lab.records("h2").at(-1)?.auth, "password");
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
        assert.equal(parses, 1, "parsed when loaded");
        for (let i = 0; i < 4; i++) assert.equal((await runCommand(t, `again ${i}`, RUN)).ok, true);
        assert.equal(parses, 1, "not parsed again by any connection");
        assert.deepEqual(lab.records("h3").map((r) => r.command).filter((c) => c.startsWith("again")), ["again 0", "again 1", "again 2", "again 3"]);
      } finally {
        utils.parseKey = original;
      }
    });

    it("an unauthorised key fails authentication once, without retrying, and nothing runs", async () => {
      const before = lab.records("h4").length;
      const o = await runCommand(target("h4", {}, "unauthorized"), "never", RUN);
      assert.equal(o.ok, false);
      assert.equal(o.attempts, 1);
      assert.equal(o.sent, false);
      assert.match(o.error ?? "", /^authentication failed for user nuttest on 127\.0\.40\.4:\d+ \(tried: publickey\)$/);
      assert.equal(lab.records("h4").length, before);
    });

    it("a wrong password fails authentication and is not retried", async () => {
      const o = await runCommand(target("h4", { key: null, password: "not-the-password" }), "never", RUN);
      assert.equal(o.attempts, 1);
      assert.match(o.error ?? "", /authentication failed .*\(tried: password\)/);
      assert.ok(!(o.error ?? "").includes("not-the-password"));
    });
  });

  describe("host keys", () => {
    it("a changed host key is refused, naming the pinned and the offered fingerprints; nothing runs", async () => {
      const pinned = lab.host("h5").fingerprints.ed25519;
      const t = target("h5");
      assert.equal((await runCommand(t, "before", RUN)).ok, true);
      const now = (await lab.rekey("h5")).fingerprints.ed25519;
      const o = await runCommand(t, "after rekey", RUN);
      assert.equal(o.ok, false);
      assert.equal(o.attempts, 1, "never retried");
      assert.ok(o.error?.includes(`expected ${pinned}`), o.error ?? "");
      assert.ok(o.error?.includes(`offered ${now}`), o.error ?? "");
      assert.equal(lastRecord("h5"), "before");
    });

    it("an unknown host key with no pin is refused, naming the offered fingerprint", async () => {
      const before = lab.records("h6").length;
      const o = await runCommand(target("h6", { pins: [] }), "never", RUN);
      assert.equal(o.ok, false);
      assert.match(o.error ?? "", /no fingerprint is pinned \(expected: none\)/);
      assert.ok(o.error?.includes(lab.host("h6").fingerprints.ed25519));
      assert.equal(lab.records("h6").length, before);
    });

    it("a host pinned only by its RSA (or ECDSA) fingerprint is asked for that key type", async () => {
      const m = lab.host("multi");
      for (const pin of [`ssh-rsa ${m.fingerprints.rsa}`, `256 ${m.fingerprints.ecdsa} x (ECDSA)`]) {
        const o = await runCommand(target("multi", { pins: parsePins(pin).pins }), `pinned ${pin.slice(0, 7)}`, RUN);
        assert.equal(o.ok, true, o.error ?? "");
      }
      // untyped RSA pin: the server shows its ed25519 key first, and the refusal explains what to do
      const untyped = await runCommand(target("multi", { pins: parsePins(m.fingerprints.rsa ?? "").pins }), "x", RUN);
      assert.equal(untyped.ok, false);
      assert.match(untyped.error ?? "", /write its type before the fingerprint/);
      assert.ok(untyped.error?.includes(m.fingerprints.ed25519));
    });

    it("accepts any key only with the explicit insecure option", async () => {
      const o = await runCommand(target("h6", { pins: parsePins("SHA256:" + "A".repeat(43)).pins, acceptAnyHostKey: true }), "insecure", RUN);
      assert.equal(o.ok, true);
      assert.equal(lastRecord("h6"), "insecure");
    });

    it("fetches every fingerprint a server offers, without logging in", async () => {
      const m = lab.host("multi");
      const before = lab.records("multi").length;
      const keys = await fetchHostKeys(m.address, m.port, 5000);
      assert.deepEqual(
        keys.map((k) => `${k.type} ${k.fingerprint}`).sort(),
        [`ssh-ed25519 ${m.fingerprints.ed25519}`, `ecdsa-sha2-nistp256 ${m.fingerprints.ecdsa}`, `ssh-rsa ${m.fingerprints.rsa}`].sort(),
      );
      assert.equal(lab.records("multi").length, before);
      await assert.rejects(fetchHostKeys(lab.refused.address, lab.refused.port, 2000), { name: "FetchHostKeysError", code: "refused", message: "connection refused" });
      await assert.rejects(fetchHostKeys(lab.blackhole.address, lab.blackhole.port, 500), { name: "FetchHostKeysError", code: "timeout", message: "no SSH handshake in time" });
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
      assert.equal(o.ok, false);
      assert.equal(o.sent, false);
      assert.ok(o.attempts >= 2, `attempts ${o.attempts}`);
      assert.deepEqual(retries, Array.from({ length: o.attempts - 1 }, (_, i) => i + 1));
      assert.match(o.error ?? "", /^connection refused by 127\.0\.40\.251:\d+ \(is sshd running\?\)$/);
    });

    it("accepts TCP but never sends a banner: ends at the connect timeout", async () => {
      const o = await runCommand(target("h7", { address: lab.blackhole.address }), "never", { ...RUN, connectTimeoutMs: 700, deadlineMs: 700 });
      assert.equal(o.ok, false);
      assert.equal(o.attempts, 1);
      assert.match(o.error ?? "", /no SSH handshake from 127\.0\.40\.250:\d+ within 0.7 s, the connect timeout/);
    });

    it("no banner, cut short by the deadline: the error names the deadline, not the connect timeout", async () => {
      const o = await runCommand(target("h7", { address: lab.blackhole.address }), "never", { ...RUN, connectTimeoutMs: 10_000, deadlineMs: 800 });
      assert.equal(o.attempts, 1);
      assert.match(o.error ?? "", /no SSH handshake from 127\.0\.40\.250:\d+ within 0.8 s, what was left of the deadline/);
    });

    it("a command exiting non-zero is a failure with its exit code and stderr, not retried", async () => {
      lab.behave("h8", { exit: 3 });
      const o = await runCommand(target("h8"), "sudo -n /sbin/shutdown -h +1", RUN);
      assert.equal(o.ok, false);
      assert.equal(o.exitCode, 3);
      assert.equal(o.attempts, 1);
      assert.equal(o.sent, true);
      assert.match(o.stderr, /exit 3 as configured/);
      assert.equal(o.error, "exit code 3: sshlab h8: exit 3 as configured");
      assert.equal((await runCommand(target("h8"), "accepted", { ...RUN, okExitCodes: [0, 3] })).ok, true);
    });

    it("a command hanging past the command timeout: given up, not retried (it may still run)", async () => {
      lab.behave("h9", { sleep: 300 });
      const o = await runCommand(target("h9"), "hangs", { ...RUN, commandTimeoutMs: 800 });
      assert.equal(o.ok, false);
      assert.equal(o.sent, true);
      assert.equal(o.attempts, 1);
      assert.match(o.error ?? "", /^command still running after 0.8 s/);
      assert.equal(lastRecord("h9"), "hangs");
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
      assert.equal(o.ok, true, o.error ?? "");
      assert.ok(o.attempts >= 2);
      assert.deepEqual(lab.records("late").map((r) => r.command), ["came up"], "ran once");
    });

    it("bounds the output kept", async () => {
      lab.behave("h10", { reply: "x".repeat(10000) });
      const o = await runCommand(target("h10"), "loud", { ...RUN, outputLimit: 100 });
      assert.equal(o.stdout, "x".repeat(100) + "… [9900 more bytes]");
    });

    it("connect-only (null command) authenticates and runs nothing", async () => {
      const before = lab.records("h10").length;
      const o = await runCommand(target("h10"), null, RUN);
      assert.equal(o.ok, true);
      assert.equal(o.sent, false);
      assert.equal(lab.records("h10").length, before);
    });

    it("an abort ends an in-flight connection at once and retries nothing", async () => {
      lab.behave("h11", { sleep: 300 });
      const ac = new AbortController();
      const o = await runCommand(target("h11"), "aborted while running", { ...RUN, commandTimeoutMs: 60000, signal: ac.signal, onSent: () => ac.abort() });
      assert.equal(o.aborted, true);
      assert.equal(o.sent, true);
      assert.equal(o.error, "aborted");
      const ac2 = new AbortController();
      const o2 = await runCommand(target("h11", { address: lab.refused.address }), "never", { ...RUN, deadlineMs: 60000, signal: ac2.signal, onRetry: () => ac2.abort() });
      assert.equal(o2.aborted, true);
      assert.equal(o2.attempts, 1);
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
      const outcomes = await runAll(jobs, () => ({ ...RUN, connectTimeoutMs: 6000, commandTimeoutMs: 6000, deadlineMs: 6000 }), (job, outcome) => {
        // what the hosts had recorded when this result came out
        const recorded = lab.records().filter((r) => r.command.startsWith("fan-out ")).map((r) => r.host);
        events.push({ name: job.name, outcome, recorded });
      });
      assert.equal(outcomes.length, HOSTS);
      assert.deepEqual(events.slice(-2).map((e) => e.name).sort(), ["blackhole", "h20"], "the hung hosts come last");
      const firstHung = events.findIndex((e) => e.name === "blackhole" || e.name === "h20");
      assert.deepEqual(events.slice(0, firstHung).map((e) => e.name).sort(), [...live].sort(), "every live result came before");
      for (const name of live) assert.ok(events[firstHung].recorded.includes(name), `${name} recorded before the first hung host gave up`);
      for (const e of events.slice(0, firstHung)) assert.equal(e.outcome.ok, true, `${e.name}: ${e.outcome.error}`);
      assert.match(events.find((e) => e.name === "h20")?.outcome.error ?? "", /command still running/);
      assert.match(events.find((e) => e.name === "blackhole")?.outcome.error ?? "", /no SSH handshake/);
    });
  });
});
