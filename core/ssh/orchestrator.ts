/**
 * The orchestration of ssh-shutdown, without Node-RED: which hosts an action
 * goes to and when, the messages that share a run, at most one connection per
 * host and action, what a cancel stops, the counts of the status, ordered
 * phases, and the pre-flight sessions kept open for the outage.
 *
 * Everything that touches the world is injected: the function that runs a
 * command on a host (core/ssh/runner.ts in production, a fake in unit
 * tests), how a host id becomes a target, the clock, and where results,
 * counts and "sent" marks go. The node (nodes/ssh-shutdown.ts) is the shell
 * that wires those to Node-RED (messages, status, context, texts).
 */
import type { ShutdownAction, ShutdownResult } from "../contract";
import type { PresetCommands } from "./presets";
import type { RunOptions, RunOutcome, SshTarget, Step } from "./runner";
import type { OpenOptions, OpenResult } from "./session";
import { MAX_SHARED_REQUESTS, failedResult, makeResult, verifies } from "./shutdown";

/** Who a host is, for results. */
export interface HostInfo {
  name: string;
  address: string;
  port: number;
  username: string;
}

/**
 * What the shell makes of a host id for an action: the preset's commands and
 * a target to connect to, or why it cannot be tried. Which command runs is
 * the orchestrator's (commandOf): a pre-flight never runs a shutdown.
 */
export interface Resolved {
  info: HostInfo;
  commands: PresetCommands | null;
  /** Steps run first on the same connection (core/ssh/guests.ts): a shutdown's, and the checks of a check or pre-flight. */
  guests: { steps: Step[]; checks: Step[] };
  target: SshTarget | null;
  /** Set when the host cannot be tried (then `target` is null). */
  failure: string | null;
}

/** The clock: epoch ms for results, and timers (phase deadlines). Fake timers replace it in tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** What the orchestrator needs of an open SSH session (core/ssh/session.ts's SshSession). */
export interface KeptSession {
  readonly isOpen: boolean;
  onClose(listener: () => void): unknown;
  close(hard?: boolean): Promise<void>;
}

/** Opening a session: SshSession.open in production. */
export type OpenSession<S extends KeptSession> = (
  target: SshTarget,
  opts: OpenOptions,
) => Promise<{ ok: true; session: S } | Exclude<OpenResult, { ok: true }>>;

/** SSH keep-alive of a kept session: three unanswered (45 s) and it counts as dropped. */
export const KEEPALIVE_MS = 15_000;

/**
 * A host's health after a periodic check: "bad" the first time it fails
 * (after passing, or at the first check), "recovered" the first time it
 * passes after failing, null when nothing changed (not one word per check).
 */
export function healthChange(previous: boolean | undefined, ok: boolean): "bad" | "recovered" | null {
  if (!ok) return previous === false ? null : "bad";
  return previous === false ? "recovered" : null;
}

/** Counts of one run, for the status. */
export interface RunCounts {
  action: ShutdownAction;
  total: number;
  ok: number;
  failed: number;
  retrying: number;
  finished: boolean;
}

/** How a result reaches one message. */
export interface Delivery {
  /** This message started the host's run (false: it joined it). */
  owner: boolean;
  /** Stopped by a cancel before the command reached the host: a warning, not an error. */
  stoppedByCancel: boolean;
}

export interface OrchestratorOptions<R, S extends KeptSession = KeptSession> {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  deadlineMs: number;
  /** A check retries until the deadline like a shutdown (default: one attempt). */
  checkRetry: boolean;
  /** The phase of a host (1, 2, …): a shutdown reaches phase n+1 once phase n reported or its deadline passed. */
  phaseOf?: (id: string) => number;
  /** How long a phase may take before the next one starts anyway. */
  phaseDeadlineMs?: number;
  resolve(id: string, action: ShutdownAction): Resolved;
  /** Run a command on a host; `session`: an open one to use first (the runner connects again if it dropped). */
  run(target: SshTarget, command: string | null, opts: RunOptions, session: S | null): Promise<RunOutcome>;
  /** Opens the sessions a pre-flight keeps for the outage; absent: a pre-flight keeps none. */
  openSession?: OpenSession<S>;
  /** Kept sessions close this long after they were opened at the latest. */
  keepForMs?: number;
  clock?: Clock;
  /** A host's result, to one message waiting for it (called once per message and host). */
  deliver(to: R, result: ShutdownResult, how: Delivery): void;
  /** The counts of a run changed. */
  progress?(counts: RunCounts): void;
  /** A shutdown command reached host `id` (it may run even if no answer comes back). */
  sent?(id: string, info: HostInfo, commands: PresetCommands): void;
  /** A cancel succeeded on host `id`. */
  cancelled?(id: string): void;
  /** Texts: a shutdown stopped by a cancel before it was sent. */
  stoppedByCancelText: string;
}

/** A message waiting for results of a run: the one that started it, or one that joined. */
interface Waiting<R> {
  to: R;
  /** Host ids whose result this message still waits for. */
  hosts: Set<string>;
  finished: () => void;
  /** Where its results go instead of OrchestratorOptions.deliver (the health checks). */
  hear?: (result: ShutdownResult, how: Delivery) => void;
}

/** One host of a run: at most one connection at a time, whatever the number of messages. */
interface Slot<R> {
  id: string;
  info: HostInfo;
  command: string;
  commands: PresetCommands | null;
  /** Run before the command on the same connection. */
  steps: Step[];
  target: SshTarget | null;
  failure: string | null;
  controller: AbortController;
  phase: number;
  /** Connected (or given up) already; false while it waits for its phase. */
  launched: boolean;
  sent: boolean;
  retrying: boolean;
  abortedBy: "cancel" | "close" | null;
  owner: Waiting<R>;
  result: ShutdownResult | null;
}

/** The hosts of one action in progress, and the messages that share them. */
interface Run<R> {
  action: ShutdownAction;
  slots: Map<string, Slot<R>>;
  waiting: Waiting<R>[];
  /** A new request for this action may join (no longer once a cancel stopped the shutdowns). */
  open: boolean;
  /** The phase whose hosts may connect now (and every earlier one). */
  phase: number;
  phaseTimer: unknown;
}

/** The command of an action: a pre-flight runs the check, never the shutdown; simulate runs nothing (its result names the shutdown). */
export function commandOf(action: ShutdownAction, c: PresetCommands): string | null {
  switch (action) {
    case "cancel":
      return c.cancel;
    case "check":
    case "prepare":
      return c.check;
    case "shutdown":
    case "simulate":
      return c.shutdown;
  }
}

/** The steps before an action's command: the guests' stops before a shutdown, their checks before a check or a pre-flight. */
export function stepsOf(action: ShutdownAction, guests: { steps: Step[]; checks: Step[] }): Step[] {
  if (action === "shutdown") return guests.steps;
  return verifies(action) ? guests.checks : [];
}

export class Orchestrator<R, S extends KeptSession = KeptSession> {
  private readonly runs = new Set<Run<R>>();
  /** Every connection in progress, for close. */
  private readonly inflight = new Set<Promise<void>>();
  /**
   * The last connection started per action and host: the next one for the same
   * pair waits for it to end (a run stopped by a cancel may still be closing,
   * or waiting for its command's exit), so there is never more than one.
   */
  private readonly lanes = new Map<string, Promise<void>>();
  private readonly clock: Clock;
  /** The sessions a pre-flight opened, one per host at most, until the shutdown used them or they end. */
  private readonly sessions = new Map<string, S>();
  private keepTimer: unknown;
  /** Health of each host at its last periodic check (true: passed). */
  private readonly health = new Map<string, boolean>();
  private healthTimer: unknown;
  private closing = false;
  /** Counts endSessions: a session opened for an earlier pre-flight is not kept after power came back. */
  private epoch = 0;

  constructor(private readonly o: OrchestratorOptions<R, S>) {
    this.clock = o.clock ?? realClock;
  }

  /** Hosts with a session kept open now. */
  get kept(): number {
    return [...this.sessions.values()].filter((s) => s.isOpen).length;
  }

  /**
   * End every kept session (power is back, the outage ended, the time
   * allowed ran out, or the node stops). A shutdown asked for later
   * connects as usual.
   */
  endSessions(): Promise<void> {
    this.epoch++;
    this.clock.clearTimeout(this.keepTimer);
    this.keepTimer = undefined;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    return Promise.all(all.map((s) => s.close())).then(() => undefined);
  }

  /** Keep `session` for host `id` (replacing none: one per host), until it closes or the time allowed ends. */
  private keep(id: string, session: S, epoch: number): void {
    if (this.closing || epoch !== this.epoch) {
      void session.close();
      return;
    }
    this.sessions.set(id, session);
    session.onClose(() => {
      // dropped: the shutdown connects again on demand
      if (this.sessions.get(id) === session) this.sessions.delete(id);
    });
    this.keepTimer ??= this.clock.setTimeout(() => {
      this.keepTimer = undefined;
      void this.endSessions();
    }, this.o.keepForMs ?? 3_600_000);
  }

  /** The open session kept for host `id`, if any. */
  private sessionOf(id: string): S | null {
    const s = this.sessions.get(id);
    return s?.isOpen ? s : null;
  }

  /**
   * Check every host of `ids` every `everyMs` (the first check one period
   * from now); `report` hears of a host only when its health changes
   * (healthChange). No check starts while a pre-flight's sessions are kept or
   * a shutdown is in progress: that is an outage, not a quiet day.
   */
  startHealth(ids: string[], everyMs: number, to: R, report: (result: ShutdownResult, change: "bad" | "recovered") => void): void {
    const tick = (): void => {
      this.healthTimer = this.clock.setTimeout(tick, everyMs);
      if (this.closing || this.sessions.size > 0 || [...this.runs].some((r) => r.action === "shutdown")) return;
      void this.execute("check", ids, to, (result) => {
        const change = healthChange(this.health.get(result.hostId), result.ok);
        this.health.set(result.hostId, result.ok);
        if (change) report(result, change);
      });
    };
    this.healthTimer = this.clock.setTimeout(tick, everyMs);
  }

  /**
   * Run `action` on the hosts `ids` for one message. While a run of this
   * action is in progress it joins it: hosts already in that run are not
   * contacted again (their result, known or to come, is reported for this
   * message too), only hosts new to it are. Null: refused, the run already
   * reports to MAX_SHARED_REQUESTS messages. Resolves once every host of
   * `ids` reported to this message.
   */
  execute(action: ShutdownAction, ids: string[], to: R, hear?: (result: ShutdownResult, how: Delivery) => void): Promise<void> | null {
    let run = [...this.runs].find((r) => r.action === action && r.open);
    if (run && run.waiting.length >= MAX_SHARED_REQUESTS) return null;
    if (!run) {
      run = { action, slots: new Map(), waiting: [], open: true, phase: 0, phaseTimer: undefined };
      this.runs.add(run);
    }
    const current = run;
    return new Promise<void>((resolve) => {
      if (ids.length === 0) return resolve();
      const w: Waiting<R> = { to, hosts: new Set(ids), finished: resolve, hear };
      current.waiting.push(w);
      const fresh: Slot<R>[] = [];
      for (const id of ids) {
        if (current.slots.has(id)) continue;
        const slot = this.slotFor(action, id, w);
        current.slots.set(id, slot);
        fresh.push(slot);
      }
      // every slot is in the run before any result: the run cannot look finished too early
      for (const id of ids) {
        const slot = current.slots.get(id);
        if (slot?.result) this.deliver(w, slot);
      }
      if (fresh.length > 0) this.progress(current);
      this.openPhase(current, current.phase === 0 ? this.firstPhase(current) : current.phase);
    });
  }

  /**
   * Power is back: shutdowns still trying to reach their host (or waiting for
   * their phase) stop here, and a shutdown asked for after this starts a run
   * of its own. Returns how many were stopped.
   */
  stopShutdowns(): number {
    let stopped = 0;
    for (const r of this.runs) {
      if (r.action !== "shutdown") continue;
      r.open = false;
      this.clock.clearTimeout(r.phaseTimer);
      for (const slot of r.slots.values()) {
        if (!slot.result && !slot.sent && !slot.controller.signal.aborted) {
          slot.abortedBy = "cancel";
          slot.controller.abort();
          stopped++;
          if (!slot.launched) this.giveUp(r, slot, this.o.stoppedByCancelText);
        }
      }
    }
    return stopped;
  }

  /**
   * Redeploy or stop: every connection ends; `unsent` is told of each
   * shutdown that never reached its host. Resolves once every connection is closed.
   */
  close(unsent: (info: HostInfo) => void): Promise<void> {
    this.closing = true;
    this.clock.clearTimeout(this.healthTimer);
    const sessions = this.endSessions();
    for (const r of this.runs) {
      r.open = false;
      this.clock.clearTimeout(r.phaseTimer);
      for (const slot of r.slots.values()) {
        // a shutdown the latch let through but that never reached its host: not resumed after the restart
        if (r.action === "shutdown" && !slot.sent && !slot.result && slot.abortedBy === null) unsent(slot.info);
        slot.abortedBy ??= "close";
        slot.controller.abort();
        // waiting for its phase: nothing to close, but the messages waiting for it finish
        if (!slot.launched) this.giveUp(r, slot, "aborted");
      }
    }
    return Promise.all([...this.inflight, sessions]).then(() => undefined);
  }

  private slotFor(action: ShutdownAction, id: string, owner: Waiting<R>): Slot<R> {
    const r = this.o.resolve(id, action);
    return {
      id,
      info: r.info,
      command: r.commands ? (commandOf(action, r.commands) ?? "") : "",
      commands: r.commands,
      steps: stepsOf(action, r.guests),
      target: r.failure === null ? r.target : null,
      failure: r.failure,
      controller: new AbortController(),
      // only a shutdown waits for the hosts before it: a check or a cancel powers nothing off
      phase: action === "shutdown" && this.o.phaseOf ? this.o.phaseOf(id) : 1,
      launched: false,
      sent: false,
      retrying: false,
      abortedBy: null,
      owner,
      result: null,
    };
  }

  private firstPhase(run: Run<R>): number {
    return Math.min(...[...run.slots.values()].map((s) => s.phase));
  }

  /**
   * Phase `phase` (and every earlier one) may connect: its hosts not started
   * yet start. Its deadline starts when it opens, and runs while a later
   * phase waits.
   */
  private openPhase(run: Run<R>, phase: number): void {
    if (phase !== run.phase) {
      run.phase = phase;
      this.clock.clearTimeout(run.phaseTimer);
      run.phaseTimer = undefined;
    }
    const waits = [...run.slots.values()].some((s) => s.phase > phase && !s.launched);
    if (waits && run.phaseTimer === undefined) {
      run.phaseTimer = this.clock.setTimeout(() => {
        run.phaseTimer = undefined;
        if (run.open) this.nextPhase(run);
      }, this.o.phaseDeadlineMs ?? this.o.deadlineMs);
    }
    for (const slot of [...run.slots.values()]) if (slot.phase <= phase && !slot.launched) this.launch(run, slot);
  }

  /** The hosts of the next phase that has any not started yet. */
  private nextPhase(run: Run<R>): void {
    const waiting = [...run.slots.values()].filter((s) => !s.launched).map((s) => s.phase);
    if (waiting.length > 0) this.openPhase(run, Math.min(...waiting));
  }

  /** Every host of the current phase reported: the next phase may start. */
  private phaseDone(run: Run<R>): boolean {
    return [...run.slots.values()].every((s) => s.phase > run.phase || s.result);
  }

  /** A host's result, to one waiting message. */
  private deliver(w: Waiting<R>, slot: Slot<R>): void {
    if (!slot.result || !w.hosts.delete(slot.id)) return;
    if (slot.abortedBy !== "close") {
      const owner = w === slot.owner;
      const result = owner ? slot.result : { ...slot.result, joined: true };
      const how = { owner, stoppedByCancel: slot.abortedBy === "cancel" };
      if (w.hear) w.hear(result, how);
      else this.o.deliver(w.to, result, how);
    }
    if (w.hosts.size === 0) w.finished();
  }

  /** A host's result is known: to every message waiting for it. */
  private complete(run: Run<R>, slot: Slot<R>, result: ShutdownResult): void {
    slot.result = result;
    slot.retrying = false;
    slot.launched = true;
    for (const w of run.waiting) this.deliver(w, slot);
    if ([...run.slots.values()].every((s) => s.result)) {
      this.runs.delete(run);
      this.clock.clearTimeout(run.phaseTimer);
    } else if (run.open && this.phaseDone(run)) this.nextPhase(run);
    // a shutdown stopped by a cancel is not a failure to show: the cancel's status says it
    if (slot.abortedBy === null) this.progress(run);
  }

  private giveUp(run: Run<R>, slot: Slot<R>, error: string): void {
    this.complete(run, slot, failedResult({ ...slot.info, id: slot.id }, run.action, slot.command, error, this.clock.now()));
  }

  private progress(run: Run<R>): void {
    let ok = 0;
    let failed = 0;
    let retrying = 0;
    for (const slot of run.slots.values()) {
      if (slot.result?.ok) ok++;
      else if (slot.result) failed++;
      else if (slot.retrying) retrying++;
    }
    const total = run.slots.size;
    this.o.progress?.({ action: run.action, total, ok, failed, retrying, finished: ok + failed === total });
  }

  /** Connect to one host (the only connection for this host and action); the result goes to `complete`. */
  private launch(run: Run<R>, slot: Slot<R>): void {
    slot.launched = true;
    const target = slot.target;
    if (!target) {
      this.giveUp(run, slot, slot.failure ?? "");
      return;
    }
    const action = run.action;
    const lane = JSON.stringify([action, slot.id]);
    const previous = this.lanes.get(lane) ?? Promise.resolve();
    const work = previous
      .then(async () => {
        let session = action === "shutdown" || action === "prepare" ? this.sessionOf(slot.id) : null;
        if (action === "prepare" && !session && this.o.openSession) {
          const epoch = this.epoch;
          const opened = await this.o.openSession(target, {
            connectTimeoutMs: this.o.connectTimeoutMs,
            keepaliveMs: KEEPALIVE_MS,
            signal: slot.controller.signal,
          });
          if (!opened.ok) return notConnected(opened.error, opened.aborted);
          this.keep(slot.id, opened.session, epoch);
          session = this.sessionOf(slot.id);
        }
        return this.o.run(target, slot.command === "" ? null : slot.command, this.runOptions(run, slot), session);
      })
      .then((outcome) => {
        // the shutdown went (or failed) on the kept session: it is spent
        if (action === "shutdown") this.forget(slot.id);
        return outcome;
      })
      .then((outcome) => {
        if (action === "cancel" && outcome.ok) this.o.cancelled?.(slot.id);
        const r = makeResult({ ...slot.info, id: slot.id }, action, slot.command, outcome, this.clock.now());
        if (slot.abortedBy === "cancel") r.error = this.o.stoppedByCancelText;
        this.complete(run, slot, r);
      })
      .catch((err: unknown) => {
        // not expected (the runner reports every failure as an outcome): still one result per host
        if (!slot.result) this.giveUp(run, slot, err instanceof Error ? err.message : String(err));
      });
    this.inflight.add(work);
    this.lanes.set(lane, work);
    void work.finally(() => {
      this.inflight.delete(work);
      if (this.lanes.get(lane) === work) this.lanes.delete(lane);
    });
  }

  /** Close and forget the session kept for host `id`. */
  private forget(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    void s.close();
  }

  private runOptions(run: Run<R>, slot: Slot<R>): RunOptions {
    const action = run.action;
    return {
      connectTimeoutMs: this.o.connectTimeoutMs,
      commandTimeoutMs: this.o.commandTimeoutMs,
      deadlineMs: this.o.deadlineMs,
      // a check is a test: one attempt per host unless the operator asked for retries
      // (a pre-flight too: an unreachable host is reported at once, not at the deadline)
      maxAttempts: verifies(action) && !this.o.checkRetry ? 1 : undefined,
      okExitCodes: action === "cancel" ? slot.commands?.cancelOkExitCodes : [0],
      before: slot.steps,
      signal: slot.controller.signal,
      onRetry: () => {
        slot.retrying = true;
        if (slot.abortedBy === null) this.progress(run);
      },
      onSent: () => {
        slot.sent = true;
        if (action === "shutdown" && slot.commands) this.o.sent?.(slot.id, slot.info, slot.commands);
      },
    };
  }
}

/** The outcome of a pre-flight that could not open its session. */
function notConnected(error: string, aborted: boolean): RunOutcome {
  return { ok: false, exitCode: null, signal: null, stdout: "", stderr: "", durationMs: 0, attempts: 1, error, sent: false, aborted, steps: [], reused: false };
}
