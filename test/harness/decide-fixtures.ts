/**
 * UPS-state messages built from core/contract.ts, as nut-ups-in sends them,
 * for the decision nodes' tests (no NUT server needed for those).
 */
import type { OutageIdentity, PowerState, UpsState } from "../../core/contract";

export interface UpsOptions {
  charge?: number | null;
  runtime?: number | null;
  load?: number | null;
  stale?: boolean;
  reachable?: boolean;
  time?: number;
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
    charge: 100,
    runtime: 3600,
    reference: "ups1@nas:3493",
    onBatterySeconds: null,
    sources: {},
    stale: [],
    event: "UPDATE",
    time: 0,
    ...over,
  };
}

export function outage(id: string, since: number, ended?: number): OutageIdentity {
  return ended === undefined ? { id, since } : { id, since, ended };
}

/** An ups-aggregate node of a test flow, as the editor saves it (defaults, weakest policy). */
export function aggregateNodeDef(topics: string[], over: object = {}): object {
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
