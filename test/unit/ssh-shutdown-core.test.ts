/**
 * core/ssh/shutdown.ts: what ssh-shutdown decides from a request, its results
 * and statuses.
 */
import should from "../harness/should";
import type { ShutdownResult } from "../../core/contract";
import type { StatusView } from "../../core/status";
import { type Language, shown } from "../harness/catalog";
import { Excerpt, backoffDelay, classifyError } from "../../core/ssh/runner";
import { runOutcome } from "../harness/ssh-target";
import { signalName } from "../../core/ssh/session";
import type { SshTarget, StepOutcome } from "../../core/ssh/runner";
import {
  FORBIDDEN_PROPERTIES,
  cancelTargets,
  connects,
  failedResult,
  makeResult,
  markCancelled,
  markSent,
  readConfig,
  readPending,
  readRequest,
  shutdownStatus,
  summarize,
} from "../../core/ssh/shutdown";

const T0 = 1_790_000_000_000;
const host = { id: "h1", name: "backup-server", address: "192.0.2.10", port: 22 };

const outcome = runOutcome;

describe("ssh-shutdown core", () => {
  describe("readConfig", () => {
    it("gives the documented defaults and no problem for a minimal configuration", () => {
      const { config, problems } = readConfig({ hosts: ["a", "b"], preset: "linux" });
      should(problems).eql([]);
      should(config).eql({
        hosts: ["a", "b"],
        preset: "linux",
        delayMinutes: 1,
        message: "",
        custom: { shutdown: "", cancel: "", check: "" },
        defaultAction: "shutdown",
        allowed: ["shutdown", "cancel", "check", "simulate", "prepare"],
        connectTimeoutMs: 10_000,
        commandTimeoutMs: 30_000,
        deadlineMs: 60_000,
        checkRetry: false,
        phases: new Map([
          ["a", 1],
          ["b", 1],
        ]),
        phaseDeadlineMs: 120_000,
        keepAlive: true,
        keepForMs: 3_600_000,
        healthEveryMs: 0,
        guests: { kind: "none", tag: "", projects: [], timeoutSeconds: 120, force: false },
      });
    });

    it("reads the guests to stop before the host; bad guest options are problems", () => {
      const { config, problems } = readConfig({ hosts: ["a"], preset: "proxmox", guests: "proxmox", guestTag: "ups", guestTimeout: "90", guestForce: true });
      should(problems).eql([]);
      should(config.guests).eql({ kind: "proxmox", tag: "ups", projects: [], timeoutSeconds: 90, force: true });
      const bad = readConfig({ hosts: ["a"], preset: "linux", guests: "docker", guestProjects: "web;rm", guestTimeout: "0" });
      should(bad.problems.map((p) => p.key)).eql(["bad-compose-project", "bad-number"]);
    });

    it("reads each host's phase in the order of the hosts, the pre-flight and health options, and refuses bad ones", () => {
      const { config, problems } = readConfig({
        hosts: ["web", "nas", "web", "db"],
        preset: "linux",
        phases: [1, "2", 3, ""],
        phaseDeadline: "30",
        keepAlive: false,
        keepFor: "15",
        healthEvery: "24",
      });
      should(problems).eql([]);
      should([...config.phases]).eql([
        ["web", 1],
        ["nas", 2],
        ["db", 1],
      ]);
      should([config.phaseDeadlineMs, config.keepAlive, config.keepForMs, config.healthEveryMs]).eql([30_000, false, 900_000, 86_400_000]);
      const bad = readConfig({ hosts: ["a", "b"], preset: "linux", phases: [0, 2.5], keepFor: "0", healthEvery: "0.01", action: "prepare" });
      should(bad.problems.map((p) => p.params?.name ?? p.key)).eql(["bad-action", "phase", "phase", "keepFor", "healthEvery"]);
      should([...bad.config.phases.values()]).eql([1, 1]);
      should(bad.config.healthEveryMs).equal(0);
    });

    it("reads editor strings, and reports every bad value instead of throwing", () => {
      const ok = readConfig({
        hosts: ["a"],
        preset: "windows",
        delay: "5",
        connectTimeout: "2.5",
        commandTimeout: "7",
        deadline: "90",
        action: "simulate",
        allowed: ["cancel", "bogus"],
      });
      should(ok.problems).eql([]);
      should(ok.config.delayMinutes).equal(5);
      should(ok.config.connectTimeoutMs).equal(2500);
      should(ok.config.defaultAction).equal("simulate");
      should(ok.config.allowed).eql(["cancel"]);
      const bad = readConfig({ hosts: [], preset: "plan9", delay: "1.5", connectTimeout: "0", commandTimeout: "x", deadline: -1, action: "reboot" });
      should(bad.problems.map((p) => p.key).sort()).eql(
        ["bad-action", "bad-number", "bad-number", "bad-number", "bad-number", "bad-preset", "no-hosts"].sort(),
      );
      should(readConfig({ hosts: ["a"], preset: "custom" }).problems[0]?.key).equal("no-custom-command");
      should(readConfig({ hosts: ["a", "b", "a", "", 7] }).config.hosts).eql(["a", "b"], "a host listed twice runs once");
      should(readConfig({ hosts: ["a"], checkRetry: true }).config.checkRetry).be.true();
      should(readConfig({ hosts: ["a"], checkRetry: "yes" }).config.checkRetry).be.false("only a ticked box retries checks");
    });

    it("a node connects on its own unless it simulates and no message may ask it for a shutdown", () => {
      const c = (raw: Record<string, unknown>): boolean => connects(readConfig({ hosts: ["a"], ...raw }).config);
      should(c({})).be.true("default: shutdown");
      should(c({ action: "check" })).be.true();
      should(c({ action: "cancel", allowed: [] })).be.true();
      should(c({ action: "simulate", allowed: ["simulate", "check", "cancel"] })).be.false("the examples: a check says what is wrong when it runs");
      should(c({ action: "simulate", allowed: ["shutdown"] })).be.true("a message may ask for a shutdown");
    });
  });

  describe("readRequest", () => {
    const { config } = readConfig({ hosts: ["a"], preset: "linux", allowed: ["cancel", "simulate"] });

    it("no msg.action: the configured default action", () => {
      should(readRequest({ payload: 1 }, config)).eql({ ok: true, action: "shutdown" });
      should(readRequest({ action: "" }, config)).eql({ ok: true, action: "shutdown" });
    });

    it("a power-restored message in any spelling is a cancel, never a shutdown, whatever msg.action says", () => {
      const spellings: Array<Record<string, unknown>> = [
        ...[true, "true", 1, "yes", 0, "", {}, null].map((reset) => ({ reset })),
        { reset: true, action: "shutdown" },
        { reset: true, action: "simulate" },
        { payload: { event: "OUTAGE_END" } },
        { outage: { id: "o", since: 1, ended: 2 } },
      ];
      for (const msg of spellings) should(readRequest(msg, config)).eql({ ok: true, action: "cancel" }, JSON.stringify(msg));
      const noCancel = readConfig({ hosts: ["a"], preset: "linux", allowed: ["check"] }).config;
      should(readRequest({ reset: true }, noCancel)).eql({ ok: "nothing", key: "restored-no-cancel" }, "unless it may not cancel: then nothing");
      should(readRequest({ reset: "1", action: "shutdown" }, noCancel)).eql({ ok: "nothing", key: "restored-no-cancel" });
    });

    it("a power state saying the power is on is never a shutdown; on battery or critical it is", () => {
      const state = (over: object) => ({ payload: { policy: "weakest", onBattery: false, critical: false, event: "POWER_BACK", ...over } });
      should(readRequest(state({}), config)).eql({ ok: "nothing", key: "power-on" });
      should(readRequest({ ...state({}), action: "shutdown" }, config)).eql({ ok: "nothing", key: "power-on" });
      should(readRequest(state({ onBattery: true, event: "POWER_LOST" }), config)).eql({ ok: true, action: "shutdown" });
      should(readRequest(state({ critical: true }), config)).eql({ ok: true, action: "shutdown" });
      should(readRequest({ payload: "anything" }, config)).eql({ ok: true, action: "shutdown" }, "not a power state: the default action");
    });

    it("an action that is not text is named in the refusal, not thrown", () => {
      const r = readRequest({ action: Object.create(null) }, config);
      should(r).eql({ ok: false, key: "unknown-action", params: { action: "object", actions: "shutdown, cancel, check, simulate, prepare" } });
    });

    it("msg.action may pick an allowed action (or the default) and nothing else", () => {
      should(readRequest({ action: "cancel" }, config)).eql({ ok: true, action: "cancel" });
      should(readRequest({ action: "shutdown" }, config)).eql({ ok: true, action: "shutdown" });
      const r = readRequest({ action: "check" }, config);
      should(r.ok).be.false();
      should(!r.ok && r.key).equal("action-not-allowed");
      const u = readRequest({ action: "rm -rf /" }, config);
      should(!u.ok && u.key).equal("unknown-action");
      should(!readRequest({ action: { toString: () => "shutdown" } }, config).ok).be.true();
    });

    it("a pre-flight (prepare) runs where allowed on a node that connects; a node that only rehearses does nothing for it, allowed or not", () => {
      const live = readConfig({ hosts: ["a"], preset: "linux", allowed: ["prepare"] }).config;
      should(readRequest({ action: "prepare" }, live)).eql({ ok: true, action: "prepare" });
      const strict = readConfig({ hosts: ["a"], preset: "linux", allowed: ["cancel"] }).config;
      const refused = readRequest({ action: "prepare" }, strict);
      should(!refused.ok && refused.key).equal("action-not-allowed");
      for (const allowed of [["simulate"], ["simulate", "check", "cancel", "prepare"]]) {
        const rehearsal = readConfig({ hosts: ["a"], preset: "linux", action: "simulate", allowed }).config;
        should(readRequest({ action: "prepare" }, rehearsal)).eql({ ok: "nothing", key: "no-preflight" });
      }
      // power back stays a cancel, even on a message that also says prepare
      should(readRequest({ action: "prepare", reset: true }, live)).eql({ ok: "nothing", key: "restored-no-cancel" });
    });

    it("refuses a message that tries to choose a host, an address, a user or a command", () => {
      for (const p of FORBIDDEN_PROPERTIES) {
        const r = readRequest({ action: "cancel", [p]: "evil" }, config);
        should(r).eql({ ok: false, key: "forbidden-property", params: { property: `msg.${p}` } }, p);
      }
      for (const p of ["host", "command", "address", "user", "username", "hosts", "port"]) should(FORBIDDEN_PROPERTIES).containEql(p);
      // even falsy values are refused: the message tried
      should(readRequest({ command: "" }, config).ok).be.false();
      should(readRequest({ port: 0 }, config).ok).be.false();
    });
  });

  describe("pending delayed shutdowns", () => {
    it("a sent delayed shutdown is pending until its delay ends; a cancel removes it", () => {
      let p = markSent({}, "a", "backup", T0, 60_000);
      p = markSent(p, "b", "nas", T0, 120_000);
      should(p.a).eql({ since: T0, until: T0 + 60_000, host: "backup" });
      should(cancelTargets(p, ["a", "b", "c"], T0 + 1000).ids).eql(["a", "b"]);
      const later = cancelTargets(p, ["a", "b"], T0 + 90_000);
      should(later.ids).eql(["b"]);
      should(later.expired).eql(["a"]);
      should(Object.keys(later.pending)).eql(["b"]);
      should(Object.keys(markCancelled(p, "a"))).eql(["b"]);
      should.exist(p.a, "pure: the input is unchanged");
    });

    it("only configured hosts get a cancel", () => {
      const p = markSent(markSent({}, "a", "a", T0, 60_000), "gone", "gone", T0, 60_000);
      const t = cancelTargets(p, ["a"], T0);
      should(t.ids).eql(["a"]);
      should(Object.keys(t.pending)).eql(["a"]);
      should(cancelTargets({}, ["a"], T0).ids).eql([]);
    });

    it("reads what a context store returns, dropping anything malformed", () => {
      const hosts = ["a", "b", "c", "d", "e", "f"];
      should(readPending(undefined, hosts)).eql({});
      should(readPending("x", hosts)).eql({});
      should(readPending({ a: { since: 1, until: 2, host: "h" }, b: { since: "1" }, c: null }, hosts)).eql({ a: { since: 1, until: 2, host: "h" } });
      const day = 1440 * 60_000;
      should(
        readPending(
          {
            a: { since: T0, until: T0 + day, host: "x".repeat(500) },
            b: { since: T0, until: T0 + day + 1, host: "never ends" },
            c: { since: T0, until: Infinity },
            d: { since: T0, until: T0 - 1 },
            e: { since: NaN, until: T0 },
            f: { since: T0, until: T0 + 1 },
          },
          hosts,
        ),
      ).eql({ a: { since: T0, until: T0 + day, host: "x".repeat(200) }, f: { since: T0, until: T0 + 1, host: "f" } });
    });

    it("reads back only the hosts it shuts down: a key of the store is never taken as it is", () => {
      const stored = JSON.parse(
        '{"__proto__": {"since": 1, "until": 2}, "gone": {"since": 1, "until": 2}, "a": {"since": 1, "until": 2, "host": "h"}}',
      ) as unknown;
      const p = readPending(stored, ["a"]);
      should(Object.getPrototypeOf(p)).equal(Object.prototype);
      should(Object.keys(p)).eql(["a"]);
      should(p.a).eql({ since: 1, until: 2, host: "h" });
    });
  });

  describe("results and texts", () => {
    it("makeResult fills the contract's ShutdownResult; simulate has no outcome", () => {
      const r = makeResult(host, "shutdown", "sudo -n /sbin/shutdown -h +1 'x'", outcome({ stdout: "ok\n" }), T0);
      const expected: ShutdownResult = {
        host: "backup-server",
        hostId: "h1",
        address: "192.0.2.10",
        port: 22,
        action: "shutdown",
        command: "sudo -n /sbin/shutdown -h +1 'x'",
        ok: true,
        exitCode: 0,
        signal: null,
        stdout: "ok\n",
        stderr: "",
        duration: 412,
        attempts: 1,
        error: null,
        time: T0,
        joined: false,
        steps: [],
      };
      should(r).eql(expected);
      const s = makeResult(host, "simulate", "cmd", null, T0);
      should(s.ok).be.true();
      should(s.attempts).equal(0);
      should(JSON.parse(JSON.stringify(r))).eql(r, "plain JSON");
      const f = failedResult(host, "check", "", "key file /x does not exist", T0);
      should(f.ok).be.false();
      should(f.error).equal("key file /x does not exist");
    });

    it("summaries read as one line in a notification", () => {
      should(summarize(makeResult(host, "shutdown", "c", outcome(), T0))).equal("backup-server: shutdown sent (exit 0, 0.4 s)");
      should(summarize(makeResult(host, "cancel", "c", outcome({ durationMs: 250 }), T0))).equal("backup-server: shutdown cancelled (exit 0, 0.3 s)");
      should(summarize(makeResult(host, "check", "c", outcome({ attempts: 3, durationMs: 3050 }), T0))).equal(
        "backup-server: check passed (exit 0, 3 attempts, 3.1 s)",
      );
      should(
        summarize(
          makeResult(
            host,
            "shutdown",
            "c",
            outcome({ ok: false, exitCode: null, error: "connection refused by 192.0.2.10:22 (is sshd running?)", attempts: 4, durationMs: 7200 }),
            T0,
          ),
        ),
      ).equal("backup-server: shutdown FAILED: connection refused by 192.0.2.10:22 (is sshd running?) (4 attempts, 7.2 s)");
      should(summarize(makeResult(host, "simulate", "sudo -n /sbin/poweroff", null, T0))).equal("backup-server: simulate, would run: sudo -n /sbin/poweroff");
      should(summarize(makeResult(host, "check", "c", outcome({ ok: false, exitCode: 1, error: "exit code 1:\nsudo: a password is required\r\n" }), T0))).equal(
        "backup-server: check FAILED: exit code 1: sudo: a password is required (0.4 s)",
      );
      const joined = { ...makeResult(host, "shutdown", "c", outcome(), T0), joined: true };
      should(summarize(joined)).equal("backup-server: shutdown sent (exit 0, 0.4 s, shared with an earlier message)");
    });

    const step = (over: Partial<StepOutcome> = {}): StepOutcome => ({
      label: "stop Proxmox guests",
      command: "rc=0\n…",
      ok: true,
      exitCode: 0,
      signal: null,
      error: null,
      durationMs: 61_000,
      stdout: "",
      stderr: "",
      ...over,
    });

    it("guest steps: in the result in order, bounded; a failed one is said but the host's shutdown stays its own result", () => {
      const bad = step({ label: "docker compose down db", ok: false, exitCode: 1, error: "exit code 1: no such service", stderr: "x".repeat(5000) });
      const r = makeResult(host, "shutdown", "c", { ...outcome(), steps: [step(), bad] }, T0);
      should(r.ok).be.true("the host's shutdown was sent");
      should(r.steps.map((s) => [s.label, s.ok, s.duration])).eql([
        ["stop Proxmox guests", true, 61_000],
        ["docker compose down db", false, 61_000],
      ]);
      should(r.steps[1].stderr.length).be.belowOrEqual(1001);
      should(summarize(r)).equal("backup-server: shutdown sent (exit 0, 0.4 s); guest step FAILED: docker compose down db: exit code 1: no such service");
      const both = makeResult(host, "shutdown", "c", { ...outcome(), steps: [step({ ok: false, error: "timed out" }), bad] }, T0);
      should(summarize(both)).match(/; 2 guest steps FAILED: stop Proxmox guests: timed out; docker compose down db: exit code 1/);
      should(summarize(makeResult(host, "shutdown", "c", { ...outcome(), steps: [step()] }, T0))).equal("backup-server: shutdown sent (exit 0, 0.4 s)");
    });

    it("a check fails when a step's privilege check fails; simulate lists the steps that would run", () => {
      const denied = step({ label: "check: stop libvirt domains", ok: false, exitCode: 1, error: "exit code 1: sudo: a password is required" });
      const r = makeResult(host, "check", "c", { ...outcome(), steps: [denied] }, T0);
      should(r.ok).be.false();
      should(summarize(r)).equal('backup-server: check FAILED: guest step "check: stop libvirt domains" exit code 1: sudo: a password is required (0.4 s)');
      // the pre-flight at power loss says the same, with the time left to fix it
      const pre = makeResult(host, "prepare", "c", { ...outcome(), steps: [denied] }, T0);
      should(pre.ok).be.false();
      should(summarize(pre, 1200)).equal(
        'backup-server: pre-flight FAILED: guest step "check: stop libvirt domains" exit code 1: sudo: a password is required — fix it within the next ~20 min',
      );
      const planned = [{ label: "docker compose down web", command: "sudo -n /usr/bin/docker compose -p web down --timeout 120", timeoutMs: 150_000 }];
      const s = makeResult(host, "simulate", "sudo -n /sbin/poweroff", null, T0, planned);
      should(s.steps.map((x) => [x.label, x.command, x.ok])).eql([["docker compose down web", planned[0].command, true]]);
      should(summarize(s)).equal("backup-server: simulate, would run: docker compose down web, then sudo -n /sbin/poweroff");
    });

    it("status: running, then sent / failed counts per action", () => {
      const ssh = (view: StatusView, lang: Language = "en-US") => shown("ssh-shutdown", view, lang);
      should(ssh(shutdownStatus("shutdown", 4, 1, 1, false))).eql({ fill: "blue", shape: "ring", text: "shutdown 2/4…" });
      should(ssh(shutdownStatus("shutdown", 4, 1, 1, false, 2))).eql({ fill: "yellow", shape: "ring", text: "shutdown 2/4…, 2 retrying" });
      should(ssh(shutdownStatus("shutdown", 4, 4, 0, true))).eql({ fill: "green", shape: "dot", text: "sent 4/4" });
      should(ssh(shutdownStatus("shutdown", 4, 3, 1, true))).eql({ fill: "red", shape: "ring", text: "sent 3/4, 1 failed" });
      should(ssh(shutdownStatus("cancel", 2, 2, 0, true))).eql({ fill: "green", shape: "dot", text: "cancelled 2/2" });
      should(ssh(shutdownStatus("check", 2, 1, 1, true))).eql({ fill: "red", shape: "ring", text: "check failed 1/2" });
      // as the editor shows it: the failures counted, not "check ok 0/1"
      const failedCheck = shutdownStatus("check", 1, 0, 1, true);
      should(ssh(failedCheck)).eql({ fill: "red", shape: "ring", text: "check failed 1/1" });
      should(ssh(failedCheck, "fr").text).equal("vérification en échec 1/1");
      should(ssh(shutdownStatus("cancel", 3, 1, 0, false), "fr").text).equal("annulation 1/3…");
      should(ssh(shutdownStatus("simulate", 3, 3, 0, true))).eql({ fill: "grey", shape: "dot", text: "simulated 3" });
    });
  });

  describe("runner helpers", () => {
    const target: SshTarget = { name: "h", address: "192.0.2.1", port: 2222, username: "nut", key: null, password: "pw", pins: [], acceptAnyHostKey: false };

    it("keeps a bounded excerpt of the output and says how much was dropped", () => {
      const e = new Excerpt(10);
      e.add(Buffer.from("hello "));
      e.add(Buffer.from("world and more"));
      e.add(Buffer.from("!!!"));
      should(e.text()).equal("hello worl… [13 more bytes]");
      const small = new Excerpt(100);
      small.add(Buffer.from("ok\n"));
      should(small.text()).equal("ok\n");
    });

    it("backs off 1, 2, 4, 8, 8 s", () => {
      should([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 1000, 8000))).eql([1000, 2000, 4000, 8000, 8000]);
    });

    it("says what failed and whether another attempt may help", () => {
      const c = (e: Partial<Error & { level: string; code: string }>): { error: string; retryable: boolean } =>
        classifyError(Object.assign(new Error(e.message ?? "x"), e), target, 10_000);
      should(c({ code: "ECONNREFUSED" })).eql({ error: "connection refused by 192.0.2.1:2222 (is sshd running?)", retryable: true });
      should(c({ level: "client-timeout" }).retryable).be.true();
      should(c({ level: "client-timeout" }).error).match(/no SSH handshake .* within 10 s/);
      should(c({ level: "client-authentication" })).eql({ error: "authentication failed for user nut on 192.0.2.1:2222 (tried: password)", retryable: false });
      should(c({ message: "Handshake failed: no matching host key format" }).retryable).be.false();
      should(c({ code: "ENOTFOUND" }).retryable).be.true();
      should(c({ code: "EHOSTUNREACH" }).retryable).be.true();
    });

    it("never repeats what the peer wrote: a disconnect is named by its reason code, library texts are one bounded line", () => {
      const hostile = "<script>alert(1)</script>\n" + "A".repeat(30_000);
      const disconnect = classifyError(Object.assign(new Error(hostile), { code: 12 as unknown as string }), target, 10_000);
      should(disconnect.error).equal("192.0.2.1:2222 closed the connection (SSH disconnect reason 12, too many connections)");
      should(disconnect.retryable).be.true();
      const odd = classifyError(Object.assign(new Error(hostile), { code: 4242 as unknown as string }), target, 10_000);
      should(odd.error).equal("192.0.2.1:2222 closed the connection (SSH disconnect reason 4242)");
      const long = classifyError(new Error("Bad packet length\u0000\r\n" + "x".repeat(5000)), target, 10_000).error;
      should(long.length).be.belowOrEqual(220, `bounded: ${long.length}`);
      should([...long].some((ch) => ch.charCodeAt(0) < 0x20)).be.false("one line, no control character");
    });

    it("names the signal a command died of as the server says it only when it is a signal's name", () => {
      should(signalName("SIGKILL")).equal("SIGKILL");
      should(signalName("SIGRTMIN+3")).equal("SIGRTMIN+3");
      for (const none of [undefined, null, ""]) should(signalName(none)).equal(null);
      for (const odd of ["SIG<script>", "SIGKILL\nforged log line", "SIG" + "A".repeat(5000), "KILL", 9]) should(signalName(odd)).equal("unknown");
    });
  });
});
