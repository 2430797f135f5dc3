/**
 * Sending one FSD, INSTCMD or SET VAR to upsd, as upscmd / upsrw do: a
 * short-lived connection of its own, [STARTTLS] NETVER USERNAME PASSWORD
 * [SET TRACKING ON] [GET VAR ups.status for the load-off guard] the command
 * [GET TRACKING … until final] LOGOUT.
 *
 * Why not the nut-server's shared polling connection: SET TRACKING,
 * credentials with more rights than reading needs, and a command that
 * upsd never answers (the connection is then dropped and rebuilt) would all
 * touch what every nut-ups-in reads through; a session of its own keeps a
 * failing command from ever delaying or breaking the readings of an outage.
 * It costs one TCP connection per command, a few per outage.
 *
 * Also the editor's listing of what a UPS offers (LIST CMD with GET
 * CMDDESC, LIST RW with GET DESC, GET TYPE, LIST RANGE / LIST ENUM),
 * bounded in count and length, names and texts only when well-formed.
 */
import type { ConnectionOptions } from "node:tls";
import { NutClient } from "./client";
import { NutServerError, toNutError, type NutError } from "./errors";
import { type CommandConfig, type TrackingRead, guardRefusal, isNutName, needsStatus, readTracking } from "./command";
import type { NutCommandOutcome } from "../contract";

export interface SessionOptions {
  host: string;
  port: number;
  tls: ConnectionOptions | false;
  username: string | null;
  password: string | null;
  requestTimeoutMs: number;
}

export interface SendOptions {
  /** Time between two GET TRACKING (ms). */
  pollMs: number;
  /** Stops a tracking wait (node closing). */
  signal?: AbortSignal;
}

/** What upsd did with the command, before any wording. */
export interface Sent {
  result: NutCommandOutcome;
  /** NUT's code or ours; null on success. */
  code: string | null;
  tracking: boolean;
  unknownBecause?: "timeout" | "driver";
  /** NUT's meaning of `code` (core/nut/errors.ts), for the error text. */
  detail: string | null;
  /** ups.status read for the guard, when it was read. */
  status: string | null;
}

/** "1.3" ≥ "1.3"; an unknown version (upsd < 2.6.4) is below. */
export function protocolAtLeast(version: string | null, want: readonly number[]): boolean {
  if (!version) return false;
  const parts = version.split(".").map(Number);
  for (let i = 0; i < want.length; i++) {
    const p = parts[i] ?? 0;
    if (p !== want[i]) return p > want[i];
  }
  return true;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

function failed(code: string, detail: string | null, tracking = false, status: string | null = null): Sent {
  return { result: "FAILED", code, tracking, detail, status };
}

/**
 * Sends `config`'s command to the UPS. Never rejects: every failure is a
 * result. The command line is written once; a connection lost after it
 * was written is UNKNOWN (upsd may have passed it on), never sent again.
 */
export async function sendCommand(session: SessionOptions, config: CommandConfig, opts: SendOptions): Promise<Sent> {
  if (!session.username || !session.password) return failed("NO-CREDENTIALS", "the nut-server node has no username and password");
  const client = new NutClient({ host: session.host, port: session.port, tls: session.tls, requestTimeoutMs: session.requestTimeoutMs });
  /** The connection this session began on ended: nothing more is sent on another one. */
  let lost: NutError | null = null;
  let connected = false;
  client.on("state", (c) => {
    if (c.state === "connected") connected = true;
    else if (c.state === "disconnected" && !lost) lost = c.error ?? toNutError(new Error("connection lost"));
  });
  client.on("warning", () => undefined);
  const ask = async (words: string[]): Promise<string[]> => {
    if (lost) throw lost;
    const [line] = await client.request(words, "line");
    return line;
  };
  let written = false;
  let tracking = false;
  let status: string | null = null;
  client.start();
  try {
    await ask(["USERNAME", session.username]);
    await ask(["PASSWORD", session.password]);
    if (!connected) throw lost ?? toNutError(new Error("not connected"));
    const v13 = protocolAtLeast(client.protocolVersion, [1, 3]);
    if (config.kind === "instcmd" && config.param && !v13) {
      return failed("PROTOCOL-TOO-OLD", `upsd speaks protocol ${client.protocolVersion ?? "< 1.2"}: an INSTCMD parameter needs 1.3 (NUT 2.8.0)`);
    }
    // "Wait for the result" 0: the operator asked for no TRACKING (the result is SENT)
    if (config.kind !== "fsd" && v13 && config.trackingTimeoutMs > 0) {
      tracking = await ask(["SET", "TRACKING", "ON"]).then(
        (r) => r[0] === "OK",
        (err: unknown) => {
          if (err instanceof NutServerError) return false;
          throw err;
        },
      );
    }
    if (needsStatus(config)) {
      status = await ask(["GET", "VAR", config.ups, "ups.status"]).then(
        (t) => (t[0] === "VAR" && t[3] !== undefined ? t[3] : null),
        () => null,
      );
      const refusal = guardRefusal(config, status);
      if (refusal) return { result: "REFUSED", code: refusal === "on-line" ? "ON-LINE-POWER" : "STATUS-UNKNOWN", tracking, detail: null, status };
    }
    const words =
      config.kind === "fsd"
        ? ["FSD", config.ups]
        : config.kind === "setvar"
          ? ["SET", "VAR", config.ups, config.command, config.param]
          : ["INSTCMD", config.ups, config.command, ...(config.param ? [config.param] : [])];
    written = true;
    const reply = await ask(words);
    if (config.kind === "fsd") {
      return reply[0] === "OK"
        ? { result: "SUCCESS", code: null, tracking: false, detail: null, status }
        : failed("PROTOCOL-ERROR", "unexpected reply", false, status);
    }
    if (reply[0] !== "OK") return failed("PROTOCOL-ERROR", "unexpected reply", tracking, status);
    if (reply[1] !== "TRACKING" || !reply[2]) return { result: "SENT", code: null, tracking: false, detail: null, status };
    const read = await track(ask, reply[2], config.trackingTimeoutMs, opts);
    if (read.pending) return { result: "UNKNOWN", code: "TIMEOUT", tracking: true, unknownBecause: "timeout", detail: null, status };
    return {
      result: read.result,
      code: read.code,
      tracking: true,
      ...(read.result === "UNKNOWN" ? { unknownBecause: read.code === "UNKNOWN" ? ("driver" as const) : ("timeout" as const) } : {}),
      detail: read.code ? new NutServerError(read.code).message.replace(/^ERR \S+ \((.*)\)$/, "$1") : null,
      status,
    };
  } catch (err) {
    const e = toNutError(err);
    const code = e instanceof NutServerError ? e.code : e.code;
    if (written && !(e instanceof NutServerError)) {
      // written, then no reply or the connection lost: upsd may have acted on it
      return { result: "UNKNOWN", code, tracking, unknownBecause: "timeout", detail: e.message, status };
    }
    return failed(code, e.message, tracking, status);
  } finally {
    await client.close();
  }
}

/** GET TRACKING until a final answer, the time is up, or `signal` stops it (then still pending). */
async function track(ask: (w: string[]) => Promise<string[]>, id: string, timeoutMs: number, opts: SendOptions): Promise<TrackingRead> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const read = await ask(["GET", "TRACKING", id]).then(
      (t) => readTracking({ ok: t[0] ?? "" }),
      (err: unknown) => {
        if (err instanceof NutServerError) return readTracking({ err: err.code });
        throw err;
      },
    );
    if (!read.pending) return read;
    if (opts.signal?.aborted || performance.now() + opts.pollMs > end) return read;
    await sleep(opts.pollMs, opts.signal);
    if (opts.signal?.aborted) return read;
  }
}

// ---- the editor's lists ---------------------------------------------------------------------------

/** Bounds of what the editor is told about one UPS. */
export const UPS_LISTS_LIMITS = { maxCommands: 300, maxVariables: 300, maxDescription: 200, maxValue: 256, maxEnum: 100, maxRanges: 20 };

export interface CommandInfo {
  name: string;
  description: string;
}

export interface VariableInfo {
  name: string;
  value: string;
  description: string;
  /** From GET TYPE: STRING (with maxLength), NUMBER, ENUM or RANGE. */
  type: "STRING" | "NUMBER" | "ENUM" | "RANGE";
  maxLength: number | null;
  enum: string[];
  ranges: Array<{ min: string; max: string }>;
}

export interface UpsLists {
  commands: CommandInfo[];
  variables: VariableInfo[];
}

/** A text upsd wrote, shown only when it is printable, cut to `max`. */
function cleanText(s: unknown, max: number): string {
  if (typeof s !== "string" || !/^[\x20-\x7e\u00a0-\uffff]*$/.test(s)) return "";
  return s.slice(0, max);
}

/** A value shown only when printable ASCII (what SET VAR could send back). */
function cleanValue(s: unknown): string | null {
  return typeof s === "string" && s.length <= UPS_LISTS_LIMITS.maxValue && /^[\x20-\x7e]*$/.test(s) ? s : null;
}

/** A GET reply's last word when the reply is `what ups name …`, else "". */
const replyText = (t: string[], what: string, ups: string, name: string): string => (t[0] === what && t[1] === ups && t[2] === name ? (t[3] ?? "") : "");

/**
 * What `ups` offers, read on `client` (no credentials needed). Malformed
 * items are dropped; a failed description or type leaves it empty/STRING.
 */
export async function readUpsLists(client: NutClient, ups: string): Promise<UpsLists> {
  const L = UPS_LISTS_LIMITS;
  const [cmdItems, rwItems] = await Promise.all([client.request(["LIST", "CMD", ups], "list", "CMD"), client.request(["LIST", "RW", ups], "list", "RW")]);
  const names = cmdItems
    .filter((t) => t[1] === ups && isNutName(t[2]))
    .map((t) => t[2])
    .slice(0, L.maxCommands);
  const rws = rwItems.filter((t) => t[1] === ups && isNutName(t[2]) && cleanValue(t[3]) !== null).slice(0, L.maxVariables);
  const line = (words: string[]) =>
    client.request(words, "line").then(
      ([t]) => t,
      () => [] as string[],
    );
  const list = (words: string[], item: string) => client.request(words, "list", item).catch(() => [] as string[][]);
  const commands = await Promise.all(
    names.map(async (name) => ({ name, description: cleanText(replyText(await line(["GET", "CMDDESC", ups, name]), "CMDDESC", ups, name), L.maxDescription) })),
  );
  const variables = await Promise.all(
    rws.map(async (t): Promise<VariableInfo> => {
      const name = t[2];
      const [desc, type] = await Promise.all([line(["GET", "DESC", ups, name]), line(["GET", "TYPE", ups, name])]);
      const words = type[0] === "TYPE" && type[1] === ups && type[2] === name ? type.slice(3) : [];
      const str = words.find((w) => /^STRING:\d{1,5}$/.test(w));
      const kind: VariableInfo["type"] = words.includes("ENUM")
        ? "ENUM"
        : words.includes("RANGE")
          ? "RANGE"
          : str || !words.includes("NUMBER")
            ? "STRING"
            : "NUMBER";
      const info: VariableInfo = {
        name,
        value: cleanValue(t[3]) ?? "",
        description: cleanText(replyText(desc, "DESC", ups, name), L.maxDescription),
        type: words.length === 0 ? "STRING" : kind,
        maxLength: str ? Number(str.slice(7)) : null,
        enum: [],
        ranges: [],
      };
      if (info.type === "ENUM") {
        info.enum = (await list(["LIST", "ENUM", ups, name], "ENUM"))
          .filter((e) => e[1] === ups && e[2] === name && cleanValue(e[3]) !== null)
          .map((e) => e[3])
          .slice(0, L.maxEnum);
      } else if (info.type === "RANGE") {
        info.ranges = (await list(["LIST", "RANGE", ups, name], "RANGE"))
          .filter((e) => e[1] === ups && e[2] === name && /^-?\d+(\.\d+)?$/.test(e[3] ?? "") && /^-?\d+(\.\d+)?$/.test(e[4] ?? ""))
          .map((e) => ({ min: e[3], max: e[4] }))
          .slice(0, L.maxRanges);
      }
      return info;
    }),
  );
  return { commands, variables };
}

/** LIST CLIENT's addresses (the clients that LOGINed to `ups`), only well-formed IP-like ones. */
export async function listClients(client: NutClient, ups: string): Promise<string[]> {
  const items = await client.request(["LIST", "CLIENT", ups], "list", "CLIENT");
  return items.filter((t) => t[1] === ups && /^[0-9A-Fa-f.:]{2,45}$/.test(t[2] ?? "")).map((t) => t[2]);
}
