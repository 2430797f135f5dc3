/**
 * One SSH connection to one host: connect, verify the pinned host key,
 * authenticate, then run commands on it one after another, each on a channel
 * of its own with its own timer. The runner opens one per attempt; the
 * ssh-shutdown node may open one ahead (pre-flight) and hand it to the runner
 * when the tier fires, so the command goes out without a new handshake.
 * Also here: the operator's words for every ssh2 failure.
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
function connectConfig(target: SshTarget, sock: Socket, connectTimeoutMs: number, keepaliveMs: number, onHostKey: (blob: Buffer) => boolean): ConnectConfig {
  const auth: (PublicKeyAuthMethod | PasswordAuthMethod)[] = [];
  if (target.key) auth.push({ type: "publickey", username: target.username, key: target.key });
  if (target.password !== null) auth.push({ type: "password", username: target.username, password: target.password });
  const serverHostKey = target.acceptAnyHostKey ? undefined : hostKeyAlgorithms(target.pins);
  return {
    sock,
    username: target.username,
    readyTimeout: connectTimeoutMs,
    keepaliveInterval: keepaliveMs,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    tryKeyboard: false,
    authHandler: auth,
    hostVerifier: onHostKey,
    ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
  };
}

const DEFAULT_OUTPUT_LIMIT = 4096;
/** How long a polite `end()` may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** Keep-alives a peer may leave unanswered before the connection counts as lost. */
const KEEPALIVE_COUNT_MAX = 3;

export interface OpenOptions {
  /** TCP connect + SSH handshake + authentication (ssh2's readyTimeout). */
  connectTimeoutMs: number;
  /** Send an SSH keep-alive this often while idle (0 or absent: none). */
  keepaliveMs?: number;
  signal?: AbortSignal;
  /** The connect timeout was cut short by a deadline (only changes the words of a timeout). */
  byDeadline?: boolean;
}

export type OpenResult = { ok: true; session: SshSession } | { ok: false; error: string; retryable: boolean; aborted: boolean };

export interface ExecOptions {
  /** From the moment the command is sent until it exits. */
  timeoutMs: number;
  /** Bytes kept of stdout and of stderr each. */
  outputLimit?: number;
  signal?: AbortSignal;
  /** The command was handed to the server: from here on it may run even without a result. */
  onSent?: () => void;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Why there is no exit status (null when the command exited, whatever its code). */
  error: string | null;
  /** The command reached the server. */
  sent: boolean;
  timedOut: boolean;
  aborted: boolean;
  /** The connection ended before the command did. */
  closed: boolean;
}

export class SshSession {
  private open = true;
  /** What ended the connection, in the operator's words (an error after the handshake). */
  private lostBecause: string | null = null;
  private readonly closeListeners: (() => void)[] = [];
  private readonly closed: Promise<void>;

  private constructor(
    private readonly conn: Client,
    private readonly sock: Socket,
    readonly target: SshTarget,
    connectTimeoutMs: number,
  ) {
    this.closed = new Promise((resolve) => {
      conn.on("close", () => {
        this.open = false;
        for (const l of this.closeListeners.splice(0)) l();
        resolve();
      });
    });
    conn.on("error", (err: Error & { level?: string; code?: string | number }) => {
      this.lostBecause ??= classifyError(err, target, connectTimeoutMs).error;
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Called once when the connection ends, whoever ended it (at once if it already has). Returns the way to stop listening. */
  onClose(listener: () => void): () => void {
    if (!this.open) {
      listener();
      return () => undefined;
    }
    this.closeListeners.push(listener);
    return () => {
      const i = this.closeListeners.indexOf(listener);
      if (i >= 0) this.closeListeners.splice(i, 1);
    };
  }

  /** Connect, verify the host key, authenticate: one attempt, never retried here. Resolves once a failed connection is closed. */
  static open(target: SshTarget, opts: OpenOptions): Promise<OpenResult> {
    return new Promise((resolve) => {
      if (opts.signal?.aborted) return resolve({ ok: false, error: "aborted", retryable: false, aborted: true });
      const conn = new Client();
      const sock = new Socket();
      let hostKeyError: string | null = null;
      let failure: OpenResult | null = null;
      let graceTimer: NodeJS.Timeout | undefined;
      let ready = false;
      const fail = (result: OpenResult, hard = false): void => {
        if (ready || failure) return;
        failure = result;
        opts.signal?.removeEventListener("abort", onAbort);
        if (hard) sock.destroy();
        else conn.end();
        graceTimer ??= setTimeout(() => {
          sock.destroy();
          setImmediate(settle);
        }, CLOSE_GRACE_MS);
      };
      const settle = (): void => {
        clearTimeout(graceTimer);
        if (ready) return;
        const r = failure ?? {
          ok: false,
          error: `connection to ${target.address}:${target.port} closed before the command finished`,
          retryable: true,
          aborted: false,
        };
        failure = r;
        resolve(r);
      };
      const onAbort = (): void => fail({ ok: false, error: "aborted", retryable: false, aborted: true }, true);
      // An unhandled 'error' would crash Node-RED: both emitters always have a listener.
      sock.on("error", () => undefined);
      conn.on("error", (err: Error & { level?: string; code?: string | number }) => {
        if (hostKeyError) return fail({ ok: false, error: hostKeyError, retryable: false, aborted: false });
        const c = classifyError(err, target, opts.connectTimeoutMs, opts.byDeadline);
        fail({ ok: false, error: c.error, retryable: c.retryable, aborted: false });
      });
      conn.on("close", settle);
      conn.on("ready", () => {
        if (failure) return;
        ready = true;
        opts.signal?.removeEventListener("abort", onAbort);
        conn.removeListener("close", settle);
        resolve({ ok: true, session: new SshSession(conn, sock, target, opts.connectTimeoutMs) });
      });
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        // Our own socket (connecting before ssh2 sees it) so abort can always destroy it.
        sock.connect({ host: target.address, port: target.port });
        conn.connect(
          connectConfig(target, sock, opts.connectTimeoutMs, opts.keepaliveMs ?? 0, (blob) => {
            if (target.acceptAnyHostKey) return true;
            const verdict = verifyHostKey(target.pins, blob, `${target.name} (${target.address}:${target.port})`);
            if (!verdict.ok) hostKeyError = verdict.message;
            return verdict.ok;
          }),
        );
      } catch (err) {
        fail({ ok: false, error: boundedText(err instanceof Error ? err.message : String(err)), retryable: false, aborted: false }, true);
      }
    });
  }

  /** Run one command on a channel of its own; never throws. A timed-out or aborted command's channel is closed, the connection stays. */
  exec(command: string, opts: ExecOptions): Promise<ExecResult> {
    const started = performance.now();
    const limit = opts.outputLimit ?? DEFAULT_OUTPUT_LIMIT;
    const stdout = new Excerpt(limit);
    const stderr = new Excerpt(limit);
    const where = `${this.target.address}:${this.target.port}`;
    return new Promise((resolve) => {
      let sent = false;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let channel: ClientChannel | null = null;
      let unlisten = (): void => undefined;
      const end = (r: Partial<ExecResult>): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unlisten();
        opts.signal?.removeEventListener("abort", onAbort);
        if (r.timedOut || r.aborted) channel?.close();
        resolve({
          exitCode: null,
          signal: null,
          error: null,
          timedOut: false,
          aborted: false,
          closed: false,
          ...r,
          sent,
          stdout: stdout.text(),
          stderr: stderr.text(),
          durationMs: Math.round(performance.now() - started),
        });
      };
      const onAbort = (): void => end({ error: "aborted", aborted: true });
      if (opts.signal?.aborted) return end({ error: "aborted", aborted: true });
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      unlisten = this.onClose(() => end({ error: this.lostBecause ?? `connection to ${where} closed before the command finished`, closed: true }));
      if (done) return;
      // "(SSH) Channel open failure: <the peer's description>": only our words
      const refused = (): void => end({ error: `${where} refused to run the command (no session channel)` });
      try {
        this.conn.exec(command, (err: Error | undefined, stream: ClientChannel) => {
          if (err) return refused();
          if (done) return void stream.close(); // aborted or lost while the channel opened
          channel = stream;
          sent = true;
          opts.onSent?.();
          timer = setTimeout(() => {
            end({ error: `command still running after ${seconds(opts.timeoutMs)}: gave up waiting (it may still run on the host)`, timedOut: true });
          }, opts.timeoutMs);
          let exitCode: number | null = null;
          let signal: string | null = null;
          stream.on("data", (d: Buffer) => stdout.add(d));
          stream.stderr.on("data", (d: Buffer) => stderr.add(d));
          stream.on("exit", (code: number | null, sig?: string) => {
            exitCode = typeof code === "number" ? code : null;
            signal = signalName(sig);
          });
          stream.on("close", () => end({ exitCode, signal }));
        });
      } catch {
        refused(); // "Not connected": the socket just went
      }
    });
  }

  /** End the connection politely (destroyed after a grace time); `hard`: at once. Resolves once it is closed. */
  close(hard = false): Promise<void> {
    if (!this.open) return this.closed;
    if (hard) this.sock.destroy();
    else this.conn.end();
    const grace = setTimeout(() => this.sock.destroy(), CLOSE_GRACE_MS);
    return this.closed.then(() => clearTimeout(grace));
  }
}

/** The signal a command died of, as the server names it: one short upper-case word, else "unknown" (it reaches logs and messages). */
export function signalName(sig: unknown): string | null {
  if (sig === undefined || sig === null || sig === "") return null;
  return typeof sig === "string" && /^SIG[A-Z0-9+-]{1,16}$/.test(sig) ? sig : "unknown";
}
