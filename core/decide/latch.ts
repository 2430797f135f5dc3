/**
 * outage-latch core ("once per outage"): the first message of an outage
 * passes (per key), repeats are blocked; a new outage identity, the restored
 * message (`msg.reset`, or an OUTAGE_END power state) re-arm it.
 *
 * The whole state is plain JSON so the node can keep it in a context store
 * and find it again after a restart.
 */
import { describeValue, formatClock, isRecord, shortOutageId } from "./format";

export interface LatchConfig {
  /** "outage": one message per outage; "topic": one per msg.topic per outage. */
  key: "outage" | "topic";
}

export interface LatchState {
  /** The outage the passed keys belong to. */
  outageId: string | null;
  /** When that outage began: messages of an older outage are blocked. */
  since: number | null;
  /** Keys already let through in this outage, with the time they passed. */
  passed: Record<string, number>;
  /** Messages blocked since the last re-arm. */
  blocked: number;
}

export interface LatchMessage {
  outage?: unknown;
  topic?: unknown;
  reset?: unknown;
  payload?: unknown;
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

export function initialLatch(): LatchState {
  return { outageId: null, since: null, passed: {}, blocked: 0 };
}

/** Reads back a stored state; null when absent or not recognisable. */
export function parseSavedLatch(x: unknown): LatchState | null {
  if (!isRecord(x) || !isRecord(x.passed) || typeof x.blocked !== "number") return null;
  const passed: Record<string, number> = Object.fromEntries(Object.entries(x.passed).filter((e): e is [string, number] => typeof e[1] === "number"));
  return {
    outageId: typeof x.outageId === "string" ? x.outageId : null,
    since: typeof x.since === "number" ? x.since : null,
    passed,
    blocked: x.blocked,
  };
}

/** A reset message: `msg.reset` set, or a power state / identity saying the outage ended. */
export function isReset(msg: LatchMessage): boolean {
  if (msg.reset !== undefined && msg.reset !== null && msg.reset !== false) return true;
  if (isRecord(msg.payload) && msg.payload.event === "OUTAGE_END") return true;
  return isRecord(msg.outage) && typeof msg.outage.ended === "number";
}

export function latchInput(config: LatchConfig, state: LatchState, msg: LatchMessage, now: number): LatchStep {
  if (isReset(msg)) {
    return { state: { ...state, passed: {}, blocked: 0 }, action: "reset", save: true, reason: null };
  }
  const o = msg.outage;
  if (o == null) {
    return { state, action: "error", save: false, reason: "message has no msg.outage: only messages of an outage (from ups-aggregate or battery-tier-switch) can pass" };
  }
  if (!isRecord(o) || typeof o.id !== "string" || o.id === "" || typeof o.since !== "number" || !Number.isFinite(o.since)) {
    return { state, action: "error", save: false, reason: `msg.outage must be an outage identity {id, since} (got ${describeValue(o)})` };
  }
  let key = "";
  if (config.key === "topic") {
    if (typeof msg.topic !== "string" || msg.topic === "") {
      return { state, action: "error", save: false, reason: `msg.topic must be set: this latch lets one message per topic through (got ${describeValue(msg.topic)})` };
    }
    key = msg.topic;
  }
  let s = state;
  let save = false;
  if (o.id !== s.outageId) {
    if (s.since != null && o.since < s.since) {
      return { state: { ...s, blocked: s.blocked + 1 }, action: "block", save: false, reason: `message of an older outage (${o.id})` };
    }
    s = { ...s, outageId: o.id, since: o.since, passed: {}, blocked: 0 };
    save = true;
  }
  if (Object.hasOwn(s.passed, key)) {
    return { state: { ...s, blocked: s.blocked + 1 }, action: "block", save, reason: "already passed in this outage" };
  }
  return {
    state: { ...s, passed: { ...s.passed, [key]: now } },
    action: "pass",
    save: true,
    reason: null,
  };
}

/** Status text: `armed`, `passed 14:02 (outage …)`, with the blocked count. */
export function latchStatus(state: LatchState): { text: string; passed: boolean } {
  const keys = Object.keys(state.passed).length;
  const blocked = state.blocked ? ` · blocked ${state.blocked}` : "";
  if (!keys || !state.outageId) return { text: `armed${blocked}`, passed: false };
  // every passed key belongs to state.outageId (a new outage or a reset empties `passed`)
  const last = Math.max(...Object.values(state.passed));
  const more = keys > 1 ? `, ${keys} keys` : "";
  return { text: `passed ${formatClock(last)} (${shortOutageId(state.outageId)}${more})${blocked}`, passed: true };
}
