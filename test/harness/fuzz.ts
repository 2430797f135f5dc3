/**
 * What the fuzz tests share: a seeded random source (a failure names its
 * seed, FUZZ_SEED replays it), how many cases a run makes (FUZZ_SCALE
 * multiplies them: `npm run fuzz` is the larger run), values of every shape a
 * Node-RED message can carry, and a guard that refuses, and records, any
 * connection leaving the loopback range while a fuzz test runs.
 */
import should from "./should";
import { isIP, Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  /** In [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** `n` distinct items of `items` (all of them when n is larger). */
  some<T>(items: readonly T[], n: number): T[] {
    const rest = [...items];
    const out: T[] = [];
    while (out.length < n && rest.length) out.push(rest.splice(Math.floor(this.next() * rest.length), 1)[0]);
    return out;
  }
  /** `n` characters (code points: never half of a surrogate pair) from `alphabet`. */
  text(n: number, alphabet: string): string {
    let chars = this.alphabets.get(alphabet);
    if (!chars) this.alphabets.set(alphabet, (chars = Array.from(alphabet)));
    let s = "";
    for (let i = 0; i < n; i++) s += chars[Math.floor(this.next() * chars.length)];
    return s;
  }
  private readonly alphabets = new Map<string, string[]>();
}

/** The seed of this run: FUZZ_SEED when given (to replay a failure), else a new one, printed with any failure. */
export function fuzzSeed(): number {
  const fixed = process.env.FUZZ_SEED;
  if (fixed !== undefined && fixed !== "") {
    const n = Number(fixed);
    if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED="${fixed}": expected an integer`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32);
}

/** FUZZ_SCALE (default 1): `npm run fuzz` runs 25 times as many cases. */
export function fuzzScale(): number {
  const raw = process.env.FUZZ_SCALE;
  const n = raw === undefined || raw === "" ? 1 : Number(raw);
  if (!(n > 0)) throw new Error(`FUZZ_SCALE="${raw}": expected a positive number`);
  return n;
}

/** "seed 123 (replay: FUZZ_SEED=123 …)": for assertion messages. */
export function replay(seed: number): string {
  return `seed ${seed} (replay: FUZZ_SEED=${seed} npx mocha <this file>)`;
}

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ODD = " \t\n\r\u0000\u0007\u001b\"'\\#=@:/.-_%{}[]<>é€😀\u202e\ufeff";

/** Strings that are known to confuse code: names of Object's properties, numbers as text, control and wide characters. */
const TRICKY_STRINGS = [
  "",
  " ",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "NaN",
  "Infinity",
  "-1",
  "1e308",
  "0x10",
  "true",
  "false",
  "null",
  "undefined",
  "[object Object]",
  "OB",
  "OL",
  "LB",
  "OB LB",
  "FSD",
  "OUTAGE_END",
  "POWER_LOST",
  "shutdown",
  "cancel",
  "check",
  "simulate",
  "\u0000",
  "\r\n",
  "é",
  "😀",
  "\u202e",
  "<script>alert(1)</script>",
  "$(reboot)",
  "; rm -rf /",
];

/** A string of any kind: tricky, random, or long. */
export function junkString(r: Rng): string {
  const k = r.int(0, 9);
  if (k < 4) return r.pick(TRICKY_STRINGS);
  if (k < 8) return r.text(r.int(1, 24), r.chance(0.5) ? ALNUM : ALNUM + ODD);
  return r.text(r.int(200, 20000), ALNUM + ODD);
}

const NUMBERS = [0, -0, 1, -1, 0.5, 100, 101, -100, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, NaN, Infinity, -Infinity];

/**
 * Any value a message property can hold in Node-RED: JSON values, and what a
 * function node can put there (undefined, NaN, BigInt, Symbol, a function,
 * Date, RegExp, Buffer, Map, a null-prototype object, a circular object, a
 * deep or wide one). `depth` bounds the nesting.
 */
export function junkValue(r: Rng, depth = 2): unknown {
  const k = r.int(0, depth > 0 ? 23 : 15);
  switch (k) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return r.chance(0.5);
    case 3:
    case 4:
      return r.pick(NUMBERS);
    case 5:
      return r.int(-1000, 1000) / r.pick([1, 10, 1000]);
    case 6:
    case 7:
    case 8:
      return junkString(r);
    case 9:
      return BigInt(r.int(-5, 5));
    case 10:
      return Symbol("fuzz");
    case 11:
      return () => "a function";
    case 12:
      return r.pick([new Date(NaN), new Date(0), /re/g]);
    case 13:
      return Buffer.from(r.text(r.int(0, 16), ALNUM + ODD));
    case 14:
      return new Map([["k", 1]]);
    case 15:
      return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
    case 16:
    case 17:
      return Array.from({ length: r.int(0, 4) }, () => junkValue(r, depth - 1));
    case 18: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(0, 4); i > 0; i--) o[r.chance(0.3) ? r.pick(TRICKY_STRINGS) : r.text(r.int(1, 8), ALNUM)] = junkValue(r, depth - 1);
      return o;
    }
    case 19: {
      const o = Object.create(null) as Record<string, unknown>;
      o.x = junkValue(r, depth - 1);
      return o;
    }
    case 20: {
      const o: Record<string, unknown> = { a: 1 };
      o.self = o;
      return o;
    }
    case 21: {
      let o: unknown = "bottom";
      for (let i = r.int(20, 200); i > 0; i--) o = { o };
      return o;
    }
    case 22:
      return Array.from({ length: r.int(1000, 5000) }, (_, i) => i);
    default:
      return new Array(r.int(1, 100)); // sparse
  }
}

/** A value of any shape but a boolean (a field that must be true or false). */
export function notBoolean(r: Rng): unknown {
  for (;;) {
    const v = junkValue(r, 1);
    if (typeof v !== "boolean" && v !== undefined) return v;
  }
}

/** A value that is not a finite number >= 0 (nor null): what no amount field takes. */
export function notAmount(r: Rng): unknown {
  for (;;) {
    const v = r.chance(0.4) ? r.pick([NaN, Infinity, -Infinity, -1, -0.001, -1e308]) : junkValue(r, 1);
    if (v === null || v === undefined) continue;
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) continue;
    return v;
  }
}

/** A value that is not a non-empty string. */
export function notText(r: Rng): unknown {
  for (;;) {
    const v = junkValue(r, 1);
    if (typeof v !== "string" || v === "") return v;
  }
}

/** Node's heap in use after a full collection (the collector is exposed for the measure only). */
export function heapAfterGc(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

// ---- the loopback guard ----------------------------------------------------------------------

const LOOPBACK = (host: string) => host === "localhost" || (isIP(host) === 4 && host.startsWith("127.")) || host === "::1" || host === "::ffff:127.0.0.1";

/**
 * While installed, every outgoing TCP connection of this process (net, and
 * what is built on it: the NUT client, ssh2, fetch's sockets) to a host that
 * is not loopback is refused before any packet leaves, and recorded. A host
 * name other than localhost is refused too: resolving it would already send a
 * DNS query. `uninstall()` returns what was refused.
 */
export function guardLoopback(): { refused: string[]; uninstall: () => string[] } {
  const refused: string[] = [];
  const proto = Socket.prototype as unknown as { connect: (...args: unknown[]) => Socket };
  const original = proto.connect;
  proto.connect = function (this: Socket, ...args: unknown[]): Socket {
    const first = args[0];
    const opts = (Array.isArray(first) ? first[0] : first) as { host?: unknown; path?: unknown; port?: unknown } | number | string | undefined;
    let host: unknown = "localhost";
    if (typeof opts === "object" && opts !== null) {
      if (typeof opts.path === "string") return original.apply(this, args); // a Unix socket: local by nature
      host = opts.host ?? "localhost";
    } else if (typeof opts === "number" || (typeof opts === "string" && /^\d+$/.test(opts))) host = typeof args[1] === "string" ? args[1] : "localhost";
    if (typeof host !== "string" || !LOOPBACK(host)) {
      refused.push(String(host));
      const err = Object.assign(new Error(`fuzz guard: connection to ${String(host)} refused (not loopback)`), { code: "EFUZZGUARD" });
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return original.apply(this, args);
  };
  return {
    refused,
    uninstall: () => {
      proto.connect = original;
      return refused;
    },
  };
}

/**
 * Records every uncaught exception and unhandled rejection while installed:
 * a fuzz test asserts there were none, instead of mocha blaming whatever test
 * runs when one surfaces.
 */
export function catchUncaught(): { errors: unknown[]; uninstall: () => void } {
  const errors: unknown[] = [];
  const on = (err: unknown) => errors.push(err);
  process.on("uncaughtException", on);
  process.on("unhandledRejection", on);
  return {
    errors,
    uninstall: () => {
      process.off("uncaughtException", on);
      process.off("unhandledRejection", on);
    },
  };
}

/**
 * The mocha hooks of a fuzz suite: the loopback guard and the watch for
 * uncaught errors, for the whole suite (no connection may have left loopback
 * when it ends). Call inside `describe`.
 */
export function fuzzSuite(): { uncaught: () => unknown[] } {
  let guard: ReturnType<typeof guardLoopback> | null = null;
  let caught: ReturnType<typeof catchUncaught> | null = null;
  before(() => {
    caught = catchUncaught();
    guard = guardLoopback();
  });
  after(() => {
    caught?.uninstall();
    should(guard?.uninstall()).eql([], "no connection left the loopback range");
  });
  return { uncaught: () => caught?.errors ?? [] };
}
