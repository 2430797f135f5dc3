/**
 * UPS-state messages built from core/contract.ts, as nut-ups-in sends them,
 * for the decision nodes' tests (no NUT server needed for those), and the
 * type of those messages for the tests that read nut-ups-in's.
 */
import should from "./should";
import type { NodeMessage } from "node-red";
import type { OutageIdentity, PowerState, SourceState, UpsState } from "../../core/contract";
import {
  type AggregateConfig,
  type AggregateOutput,
  type AggregateStatus,
  AGGREGATE_DEFAULTS,
  aggregateInput,
  aggregateStatus,
  aggregateTick,
  checkAggregateConfig,
  initialAggregate,
  nextDeadline,
} from "../../core/decide/aggregate";
import type { Moment } from "../../core/moment";
import { shown } from "./catalog";

/** A message of nut-ups-in: the UPS state, its topic and its one-line summary. */
export type UpsMsg = NodeMessage & { topic: string; payload: UpsState; summary: string };

/** 2026-11-25 14:00 UTC: where the decision tests' clocks start. */
export const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);

export interface UpsOptions {
  charge?: number | null;
  runtime?: number | null;
  load?: number | null;
  stale?: boolean;
  reachable?: boolean;
  time?: number;
  /** ms since the last good read (stale messages); fresh ones are 0. */
  age?: number | null;
}

/** A UPS state for `topic` ("ups1@nas:3493") with `status` ("OB DISCHRG"). */
export function ups(topic: string, status: string, opts: UpsOptions = {}): UpsState {
  const [name, server] = topic.split("@");
  const flags = status.split(/\s+/).filter(Boolean);
  const stale = opts.stale ?? false;
  return {
    ups: name,
    server: server ?? "localhost:3493",
    status,
    flags,
    online: flags.includes("OL") && !stale,
    onBattery: flags.includes("OB"),
    lowBattery: flags.includes("LB"),
    charge: opts.charge === undefined ? 100 : opts.charge,
    runtime: opts.runtime === undefined ? 3600 : opts.runtime,
    load: opts.load === undefined ? 30 : opts.load,
    time: opts.time ?? 0,
    age: opts.age !== undefined ? opts.age : stale ? null : 0,
    stale,
    reachable: opts.reachable ?? true,
    error: stale ? "DATA-STALE" : null,
    event: null,
    events: [],
  };
}

/** A minimal power state as ups-aggregate sends it (for tier-switch and latch tests). */
export function power(over: Partial<PowerState> = {}): PowerState {
  return {
    policy: "weakest",
    onBattery: false,
    critical: false,
    fsd: false,
    charge: 100,
    runtime: 3600,
    reference: "ups1@nas:3493",
    onBatterySeconds: null,
    sources: [],
    stale: [],
    event: "UPDATE",
    time: 0,
    ...over,
  };
}

/** The state of one source in a power state (fails the test when it is not there). */
export function source(p: PowerState | undefined, topic: string): SourceState {
  const s = p?.sources.find((x) => x.topic === topic);
  should.exist(s, `no source ${topic} in the power state`);
  return s;
}

export function outage(id: string, since: number, ended?: number): OutageIdentity {
  return ended === undefined ? { id, since } : { id, since, ended };
}

/** An ups-aggregate node of a test flow, as the editor saves it (defaults, weakest policy). */
/** The plan's tiers as battery-tier-switch stores them (the bundled example's 90 / 50 / 20 / 10 % or critical). */
export const PLAN_TIERS = [
  { name: "backup", charge: 90 },
  { name: "storage", charge: 50 },
  { name: "production", charge: 20 },
  { name: "everything", charge: 10, critical: true },
];

export function aggregateNodeDef(topics: string[], over: object = {}): { id: string; type: string; [k: string]: unknown } {
  return {
    id: "agg",
    type: "ups-aggregate",
    name: "",
    policy: "weakest",
    sources: topics.map((topic) => ({ topic, power: 1 })),
    feedsOut: 0,
    minSupplies: 1,
    confirm: 5,
    restore: 30,
    staleRule: "deadtime",
    deadtime: 30,
    silent: 0,
    emit: "change",
    store: "",
    ...over,
  };
}

/**
 * Drives the ups-aggregate core as the node shell does: inputs, and a tick
 * at each deadline. Times are on the monotonic clock from T0; the wall
 * clock follows it, unless `stepWall` moved it (an NTP step).
 */
export function aggregateMachine(over: Partial<AggregateConfig> = {}) {
  const config: AggregateConfig = { ...AGGREGATE_DEFAULTS, idTag: "t001", sources: [{ topic: "ups1@nas:3493", power: 1 }], ...over };
  should(checkAggregateConfig(config)).eql([]);
  let wallShift = 0;
  const moment = (t: number): Moment => ({ mono: t, wall: t + wallShift });
  let state = initialAggregate(config, moment(T0));
  let now = T0;
  const outs: AggregateOutput[] = [];
  /** The monotonic time of each output. */
  const times: number[] = [];
  const keep = (out: AggregateOutput | null, t: number) => {
    if (!out) return;
    outs.push(out);
    times.push(t);
  };
  const m = {
    config,
    outs,
    get state() {
      return state;
    },
    /** Fires every deadline up to `to`, then sets the clock to `to`. */
    advance(to: number) {
      let ticks = 0;
      for (let d = nextDeadline(config, state); d != null && d <= to; d = nextDeadline(config, state)) {
        // The node shell re-arms its timer after each tick: a deadline that never clears would spin it.
        should(++ticks).be.below(1000, `deadline ${d} does not clear`);
        const r = aggregateTick(config, state, moment(d));
        state = r.state;
        keep(r.output, d);
      }
      now = to;
    },
    /** Input at `time` (after firing the deadlines before it); returns the output, if any. */
    send(topic: string, u: UpsState, time = now): AggregateOutput | null {
      m.advance(time);
      const r = aggregateInput(config, state, topic, u, moment(time));
      should(r.error).equal(null);
      state = r.state;
      keep(r.output, time);
      return r.output;
    },
    /** NTP steps the wall clock: nothing else moves. */
    stepWall(ms: number) {
      wallShift += ms;
    },
    last(): AggregateOutput {
      should(Boolean(outs.length)).be.true("no output yet");
      return outs[outs.length - 1];
    },
    events(): string[] {
      return outs.map((o) => o.payload.event);
    },
    /** When (ms after T0, monotonic) the first output for which `pred` holds was sent; null when none. */
    firstWhen(pred: (p: PowerState) => boolean): number | null {
      const i = outs.findIndex((x) => pred(x.payload));
      return i < 0 ? null : times[i] - T0;
    },
    /** The status as the node shows it (in English), and whether it counts seconds down. */
    status() {
      return aggregateShown(aggregateStatus(config, state, outs.length ? m.last().payload : null, now));
    },
  };
  return m;
}

/** An aggregate status as the node shows it (in English), and whether it counts seconds down. */
export function aggregateShown(s: AggregateStatus): { fill: string; shape: string; text: string; countdown: boolean } {
  return { ...shown("ups-aggregate", s), countdown: s.countdown };
}
