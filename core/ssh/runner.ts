/**
 * The SSH runner: run one command on one host (with the steps that must
 * come before it, on the same connection), collect bounded excerpts of its
 * output, retry connection failures with backoff until a deadline, parallel
 * fan-out in which a hung host never delays the others, and an abort signal
 * that ends in-flight connections (redeploy, stop, power restored).
 * Connections themselves are SshSession's (./session).
 */
import { SshSession } from "./session";
import type { ExecResult, SshTarget } from "./session";

export type { SshTarget } from "./session";
export { Excerpt, boundedText, classifyError, disconnectText } from "./session";

/** A command that runs before the main one, on the same connection (a guest stop before its host). */
export interface Step {
  /** Short label for results and the preview ("stop VMs"). */
  label: string;
  command: string;
  /** From the moment the step is sent until it exits; then its channel is closed and the next step runs. */
  timeoutMs: number;
}

export interface StepOutcome {
  label: string;
  command: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  durationMs: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Per attempt: TCP connect + SSH handshake + authentication (ssh2's readyTimeout). */
  connectTimeoutMs: number;
  /** From the moment the command is sent until it exits. */
  commandTimeoutMs: number;
  /** No new attempt starts later than this after the first one began. */
  deadlineMs: number;
  /** At most this many attempts (default: as many as fit before the deadline). */
  maxAttempts?: number;
  /** First pause between attempts; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Bytes kept of stdout and of stderr each. */
  outputLimit?: number;
  /** Exit codes that count as success (default [0]). */
  okExitCodes?: number[];
  signal?: AbortSignal;
  /** The command was handed to the server: from here on it may run even without a result. */
  onSent?: () => void;
  /** An attempt failed and another follows after `delayMs`. */
  onRetry?: (attempt: number, error: string, delayMs: number) => void;
  /**
   * Run one after another on the same connection before the command. A failed
   * or timed-out step is reported in the outcome's steps and the next step
   * (and the command) still runs. A step already sent is never sent again:
   * after a reconnect the run goes on with the first step not sent.
   */
  before?: Step[];
  /**
   * An open, verified session for the first attempt (no new handshake). If it
   * is closed, or drops before the command was sent, a new connection is made
   * at once. Never closed here: its owner closes it.
   */
  session?: SshSession;
}

export interface RunOutcome {
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  attempts: number;
  error: string | null;
  /** The command reached the server (it may have run even if ok is false). */
  sent: boolean;
  /** Ended by the abort signal, not by the host. */
  aborted: boolean;
  /** The steps sent before the command, in order. */
  steps: StepOutcome[];
  /** The command went over the session handed in (no handshake of its own). */
  reused: boolean;
}

const DEFAULT_RETRY_DELAY_MS = 1000;
const DEFAULT_MAX_RETRY_DELAY_MS = 8000;
/** The shortest connect timeout an attempt gets, even close to the deadline. */
const MIN_CONNECT_TIMEOUT_MS = 500;

/** Pause between attempts number n and n+1 (1-based), before the deadline check. */
export function backoffDelay(attempt: number, firstMs: number, maxMs: number): number {
  return Math.min(firstMs * 2 ** Math.max(0, attempt - 1), maxMs);
}

function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** What one connection did: the command exited (or there was none), or why it did not. */
type OnSession =
  | { kind: "exited"; exitCode: number | null; signal: string | null; stdout: string; stderr: string }
  | { kind: "failed"; error: string; retryable: boolean; aborted: boolean; stdout: string; stderr: string };

function stepOutcome(step: Step, e: ExecResult): StepOutcome {
  const ok = e.error === null && e.signal === null && e.exitCode === 0;
  return {
    label: step.label,
    command: step.command,
    ok,
    exitCode: e.exitCode,
    signal: e.signal,
    error: ok ? null : (e.error ?? exitError(e)),
    durationMs: e.durationMs,
    stdout: e.stdout,
    stderr: e.stderr,
  };
}

/**
 * Run `command` on one host (null: connect and authenticate only), after the
 * steps of `opts.before`, retrying connection failures with backoff until
 * `deadlineMs`. Never retried: a host key refusal, an authentication failure,
 * and anything after the command was sent (a shutdown must not run twice
 * because an answer got lost). Resolves once its own connection is closed.
 */
export async function runCommand(target: SshTarget, command: string | null, opts: RunOptions): Promise<RunOutcome> {
  // monotonic: a step of the wall clock can neither cut nor stretch the retries
  const start = performance.now();
  /** The deadline counts from here: the first attempt, then the end of each step (steps may take minutes). */
  let since = start;
  const okCodes = opts.okExitCodes ?? [0];
  const first = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const max = opts.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
  const steps = opts.before ?? [];
  const done: StepOutcome[] = [];
  let attempts = 0;
  let sent = false;
  let reused = false;
  let borrowed = opts.session;
  const outcome = (a: OnSession): RunOutcome => {
    const base = { durationMs: Math.round(performance.now() - start), attempts, sent, stdout: a.stdout, stderr: a.stderr, steps: done, reused };
    if (a.kind === "failed") return { ...base, ok: false, exitCode: null, signal: null, error: a.error, aborted: a.aborted };
    const ok = a.signal === null && a.exitCode !== null && okCodes.includes(a.exitCode);
    return { ...base, ok, exitCode: a.exitCode, signal: a.signal, error: ok ? null : exitError(a), aborted: false };
  };
  const failed = (error: string, retryable: boolean, aborted = false, e?: ExecResult): OnSession => ({
    kind: "failed",
    error,
    retryable,
    aborted,
    stdout: e?.stdout ?? "",
    stderr: e?.stderr ?? "",
  });

  /** The steps not sent yet, then the command, on one connection. */
  const runOn = async (session: SshSession, own: boolean): Promise<OnSession> => {
    while (done.length < steps.length) {
      const step = steps[done.length];
      const e = await session.exec(step.command, { timeoutMs: step.timeoutMs, outputLimit: opts.outputLimit, signal: opts.signal });
      if (e.aborted) return failed("aborted", false, true, e);
      if (!e.sent) return failed(e.error ?? "", true, false, e);
      done.push(stepOutcome(step, e));
      since = performance.now();
      // the connection went after this step was sent: the next one goes on a new connection
      if (e.closed) return failed(e.error ?? "", true, false, e);
    }
    if (command === null) return { kind: "exited", exitCode: 0, signal: null, stdout: "", stderr: "" };
    const e = await session.exec(command, {
      timeoutMs: opts.commandTimeoutMs,
      outputLimit: opts.outputLimit,
      signal: opts.signal,
      onSent: () => {
        sent = true;
        reused = !own;
        opts.onSent?.();
      },
    });
    if (e.aborted) return failed("aborted", false, true, e);
    if (e.timedOut) return failed(e.error ?? "", false, false, e);
    if (e.error !== null) return failed(e.error, !e.sent, false, e);
    return { kind: "exited", exitCode: e.exitCode, signal: e.signal, stdout: e.stdout, stderr: e.stderr };
  };

  if (!target.key && target.password === null) return outcome(failed("no private key and no password configured", false));
  for (;;) {
    attempts++;
    let a: OnSession;
    if (borrowed?.isOpen) {
      const session = borrowed;
      borrowed = undefined; // used once: a retry makes a connection of its own
      a = await runOn(session, false);
      // dropped before the command went out: connect again at once, as if it had never been open
      if (a.kind === "failed" && a.retryable && !a.aborted) {
        attempts--;
        continue;
      }
    } else {
      const remaining = opts.deadlineMs - (performance.now() - since);
      const connectTimeout = Math.max(MIN_CONNECT_TIMEOUT_MS, Math.min(opts.connectTimeoutMs, remaining));
      // cut by the deadline (not by the few ms already spent)
      const opened = await SshSession.open(target, {
        connectTimeoutMs: connectTimeout,
        signal: opts.signal,
        byDeadline: connectTimeout < opts.connectTimeoutMs - 100,
      });
      if (opened.ok) {
        a = await runOn(opened.session, true);
        await opened.session.close(a.kind === "failed" && a.aborted);
      } else a = failed(opened.error, opened.retryable, opened.aborted);
    }
    if (a.kind === "exited" || !a.retryable || a.aborted) return outcome(a);
    if (opts.maxAttempts !== undefined && attempts >= opts.maxAttempts) return outcome(a);
    const delay = backoffDelay(attempts, first, max);
    if (performance.now() - since + delay >= opts.deadlineMs) return outcome(a);
    opts.onRetry?.(attempts, a.error, delay);
    if (!(await sleep(delay, opts.signal))) {
      return outcome({ ...a, error: "aborted", aborted: true });
    }
  }
}

function exitError(a: { exitCode: number | null; signal: string | null; stderr: string; stdout: string }): string {
  const line = (a.stderr.trim() || a.stdout.trim()).split(/\r?\n/)[0] ?? "";
  const what = a.signal ? `killed by signal ${a.signal}` : a.exitCode === null ? "ended without an exit status" : `exit code ${a.exitCode}`;
  return line ? `${what}: ${line.slice(0, 200)}` : what;
}

export interface Job {
  target: SshTarget;
  command: string | null;
}

/**
 * Run every job at once; `onResult` is called for each host as soon as ITS
 * result is known, so one hung host delays nobody. `optionsFor` gives each
 * job its options (onSent, okExitCodes...). Resolves when all are done.
 */
export function runAll<J extends Job>(jobs: J[], optionsFor: (job: J) => RunOptions, onResult: (job: J, outcome: RunOutcome) => void): Promise<RunOutcome[]> {
  return Promise.all(
    jobs.map(async (job) => {
      const outcome = await runCommand(job.target, job.command, optionsFor(job));
      try {
        onResult(job, outcome);
      } catch {
        // a failing listener must not hide the other hosts' results
      }
      return outcome;
    }),
  );
}
