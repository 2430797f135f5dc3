/**
 * The orchestration of ssh-shutdown (core/ssh/orchestrator.ts) without
 * Node-RED and without SSH: a fake runner whose calls the test answers, and
 * sinon's fake timers for the phase deadlines.
 */
import should from "../harness/should";
import sinon from "sinon";
import type { ShutdownResult } from "../../core/contract";
import { KEEPALIVE_MS, Orchestrator, healthChange, stepsOf } from "../../core/ssh/orchestrator";
import type { Delivery, KeptSession, OpenSession, OrchestratorOptions, Resolved, RunCounts } from "../../core/ssh/orchestrator";
import { presetCommands } from "../../core/ssh/presets";
import type { RunOptions, RunOutcome, SshTarget } from "../../core/ssh/runner";
import { MAX_SHARED_REQUESTS } from "../../core/ssh/shutdown";
import { runOutcome } from "../harness/ssh-target";

/** One call of the fake runner: the test answers it (or it ends when aborted). */
interface Call {
  host: string;
  session: FakeSession | null;
  command: string | null;
  opts: RunOptions;
  /** The command reaches the host. */
  send(): void;
  answer(over?: Partial<RunOutcome>): void;
  ended: boolean;
}

const OUTCOME = runOutcome({ durationMs: 5 });

/** A session the test opens, drops and sees closed. */
class FakeSession implements KeptSession {
  isOpen = true;
  closedBy: "node" | "peer" | null = null;
  private readonly listeners: (() => void)[] = [];
  constructor(readonly host: string) {}
  onClose(l: () => void): void {
    this.listeners.push(l);
  }
  private end(by: "node" | "peer"): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.closedBy = by;
    for (const l of this.listeners.splice(0)) l();
  }
  close(): Promise<void> {
    this.end("node");
    return Promise.resolve();
  }
  drop(): void {
    this.end("peer");
  }
}

function fakeRunner(): { calls: Call[]; run: OrchestratorOptions<string, FakeSession>["run"]; callsOf(host: string): Call[] } {
  const calls: Call[] = [];
  const run = (target: SshTarget, command: string | null, opts: RunOptions, session: FakeSession | null): Promise<RunOutcome> =>
    new Promise((resolve) => {
      const call: Call = {
        host: target.name,
        session,
        command,
        opts,
        ended: false,
        send: () => opts.onSent?.(),
        answer: (over = {}) => {
          if (call.ended) return;
          call.ended = true;
          resolve({ ...OUTCOME, ...over });
        },
      };
      opts.signal?.addEventListener("abort", () => call.answer({ ok: false, exitCode: null, error: "aborted", aborted: true, sent: false }));
      calls.push(call);
    });
  return { calls, run, callsOf: (host) => calls.filter((c) => c.host === host) };
}

const target = (name: string): SshTarget => ({
  name,
  address: "192.0.2.1",
  port: 22,
  username: "ups",
  key: null,
  password: "x",
  pins: [],
  acceptAnyHostKey: false,
});

function resolver(missing: string[] = []): (id: string) => Resolved {
  return (id) => {
    const info = { name: id, address: "192.0.2.1", port: 22, username: "ups" };
    const commands = presetCommands("linux", { delayMinutes: 1, message: "", username: "ups" });
    const guests = { steps: [], checks: [] };
    if (missing.includes(id)) return { info, commands, guests, target: null, failure: `${id} is not configured` };
    return { info, commands, guests, target: target(id), failure: null };
  };
}

/** Let promise chains run (setImmediate is not faked). */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("ssh orchestrator (core/ssh/orchestrator.ts)", () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  });
  afterEach(() => clock.restore());

  function setup(over: Partial<OrchestratorOptions<string, FakeSession>> = {}) {
    const runner = fakeRunner();
    const delivered: { to: string; result: ShutdownResult; how: Delivery }[] = [];
    const counts: RunCounts[] = [];
    const sent: string[] = [];
    const cancelled: string[] = [];
    const o = new Orchestrator<string, FakeSession>({
      connectTimeoutMs: 1000,
      commandTimeoutMs: 1000,
      deadlineMs: 10_000,
      checkRetry: false,
      resolve: resolver(),
      run: runner.run,
      deliver: (to, result, how) => delivered.push({ to, result, how }),
      progress: (c) => counts.push(c),
      sent: (id) => sent.push(id),
      cancelled: (id) => cancelled.push(id),
      stoppedByCancelText: "stopped by a cancel",
      ...over,
    });
    const to = (who: string) =>
      delivered.filter((d) => d.to === who).map((d) => `${d.result.host}:${d.result.ok ? "ok" : d.result.error}${d.result.joined ? "+joined" : ""}`);
    return { o, runner, delivered, counts, sent, cancelled, to };
  }

  it("runs every host once, in parallel, and reports each result to the message as soon as it is known", async () => {
    const t = setup();
    let done = false;
    void t.o.execute("shutdown", ["a", "b", "c"], "m1")!.then(() => (done = true));
    await flush();
    should(t.runner.calls.map((c) => c.host)).eql(["a", "b", "c"]);
    t.runner.callsOf("b")[0].answer();
    await flush();
    should(t.to("m1")).eql(["b:ok"]);
    should(done).be.false();
    t.runner.callsOf("a")[0].answer({ ok: false, error: "exit code 1" });
    t.runner.callsOf("c")[0].answer();
    await flush();
    should(done).be.true();
    should(t.to("m1")).eql(["b:ok", "a:exit code 1", "c:ok"]);
    should(t.counts.at(-1)).eql({ action: "shutdown", total: 3, ok: 2, failed: 1, retrying: 0, finished: true });
  });

  it("a host that cannot be tried gets a failed result and the others still run", async () => {
    const t = setup({ resolve: resolver(["gone"]) });
    const p = t.o.execute("shutdown", ["gone", "a"], "m1")!;
    await flush();
    should(t.runner.calls.map((c) => c.host)).eql(["a"]);
    t.runner.calls[0].answer();
    await p;
    should(t.to("m1")).eql(["gone:gone is not configured", "a:ok"]);
  });

  it("a second message joins the run in progress: no second connection, the result is reported to both (joined for the second)", async () => {
    const t = setup();
    const p1 = t.o.execute("shutdown", ["a", "b"], "m1")!;
    await flush();
    t.runner.callsOf("a")[0].answer();
    await flush();
    const p2 = t.o.execute("shutdown", ["a", "b"], "m2")!;
    await flush();
    should(t.to("m2")).eql(["a:ok+joined"]);
    t.runner.callsOf("b")[0].answer();
    await Promise.all([p1, p2]);
    should(t.runner.calls).have.length(2);
    should(t.to("m1")).eql(["a:ok", "b:ok"]);
    should(t.to("m2")).eql(["a:ok+joined", "b:ok+joined"]);
  });

  it(`refuses a message past ${MAX_SHARED_REQUESTS} sharing one run (null), and sends nothing for it`, async () => {
    const t = setup();
    for (let i = 0; i < MAX_SHARED_REQUESTS; i++) should(t.o.execute("shutdown", ["a"], `m${i}`)).not.be.null();
    should(t.o.execute("shutdown", ["a"], "late")).be.null();
    await flush();
    should(t.runner.calls).have.length(1);
  });

  it("a cancel stops the shutdowns not sent yet (a warning result), leaves a sent one alone, and a later shutdown starts a new run", async () => {
    const t = setup();
    const p = t.o.execute("shutdown", ["a", "b"], "m1")!;
    await flush();
    t.runner.callsOf("a")[0].send();
    should(t.o.stopShutdowns()).equal(1);
    await flush();
    should(t.delivered.map((d) => [d.result.host, d.result.error, d.how.stoppedByCancel])).eql([["b", "stopped by a cancel", true]]);
    t.runner.callsOf("a")[0].answer();
    await p;
    should(t.sent).eql(["a"]);
    void t.o.execute("shutdown", ["a", "b"], "m2");
    await flush();
    should(t.runner.callsOf("a")).have.length(2);
    should(t.runner.callsOf("b")).have.length(2);
  });

  it("one connection per host and action: a new run for a host waits until the previous connection ended", async () => {
    const t = setup();
    void t.o.execute("shutdown", ["a"], "m1");
    await flush();
    t.runner.calls[0].send(); // sent: a cancel does not stop it
    t.o.stopShutdowns();
    void t.o.execute("shutdown", ["a"], "m2");
    await flush();
    should(t.runner.calls).have.length(1);
    t.runner.calls[0].answer();
    await flush();
    should(t.runner.calls).have.length(2);
  });

  it("guest steps go first on the same connection: the stops before a shutdown, their checks before a check or a pre-flight, none before a cancel", async () => {
    const stop = { label: "stop VMs", command: "qm-stop", timeoutMs: 1000 };
    const check = { label: "stop VMs", command: "sudo -n -l qm-stop", timeoutMs: 1000 };
    const guests = { steps: [stop], checks: [check] };
    should((["shutdown", "check", "prepare", "cancel", "simulate"] as const).map((a) => stepsOf(a, guests))).eql([[stop], [check], [check], [], []]);
    const t = setup({ resolve: (id) => ({ ...resolver()(id), guests }) });
    void t.o.execute("shutdown", ["a"], "m1");
    void t.o.execute("prepare", ["a"], "m1");
    await flush();
    should(t.runner.calls.map((c) => c.opts.before)).eql([[stop], [check]]);
  });

  it("a check makes one attempt unless retries are asked for; a cancel accepts the preset's exit codes and is reported", async () => {
    const t = setup();
    void t.o.execute("check", ["a"], "m1");
    void t.o.execute("cancel", ["a"], "m1");
    await flush();
    should(t.runner.calls.map((c) => [c.command, c.opts.maxAttempts])).eql([
      ["sudo -n -l /sbin/shutdown -h +1 'UPS power failure: this host is shutting down' && sudo -n -l /sbin/shutdown -c", 1],
      ["sudo -n /sbin/shutdown -c", undefined],
    ]);
    t.runner.calls[1].answer();
    await flush();
    should(t.cancelled).eql(["a"]);
    const r = setup({ checkRetry: true });
    void r.o.execute("check", ["a"], "m1");
    await flush();
    should(r.runner.calls[0].opts.maxAttempts).be.undefined();
  });

  it("close ends every connection, names the shutdowns that never reached their host, and reports nothing more", async () => {
    const t = setup();
    void t.o.execute("shutdown", ["a", "b"], "m1");
    await flush();
    t.runner.callsOf("a")[0].send();
    const unsent: string[] = [];
    await t.o.close((info) => unsent.push(info.name));
    should(unsent).eql(["b"]);
    should(t.delivered).be.empty();
  });

  describe("phases", () => {
    const phases = (map: Record<string, number>) => (id: string) => map[id] ?? 1;

    it("phase 2 starts when every host of phase 1 reported, not before", async () => {
      const t = setup({ phaseOf: phases({ nas: 2, ups: 3 }), phaseDeadlineMs: 60_000 });
      const p = t.o.execute("shutdown", ["a", "nas", "b", "ups"], "m1")!;
      await flush();
      should(t.runner.calls.map((c) => c.host)).eql(["a", "b"]);
      t.runner.callsOf("a")[0].answer();
      await flush();
      should(t.runner.calls.map((c) => c.host)).eql(["a", "b"]);
      t.runner.callsOf("b")[0].answer({ ok: false, error: "unreachable" }); // a failure counts as reported
      await flush();
      should(t.runner.calls.map((c) => c.host)).eql(["a", "b", "nas"]);
      t.runner.callsOf("nas")[0].answer();
      await flush();
      should(t.runner.calls.map((c) => c.host)).eql(["a", "b", "nas", "ups"]);
      t.runner.callsOf("ups")[0].answer();
      await p;
      should(t.to("m1")).eql(["a:ok", "b:unreachable", "nas:ok", "ups:ok"]);
    });

    it("a host of phase 1 that hangs holds phase 2 back only until the phase deadline", async () => {
      const t = setup({ phaseOf: phases({ nas: 2 }), phaseDeadlineMs: 60_000 });
      void t.o.execute("shutdown", ["hung", "nas"], "m1");
      await flush();
      clock.tick(59_999);
      await flush();
      should(t.runner.calls.map((c) => c.host)).eql(["hung"]);
      clock.tick(1);
      await flush();
      should(t.runner.calls.map((c) => c.host)).eql(["hung", "nas"]);
      // the hung host's late answer does not start anything again
      t.runner.callsOf("hung")[0].answer({ ok: false, error: "timed out" });
      await flush();
      should(t.runner.calls).have.length(2);
    });

    it("a host that cannot be tried does not hold its phase; an empty phase number is skipped", async () => {
      const t = setup({ resolve: resolver(["gone"]), phaseOf: phases({ gone: 1, nas: 5 }), phaseDeadlineMs: 60_000 });
      void t.o.execute("shutdown", ["gone", "nas"], "m1");
      await flush();
      should(t.runner.calls.map((c) => c.host)).eql(["nas"]);
    });

    it("a cancel while a later phase waits: that phase never connects, its hosts are reported stopped", async () => {
      const t = setup({ phaseOf: phases({ nas: 2 }), phaseDeadlineMs: 60_000 });
      const p = t.o.execute("shutdown", ["a", "nas"], "m1")!;
      await flush();
      t.runner.callsOf("a")[0].send();
      should(t.o.stopShutdowns()).equal(1);
      clock.tick(120_000);
      t.runner.callsOf("a")[0].answer();
      await p;
      should(t.runner.calls.map((c) => c.host)).eql(["a"]);
      should(t.to("m1")).eql(["nas:stopped by a cancel", "a:ok"]);
    });

    it("close while a later phase waits: nothing more connects and the message is finished", async () => {
      const t = setup({ phaseOf: phases({ nas: 2 }), phaseDeadlineMs: 60_000 });
      let finished = false;
      void t.o.execute("shutdown", ["a", "nas"], "m1")!.then(() => (finished = true));
      await flush();
      await t.o.close(() => undefined);
      clock.tick(120_000);
      await flush();
      should(finished).be.true();
      should(t.runner.calls.map((c) => c.host)).eql(["a"]);
    });

    it("a check or a cancel ignores phases: every host at once", async () => {
      const t = setup({ phaseOf: phases({ nas: 2 }), phaseDeadlineMs: 60_000 });
      void t.o.execute("check", ["a", "nas"], "m1");
      await flush();
      should(t.runner.calls.map((c) => c.host)).eql(["a", "nas"]);
    });
  });

  describe("pre-flight sessions", () => {
    /** Opens a fake session per call; hosts in `refuse` fail with their reason. */
    function opener(refuse: Record<string, string> = {}) {
      const opened: FakeSession[] = [];
      const keepalives: (number | undefined)[] = [];
      const open: OpenSession<FakeSession> = (t, opts) => {
        keepalives.push(opts.keepaliveMs);
        const why = refuse[t.name];
        if (why) return Promise.resolve({ ok: false, error: why, retryable: false, aborted: false });
        const s = new FakeSession(t.name);
        opened.push(s);
        return Promise.resolve({ ok: true, session: s });
      };
      return { open, opened, keepalives };
    }

    it("prepare opens one session per host, runs the check on it, keeps it; the shutdown then goes on it and closes it", async () => {
      const sessions = opener();
      const t = setup({ openSession: sessions.open });
      const p = t.o.execute("prepare", ["a", "b"], "m1")!;
      await flush();
      should(t.runner.calls.map((c) => [c.host, c.command?.startsWith("sudo -n -l "), c.session?.host, c.opts.maxAttempts])).eql([
        ["a", true, "a", 1],
        ["b", true, "b", 1],
      ]);
      should(sessions.keepalives).eql([KEEPALIVE_MS, KEEPALIVE_MS]);
      for (const c of t.runner.calls) c.answer();
      await p;
      should(t.o.kept).equal(2);
      should(t.delivered.map((d) => [d.result.action, d.result.ok])).eql([
        ["prepare", true],
        ["prepare", true],
      ]);
      void t.o.execute("shutdown", ["a", "b"], "m2");
      await flush();
      const shutdowns = t.runner.calls.slice(2);
      should(shutdowns.map((c) => [c.host, c.session?.host])).eql([
        ["a", "a"],
        ["b", "b"],
      ]);
      shutdowns[0].answer();
      await flush();
      should(sessions.opened.map((s) => s.closedBy)).eql(["node", null]);
      should(t.o.kept).equal(1);
      should(t.sent).eql([]); // a prepare is never a shutdown; the fake answered without sending
    });

    it("a host whose session cannot open is reported, keeps nothing, and delays nobody", async () => {
      const sessions = opener({ bad: "host key mismatch" });
      const t = setup({ openSession: sessions.open });
      const p = t.o.execute("prepare", ["bad", "a"], "m1")!;
      await flush();
      should(t.to("m1")).eql(["bad:host key mismatch"]);
      should(t.runner.calls.map((c) => c.host)).eql(["a"]);
      t.runner.calls[0].answer({ ok: false, exitCode: 1, error: "exit code 1: sudo: a password is required" });
      await p;
      should(t.to("m1")).eql(["bad:host key mismatch", "a:exit code 1: sudo: a password is required"]);
      should(t.o.kept).equal(1); // the session is good even if sudo is not: the shutdown will say so again
    });

    it("a session dropped before the tier: the shutdown connects on its own (no session handed in)", async () => {
      const sessions = opener();
      const t = setup({ openSession: sessions.open });
      const p = t.o.execute("prepare", ["a"], "m1")!;
      await flush();
      t.runner.calls[0].answer();
      await p;
      sessions.opened[0].drop();
      should(t.o.kept).equal(0);
      void t.o.execute("shutdown", ["a"], "m2");
      await flush();
      should(t.runner.calls[1].session).be.null();
    });

    it("kept sessions end when told (power back), after the time allowed, and at close; without an opener nothing is kept", async () => {
      const sessions = opener();
      const t = setup({ openSession: sessions.open, keepForMs: 600_000 });
      const prepare = async () => {
        const p = t.o.execute("prepare", ["a", "b"], "m")!;
        await flush();
        for (const c of t.runner.calls) c.answer();
        await p;
      };
      await prepare();
      await t.o.endSessions();
      should(sessions.opened.map((s) => s.closedBy)).eql(["node", "node"]);
      await prepare();
      clock.tick(599_999);
      should(t.o.kept).equal(2);
      clock.tick(1);
      should(t.o.kept).equal(0);
      await prepare();
      await t.o.close(() => undefined);
      should(sessions.opened.every((s) => !s.isOpen)).be.true();
      const plain = setup();
      const p = plain.o.execute("prepare", ["a"], "m")!;
      await flush();
      should(plain.runner.calls[0].session).be.null();
      plain.runner.calls[0].answer();
      await p;
      should(plain.o.kept).equal(0);
    });

    it("power back while a pre-flight is still connecting: the session it then opens is closed, not kept", async () => {
      let release: (() => void) | null = null;
      const late = new FakeSession("a");
      const t = setup({
        openSession: () =>
          new Promise((resolve) => {
            release = () => resolve({ ok: true, session: late });
          }),
      });
      const p = t.o.execute("prepare", ["a"], "m")!;
      await flush();
      await t.o.endSessions();
      release!();
      await flush();
      t.runner.calls[0].answer();
      await p;
      should(late.closedBy).equal("node");
      should(t.o.kept).equal(0);
    });

    it("a second prepare reuses the open session (one per host, never a second handshake)", async () => {
      const sessions = opener();
      const t = setup({ openSession: sessions.open });
      for (const m of ["m1", "m2"]) {
        const p = t.o.execute("prepare", ["a"], m)!;
        await flush();
        t.runner.calls.at(-1)!.answer();
        await p;
      }
      should(sessions.opened).have.length(1);
      should(t.runner.calls.map((c) => c.session === sessions.opened[0])).eql([true, true]);
    });
  });

  describe("health checks", () => {
    it("healthChange: one word when a host goes bad, one when it recovers, none while nothing changes", () => {
      should([undefined, true, false].map((prev) => [healthChange(prev, true), healthChange(prev, false)])).eql([
        [null, "bad"],
        [null, "bad"],
        ["recovered", null],
      ]);
    });

    it("checks every host each period; reports a host once when it goes bad and once when it recovers", async () => {
      const t = setup();
      const reports: string[] = [];
      t.o.startHealth(["a", "b"], 3_600_000, "health", (r, change) => reports.push(`${r.host}:${change}`));
      clock.tick(3_599_999);
      await flush();
      should(t.runner.calls).be.empty();
      const period = async (answers: Record<string, boolean>) => {
        clock.tick(3_600_000 - (t.runner.calls.length ? 0 : 3_599_999));
        await flush();
        for (const c of t.runner.calls.filter((x) => !x.ended)) c.answer(answers[c.host] ? {} : { ok: false, exitCode: 1, error: "exit code 1" });
        await flush();
      };
      await period({ a: true, b: false });
      await period({ a: true, b: false });
      await period({ a: false, b: true });
      await period({ a: false, b: true });
      should(t.runner.calls.map((c) => c.opts.maxAttempts)).matchEach(1);
      should(t.runner.calls).have.length(8);
      should(reports).eql(["b:bad", "a:bad", "b:recovered"]);
      should(t.delivered).be.empty(); // the results go to the health report only
      await t.o.close(() => undefined);
      clock.tick(10 * 3_600_000);
      await flush();
      should(t.runner.calls).have.length(8);
    });

    it("no health check while a pre-flight's sessions are kept", async () => {
      const t = setup({
        openSession: (target) => Promise.resolve({ ok: true, session: new FakeSession(target.name) }),
      });
      const p = t.o.execute("prepare", ["a"], "m")!;
      await flush();
      t.runner.calls[0].answer();
      await p;
      t.o.startHealth(["a"], 60_000, "health", () => undefined);
      clock.tick(60_000);
      await flush();
      should(t.runner.calls).have.length(1);
      await t.o.endSessions();
      clock.tick(60_000);
      await flush();
      should(t.runner.calls).have.length(2);
    });
  });
});
