/**
 * standby-gate core ("active controller only"): two or more Node-RED
 * controllers run the same plan; the gate in front of each step's latch lets
 * the step through only on the active controller, and only after the step's
 * claim is stored at the MQTT broker.
 *
 * What the gate hears from the broker (through a core `mqtt in` node):
 * - `<prefix>/controller/<name>`: "online" (the birth message of that
 *   controller's broker connection) or "offline" (its last will, or its close
 *   message), retained. The first controller of the configured list that is
 *   not known offline is the active one.
 * - `<prefix>/step/<step>`: the claim of the step, retained, published by
 *   the controller that runs it before it runs it; an empty payload clears it
 *   (power restored). The first claim the broker delivers wins: the broker
 *   delivers claims in the same order to every controller, so two controllers
 *   that claim at once agree on which one runs the step.
 *
 * What the gate sends towards the broker (a core `mqtt out` node): its claim,
 * then, once the broker has sent it back (stored), the step goes on. If the
 * broker does not send it back within the wait, the primary (the first
 * controller of the list) runs the step anyway: a shutdown sent twice (a
 * primary cut off from the broker while the standby takes over) is the lesser
 * harm than one never sent (the broker down, or the UPS of the broker flat).
 * A standby never runs a step without the broker's confirmation: a broker
 * that stops sends every client's will, so its word "offline" alone is no
 * proof; it takes over only after the takeover delay.
 *
 * A message from the broker is never a step: the broker's messages carry no
 * `msg.outage`, and a message on the gate's topics that carries one is refused.
 */
import { describeValue, isRecord } from "../check";
import { formatClock } from "../format";
import type { Moment } from "../moment";
import { restoredKind } from "./restored";
import { type StatusView, type Text, statusOf, textTable } from "../status";

export interface GateConfig {
  /** Topic prefix of the controllers of one site, e.g. "nut-shutdown/site-a". */
  prefix: string;
  /** This step's name: its claim is `<prefix>/step/<step>`. */
  step: string;
  /** This controller's name. */
  me: string;
  /** The controllers in order of priority (the first one not offline is active); includes `me`. */
  controllers: string[];
  /** How long the broker keeps a claim nobody cleared (seconds; MQTT v5 message expiry). */
  expiryS: number;
  /**
   * How long a controller ahead must have been offline before this one takes over (ms). A broker
   * that stops delivers every client's last will, and gives them back from its disk when it starts
   * again: the controllers' births come again within their reconnect time, this delay is longer.
   */
  takeoverMs: number;
}

/** A step's claim, as published retained at `<prefix>/step/<step>`. */
export interface StepClaim {
  controller: string;
  step: string;
  /** The claiming controller's outage identity (its own: each controller names its outages). */
  outage: string;
  /** When it was claimed (epoch ms of the claiming controller; for people). */
  at: number;
}

export interface GateState {
  /**
   * What the broker last said of each configured controller: true online, false offline (since
   * `since`, on the monotonic clock), null never heard.
   */
  online: Array<{ name: string; online: boolean | null; since: number | null }>;
  /** The claim the broker holds for this step (the first one delivered), or null. */
  claim: StepClaim | null;
  /** The claim this controller published and waits for the broker to send back. */
  pending: StepClaim | null;
  /**
   * The claim of a step this controller ran without the broker's confirmation: published again when
   * this controller's birth message shows the broker is back, so a standby that takes over later knows.
   */
  unconfirmed: StepClaim | null;
  /** Step messages not let through since the last reset. */
  blocked: number;
  /**
   * This controller claimed again over a later claim of another: once per claim, so two controllers
   * that each hold their own claim (one restarted after the broker expired the first) never answer each other forever.
   */
  reclaimed: boolean;
}

/** What the broker should get (to a core `mqtt out` node): a retained QoS 1 message. */
export interface Publish {
  topic: string;
  payload: StepClaim | "";
  retain: true;
  qos: 1;
  messageExpiryInterval?: number;
}

/**
 * pass: the message goes on now. claim: publish, hold the message until the
 * broker sends the claim back (or the wait ends). release: the held message
 * goes on (this controller's claim came back first). drop: the held message
 * is dropped (another controller's claim came first). block: not let
 * through. update: the broker's word was taken in. ignore: a message on
 * another step's topic. error: refused (reason).
 */
export type GateAction = "pass" | "claim" | "release" | "drop" | "block" | "update" | "ignore" | "error";

export interface GateStep {
  state: GateState;
  action: GateAction;
  publish: Publish | null;
  reason: string | null;
}

/** Bounds on what the broker can make the gate keep. */
export const GATE_LIMITS = { name: 64, controllers: 8, payload: 2000, outage: 200 };

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The problems of a configuration in words ([] when it is usable). */
export function checkGateConfig(c: GateConfig): string[] {
  const out: string[] = [];
  if (!/^[^#+\s]{1,200}$/.test(c.prefix) || c.prefix.startsWith("/") || c.prefix.endsWith("/")) {
    out.push(`topic prefix must be a topic without wildcards, spaces or a leading or trailing "/" (got "${c.prefix}")`);
  }
  if (!NAME.test(c.step)) out.push(`step name must be 1 to 64 letters, digits, "_", "." or "-" (got "${c.step}")`);
  if (!NAME.test(c.me)) out.push(`this controller's name must be 1 to 64 letters, digits, "_", "." or "-" (got "${c.me}")`);
  const bad = c.controllers.filter((n) => !NAME.test(n));
  if (bad.length) out.push(`controller names must be letters, digits, "_", "." or "-" (got "${bad.join('", "')}")`);
  if (c.controllers.length < 2 || c.controllers.length > GATE_LIMITS.controllers) {
    out.push(`list 2 to ${GATE_LIMITS.controllers} controllers, in order of priority (got ${c.controllers.length})`);
  }
  if (new Set(c.controllers).size !== c.controllers.length) out.push("a controller is listed twice");
  if (NAME.test(c.me) && !c.controllers.includes(c.me)) out.push(`this controller ("${c.me}") is not in the list of controllers`);
  if (!Number.isInteger(c.expiryS) || c.expiryS < 60 || c.expiryS > 7 * 86_400) out.push(`claims expire after 60 s to 7 days (got ${c.expiryS} s)`);
  if (!Number.isFinite(c.takeoverMs) || c.takeoverMs < 0 || c.takeoverMs > 600_000) {
    out.push(`take over after 0 to 600 s offline (got ${c.takeoverMs / 1000} s)`);
  }
  return out;
}

export function initialGate(config: GateConfig): GateState {
  return {
    online: config.controllers.map((name) => ({ name, online: null, since: null })),
    claim: null,
    pending: null,
    unconfirmed: null,
    blocked: 0,
    reclaimed: false,
  };
}

/**
 * Whether this controller is active (every controller ahead offline for the takeover delay), the first
 * one ahead that holds it back, what the broker said of that one, and when the delay ends (mono ms).
 */
export function roleOf(
  config: GateConfig,
  state: GateState,
  mono: number,
): { active: boolean; ahead: string | null; heard: boolean; offline: boolean; until: number | null } {
  const mine = state.online.findIndex((c) => c.name === config.me);
  const ahead = state.online.slice(0, Math.max(mine, 0));
  const gone = (c: GateState["online"][number]) => c.online === false && c.since !== null && mono >= c.since + config.takeoverMs; // as `until` counts it
  const first = ahead.find((c) => !gone(c));
  const until = first?.online === false && first.since !== null ? first.since + config.takeoverMs : null;
  return { active: first === undefined, ahead: first?.name ?? null, heard: first?.online !== null, offline: first?.online === false, until };
}

/** The first controller of the list: the only one that runs a step the broker did not confirm. */
const isPrimary = (config: GateConfig): boolean => config.controllers[0] === config.me;

export const controllerTopic = (config: GateConfig, name: string): string => `${config.prefix}/controller/${name}`;
export const stepTopic = (config: GateConfig): string => `${config.prefix}/step/${config.step}`;

/** An MQTT payload as text (core `mqtt in` gives a string, a Buffer, or the parsed JSON). */
function payloadText(p: unknown): string | null {
  if (typeof p === "string") return p.length <= GATE_LIMITS.payload ? p : null;
  if (Buffer.isBuffer(p)) return p.length <= GATE_LIMITS.payload ? p.toString("utf8") : null;
  if (isRecord(p)) {
    try {
      const s = JSON.stringify(p);
      return s.length <= GATE_LIMITS.payload ? s : null;
    } catch {
      return null; // circular, or a BigInt: no JSON, so no claim
    }
  }
  return null;
}

/** A claim read from the broker; "" for a cleared one; null when it is not one. */
export function parseClaim(p: unknown): StepClaim | "" | null {
  const text = payloadText(p);
  if (text === null) return null;
  if (text === "") return "";
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(x)) return null;
  const { controller, step, outage, at } = x;
  if (typeof controller !== "string" || !NAME.test(controller)) return null;
  if (typeof step !== "string" || !NAME.test(step)) return null;
  if (typeof outage !== "string" || outage === "" || outage.length > GATE_LIMITS.outage) return null;
  // a time a Date can hold (the status shows it): anything else is not a claim this gate wrote
  if (typeof at !== "number" || !Number.isFinite(at) || at < 0 || at > MAX_DATE_MS) return null;
  return { controller, step, outage, at };
}

/** The largest time in epoch ms a Date holds (ECMAScript's ±8.64e15). */
const MAX_DATE_MS = 8.64e15;

function checkOutage(o: unknown): string | null {
  if (o == null) return "message has no msg.outage: only messages of an outage (from ups-aggregate or battery-tier-switch) are steps";
  if (!isRecord(o) || typeof o.id !== "string" || o.id === "" || o.id.length > GATE_LIMITS.outage) {
    return `msg.outage must be an outage identity {id, since} (got ${describeValue(o)})`;
  }
  return null;
}

export interface GateMessage {
  [key: string]: unknown;
  topic?: unknown;
  payload?: unknown;
  outage?: unknown;
  reset?: unknown;
}

const result = (state: GateState, action: GateAction, reason: string | null = null, publish: Publish | null = null): GateStep => ({
  state,
  action,
  publish,
  reason,
});

/** The retained, expiring message that claims a step. */
function claimOf(config: GateConfig, claim: StepClaim): Publish {
  return { topic: stepTopic(config), payload: claim, retain: true, qos: 1, messageExpiryInterval: config.expiryS };
}

/** The broker's word on a controller or a claim. */
function fromBroker(config: GateConfig, state: GateState, topic: string, payload: unknown, mono: number): GateStep {
  const controllers = `${config.prefix}/controller/`;
  if (topic.startsWith(controllers)) {
    const name = topic.slice(controllers.length);
    const row = state.online.find((c) => c.name === name);
    if (!row) return result(state, "ignore", `"${name.slice(0, GATE_LIMITS.name)}" is not one of the listed controllers`);
    const text = payloadText(payload)?.trim();
    if (text !== "online" && text !== "offline") {
      return result(state, "error", `the word on controller ${name} must be "online" or "offline" (got ${describeValue(payload)})`);
    }
    const isOnline = text === "online";
    // An "offline" repeated (the retained will again on a reconnect) keeps the time it first said so.
    const since = (c: GateState["online"][number]) => (isOnline ? null : c.online === false ? c.since : mono);
    const online = state.online.map((c) => (c.name === name ? { name, online: isOnline, since: since(c) } : c));
    // This controller's birth: the broker is back. A step it ran meanwhile is claimed now, unless another controller claimed it.
    const reclaim = name === config.me && text === "online" && state.unconfirmed && !state.claim ? claimOf(config, state.unconfirmed) : null;
    return result({ ...state, online }, "update", null, reclaim);
  }
  if (topic !== stepTopic(config)) return result(state, "ignore");
  const claim = parseClaim(payload);
  if (claim === null) return result(state, "error", `not a claim of step ${config.step} (got ${describeValue(payload)}): ignored`);
  if (claim === "") return result({ ...state, claim: null, reclaimed: false }, "update");
  if (claim.step !== config.step) return result(state, "error", `a claim of step ${claim.step} on the topic of step ${config.step}: ignored`);
  // The first claim delivered wins; a later one (the other controller's, sent at the same moment) changes nothing.
  const first = state.claim ?? claim;
  // A claim of this controller's own came back: whatever it ran unconfirmed is known at the broker now.
  const s = { ...state, claim: first, unconfirmed: claim.controller === config.me ? null : state.unconfirmed };
  // Another controller's claim came after ours and the broker now keeps it: claim again, so that what the broker
  // keeps names the one that ran the step (the other, restarted, would take its own stored claim for leave to run it).
  if (!state.pending && !state.reclaimed && state.claim?.controller === config.me && claim.controller !== config.me) {
    return result({ ...s, reclaimed: true }, "update", `step ${config.step} claimed later by ${claim.controller}: claimed again`, claimOf(config, state.claim));
  }
  if (!state.pending) return result(s, "update");
  return first.controller === config.me
    ? result({ ...s, pending: null, unconfirmed: null }, "release")
    : result({ ...s, pending: null, blocked: s.blocked + 1 }, "drop", `step ${config.step} claimed first by ${first.controller}`);
}

/** `now.wall` only dates the claim for people; `now.mono` times the takeover. */
export function gateInput(config: GateConfig, state: GateState, msg: GateMessage, now: Moment): GateStep {
  const underPrefix = typeof msg.topic === "string" && msg.topic.startsWith(`${config.prefix}/`);
  if (underPrefix && msg.outage !== undefined) {
    return result(state, "error", `a message on the controllers' topics (${String(msg.topic).slice(0, 200)}) is never a step: refused`);
  }
  if (underPrefix) return fromBroker(config, state, msg.topic as string, msg.payload, now.mono);
  if (restoredKind(msg)) {
    // Power is back (or a reset): the step is over for this outage; the active controller clears its claim at the broker.
    const s = { ...state, claim: null, pending: null, unconfirmed: null, blocked: 0, reclaimed: false };
    const clear: Publish = { topic: stepTopic(config), payload: "", retain: true, qos: 1 };
    return result(s, "pass", null, roleOf(config, state, now.mono).active ? clear : null);
  }
  const problem = checkOutage(msg.outage);
  if (problem) return result(state, "error", problem);
  const role = roleOf(config, state, now.mono);
  const blocked = (reason: string) => result({ ...state, blocked: state.blocked + 1 }, "block", reason);
  if (!role.active)
    return blocked(`standby: ${role.ahead} is ${role.offline ? "offline for less than the takeover delay" : role.heard ? "online" : "not known offline"}`);
  if (state.claim) {
    // This controller's own claim: the step's latch (after the gate) lets it through once.
    if (state.claim.controller === config.me) return result(state, "pass");
    return blocked(`step ${config.step} already claimed by ${state.claim.controller} at ${formatClock(state.claim.at)}`);
  }
  // Ran here without the broker: the latch behind keeps it once; it is claimed again when the broker is back.
  if (state.unconfirmed) return result(state, "pass");
  if (state.pending) return blocked("waiting for the broker to confirm the claim");
  const o = msg.outage as { id: string };
  const claim: StepClaim = { controller: config.me, step: config.step, outage: o.id, at: now.wall };
  return result({ ...state, pending: claim }, "claim", null, claimOf(config, claim));
}

/**
 * The wait for the broker's confirmation ended without it. Only the primary runs the step then: a
 * standby acts on the broker's word alone (a broker that stops sends the primary's will too).
 */
export function gateTimeout(config: GateConfig, state: GateState, mono: number): GateStep {
  if (!state.pending) return result(state, "update");
  const s = { ...state, pending: null };
  if (isPrimary(config) && roleOf(config, state, mono).active) {
    return result(
      { ...s, unconfirmed: state.pending },
      "release",
      `the broker did not confirm the claim of step ${config.step}: running it anyway (sent twice beats never sent)`,
    );
  }
  return result(
    { ...s, blocked: s.blocked + 1 },
    "drop",
    `the broker did not confirm the claim of step ${config.step}: not run (a standby runs a step only on the broker's word)`,
  );
}

/** The texts of standby-gate's status (locales/<lang>/standby-gate.json). */
export const GATE_TEXTS = textTable({
  "status.active": [],
  "status.standby": ["ahead"],
  "status.no-word": ["ahead"],
  "status.taking-over": ["ahead"],
  "status.claiming": [],
  "status.claimed": ["controller", "time"],
  "status.unconfirmed": [],
});
const say = GATE_TEXTS;

/** green dot active; grey ring standby; yellow while the claim is on its way or after a step ran unconfirmed; blue ring once claimed. */
export function gateStatus(config: GateConfig, state: GateState, mono: number): StatusView {
  const role = roleOf(config, state, mono);
  if (state.pending) return statusOf("yellow", "dot", say("status.claiming"));
  if (state.unconfirmed) return statusOf("yellow", "ring", say("status.unconfirmed"));
  if (state.claim) return statusOf("blue", "ring", say("status.claimed", { controller: state.claim.controller, time: formatClock(state.claim.at) }));
  if (role.active) return statusOf("green", "dot", say("status.active"));
  return statusOf("grey", "ring", roleText(role));
}

/** The role in words: active, standby (and why). */
export function roleText(role: ReturnType<typeof roleOf>): Text {
  const ahead = role.ahead ?? "";
  if (role.active) return say("status.active");
  if (role.offline) return say("status.taking-over", { ahead });
  return role.heard ? say("status.standby", { ahead }) : say("status.no-word", { ahead });
}
