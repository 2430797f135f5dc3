import assert from "node:assert/strict";
import type { ShutdownResult } from "../../core/contract";
import type { StatusView } from "../../core/status";
import { type Language, shown } from "../harness/catalog";
import { Excerpt, backoffDelay, classifyError } from "../../core/ssh/runner";
import type { RunOutcome, SshTarget } from "../../core/ssh/runner";
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
const host = { name: "backup-server", address: "192.0.2.10", port: 22 };

function outcome(over: Partial<RunOutcome> = {}): RunOutcome {
  return { ok: true, exitCode: 0, signal: null, stdout: "", stderr: "", durationMs: 412, attempts: 1, error: null, sent: true, aborted: false, ...over };
}

describe("ssh-shutdown core", () => {
  describe("readConfig", () => {
    it("gives the documented defaults and no problem for a minimal configuration", () => {
      const { config, problems } = readConfig({ hosts: ["a", "b"], preset: "linux" });
      assert.deepEqual(problems, []);
      assert.deepEqual(config, {
        hosts: ["a", "b"],
        preset: "linux",
        delayMinutes: 1,
        message: "",
        custom: { shutdown: "", cancel: "", check: "" },
        defaultAction: "shutdown",
        allowed: ["shutdown", "cancel", "check", "simulate"],
        connectTimeoutMs: 10_000,
        commandTimeoutMs: 30_000,
        deadlineMs: 60_000,
        checkRetry: false,
      });
    });

    it("reads editor strings, and reports every bad value instead of throwing", () => {
      const ok = readConfig({ hosts: ["a"], preset: "windows", delay: "5", connectTimeout: "2.5", commandTimeout: "7", deadline: "90", action: "simulate", allowed: ["cancel", "bogus"] });
      assert.deepEqual(ok.problems, []);
      assert.equal(ok.config.delayMinutes, 5);
      assert.equal(ok.config.connectTimeoutMs, 2500);
      assert.equal(ok.config.defaultAction, "simulate");
      assert.deepEqual(ok.config.allowed, ["cancel"]);
      const bad = readConfig({ hosts: [], preset: "plan9", delay: "1.5", connectTimeout: "0", commandTimeout: "x", deadline: -1, action: "reboot" });
      assert.deepEqual(bad.problems.map((p) => p.key).sort(), ["bad-action", "bad-number", "bad-number", "bad-number", "bad-number", "bad-preset", "no-hosts"].sort());
      assert.equal(readConfig({ hosts: ["a"], preset: "custom" }).problems[0]?.key, "no-custom-command");
      assert.deepEqual(readConfig({ hosts: ["a", "b", "a", "", 7] }).config.hosts, ["a", "b"], "a host listed twice runs once");
      assert.equal(readConfig({ hosts: ["a"], checkRetry: true }).config.checkRetry, true);
      assert.equal(readConfig({ hosts: ["a"], checkRetry: "yes" }).config.checkRetry, false, "only a ticked box retries checks");
    });

    it("a node connects on its own unless it simulates and no message may ask it for a shutdown", () => {
      const c = (raw: Record<string, unknown>): boolean => connects(readConfig({ hosts: ["a"], ...raw }).config);
      assert.equal(c({}), true, "default: shutdown");
      assert.equal(c({ action: "check" }), true);
      assert.equal(c({ action: "cancel", allowed: [] }), true);
      assert.equal(c({ action: "simulate", allowed: ["simulate", "check", "cancel"] }), false, "the examples: a check says what is wrong when it runs");
      assert.equal(c({ action: "simulate", allowed: ["shutdown"] }), true, "a message may ask for a shutdown");
    });
  });

  describe("readRequest", () => {
    const { config } = readConfig({ hosts: ["a"], preset: "linux", allowed: ["cancel", "simulate"] });

    it("no msg.action: the configured default action", () => {
      assert.deepEqual(readRequest({ payload: 1 }, config), { ok: true, action: "shutdown" });
      assert.deepEqual(readRequest({ action: "" }, config), { ok: true, action: "shutdown" });
    });

    it("a power-restored message in any spelling is a cancel, never a shutdown, whatever msg.action says", () => {
      const spellings: Array<Record<string, unknown>> = [
        ...[true, "true", 1, "yes", 0, "", {}, null].map((reset) => ({ reset })),
        { reset: true, action: "shutdown" },
        { reset: true, action: "simulate" },
        { payload: { event: "OUTAGE_END" } },
        { outage: { id: "o", since: 1, ended: 2 } },
      ];
      for (const msg of spellings) assert.deepEqual(readRequest(msg, config), { ok: true, action: "cancel" }, JSON.stringify(msg));
      const noCancel = readConfig({ hosts: ["a"], preset: "linux", allowed: ["check"] }).config;
      assert.deepEqual(readRequest({ reset: true }, noCancel), { ok: "nothing", key: "restored-no-cancel" }, "unless it may not cancel: then nothing");
      assert.deepEqual(readRequest({ reset: "1", action: "shutdown" }, noCancel), { ok: "nothing", key: "restored-no-cancel" });
    });

    it("a power state saying the power is on is never a shutdown; on battery or critical it is", () => {
      const state = (over: object) => ({ payload: { policy: "weakest", onBattery: false, critical: false, event: "POWER_BACK", ...over } });
      assert.deepEqual(readRequest(state({}), config), { ok: "nothing", key: "power-on" });
      assert.deepEqual(readRequest({ ...state({}), action: "shutdown" }, config), { ok: "nothing", key: "power-on" });
      assert.deepEqual(readRequest(state({ onBattery: true, event: "POWER_LOST" }), config), { ok: true, action: "shutdown" });
      assert.deepEqual(readRequest(state({ critical: true }), config), { ok: true, action: "shutdown" });
      assert.deepEqual(readRequest({ payload: "anything" }, config), { ok: true, action: "shutdown" }, "not a power state: the default action");
    });

    it("an action that is not text is named in the refusal, not thrown", () => {
      const r = readRequest({ action: Object.create(null) }, config);
      assert.deepEqual(r, { ok: false, key: "unknown-action", params: { action: "object", actions: "shutdown, cancel, check, simulate" } });
    });

    it("msg.action may pick an allowed action (or the default) and nothing else", () => {
      assert.deepEqual(readRequest({ action: "cancel" }, config), { ok: true, action: "cancel" });
      assert.deepEqual(readRequest({ action: "shutdown" }, config), { ok: true, action: "shutdown" });
      const r = readRequest({ action: "check" }, config);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.key, "action-not-allowed");
      const u = readRequest({ action: "rm -rf /" }, config);
      assert.equal(!u.ok && u.key, "unknown-action");
      assert.equal(!readRequest({ action: { toString: () => "shutdown" } }, config).ok, true);
    });

    it("refuses a message that tries to choose a host, an address, a user or a command", () => {
      for (const p of FORBIDDEN_PROPERTIES) {
        const r = readRequest({ action: "cancel", [p]: "evil" }, config);
        assert.deepEqual(r, { ok: false, key: "forbidden-property", params: { property: `msg.${p}` } }, p);
      }
      for (const p of ["host", "command", "address", "user", "username", "hosts", "port"]) assert.ok(FORBIDDEN_PROPERTIES.includes(p));
      // even falsy values are refused: the message tried
      assert.equal(readRequest({ command: "" }, config).ok, false);
      assert.equal(readRequest({ port: 0 }, config).ok, false);
    });
  });

  describe("pending delayed shutdowns", () => {
    it("a sent delayed shutdown is pending until its delay ends; a cancel removes it", () => {
      let p = markSent({}, "a", "backup", T0, 60_000);
      p = markSent(p, "b", "nas", T0, 120_000);
      assert.deepEqual(p.a, { since: T0, until: T0 + 60_000, host: "backup" });
      assert.deepEqual(cancelTargets(p, ["a", "b", "c"], T0 + 1000).ids, ["a", "b"]);
      const later = cancelTargets(p, ["a", "b"], T0 + 90_000);
      assert.deepEqual(later.ids, ["b"]);
      assert.deepEqual(later.expired, ["a"]);
      assert.deepEqual(Object.keys(later.pending), ["b"]);
      assert.deepEqual(Object.keys(markCancelled(p, "a")), ["b"]);
      assert.ok(p.a, "pure: the input is unchanged");
    });

    it("only configured hosts get a cancel", () => {
      const p = markSent(markSent({}, "a", "a", T0, 60_000), "gone", "gone", T0, 60_000);
      const t = cancelTargets(p, ["a"], T0);
      assert.deepEqual(t.ids, ["a"]);
      assert.deepEqual(Object.keys(t.pending), ["a"]);
      assert.deepEqual(cancelTargets({}, ["a"], T0).ids, []);
    });

    it("reads what a context store returns, dropping anything malformed", () => {
      assert.deepEqual(readPending(undefined), {});
      assert.deepEqual(readPending("x"), {});
      assert.deepEqual(readPending({ a: { since: 1, until: 2, host: "h" }, b: { since: "1" }, c: null }), { a: { since: 1, until: 2, host: "h" } });
    });
  });

  describe("results and texts", () => {
    it("makeResult fills the contract's ShutdownResult; simulate has no outcome", () => {
      const r = makeResult(host, "shutdown", "sudo -n /sbin/shutdown -h +1 'x'", outcome({ stdout: "ok\n" }), T0);
      const expected: ShutdownResult = {
        host: "backup-server",
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
      };
      assert.deepEqual(r, expected);
      const s = makeResult(host, "simulate", "cmd", null, T0);
      assert.equal(s.ok, true);
      assert.equal(s.attempts, 0);
      assert.deepEqual(JSON.parse(JSON.stringify(r)), r, "plain JSON");
      const f = failedResult(host, "check", "", "key file /x does not exist", T0);
      assert.equal(f.ok, false);
      assert.equal(f.error, "key file /x does not exist");
    });

    it("summaries read as one line in a notification", () => {
      assert.equal(summarize(makeResult(host, "shutdown", "c", outcome(), T0)), "backup-server: shutdown sent (exit 0, 0.4 s)");
      assert.equal(summarize(makeResult(host, "cancel", "c", outcome({ durationMs: 250 }), T0)), "backup-server: shutdown cancelled (exit 0, 0.3 s)");
      assert.equal(summarize(makeResult(host, "check", "c", outcome({ attempts: 3, durationMs: 3050 }), T0)), "backup-server: check passed (exit 0, 3 attempts, 3.1 s)");
      assert.equal(
        summarize(makeResult(host, "shutdown", "c", outcome({ ok: false, exitCode: null, error: "connection refused by 192.0.2.10:22 (is sshd running?)", attempts: 4, durationMs: 7200 }), T0)),
        "backup-server: shutdown FAILED: connection refused by 192.0.2.10:22 (is sshd running?) (4 attempts, 7.2 s)",
      );
      assert.equal(summarize(makeResult(host, "simulate", "sudo -n /sbin/poweroff", null, T0)), "backup-server: simulate, would run: sudo -n /sbin/poweroff");
      assert.equal(summarize(makeResult(host, "check", "c", outcome({ ok: false, exitCode: 1, error: "exit code 1:\nsudo: a password is required\r\n" }), T0)), "backup-server: check FAILED: exit code 1: sudo: a password is required (0.4 s)");
      const joined = { ...makeResult(host, "shutdown", "c", outcome(), T0), joined: true };
      assert.equal(summarize(joined), "backup-server: shutdown sent (exit 0, 0.4 s, shared with an earlier message)");
    });

    it("status: running, then sent / failed counts per action", () => {
      const ssh = (view: StatusView, lang: Language = "en-US") => shown("ssh-shutdown", view, lang);
      assert.deepEqual(ssh(shutdownStatus("shutdown", 4, 1, 1, false)), { fill: "blue", shape: "ring", text: "shutdown 2/4…" });
      assert.deepEqual(ssh(shutdownStatus("shutdown", 4, 1, 1, false, 2)), { fill: "yellow", shape: "ring", text: "shutdown 2/4…, 2 retrying" });
      assert.deepEqual(ssh(shutdownStatus("shutdown", 4, 4, 0, true)), { fill: "green", shape: "dot", text: "sent 4/4" });
      assert.deepEqual(ssh(shutdownStatus("shutdown", 4, 3, 1, true)), { fill: "red", shape: "ring", text: "sent 3/4, 1 failed" });
      assert.deepEqual(ssh(shutdownStatus("cancel", 2, 2, 0, true)), { fill: "green", shape: "dot", text: "cancelled 2/2" });
      assert.deepEqual(ssh(shutdownStatus("check", 2, 1, 1, true)), { fill: "red", shape: "ring", text: "check failed 1/2" });
      // as the editor shows it: the failures counted, not "check ok 0/1"
      const failedCheck = shutdownStatus("check", 1, 0, 1, true);
      assert.deepEqual(ssh(failedCheck), { fill: "red", shape: "ring", text: "check failed 1/1" });
      assert.equal(ssh(failedCheck, "fr").text, "vérification en échec 1/1");
      assert.equal(ssh(shutdownStatus("cancel", 3, 1, 0, false), "fr").text, "annulation 1/3…");
      assert.deepEqual(ssh(shutdownStatus("simulate", 3, 3, 0, true)), { fill: "grey", shape: "dot", text: "simulated 3" });
    });
  });

  describe("runner helpers", () => {
    const target: SshTarget = { name: "h", address: "192.0.2.1", port: 2222, username: "nut", key: null, password: "pw", pins: [], acceptAnyHostKey: false };

    it("keeps a bounded excerpt of the output and says how much was dropped", () => {
      const e = new Excerpt(10);
      e.add(Buffer.from("hello "));
      e.add(Buffer.from("world and more"));
      e.add(Buffer.from("!!!"));
      assert.equal(e.text(), "hello worl… [13 more bytes]");
      const small = new Excerpt(100);
      small.add(Buffer.from("ok\n"));
      assert.equal(small.text(), "ok\n");
    });

    it("backs off 1, 2, 4, 8, 8 s", () => {
      assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 1000, 8000)), [1000, 2000, 4000, 8000, 8000]);
    });

    it("says what failed and whether another attempt may help", () => {
      const c = (e: Partial<Error & { level: string; code: string }>): { error: string; retryable: boolean } =>
        classifyError(Object.assign(new Error(e.message ?? "x"), e), target, 10_000);
      assert.deepEqual(c({ code: "ECONNREFUSED" }), { error: "connection refused by 192.0.2.1:2222 (is sshd running?)", retryable: true });
      assert.equal(c({ level: "client-timeout" }).retryable, true);
      assert.match(c({ level: "client-timeout" }).error, /no SSH handshake .* within 10 s/);
      assert.deepEqual(c({ level: "client-authentication" }), { error: "authentication failed for user nut on 192.0.2.1:2222 (tried: password)", retryable: false });
      assert.equal(c({ message: "Handshake failed: no matching host key format" }).retryable, false);
      assert.equal(c({ code: "ENOTFOUND" }).retryable, true);
      assert.equal(c({ code: "EHOSTUNREACH" }).retryable, true);
    });

    it("never repeats what the peer wrote: a disconnect is named by its reason code, library texts are one bounded line", () => {
      const hostile = "<script>alert(1)</script>\n" + "A".repeat(30_000);
      const disconnect = classifyError(Object.assign(new Error(hostile), { code: 12 as unknown as string }), target, 10_000);
      assert.equal(disconnect.error, "192.0.2.1:2222 closed the connection (SSH disconnect reason 12, too many connections)");
      assert.equal(disconnect.retryable, true);
      const odd = classifyError(Object.assign(new Error(hostile), { code: 4242 as unknown as string }), target, 10_000);
      assert.equal(odd.error, "192.0.2.1:2222 closed the connection (SSH disconnect reason 4242)");
      const long = classifyError(new Error("Bad packet length\u0000\r\n" + "x".repeat(5000)), target, 10_000).error;
      assert.ok(long.length <= 220, `bounded: ${long.length}`);
      assert.ok(![...long].some((ch) => ch.charCodeAt(0) < 0x20), "one line, no control character");
    });
  });
});
