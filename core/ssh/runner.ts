/**
 * The SSH runner: connect, verify the pinned host key, authenticate, run one
 * command, collect bounded excerpts of its output. Own timers where ssh2 has
 * none (the command), retries with backoff until a deadline, parallel
 * fan-out in which a hung host never delays the others, and an abort signal
 * that ends in-flight connections (redeploy, stop, power restored).
 */
import { Socket } from "node:net";
import { Client } from "ssh2";
import type { ClientChannel, ConnectConfig, ParsedKey, PasswordAuthMethod, PublicKeyAuthMethod } from "ssh2";
import { hostKeyAlgorithms, verifyHostKey } from "./hostkey";
import type { Pin } from "./hostkey";

/** Everything needed to reach one host; built by the ssh-host config node. */
export interface SshTarget {
  /** Name for humans (the ssh-host's name, else its address). */
  name: string;
  address: string;
  port: number;
  username: string;
  /** Parsed once by the config node; never re-parsed per connection. */
  key: ParsedKey | null;
  password: string | null;
  pins: Pin[];
  /** The visibly insecure option: any host key is accepted. */
  acceptAnyHostKey: boolean;
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
}

const DEFAULT_RETRY_DELAY_MS = 1000;
const DEFAULT_MAX_RETRY_DELAY_MS = 8000;
const DEFAULT_OUTPUT_LIMIT = 4096;
/** The shortest connect timeout an attempt gets, even close to the deadline. */
const MIN_CONNECT_TIMEOUT_MS = 500;
/** How long a polite `end()` may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

type Attempt =
  | { kind: "done"; exitCode: number | null; signal: string | null; stdout: string; stderr: string }
  | { kind: "failed"; error: string; retryable: boolean; sent: boolean; aborted: boolean; stdout: string; stderr: string };

/** Keeps the first `limit` bytes of a stream and counts the rest. */
export class Excerpt {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (room > 0) {
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }

  text(): string {
    const s = Buffer.concat(this.chunks).toString("utf8");
    return this.dropped > 0 ? `${s}… [${this.dropped} more bytes]` : s;
  }
}

/** Pause between attempts number n and n+1 (1-based), before the deadline check. */
export function backoffDelay(attempt: number, firstMs: number, maxMs: number): number {
  return Math.min(firstMs * 2 ** Math.max(0, attempt - 1), maxMs);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** SSH disconnect reason codes (RFC 4253, 11.1) in words: what the node says instead of the peer's own text. */
const DISCONNECT_REASONS: ReadonlyMap<number, string> = new Map([
  [1, "host not allowed to connect"],
  [2, "protocol error"],
  [3, "key exchange failed"],
  [5, "MAC error"],
  [6, "compression error"],
  [7, "service not available"],
  [8, "protocol version not supported"],
  [9, "host key not verifiable"],
  [10, "connection lost"],
  [11, "by application"],
  [12, "too many connections"],
  [13, "authentication cancelled by user"],
  [14, "no more authentication methods available"],
  [15, "illegal user name"],
]);

/** Longest library error text kept in a result (anything longer is cut). */
const MAX_ERROR_TEXT = 200;

/**
 * A library error text for a result: one line of printable characters, at
 * most MAX_ERROR_TEXT long. Used only for ssh2's own texts, never for what
 * the peer wrote (a disconnect description, a channel failure description).
 */
export function boundedText(text: string, max = MAX_ERROR_TEXT): string {
  // eslint-disable-next-line no-control-regex
  const one = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return one.length > max ? one.slice(0, max - 1) + "…" : one;
}

/** The peer's SSH disconnect, named by its reason code only (its description is the peer's text). */
export function disconnectText(code: number): string {
  const name = DISCONNECT_REASONS.get(code);
  return name ? `reason ${code}, ${name}` : `reason ${Number.isSafeInteger(code) ? code : "unknown"}`;
}

function authMethods(target: SshTarget): string {
  const m: string[] = [];
  if (target.key) m.push("publickey");
  if (target.password !== null) m.push("password");
  return m.join(", ");
}

/** ssh2 errors in an operator's words, and whether another attempt may help. */
export function classifyError(
  err: Error & { level?: string; code?: string | number },
  target: SshTarget,
  connectTimeoutMs: number,
  /** The attempt's timeout was cut short by the node's deadline, not its connect timeout. */
  byDeadline = false,
): { error: string; retryable: boolean } {
  const where = `${target.address}:${target.port}`;
  if (typeof err.code === "number") {
    // an SSH disconnect from the peer: its description is the peer's text, not repeated here
    return { error: `${where} closed the connection (SSH disconnect ${disconnectText(err.code)})`, retryable: true };
  }
  if (err.level === "client-authentication") {
    return { error: `authentication failed for user ${target.username} on ${where} (tried: ${authMethods(target)})`, retryable: false };
  }
  if (err.level === "client-timeout") {
    const limit = byDeadline ? "what was left of the deadline" : "the connect timeout";
    return { error: `no SSH handshake from ${where} within ${seconds(connectTimeoutMs)}, ${limit} (host down, or not an SSH server)`, retryable: true };
  }
  if (/no matching host key format/i.test(err.message)) {
    const types = [...new Set(target.pins.map((p) => p.type))].join(", ");
    return { error: `${where} offers none of the pinned host key types (${types})`, retryable: false };
  }
  switch (err.code) {
    case "ECONNREFUSED":
      return { error: `connection refused by ${where} (is sshd running?)`, retryable: true };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { error: `address ${target.address} not found (DNS)`, retryable: true };
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return { error: `${where} is unreachable (${err.code})`, retryable: true };
    case "ECONNRESET":
    case "EPIPE":
      return { error: `connection to ${where} was reset`, retryable: true };
    case "ETIMEDOUT":
      return { error: `connection to ${where} timed out`, retryable: true };
  }
  return { error: `${where}: ${boundedText(err.message)}`, retryable: true };
}

/** The ssh2 connect settings for a target: pinned host key, parsed key via authHandler. */
function connectConfig(target: SshTarget, sock: Socket, connectTimeoutMs: number, onHostKey: (blob: Buffer) => boolean): ConnectConfig {
  const auth: (PublicKeyAuthMethod | PasswordAuthMethod)[] = [];
  if (target.key) auth.push({ type: "publickey", username: target.username, key: target.key });
  if (target.password !== null) auth.push({ type: "password", username: target.username, password: target.password });
  const serverHostKey = target.acceptAnyHostKey ? undefined : hostKeyAlgorithms(target.pins);
  return {
    sock,
    username: target.username,
    readyTimeout: connectTimeoutMs,
    keepaliveInterval: 0,
    tryKeyboard: false,
    authHandler: auth,
    hostVerifier: onHostKey,
    ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
  };
}

/** One connection: connect, verify, authenticate, exec, wait for exit or a timer. */
function attemptOnce(target: SshTarget, command: string | null, connectTimeoutMs: number, opts: RunOptions, byDeadline = false): Promise<Attempt> {
  return new Promise((resolve) => {
    const limit = opts.outputLimit ?? DEFAULT_OUTPUT_LIMIT;
    const stdout = new Excerpt(limit);
    const stderr = new Excerpt(limit);
    const conn = new Client();
    const sock = new Socket();
    let outcome: Attempt | null = null;
    let hostKeyError: string | null = null;
    let sent = false;
    let settled = false;
    let commandTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;

    const failed = (error: string, retryable: boolean, aborted = false): Attempt => ({
      kind: "failed",
      error,
      retryable,
      sent,
      aborted,
      stdout: stdout.text(),
      stderr: stderr.text(),
    });
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(commandTimer);
      clearTimeout(graceTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      resolve(outcome ?? failed(`connection to ${target.address}:${target.port} closed before the command finished`, !sent));
    };
    // First outcome wins; then close the connection and resolve once it is closed.
    const finish = (result: Attempt, hard = false): void => {
      if (!outcome) outcome = result;
      if (hard) sock.destroy();
      else conn.end();
      graceTimer ??= setTimeout(() => {
        sock.destroy();
        setImmediate(settle);
      }, CLOSE_GRACE_MS);
    };
    const onAbort = (): void => finish(failed("aborted", false, true), true);

    // An unhandled 'error' would crash Node-RED: both emitters always have a listener.
    sock.on("error", () => undefined);
    conn.on("error", (err: Error & { level?: string; code?: string | number }) => {
      if (hostKeyError) finish(failed(hostKeyError, false));
      else {
        const c = classifyError(err, target, connectTimeoutMs, byDeadline);
        finish(failed(c.error, c.retryable && !sent));
      }
    });
    conn.on("close", settle);
    conn.on("ready", () => {
      if (outcome) return;
      if (command === null) {
        finish({ kind: "done", exitCode: 0, signal: null, stdout: "", stderr: "" });
        return;
      }
      // "(SSH) Channel open failure: <the peer's description>": only our words
      const refused = (): void => finish(failed(`${target.address}:${target.port} refused to run the command (no session channel)`, true));
      const onExec = (err: Error | undefined, stream: ClientChannel): void => {
        if (err) return refused();
        sent = true;
        opts.onSent?.();
        commandTimer = setTimeout(() => {
          finish(failed(`command still running after ${seconds(opts.commandTimeoutMs)}: gave up waiting (it may still run on the host)`, false));
        }, opts.commandTimeoutMs);
        let exitCode: number | null = null;
        let signal: string | null = null;
        stream.on("data", (d: Buffer) => stdout.add(d));
        stream.stderr.on("data", (d: Buffer) => stderr.add(d));
        stream.on("exit", (code: number | null, sig?: string) => {
          exitCode = typeof code === "number" ? code : null;
          signal = sig ? String(sig) : null;
        });
        stream.on("close", () => {
          finish({ kind: "done", exitCode, signal, stdout: stdout.text(), stderr: stderr.text() });
        });
      };
      try {
        conn.exec(command, onExec);
      } catch {
        refused(); // "Not connected": the socket just went
      }
    });

    if (opts.signal?.aborted) {
      resolve(failed("aborted", false, true));
      return;
    }
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      // Our own socket (connecting before ssh2 sees it) so abort can always destroy it.
      sock.connect({ host: target.address, port: target.port });
      conn.connect(
        connectConfig(target, sock, connectTimeoutMs, (blob) => {
          if (target.acceptAnyHostKey) return true;
          const verdict = verifyHostKey(target.pins, blob, `${target.name} (${target.address}:${target.port})`);
          if (!verdict.ok) hostKeyError = verdict.message;
          return verdict.ok;
        }),
      );
    } catch (err) {
      finish(failed(boundedText(err instanceof Error ? err.message : String(err)), false), true);
    }
  });
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

/**
 * Run `command` on one host (null: connect and authenticate only), retrying
 * connection failures with backoff until `deadlineMs`. Never retried: a host
 * key refusal, an authentication failure, and anything after the command was
 * sent (a shutdown must not run twice because an answer got lost).
 */
export async function runCommand(target: SshTarget, command: string | null, opts: RunOptions): Promise<RunOutcome> {
  // monotonic: a step of the wall clock can neither cut nor stretch the retries
  const start = performance.now();
  const okCodes = opts.okExitCodes ?? [0];
  const first = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const max = opts.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
  let attempts = 0;
  let sent = false;
  const outcome = (a: Attempt): RunOutcome => {
    const base = { durationMs: Math.round(performance.now() - start), attempts, sent, stdout: a.stdout, stderr: a.stderr };
    if (a.kind === "failed") return { ...base, ok: false, exitCode: null, signal: null, error: a.error, aborted: a.aborted };
    const ok = a.signal === null && a.exitCode !== null && okCodes.includes(a.exitCode);
    return { ...base, ok, exitCode: a.exitCode, signal: a.signal, error: ok ? null : exitError(a), aborted: false };
  };

  if (!target.key && target.password === null) {
    return outcome({
      kind: "failed",
      error: "no private key and no password configured",
      retryable: false,
      sent: false,
      aborted: false,
      stdout: "",
      stderr: "",
    });
  }
  for (;;) {
    attempts++;
    const remaining = opts.deadlineMs - (performance.now() - start);
    const connectTimeout = Math.max(MIN_CONNECT_TIMEOUT_MS, Math.min(opts.connectTimeoutMs, remaining));
    const a = await attemptOnce(
      target,
      command,
      connectTimeout,
      {
        ...opts,
        onSent: () => {
          sent = true;
          opts.onSent?.();
        },
      },
      // cut by the deadline (not by the few ms already spent)
      connectTimeout < opts.connectTimeoutMs - 100,
    );
    if (a.kind === "done" || !a.retryable || a.aborted) return outcome(a);
    if (opts.maxAttempts !== undefined && attempts >= opts.maxAttempts) return outcome(a);
    const delay = backoffDelay(attempts, first, max);
    if (performance.now() - start + delay >= opts.deadlineMs) return outcome(a);
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
