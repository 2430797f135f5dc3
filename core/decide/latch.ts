/**
 * outage-latch core ("once per outage"): the first message of an outage
 * passes (per key), repeats are blocked; a new outage identity, and a
 * "power restored" / reset message (core/decide/restored.ts) re-arm it.
 *
 * The whole state is plain JSON so the node can keep it in a context store
 * and find it again after a restart.
 */
import { describeValue, isRecord } from "../check";
import { formatClock } from "../format";
import { type MaybeRestored, restoredKind } from "./restored";
import { type StatusView, statusOf, textTable, withMore } from "../status";

export interface LatchConfig {
  /** "outage": one message per outage; "topic": one per msg.topic per outage. */
  key: "outage" | "topic";
}

/** A key let through in the current outage, and when (epoch ms, for the status). */
export interface Passed {
  key: string;
  at: number;
}

export interface LatchState {
  /** The outage the passed keys belong to. */
  outageId: string | null;
  /** When that outage began (its identity's wall-clock `since`). */
  since: number | null;
  passed: Passed[];
  /** Messages blocked since the last re-arm. */
  blocked: number;
  /** Outages that ended, newest last: a late message of one of them is blocked, never a new outage. */
  ended: string[];
}

export interface LatchMessage extends MaybeRestored {
  outage?: unknown;
  topic?: unknown;
}

export type LatchAction = "pass" | "block" | "reset" | "error";

export interface LatchStep {
  state: LatchState;
  action: LatchAction;
  /** The state changed in a way that must be stored before the message goes on. */
  save: boolean;
  /** Why the message was blocked or refused. */
  reason: string | null;
}

/** Bounds on what messages can make the latch keep. */
export const LATCH_LIMITS = { keys: 64, keyLength: 200, idLength: 200, ended: 16 };

/**
 * How far ahead of this clock a stored outage start may be and still tell
 * that a message belongs to an older outage. One further ahead (a clock that
 * was wrong, or a forged message) proves nothing and never blocks.
 */
const FUTURE_MS = 60_000;

export function initialLatch(): LatchState {
  return { outageId: null, since: null, passed: [], blocked: 0, ended: [] };
}

const text = (x: unknown, max: number): string | null => (typeof x === "string" && x.length <= max ? x : null);

/** Reads back a stored state (also the older `passed: {key: time}` form); null when absent or not recognisable. */
export function parseSavedLatch(x: unknown): LatchState | null {
  if (!isRecord(x) || typeof x.blocked !== "number") return null;
  const rows: unknown[] = Array.isArray(x.passed) ? x.passed : isRecord(x.passed) ? Object.entries(x.passed).map(([key, at]) => ({ key, at })) : [];
  if (!Array.isArray(x.passed) && !isRecord(x.passed)) return null;
  const passed = rows
    .filter((p): p is Passed => isRecord(p) && text(p.key, LATCH_LIMITS.keyLength) !== null && Number.isFinite(p.at))
    .slice(0, LATCH_LIMITS.keys);
  const ended = Array.isArray(x.ended) ? x.ended.filter((e): e is string => text(e, LATCH_LIMITS.idLength) !== null).slice(-LATCH_LIMITS.ended) : [];
  return {
    outageId: text(x.outageId, LATCH_LIMITS.idLength),
    since: Number.isFinite(x.since) ? (x.since as number) : null,
    passed: passed.map((p) => ({ key: p.key, at: p.at })),
    // a count that is not one (NaN, negative, fractional) is 0: what passed is what matters, and it stays
    blocked: Number.isSafeInteger(x.blocked) && x.blocked >= 0 ? x.blocked : 0,
    ended,
  };
}

/** The outage-identity problem of `o` in words, or null when it is one. */
function checkOutage(o: unknown): string | null {
  if (o == null) return "message has no msg.outage: only messages of an outage (from ups-aggregate or battery-tier-switch) can pass";
  if (!isRecord(o)) return `msg.outage must be an outage identity {id, since} (got ${describeValue(o)})`;
  if (typeof o.id !== "string" || o.id === "") return `msg.outage.id must be a non-empty text (got ${describeValue(o.id)})`;
  if (o.id.length > LATCH_LIMITS.idLength) return `msg.outage.id is too long (${o.id.length} characters, at most ${LATCH_LIMITS.idLength})`;
  if (typeof o.since !== "number" || !Number.isFinite(o.since)) return `msg.outage.since must be a time in epoch ms (got ${describeValue(o.since)})`;
  return null;
}

/** `now` is the wall clock (epoch ms): it only dates what passed and tells a plausible outage start. */
export function latchInput(config: LatchConfig, state: LatchState, msg: LatchMessage, now: number): LatchStep {
  const restored = restoredKind(msg);
  if (restored) {
    // Re-arm, whatever is stored: the next outage always passes. An outage that ended is remembered,
    // so a late message of it is not taken for a new one.
    const o = msg.outage;
    const id = restored === "ended" ? (isRecord(o) && text(o.id, LATCH_LIMITS.idLength)) || state.outageId : null;
    const ended = id && !state.ended.includes(id) ? [...state.ended, id].slice(-LATCH_LIMITS.ended) : state.ended;
    return { state: { outageId: null, since: null, passed: [], blocked: 0, ended }, action: "reset", save: true, reason: null };
  }
  const problem = checkOutage(msg.outage);
  if (problem) return { state, action: "error", save: false, reason: problem };
  const o = msg.outage as { id: string; since: number };
  let key = "";
  if (config.key === "topic") {
    if (typeof msg.topic !== "string" || msg.topic === "") {
      return {
        state,
        action: "error",
        save: false,
        reason: `msg.topic must be set: this latch lets one message per topic through (got ${describeValue(msg.topic)})`,
      };
    }
    if (msg.topic.length > LATCH_LIMITS.keyLength) {
      return { state, action: "error", save: false, reason: `msg.topic is too long (${msg.topic.length} characters, at most ${LATCH_LIMITS.keyLength})` };
    }
    key = msg.topic;
  }
  let s = state;
  let save = false;
  const blocked = (reason: string): LatchStep => ({ state: { ...s, blocked: s.blocked + 1 }, action: "block", save, reason });
  if (o.id !== s.outageId) {
    if (s.ended.includes(o.id)) return blocked(`message of an outage that has ended (${o.id})`);
    if (s.since != null && o.since < s.since && s.since <= now + FUTURE_MS) return blocked(`message of an older outage (${o.id})`);
    s = { ...s, outageId: o.id, since: o.since, passed: [], blocked: 0 };
    save = true;
  }
  if (s.passed.some((p) => p.key === key)) return blocked("already passed in this outage");
  if (s.passed.length >= LATCH_LIMITS.keys) {
    return { state, action: "error", save: false, reason: `this latch already let ${LATCH_LIMITS.keys} topics through in this outage` };
  }
  return { state: { ...s, passed: [...s.passed, { key, at: now }] }, action: "pass", save: true, reason: null };
}

/** The texts of outage-latch's status (locales/<lang>/outage-latch.json). */
export const LATCH_TEXTS = textTable({
  "status.armed": [],
  "status.passed": ["time"],
  "status.passed-topics": ["time", "topics"],
  "status.blocked": ["blocked"],
  "status.store-failed": [],
  "status.store-lost": [],
  "status.memory-only": [],
  "status.memory-only-redeploy": [],
  "status.unknown-store": [],
});
const say = LATCH_TEXTS;

/**
 * What the context store does for the latch: `problem` "failed" (the store
 * cannot be written or read) or "lost" (what was stored could not be had
 * back at start); `keeps`, how long a state kept there lasts: "restart"
 * (a persistent store), "redeploy" (a memory store), "nothing" (no store
 * configured: Node-RED drops node context when a node stops), "unknown"
 * (a store settings.js does not list).
 */
export interface LatchStore {
  problem: "failed" | "lost" | null;
  keeps: "restart" | "redeploy" | "nothing" | "unknown";
}

const STORE_WARNING = { restart: null, redeploy: say("status.memory-only"), nothing: say("status.memory-only-redeploy"), unknown: say("status.unknown-store") };

/**
 * `armed` (grey ring), `passed 14:02` (green dot), with the number of keys
 * and of blocked repeats, and what the store will forget; red ring when the
 * store failed or lost the state.
 */
export function latchStatus(state: LatchState, store: LatchStore = { problem: null, keeps: "restart" }): StatusView {
  const blocked = state.blocked ? say("status.blocked", { blocked: state.blocked }) : null;
  const passed = state.passed.length > 0 && state.outageId !== null;
  let text = say("status.armed");
  if (passed) {
    const time = formatClock(Math.max(...state.passed.map((p) => p.at)));
    text = state.passed.length > 1 ? say("status.passed-topics", { time, topics: state.passed.length }) : say("status.passed", { time });
  }
  text = withMore(text, blocked);
  if (store.problem) return statusOf("red", "ring", withMore(text, say(store.problem === "failed" ? "status.store-failed" : "status.store-lost")));
  return statusOf(passed ? "green" : "grey", passed ? "dot" : "ring", withMore(text, STORE_WARNING[store.keeps]));
}
