/**
 * nut-sim: a small NUT protocol server (the upsd side of docs/net-protocol.txt)
 * with UPSes scripted at runtime, and fault modes a real upsd cannot produce.
 *
 * Used by the tests for faults (garbage lines, replies split across TCP
 * packets, a server that never answers, a connection closed mid-list, a
 * non-NUT banner, a list that never ends, a line that never ends) and by
 * the `npm start` demo (UPSes whose values a script changes). It never
 * replaces the tests against a real upsd.
 *
 *   const sim = await startNutSim({ port: 0 });
 *   sim.addUps("ups1", { "battery.charge": 100, "ups.status": "OL" });
 *   sim.setStatus("ups1", "OB DISCHRG");
 *   await sim.close();
 *
 * Commands served: NETVER, VER, LIST UPS, LIST VAR, GET VAR, GET UPSDESC,
 * USERNAME, PASSWORD, LOGIN, LOGOUT, STARTTLS (FEATURE-NOT-CONFIGURED unless
 * a key and certificate are given); with `instcmds`, SET TRACKING, INSTCMD and
 * GET TRACKING (a tracked command is PENDING once, then its scripted result:
 * the final answers a driver gives, which dummy-ups behind a real upsd
 * cannot).
 */
import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { LineBuffer, quote, tokenize } from "../core/nut/protocol";

export type NutSimFault =
  | null
  /** A garbage line before every reply. */
  | "garbage"
  /** Every reply dribbled out a few bytes per TCP packet. */
  | "split"
  /** Commands are read and never answered. */
  | "silent"
  /** LIST VAR sends its first items, then the connection is closed. */
  | "close-mid-list"
  /** A non-NUT greeting on connect (like an SSH server on the wrong port). */
  | "banner"
  /** Every LIST answers BEGIN, then 1 kB items without end until the client hangs up. */
  | "endless-list"
  /** Every reply is one line of 100 000 characters. */
  | "long-line";

export interface NutSimUser {
  password: string;
  /** May LOGIN (has "upsmon primary/secondary" in upsd.users). */
  upsmon?: boolean;
  /** May send instant commands ("instcmds = ALL"). */
  instcmds?: boolean;
}

/** What GET TRACKING finally answers for a scripted instant command. */
export type NutSimCommandResult = "SUCCESS" | "FAILED" | "UNKNOWN" | "INVALID-ARGUMENT";

export interface NutSimOptions {
  /** 0 (default) for any free port. */
  port?: number;
  /** Loopback by default; the simulator is not meant for a network. */
  host?: string;
  users?: Record<string, NutSimUser>;
  /** PEM key and certificate: STARTTLS is then accepted. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** What NETVER answers (default "1.3"; "1.2" is a upsd before 2.8.0: no TRACKING). */
  netver?: string;
  /** Instant commands every UPS supports, with the result a tracked one ends with. */
  instcmds?: Record<string, NutSimCommandResult>;
}

export interface NutSim {
  readonly host: string;
  readonly port: number;
  /** Commands received, oldest first (the last 1000), passwords masked. */
  readonly commands: string[];
  /** The commands of each piece of data read from a client, oldest first (the last 1000): what left the client in one write, as far as TCP kept it together. */
  readonly reads: string[][];
  /** Open client connections. */
  readonly connections: number;
  addUps(name: string, vars?: Record<string, string | number>, description?: string): void;
  removeUps(name: string): void;
  setVar(ups: string, name: string, value: string | number): void;
  deleteVar(ups: string, name: string): void;
  setStatus(ups: string, status: string): void;
  /** Every LIST VAR / GET VAR of this UPS answers `ERR code` (DATA-STALE, DRIVER-NOT-CONNECTED, …); null clears. */
  setUpsError(ups: string, code: string | null): void;
  setFault(fault: NutSimFault): void;
  /** Close every client connection now (like a restarting upsd). */
  dropConnections(): void;
  close(): Promise<void>;
}

interface SimUps {
  description: string;
  vars: Map<string, string>;
  error: string | null;
}

interface Session {
  socket: Socket | TLSSocket;
  username: string | null;
  password: string | null;
  loggedIn: boolean;
  tracking: boolean;
  /** Replies are written in order, also when dribbled out slowly. */
  chain: Promise<void>;
}

/** Resolves when `socket` can take more (drain) or is gone (close): for writers that respect backpressure. */
export function drained(socket: Socket | TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      socket.off("drain", go);
      socket.off("close", go);
      resolve();
    };
    socket.on("drain", go);
    socket.on("close", go);
  });
}

export function startNutSim(options: NutSimOptions = {}): Promise<NutSim> {
  const host = options.host ?? "127.0.0.1";
  const users = options.users ?? {};
  const upses = new Map<string, SimUps>();
  const sessions = new Set<Session>();
  const commands: string[] = [];
  const reads: string[][] = [];
  let fault: NutSimFault = null;
  let port = 0;
  /** Tracked commands: their final result and whether it was asked once already (PENDING first). */
  const tracked = new Map<string, { result: NutSimCommandResult; asked: boolean }>();
  let trackingIds = 0;

  const ups = (name: string): SimUps => {
    const u = upses.get(name);
    if (!u) throw new Error(`nut-sim: no UPS named ${name}`);
    return u;
  };

  function send(s: Session, text: string): void {
    const socket = s.socket;
    const f = fault;
    s.chain = s.chain.then(async () => {
      if (socket.destroyed) return;
      if (f === "garbage") socket.write('\u0000\u00ff#!garbage "unbalanced\n');
      if (f !== "split") {
        socket.write(text);
        return;
      }
      for (let i = 0; i < text.length && !socket.destroyed; i += 3) {
        socket.write(text.slice(i, i + 3));
        await new Promise((r) => setTimeout(r, 1));
      }
    });
  }

  function answer(s: Session, words: string[]): void {
    const [cmd, sub, a1, a2] = words;
    const reply = (line: string) => send(s, line + "\n");
    const err = (code: string) => reply(`ERR ${code}`);
    if (fault === "long-line") return reply("x".repeat(100_000));
    if (fault === "endless-list" && cmd === "LIST") return endlessList(s, words);
    switch (cmd) {
      case "NETVER":
        return reply(options.netver ?? "1.3");
      case "VER":
        return reply("Network UPS Tools upsd 2.8.0 (nut-sim)");
      case "LOGOUT":
        send(s, "OK Goodbye\n");
        s.chain = s.chain.then(() => void s.socket.end());
        return;
      case "USERNAME":
        if (!sub) return err("INVALID-ARGUMENT");
        if (s.username !== null) return err("ALREADY-SET-USERNAME");
        s.username = sub;
        return reply("OK");
      case "PASSWORD":
        if (sub === undefined) return err("INVALID-ARGUMENT");
        if (s.password !== null) return err("ALREADY-SET-PASSWORD");
        s.password = sub;
        return reply("OK");
      case "LOGIN": {
        if (!sub) return err("INVALID-ARGUMENT");
        if (s.username === null) return err("USERNAME-REQUIRED");
        if (s.password === null) return err("PASSWORD-REQUIRED");
        const user = users[s.username];
        if (!user || user.password !== s.password || !user.upsmon) return err("ACCESS-DENIED");
        if (s.loggedIn) return err("ALREADY-LOGGED-IN");
        if (!upses.has(sub)) return err("UNKNOWN-UPS");
        s.loggedIn = true;
        return reply("OK");
      }
      case "STARTTLS":
        return startTls(s);
      case "SET":
        if (sub === "TRACKING" && options.instcmds && (options.netver ?? "1.3") === "1.3" && (a1 === "ON" || a1 === "OFF")) {
          s.tracking = a1 === "ON";
          return reply("OK");
        }
        return err(sub === "TRACKING" ? "UNKNOWN-COMMAND" : "INVALID-ARGUMENT");
      case "INSTCMD": {
        if (!options.instcmds) return err("UNKNOWN-COMMAND");
        if (s.username === null) return err("USERNAME-REQUIRED");
        if (s.password === null) return err("PASSWORD-REQUIRED");
        const user = users[s.username];
        if (!user || user.password !== s.password || !user.instcmds) return err("ACCESS-DENIED");
        if (!upses.has(sub ?? "")) return err("UNKNOWN-UPS");
        const result = Object.hasOwn(options.instcmds, a1 ?? "") ? options.instcmds[a1] : undefined;
        if (!result) return err("CMD-NOT-SUPPORTED");
        if (!s.tracking) return reply("OK");
        const id = `SIM-${++trackingIds}`;
        tracked.set(id, { result, asked: false });
        return reply(`OK TRACKING ${id}`);
      }
      case "LIST":
        if (sub === "UPS" && words.length === 2) {
          const lines = [...upses].map(([name, u]) => `UPS ${name} ${quote(u.description)}`);
          return send(s, ["BEGIN LIST UPS", ...lines, "END LIST UPS", ""].join("\n"));
        }
        if (sub === "VAR" && words.length === 3) return listVar(s, a1);
        return err("INVALID-ARGUMENT");
      case "GET":
        if (sub === "VAR" && words.length === 4) {
          const u = upses.get(a1);
          if (!u) return err("UNKNOWN-UPS");
          if (u.error) return err(u.error);
          const v = u.vars.get(a2);
          return v === undefined ? err("VAR-NOT-SUPPORTED") : reply(`VAR ${a1} ${a2} ${quote(v)}`);
        }
        if (sub === "TRACKING" && words.length === 3 && options.instcmds) {
          const t = tracked.get(a1);
          if (!t) return err("UNKNOWN");
          if (!t.asked) {
            t.asked = true;
            return reply("PENDING");
          }
          return t.result === "SUCCESS" ? reply("SUCCESS") : err(t.result);
        }
        if (sub === "UPSDESC" && words.length === 3) {
          const u = upses.get(a1);
          return u ? reply(`UPSDESC ${a1} ${quote(u.description)}`) : err("UNKNOWN-UPS");
        }
        return err("INVALID-ARGUMENT");
      default:
        return err("UNKNOWN-COMMAND");
    }
  }

  function listVar(s: Session, name: string): void {
    const u = upses.get(name);
    if (!u) return send(s, "ERR UNKNOWN-UPS\n");
    if (u.error) return send(s, `ERR ${u.error}\n`);
    const items = [...u.vars].map(([k, v]) => `VAR ${name} ${k} ${quote(v)}`);
    if (fault === "close-mid-list") {
      send(s, [`BEGIN LIST VAR ${name}`, ...items.slice(0, 2), ""].join("\n"));
      s.chain = s.chain.then(() => void s.socket.destroy());
      return;
    }
    send(s, [`BEGIN LIST VAR ${name}`, ...items, `END LIST VAR ${name}`, ""].join("\n"));
  }

  function endlessList(s: Session, words: string[]): void {
    const socket = s.socket;
    const head = `${words[1]} ${words.slice(2).join(" ")}`.trim();
    s.chain = s.chain.then(async () => {
      socket.write(`BEGIN ${words.join(" ")}\n`);
      // at most 1 GB, so a client without bounds still ends (and its test fails on the timeout)
      for (let i = 0; i < 1_000_000 && !socket.destroyed; i++) {
        if (!socket.write(`${head} x${i} "${"x".repeat(1000)}"\n`)) await drained(socket);
      }
    });
  }

  function startTls(s: Session): void {
    if (!options.tls) return send(s, "ERR FEATURE-NOT-CONFIGURED\n");
    if (s.socket instanceof TLSSocket) return send(s, "ERR ALREADY-SSL-MODE\n");
    const plain = s.socket;
    send(s, "OK STARTTLS\n");
    s.chain = s.chain.then(() => {
      plain.removeAllListeners("data");
      const secure = new TLSSocket(plain, { isServer: true, key: options.tls?.key, cert: options.tls?.cert });
      secure.on("error", () => secure.destroy());
      s.socket = secure;
      listen(s);
    });
  }

  function listen(s: Session): void {
    const lines = new LineBuffer();
    s.socket.on("data", (chunk: Buffer) => {
      const { lines: got, overflow } = lines.push(chunk);
      if (overflow) return void s.socket.destroy();
      const read: string[] = [];
      reads.push(read);
      if (reads.length > 1000) reads.shift();
      for (const line of got) {
        const words = tokenize(line);
        if (words.length === 0) continue;
        const command = words[0] === "PASSWORD" ? "PASSWORD ****" : words.join(" ");
        commands.push(command);
        read.push(command);
        if (commands.length > 1000) commands.shift();
        if (fault !== "silent") answer(s, words);
      }
    });
  }

  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    const s: Session = { socket, username: null, password: null, loggedIn: false, tracking: false, chain: Promise.resolve() };
    sessions.add(s);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sessions.delete(s));
    if (fault === "banner") socket.write("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    listen(s);
  });

  const sim: NutSim = {
    host,
    get port() {
      return port;
    },
    commands,
    reads,
    get connections() {
      return sessions.size;
    },
    addUps(name, vars = {}, description = `nut-sim ${name}`) {
      const map = new Map(Object.entries(vars).map(([k, v]) => [k, String(v)]));
      upses.set(name, { description, vars: map, error: null });
    },
    removeUps(name) {
      upses.delete(name);
    },
    setVar(name, key, value) {
      ups(name).vars.set(key, String(value));
    },
    deleteVar(name, key) {
      ups(name).vars.delete(key);
    },
    setStatus(name, status) {
      ups(name).vars.set("ups.status", status);
    },
    setUpsError(name, code) {
      ups(name).error = code;
    },
    setFault(f) {
      fault = f;
    },
    dropConnections() {
      for (const s of sessions) s.socket.destroy();
    },
    close() {
      for (const s of sessions) s.socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      const addr = server.address();
      port = typeof addr === "object" && addr ? addr.port : 0;
      resolve(sim);
    });
  });
}
