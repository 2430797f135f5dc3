/**
 * The simulated outage of the `npm start` demo: two UPSes that lose power
 * together and drain at different rates, so the weakest one walks the plan
 * through 90 / 50 / 20 / 10 %, then power returns, a short flicker while
 * recharging (which must fire nothing), and a second outage. It repeats,
 * from full batteries, so whoever looks later still sees the whole plan.
 *
 * Pure: `demoStep(state, dt)` advances the simulation by `dt` seconds.
 */

export interface DemoUps {
  name: string;
  /** % per second while on battery. */
  drain: number;
  /** % per second while charging. */
  charge: number;
  /** Seconds of runtime at 100 %. */
  fullRuntime: number;
  load: number;
}

export const DEMO_UPSES: DemoUps[] = [
  { name: "ups1", drain: 0.45, charge: 0.3, fullRuntime: 3600, load: 35 },
  { name: "ups2", drain: 0.75, charge: 0.3, fullRuntime: 2400, load: 55 },
];

/** One cycle, in seconds from its start: when the mains is off. */
export const DEMO_CYCLE = {
  /** First outage: power off from..to. */
  outage: [20, 150] as const,
  /** A flicker while recharging (shorter than the aggregate's 5 s confirm time). */
  flicker: [200, 203] as const,
  /** Second outage, from a partly recharged battery. */
  second: [240, 330] as const,
  /** Cycle length: then it starts over, batteries full again. */
  length: 420,
};

/** Charge at or below which a UPS raises LB (its battery.charge.low). */
export const DEMO_LOW = 10;

export interface DemoState {
  /** Seconds since the start of the demo. */
  t: number;
  charge: Record<string, number>;
}

export interface DemoReading {
  status: string;
  charge: number;
  runtime: number;
  load: number;
}

export function demoStart(): DemoState {
  return { t: 0, charge: Object.fromEntries(DEMO_UPSES.map((u) => [u.name, 100])) };
}

/** Whether the mains is off at demo time `t`. */
export function mainsOff(t: number): boolean {
  const c = t % DEMO_CYCLE.length;
  const within = ([a, b]: readonly [number, number]) => c >= a && c < b;
  return within(DEMO_CYCLE.outage) || within(DEMO_CYCLE.flicker) || within(DEMO_CYCLE.second);
}

export function demoStep(state: DemoState, dt: number): DemoState {
  const t = state.t + dt;
  // a new cycle: the batteries have had the time to recharge
  if (Math.floor(t / DEMO_CYCLE.length) > Math.floor(state.t / DEMO_CYCLE.length)) return { ...demoStart(), t };
  const off = mainsOff(state.t);
  const charge: Record<string, number> = {};
  for (const u of DEMO_UPSES) {
    const c = state.charge[u.name] + (off ? -u.drain : u.charge) * dt;
    charge[u.name] = Math.min(100, Math.max(0, c));
  }
  return { t, charge };
}

/** What upsd would serve for each UPS in this state. */
export function demoReadings(state: DemoState): Record<string, DemoReading> {
  const off = mainsOff(state.t);
  const out: Record<string, DemoReading> = {};
  for (const u of DEMO_UPSES) {
    const charge = Math.round(state.charge[u.name] * 10) / 10;
    const flags = off ? ["OB", "DISCHRG"] : charge < 100 ? ["OL", "CHRG"] : ["OL"];
    if (off && charge <= DEMO_LOW) flags.push("LB");
    out[u.name] = { status: flags.join(" "), charge, runtime: Math.round((charge / 100) * u.fullRuntime), load: u.load };
  }
  return out;
}
