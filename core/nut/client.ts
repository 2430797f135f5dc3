/**
 * NutClient: one persistent TCP connection to one upsd, shared by every
 * user of that server.
 *
 * - Requests are written as they come (pipelined) and matched to replies in
 *   order; upsd answers in order (measured: 2000 pipelined commands, 2000
 *   in-order replies). The requests of one tick go out in one write (a poll
 *   of 50 UPSes is one system call, not 50); a poll's wait for the end of
 *   the event loop's turn, so the nodes of one server whose timers fire
 *   together share it.
 * - Every request has a timeout. upsd sometimes never answers; after a
 *   missing reply the pipeline cannot be trusted, so the connection is
 *   dropped and rebuilt. One watchdog timer serves every deadline, so a
 *   request costs no timer of its own.
 * - Keep-alive: upsd closes a client idle for ~60 s, so a connection with
 *   nothing written for `keepAliveMs` sends NETVER.
 * - Reconnect with exponential backoff and jitter. The backoff resets only
 *   when the connection that ends had proved useful: it answered a request
 *   after the handshake and stayed up `backoffResetMs`. A peer that answers
 *   a line and hangs up (an SSH banner, an HTTP reply, NETVER then close) is
 *   retried ever more slowly, never at the minimum delay. But a request made
 *   while disconnected tries to connect at once (at most one such attempt
 *   every 250 ms), as upsmon reconnects at every poll: a upsd back after a restart
 *   is read at the next poll, not when a grown backoff ends, which could
 *   outlast a dead time.
 * - What one reply may hold is bounded (`maxLineBytes`, `maxListItems`,
 *   `maxReplyBytes`): a peer that sends more fails that request with a
 *   NutProtocolError and the connection is rebuilt; nothing is buffered
 *   without bound.
 * - Handshake on every connection: [STARTTLS] -> NETVER (proves it is a NUT
 *   server) -> [USERNAME, PASSWORD] -> [LOGIN ups].
 *
 * Nothing thrown inside socket handlers escapes: every failure becomes a
 * rejected request, a `state` event or a `warning` event.
 */
import { EventEmitter } from "node:events";
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { NutConnectionError, NutError, NutProtocolError, NutServerError, NutTimeoutError, NutTlsError, excerpt, isNutErrorCode, toNutError } from "./errors";
import { LineBuffer, formatCommand, isUpsName, simpleQuotedValue, tokenize } from "./protocol";

/** A request while disconnected connects at once, at most this often (ms). */
const ON_DEMAND_RETRY_MS = 250;

export interface NutClientOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** UPS to LOGIN to after authenticating (counts this client as a upsmon client on the server). */
  login?: string;
  /** STARTTLS with these options (CA, servername, …); certificate verification stays on unless the options turn it off. */
  tls?: ConnectionOptions | false;
  /** Per-request timeout in ms (also bounds connecting). Default 5000. */
  requestTimeoutMs?: number;
  /** Idle time in ms after which NETVER keeps the connection alive. Default 30000 (upsd closes at ~60 s). */
  keepAliveMs?: number;
  /** Reconnect delay bounds in ms. Defaults 250 and 15000. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Random source in [0, 1) for the jitter (tests pass their own). */
  random?: () => number;
  /** Bound on the items of one LIST reply. Default 10000. */
  maxListItems?: number;
  /** Bound on one reply line, in bytes. Default 8192 (upsd builds its lines in 512 bytes). */
  maxLineBytes?: number;
  /** Bound on one LIST reply, its lines together, in characters. Default 1 MiB. */
  maxReplyBytes?: number;
  /**
   * How long (ms) a connection must stay up, having answered a request after
   * the handshake, for the reconnect backoff to start again from
   * `reconnectMinMs` when it ends. Default 15000.
   */
  backoffResetMs?: number;
}

/** The bounds of one reply, by default: far above what upsd sends (lines under 512 bytes, 50–150 variables per UPS). */
export const NUT_REPLY_LIMITS = { maxLineBytes: 8192, maxListItems: 10000, maxReplyBytes: 1024 * 1024 } as const;

export type ConnectionState = "idle" | "connecting" | "connected" | "disconnected" | "closed";

export interface StateChange {
  state: ConnectionState;
  /** Why the connection is down (null while fine). */
  error: NutError | null;
  /** Milliseconds until the next connection attempt, when one is scheduled. */
  retryInMs: number | null;
}

export interface UpsListEntry {
  name: string;
  description: string;
}

/** One line, a BEGIN … END list, or one line for each of `slots` (a poll's GET VARs of one UPS, written and read as one request). */
type ReplyKind = "line" | "list" | "lines";
/** The error, or the reply as words; a poll's GET VARs ("lines") get the replies they had with an error too. */
type Done = (err: NutError | null, tokens: string[][]) => void;

interface Pending {
  words: string[];
  /** `words` as written to upsd. */
  line: string;
  kind: ReplyKind;
  /** For lists: the word every item line starts with (UPS, VAR, …). */
  itemWord: string;
  started: boolean;
  items: string[][];
  /** Characters of the list so far (for maxReplyBytes). */
  bytes: number;
  /** Called once: the error, or the reply's lines as words. */
  done: Done;
  /** performance.now() after which it has timed out. */
  deadline: number;
  settled: boolean;
  /** "lines": the GET VAR requests written, one reply line each, in order. */
  slots: readonly GetSlot[] | null;
}

/** One GET VAR of a poll: its words, and its reply as it nearly always comes, up to the value's opening quote (simpleQuotedValue). */
interface GetSlot {
  /** Its place in the names asked for. */
  index: number;
  words: string[];
  expect: string | null;
}

/** The GET VAR requests of one UPS, made once: the lines to write, the names that cannot be sent. */
interface GetPlan {
  names: readonly string[];
  slots: GetSlot[];
  /** The slots' lines, one string. */
  line: string;
  /** Names that cannot be sent, by index: nothing is written for them. */
  unsendable: Map<number, NutError>;
}

/** At most this many UPSes' GET VAR plans are kept per client (the names are upsd's). */
const MAX_GET_PLANS = 1024;

export interface NutClientEvents {
  state: [StateChange];
  /** Something to tell the user that does not stop reading (LOGIN refused, USERNAME refused). */
  warning: [NutError];
}

export class NutClient extends EventEmitter<NutClientEvents> {
  readonly host: string;
  readonly port: number;
  private readonly opts: Required<
    Pick<
      NutClientOptions,
      "requestTimeoutMs" | "keepAliveMs" | "reconnectMinMs" | "reconnectMaxMs" | "maxListItems" | "maxLineBytes" | "maxReplyBytes" | "backoffResetMs"
    >
  > &
    NutClientOptions;
  private readonly random: () => number;

  private socket: Socket | TLSSocket | null = null;
  private generation = 0;
  private readonly lines: LineBuffer;
  private inflight: Pending[] = [];
  /** User requests waiting for the handshake to finish. */
  private waiting: Pending[] = [];
  private _state: ConnectionState = "idle";
  private _lastError: NutError | null = null;
  private attempt = 0;
  /** The current connection answered a request after its handshake. */
  private answered = false;
  /** The current connection has been up backoffResetMs since its handshake. */
  private lasted = false;
  private lastedTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** performance.now() when the last connection attempt began. */
  private lastAttempt = -Infinity;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  /** performance.now() of the last write, for the keep-alive. */
  private lastWrite = 0;
  /** The one timer that checks every request's deadline. */
  private watchdog: NodeJS.Timeout | null = null;
  /** Command lines written in this tick (or turn, for polls), sent together at its end. */
  private outbox = "";
  private flushScheduled = false;
  private _protocolVersion: string | null = null;
  /** getVars' requests by UPS name (a Map: the names are upsd's), bounded by MAX_GET_PLANS. */
  private readonly getPlans = new Map<string, GetPlan>();

  constructor(options: NutClientOptions) {
    super();
    this.host = options.host;
    this.port = options.port;
    this.opts = {
      requestTimeoutMs: 5000,
      keepAliveMs: 30000,
      reconnectMinMs: 250,
      reconnectMaxMs: 15000,
      ...NUT_REPLY_LIMITS,
      backoffResetMs: 15000,
      ...options,
    };
    this.random = options.random ?? Math.random;
    this.lines = new LineBuffer(this.opts.maxLineBytes);
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The last connection error (kept after reconnecting until the next one). */
  get lastError(): NutError | null {
    return this._lastError;
  }

  /** What NETVER answered on the current connection ("1.3"), null before or when unknown. */
  get protocolVersion(): string | null {
    return this._protocolVersion;
  }

  /** The local address of the current connection ("127.0.0.1"), null when not connected: upsd's LIST CLIENT shows it for our LOGIN. */
  get localAddress(): string | null {
    return this.socket?.localAddress ?? null;
  }

  /** Start connecting (idempotent). */
  start(): void {
    if (this._state === "idle" || this._state === "disconnected") {
      this.clearReconnect();
      this.openSocket();
    }
  }

  /** Close for good: pending requests fail, LOGOUT is sent, resolves when the socket is gone. */
  close(): Promise<void> {
    if (this._state === "closed") return Promise.resolve();
    this.clearReconnect();
    this.clearKeepAlive();
    this.clearLasted();
    const socket = this.socket;
    this.socket = null;
    this.generation++;
    this.outbox = ""; // its requests fail with the connection
    this.failAll(new NutConnectionError("NUT client closed", "CLOSED"));
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.setState("closed", null, null);
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      const timer = setTimeout(done, 1000);
      socket.once("close", done);
      socket.on("error", () => undefined); // errors while closing do not matter any more
      try {
        socket.end("LOGOUT\n");
      } catch {
        done();
      }
    });
  }

  listUps(): Promise<UpsListEntry[]> {
    return this.request(["LIST", "UPS"], "list", "UPS").then((items) =>
      items.flatMap((t) => {
        if (t.length < 2) throw new NutProtocolError(`LIST UPS: malformed item "${excerpt(t.join(" "))}"`);
        // A name upsd could not hold (a peer that is not upsd) is never read, shown or sent back;
        // the description is as upsd said it (what shows it makes it one line)
        return isUpsName(t[1]) ? [{ name: t[1], description: t[2] ?? "" }] : [];
      }),
    );
  }

  /** Every variable of `ups`, in upsd's order, values as upsd sent them (strings). */
  listVar(ups: string): Promise<Array<[string, string]>> {
    return this.request(["LIST", "VAR", ups], "list", "VAR").then((items) =>
      items.map((t): [string, string] => {
        if (t.length < 4 || t[1] !== ups) throw new NutProtocolError(`LIST VAR ${ups}: malformed item "${t.join(" ")}"`);
        return [t[2], t[3]];
      }),
    );
  }

  getVar(ups: string, name: string): Promise<string> {
    return this.request(["GET", "VAR", ups, name], "line").then(([t]) => varValue(ups, name, t));
  }

  /**
   * Several variables of `ups`, one GET VAR each, pipelined: for each name,
   * its value or why not (NutServerError VAR-NOT-SUPPORTED, …). Never
   * rejects. A poll calls this for every UPS, so it costs one promise, not
   * one per variable.
   */
  getVars(ups: string, names: readonly string[]): Promise<Array<string | NutError>> {
    return new Promise((resolve) => {
      const out: Array<string | NutError> = new Array<string | NutError>(names.length);
      const plan = this.getPlan(ups, names);
      for (const [i, err] of plan.unsendable) out[i] = err; // a word that cannot be sent: nothing is written for it
      if (plan.slots.length === 0) {
        resolve(out);
        return;
      }
      // one request for the lot (one entry in the pipeline, one callback), one reply line per GET VAR
      this.send(
        plan.slots[0].words,
        "lines",
        "",
        plan.line,
        true,
        (err, replies) => {
          // a failure keeps what was answered before it, as separate requests would
          plan.slots.forEach((slot, k) => {
            out[slot.index] =
              k < replies.length ? slotValue(ups, names[slot.index], slot, replies[k]) : (err ?? new NutProtocolError(`${describe(slot.words)}: no reply`));
          });
          resolve(out);
        },
        plan.slots,
      );
    });
  }

  /** The GET VAR requests for `names` of `ups`, made on the first poll and kept: a poll repeats them. */
  private getPlan(ups: string, names: readonly string[]): GetPlan {
    const kept = this.getPlans.get(ups);
    if (kept && kept.names === names) return kept;
    const plan: GetPlan = { names, slots: [], line: "", unsendable: new Map() };
    names.forEach((name, index) => {
      const words = ["GET", "VAR", ups, name];
      let line: string;
      try {
        line = formatCommand(words);
      } catch (err) {
        plan.unsendable.set(index, toNutError(err));
        return;
      }
      // upsd answers with the names as it was sent them; a name that had to be escaped takes tokenize's path
      const expect = line === `GET VAR ${ups} ${name}\n` ? `VAR ${ups} ${name} "` : null;
      plan.slots.push({ index, words, expect });
      plan.line += line;
    });
    if (this.getPlans.size >= MAX_GET_PLANS) this.getPlans.clear();
    this.getPlans.set(ups, plan);
    return plan;
  }

  /**
   * Send one command and wait for its reply: one line (`line`) or a
   * `BEGIN LIST … END LIST` block (`list`, items starting with `itemWord`).
   * Rejects with a NutServerError for `ERR …`.
   */
  request(words: string[], kind: ReplyKind, itemWord = ""): Promise<string[][]> {
    let line: string;
    try {
      line = formatCommand(words);
    } catch (err) {
      return Promise.reject(toNutError(err));
    }
    return new Promise((resolve, reject) => this.send(words, kind, itemWord, line, false, (err, lines) => (err ? reject(err) : resolve(lines))));
  }

  /**
   * request() with a callback, `line` being `words` formatted: `done` is
   * called exactly once. `poll`: see write().
   */
  private send(words: string[], kind: ReplyKind, itemWord: string, line: string, poll: boolean, done: Done, slots: readonly GetSlot[] | null = null): void {
    const p = this.makePending(words, line, kind, itemWord, done, slots);
    // someone needs data now: do not wait for the backoff (this request then waits for the handshake)
    if (this._state === "disconnected" && this.reconnectTimer && performance.now() - this.lastAttempt >= ON_DEMAND_RETRY_MS) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.openSocket();
    }
    if (this._state === "connected") this.write(p, poll);
    else if (this._state === "connecting") {
      this.waiting.push(p);
      if (!this.watchdog) this.armWatchdog(this.opts.requestTimeoutMs);
    } else if (this._state === "closed") this.settle(p, new NutConnectionError("NUT client closed", "CLOSED"));
    else this.settle(p, this.notConnectedError());
  }

  // ---- connection ------------------------------------------------------------------------

  private openSocket(): void {
    const gen = ++this.generation;
    this.lastAttempt = performance.now();
    this.lines.reset();
    this._protocolVersion = null;
    this.answered = false;
    this.lasted = false;
    this.setState("connecting", null, null);
    let socket: Socket;
    try {
      socket = netConnect({ host: this.host, port: this.port });
    } catch (err) {
      // a bad port or host throws at once: report it like any connection failure, never to the caller
      setImmediate(() => gen === this.generation && this.dropConnection(toNutError(err)));
      return;
    }
    socket.setNoDelay(true);
    this.socket = socket;
    const connectTimer = setTimeout(() => {
      if (gen === this.generation) {
        this.dropConnection(new NutConnectionError(`connect to ${this.host}:${this.port} timed out`, "ETIMEDOUT"));
      }
    }, this.opts.requestTimeoutMs);
    this.attachSocket(socket, gen);
    socket.once("connect", () => {
      clearTimeout(connectTimer);
      if (gen !== this.generation) return;
      this.handshake(gen).catch((err) => {
        if (gen === this.generation) this.dropConnection(toNutError(err));
      });
    });
    socket.once("close", () => clearTimeout(connectTimer));
  }

  private attachSocket(socket: Socket | TLSSocket, gen: number): void {
    socket.on("data", (chunk: Buffer) => {
      if (gen !== this.generation) return;
      try {
        this.onData(chunk);
      } catch (err) {
        this.dropConnection(toNutError(err));
      }
    });
    socket.on("error", (err) => {
      if (gen === this.generation) this.dropConnection(toNutError(err));
    });
    socket.on("close", () => {
      if (gen === this.generation) {
        this.dropConnection(new NutConnectionError(`upsd ${this.host}:${this.port} closed the connection`, "CLOSED"));
      }
    });
  }

  private async handshake(gen: number): Promise<void> {
    const o = this.opts;
    if (o.tls) await this.startTls(gen, o.tls);
    const ver = await this.internal(["NETVER"], gen).then(
      ([t]) => t,
      (err: unknown) => {
        // upsd older than 2.6.4 answers ERR UNKNOWN-COMMAND: still a NUT server
        if (err instanceof NutServerError) return null;
        throw err;
      },
    );
    if (ver && !(ver.length === 1 && /^\d+(\.\d+)*$/.test(ver[0]))) {
      throw new NutProtocolError(`${this.host}:${this.port} does not speak NUT (NETVER answered "${excerpt(ver.join(" "))}")`);
    }
    this._protocolVersion = ver ? ver[0] : null;
    if (o.username) {
      await this.internal(["USERNAME", o.username], gen).catch((err) => this.warnOrThrow(err, "USERNAME"));
      if (o.password) {
        await this.internal(["PASSWORD", o.password], gen).catch((err) => this.warnOrThrow(err, "PASSWORD"));
      }
    }
    if (o.login) {
      await this.internal(["LOGIN", o.login], gen).catch((err) => this.warnOrThrow(err, `LOGIN ${o.login}`));
    }
    if (gen !== this.generation) return;
    this.setState("connected", null, null);
    this.lastedTimer = setTimeout(() => {
      this.lastedTimer = null;
      if (gen === this.generation) this.lasted = true;
    }, this.opts.backoffResetMs);
    const waiting = this.waiting;
    this.waiting = [];
    for (const p of waiting) this.write(p);
    this.armKeepAlive();
  }

  /** A refused USERNAME/PASSWORD/LOGIN is told to the user; reading goes on without it. */
  private warnOrThrow(err: unknown, what: string): void {
    if (err instanceof NutServerError) {
      this.emitSafe("warning", new NutServerError(err.code, err.extra, what));
      return;
    }
    throw err;
  }

  private async startTls(gen: number, tlsOptions: ConnectionOptions): Promise<void> {
    try {
      const [reply] = await this.internal(["STARTTLS"], gen);
      if (reply[0] !== "OK") throw new NutProtocolError(`STARTTLS: unexpected reply "${excerpt(reply.join(" "))}"`);
    } catch (err) {
      if (err instanceof NutServerError) {
        // an ERR word that is not NUT's is the peer's text: not a code to pass on
        throw new NutTlsError(`${err.message}; not connecting without TLS`, isNutErrorCode(err.code) ? err.code : "TLS-FAILED");
      }
      throw err;
    }
    const plain = this.socket as Socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    plain.on("close", () => undefined);
    const servername = tlsOptions.servername ?? (isIP(this.host) ? undefined : this.host);
    const secure = tlsConnect({ ...tlsOptions, socket: plain, servername });
    secure.on("error", () => undefined); // never unhandled; the handlers below report it
    this.socket = secure;
    this.lines.reset();
    // our socket handlers go on after the handshake, so its failure is reported as a TLS error
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new NutTlsError(`TLS handshake with ${this.host}:${this.port} timed out`, "TLS-TIMEOUT")),
        this.opts.requestTimeoutMs,
      );
      secure.once("secureConnect", () => {
        clearTimeout(timer);
        resolve();
      });
      secure.once("error", (err) => {
        clearTimeout(timer);
        reject(new NutTlsError(`TLS with ${this.host}:${this.port} failed: ${err.message}`, tlsCode(err)));
      });
    });
    if (gen === this.generation) this.attachSocket(secure, gen);
  }

  /** A handshake command: written at once, outside the user queue. */
  private internal(words: string[], gen: number): Promise<string[][]> {
    if (gen !== this.generation || !this.socket) {
      return Promise.reject(this.notConnectedError());
    }
    return new Promise((resolve, reject) => {
      this.write(this.makePending(words, formatCommand(words), "line", "", (err, lines) => (err ? reject(err) : resolve(lines))));
    });
  }

  private dropConnection(err: NutError): void {
    if (this._state === "closed") return;
    const socket = this.socket;
    this.socket = null;
    this.generation++;
    this.outbox = ""; // its requests fail with the connection
    this.clearKeepAlive();
    this.clearLasted();
    // only a connection that proved useful starts the backoff again
    if (this.answered && this.lasted) this.attempt = 0;
    if (socket) {
      socket.on("error", () => undefined);
      socket.destroy();
    }
    this._lastError = err;
    this.failAll(err);
    const delay = this.nextDelay();
    this.setState("disconnected", err, delay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this._state === "disconnected") this.openSocket();
    }, delay);
  }

  private nextDelay(): number {
    const base = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const jittered = base * (0.75 + 0.5 * this.random());
    return Math.round(Math.min(this.opts.reconnectMaxMs, jittered));
  }

  // ---- requests and replies -------------------------------------------------------------------

  private makePending(words: string[], line: string, kind: ReplyKind, itemWord: string, done: Done, slots: readonly GetSlot[] | null = null): Pending {
    const deadline = performance.now() + this.opts.requestTimeoutMs;
    return { words, line, kind, itemWord, started: false, items: [], bytes: 0, done, deadline, settled: false, slots };
  }

  private armWatchdog(ms: number): void {
    this.watchdog = setTimeout(() => this.checkDeadlines(), Math.max(1, Math.ceil(ms)));
  }

  /**
   * The watchdog fired: fail what is past its deadline, then sleep until the
   * next deadline (none pending: no timer at all).
   */
  private checkDeadlines(): void {
    this.watchdog = null;
    const now = performance.now();
    const expired = (p: Pending) => p.deadline <= now;
    const waitingLate = this.waiting.filter(expired);
    if (waitingLate.length) {
      this.waiting = this.waiting.filter((p) => !expired(p));
      for (const p of waitingLate) this.settle(p, new NutTimeoutError(describe(p.words), this.opts.requestTimeoutMs));
    }
    const late = this.inflight.find(expired);
    if (late) {
      // a reply may still come: the pipeline is out of step, start over
      const command = describe(late.slots ? late.slots[late.items.length].words : late.words);
      this.settle(late, new NutTimeoutError(command, this.opts.requestTimeoutMs));
      this.dropConnection(new NutConnectionError(`${command}: no reply within ${this.opts.requestTimeoutMs} ms, reconnecting`, "TIMEOUT"));
    }
    let next = Infinity;
    for (const p of this.inflight) next = Math.min(next, p.deadline);
    for (const p of this.waiting) next = Math.min(next, p.deadline);
    if (next !== Infinity && !this.watchdog && this._state !== "closed") this.armWatchdog(next - now);
  }

  /**
   * Queue `p` for the next write. The requests of one tick leave together;
   * `poll` (getVars) requests wait for the end of the event loop's turn,
   * so that the nodes of one server polling at the same instant share a
   * write.
   */
  private write(p: Pending, poll = false): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) {
      this.settle(p, this.notConnectedError());
      return;
    }
    this.inflight.push(p);
    if (!this.watchdog) this.armWatchdog(p.deadline - performance.now());
    // Everything written in this tick leaves in one write (one string, not a
    // writev of many). A poll's requests wait for the end of the turn
    // (setImmediate): Node runs the nextTick queue after each timer
    // callback, so two nodes polling the same upsd at the same instant made
    // two writes, and upsd's Nagle held the second one's replies until our
    // delayed ACK (40 ms, and one more wake-up per poll). Other requests
    // (the handshake, the editor's lists, keep-alive) leave as before.
    this.outbox += p.line;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (poll) setImmediate(this.flushNow);
      else process.nextTick(this.flushNow);
    }
    this.lastWrite = performance.now();
  }

  private readonly flushNow = (): void => this.flush();

  private flush(): void {
    this.flushScheduled = false;
    const data = this.outbox;
    this.outbox = "";
    if (data && this.socket && !this.socket.destroyed) this.socket.write(data);
  }

  private onData(chunk: Buffer): void {
    const { lines, overflow } = this.lines.push(chunk);
    for (const line of lines) {
      if (!this.socket) return; // dropped while handling an earlier line
      this.onLine(line);
    }
    if (overflow) throw new NutProtocolError(`a reply line from ${this.host}:${this.port} is longer than ${this.lines.maxLineBytes} bytes`);
  }

  /** A request got its reply: after the handshake, that is what proves a connection useful. */
  private replied(): void {
    if (this._state === "connected") this.answered = true;
  }

  private onLine(line: string): void {
    const p = this.inflight[0];
    if (p?.slots) {
      // a poll's GET VARs: each line is one's reply, VAR or ERR, judged by getVars
      const slot = p.slots[p.items.length];
      // as upsd writes it, the value is read without cutting the line into words
      const value = slot.expect === null ? null : simpleQuotedValue(line, slot.expect);
      p.items.push(value === null ? tokenize(line) : ["VAR", slot.words[2], slot.words[3], value]);
      this.replied();
      if (p.items.length === p.slots.length) this.settle(p, null, p.items);
      return;
    }
    const tokens = tokenize(line);
    if (!p) throw new NutProtocolError(`unexpected line from ${this.host}:${this.port} with no request pending: "${excerpt(line)}"`);
    if (p.kind === "line" || !p.started) {
      if (tokens[0] === "ERR") {
        this.replied();
        this.settle(p, new NutServerError(tokens[1] ?? "UNKNOWN", tokens.slice(2), describe(p.words)));
        return;
      }
      if (p.kind === "line") {
        this.replied();
        this.settle(p, null, [tokens]);
        return;
      }
      if (tokens[0] === "BEGIN" && sameWords(tokens.slice(1), p.words)) {
        p.started = true;
        return;
      }
      throw new NutProtocolError(`${describe(p.words)}: unexpected reply "${excerpt(line)}"`);
    }
    if (tokens[0] === "END" && sameWords(tokens.slice(1), p.words)) {
      this.replied();
      this.settle(p, null, p.items);
      return;
    }
    if (tokens[0] !== p.itemWord) throw new NutProtocolError(`${describe(p.words)}: unexpected line in list "${excerpt(line)}"`);
    if (p.items.length >= this.opts.maxListItems) {
      throw new NutProtocolError(`${describe(p.words)}: more than ${this.opts.maxListItems} items`);
    }
    p.bytes += line.length + 1;
    if (p.bytes > this.opts.maxReplyBytes) {
      throw new NutProtocolError(`${describe(p.words)}: reply longer than ${this.opts.maxReplyBytes} bytes`);
    }
    p.items.push(tokens);
  }

  /** Finish a request exactly once and take it off the queues. */
  private settle(p: Pending, err: NutError | null, value?: string[][]): void {
    if (p.settled) return;
    p.settled = true;
    // replies come in order: the one settled is nearly always the first
    if (this.inflight[0] === p) this.inflight.shift();
    else {
      const i = this.inflight.indexOf(p);
      if (i >= 0) this.inflight.splice(i, 1);
    }
    // the watchdog is left to fire even when nothing is left to watch (it
    // then sleeps until the next write): clearing it here and arming it at
    // the next poll were two timer operations per poll
    // a poll's GET VARs that fail keep the replies they had
    p.done(err, value ?? (p.slots ? p.items : []));
  }

  private failAll(err: NutError): void {
    const all = [...this.inflight, ...this.waiting];
    this.inflight = [];
    this.waiting = [];
    for (const p of all) this.settle(p, err);
  }

  private notConnectedError(): NutError {
    const why = this._lastError ? `: ${this._lastError.message}` : "";
    return new NutConnectionError(`not connected to upsd ${this.host}:${this.port}${why}`, this._lastError?.code ?? "NOT-CONNECTED");
  }

  // ---- timers and events --------------------------------------------------------------------

  /** NETVER once nothing was written for keepAliveMs; the timer looks at lastWrite instead of being reset by every write. */
  private armKeepAlive(delay = this.opts.keepAliveMs): void {
    this.clearKeepAlive();
    const gen = this.generation;
    this.keepAliveTimer = setTimeout(
      () => {
        this.keepAliveTimer = null;
        if (this._state !== "connected" || gen !== this.generation) return;
        const idle = performance.now() - this.lastWrite;
        if (idle < this.opts.keepAliveMs) {
          this.armKeepAlive(this.opts.keepAliveMs - idle);
          return;
        }
        this.request(["NETVER"], "line").catch(() => undefined); // a failure drops the connection itself
        this.armKeepAlive();
      },
      Math.max(1, Math.ceil(delay)),
    );
  }

  private clearKeepAlive(): void {
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = null;
  }

  private clearLasted(): void {
    if (this.lastedTimer) clearTimeout(this.lastedTimer);
    this.lastedTimer = null;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private setState(state: ConnectionState, error: NutError | null, retryInMs: number | null): void {
    this._state = state;
    this.emitSafe("state", { state, error, retryInMs });
  }

  /** A listener that throws must not break the connection logic. */
  private emitSafe<K extends keyof NutClientEvents>(event: K, ...args: NutClientEvents[K]): void {
    for (const listener of this.listeners(event)) {
      try {
        (listener as (...a: NutClientEvents[K]) => void)(...args);
      } catch {
        // a listener's bug is the listener's problem
      }
    }
  }
}

/** The value in a `VAR ups name "value"` reply. */
function varValue(ups: string, name: string, t: string[]): string {
  if (t[0] !== "VAR" || t[1] !== ups || t[2] !== name || t.length < 4) {
    throw new NutProtocolError(`GET VAR ${ups} ${name}: unexpected reply "${excerpt(t.join(" "))}"`);
  }
  return t[3];
}

/** What one GET VAR of a poll got: its value, upsd's ERR, or a reply that does not answer it. */
function slotValue(ups: string, name: string, slot: GetSlot, reply: string[]): string | NutError {
  if (reply[0] === "ERR") return new NutServerError(reply[1] ?? "UNKNOWN", reply.slice(2), describe(slot.words));
  try {
    return varValue(ups, name, reply);
  } catch (e) {
    return toNutError(e);
  }
}

function sameWords(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((w, i) => w === b[i]);
}

/** The command for messages, never with a password in it. */
function describe(words: string[]): string {
  return words[0] === "PASSWORD" ? "PASSWORD ****" : words.join(" ");
}

function tlsCode(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === "string" ? code : "TLS-FAILED";
}
