/**
 * The differential test against upsmon: the same timeline of UPS states and
 * faults is played on a real upsd (dummy-ups drivers, test/harness/nut-lab.ts)
 * watched at once by NUT's real upsmon (MINSUPPLIES, DEADTIME; its
 * SHUTDOWNCMD and NOTIFYCMD only record: test/harness/upsmon.ts) and by
 * nut-ups-in → ups-aggregate in "NUT minimum supplies" mode in Node-RED. Both
 * must agree on whether the shutdown becomes due, and when: within one poll
 * interval, plus one second for upsmon's whole-second clock.
 *
 * Several timelines run at once (each its own upsd, upsmon and sub-flow), so
 * hundreds of them fit in minutes.
 */
import fc from "fast-check";
import type { NodeMessage } from "node-red";
import type { PowerState } from "../../core/contract";
import aggregateNode from "../../nodes/ups-aggregate";
import nutServerNode from "../../nodes/nut-server";
import nutUpsInNode from "../../nodes/nut-ups-in";
import { NUT_LAB_USERS, startNutLab, type NutLab } from "./nut-lab";
import { helper } from "./red-helper";
import { waitUntil } from "./wait";
import { NotifyLog, spawnUpsmon, upsmonDir, upsmonVersion, writeRecorder, type Notification, type UpsmonProcess } from "./upsmon";

export interface UpsSpec {
  name: string;
  /** upsmon's power value (MONITOR … <pv>). */
  power: number;
  /** Never served by upsd (UNKNOWN-UPS): "one UPS never readable". */
  ghost?: boolean;
}

export type Action =
  | { kind: "status"; ups: string; status: string }
  | { kind: "charge"; ups: string; charge: number }
  | { kind: "freeze" | "thaw" | "kill" | "revive" | "fsd"; ups: string }
  | { kind: "upsd-stop" | "upsd-start" };

export interface Step {
  /** Seconds after the previous step (the first: after the start). */
  after: number;
  action: Action;
}

export interface Timeline {
  name: string;
  upses: UpsSpec[];
  minSupplies: number;
  steps: Step[];
  /**
   * The verdict of upsmon 2.8's rules where this timeline exercises one that
   * came after the upsmon installed (e.g. OFFDURATION, NUT 2.8.1): seconds
   * after the start when the shutdown is due, or null for never.
   */
  since?: { version: string; due: number | null };
}

export interface Settings {
  /** POLLFREQ = POLLFREQALERT = nut-ups-in's intervals, seconds. */
  poll: number;
  /** DEADTIME = the aggregate's dead time, seconds. */
  dead: number;
  /** upsd MAXAGE, seconds: how soon a frozen driver reads DATA-STALE. */
  maxAge: number;
}

export const SETTINGS: Settings = { poll: 2, dead: 10, maxAge: 4 };

export interface Verdict {
  timeline: Timeline;
  /** Seconds after the start at which each one found the shutdown due; null when never. */
  upsmon: number | null;
  ours: number | null;
  /** What the installed upsmon's rules could not judge (`since`): the verdict ours is held to instead. */
  expected: number | null | undefined;
  agree: boolean;
  /** What happened, for a report: the steps as played, upsmon's notifications, our summaries. */
  trace: string[];
}

/**
 * How far apart the two verdicts may be, in seconds. Each side polls at its
 * own phase: one poll interval either way. upsmon can be one more poll
 * interval and a second later: it checks its DEADTIME only when it polls, in
 * whole seconds and with a strict "more than". Half a second of scheduling.
 */
export function tolerance(s: Settings): { early: number; late: number } {
  return { early: 2 * s.poll + 1.5, late: s.poll + 0.5 };
}

/** Whether this upsmon has the rules of NUT `version` ("2.8.1"). */
export function upsmonHas(version: string): boolean {
  const have = upsmonVersion();
  if (!have) return false;
  const a = have.split(".").map(Number);
  const b = version.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

interface Run {
  timeline: Timeline;
  lab: NutLab;
  upsmon: UpsmonProcess;
  log: NotifyLog;
  notes: Notification[];
  /** Epoch ms of the start and of our first critical power state. */
  start: number;
  ours: number | null;
  /** The last power state, and what each told, with its time. */
  last: PowerState | null;
  summaries: string[];
  played: string[];
}

const secs = (from: number, to: number) => Math.round((to - from) / 100) / 10;

/** The whole upsmon.conf for a timeline (only recorders, loopback: spawnUpsmon checks it). */
function upsmonConf(t: Timeline, lab: NutLab, s: Settings, dir: string, notify: string, shutdown: string): string {
  // A primary, as this package acts (OB+LB is critical at once; a secondary waits for its primary), whose
  // upsd user may not set FSD: its shutdown then leaves upsd as it was, and our side never reads that echo.
  const { username, password } = NUT_LAB_USERS.primaryNoFsd;
  const events = ["ONLINE", "ONBATT", "LOWBATT", "FSD", "COMMOK", "COMMBAD", "SHUTDOWN", "NOCOMM"];
  return [
    ...t.upses.map((u) => `MONITOR ${u.name}@${lab.host}:${lab.port} ${u.power} ${username} ${password} primary`),
    `MINSUPPLIES ${t.minSupplies}`,
    `SHUTDOWNCMD "${shutdown}"`,
    `NOTIFYCMD ${notify}`,
    `POWERDOWNFLAG ${dir}/killpower`,
    `POLLFREQ ${s.poll}`,
    `POLLFREQALERT ${s.poll}`,
    `DEADTIME ${s.dead}`,
    "HOSTSYNC 0",
    "FINALDELAY 0",
    "NOCOMMWARNTIME 300",
    ...events.map((e) => `NOTIFYFLAG ${e} EXEC`),
    "",
  ].join("\n");
}

/** Our side of one timeline: nut-server, one nut-ups-in per UPS, the aggregate in minimum-supplies mode. */
function subflow(i: number, t: Timeline, lab: NutLab, s: Settings): object[] {
  const srv = `srv${i}`;
  return [
    { id: srv, type: "nut-server", host: lab.host, port: lab.port, usetls: false, tls: "", login: "", interval: s.poll, timeout: 3 },
    ...t.upses.map((u) => ({
      id: `in${i}-${u.name}`,
      type: "nut-ups-in",
      server: srv,
      mode: "one",
      ups: u.name,
      interval: s.poll,
      alertInterval: s.poll,
      output: "change",
      vars: false,
      nocomm: 300,
      wires: [[`agg${i}`]],
    })),
    {
      id: `agg${i}`,
      type: "ups-aggregate",
      name: "",
      policy: "minsupplies",
      sources: t.upses.map((u) => ({ topic: `${u.name}@${lab.host}:${lab.port}`, power: u.power })),
      feedsOut: 0,
      minSupplies: t.minSupplies,
      confirm: 0,
      restore: 30,
      staleRule: "deadtime",
      deadtime: s.dead,
      silent: 0,
      emit: "change",
      store: "",
      wires: [[`out${i}`]],
    },
    { id: `out${i}`, type: "helper" },
  ];
}

/** Plays one action on the lab, as far as the lab's state allows (a change upsd cannot take goes to the .dev file). */
async function play(lab: NutLab, a: Action): Promise<void> {
  switch (a.kind) {
    case "status":
    case "charge": {
      const [name, value] = a.kind === "status" ? ["ups.status", a.status] : ["battery.charge", a.charge];
      if (lab.upsdRunning && lab.driverServing(a.ups)) await lab.setVar(a.ups, name, value);
      else lab.writeVar(a.ups, name, value);
      return;
    }
    case "freeze":
      return lab.pauseDriver(a.ups);
    case "thaw":
      return lab.resumeDriver(a.ups);
    case "kill":
      return lab.stopDriver(a.ups);
    case "revive":
      return lab.driverRunning(a.ups) ? undefined : lab.startDriver(a.ups);
    case "fsd":
      return lab.upsdRunning ? lab.setFsd(a.ups) : undefined;
    case "upsd-stop":
      return lab.upsdRunning ? lab.stopUpsd() : undefined;
    case "upsd-start":
      return lab.upsdRunning ? undefined : lab.startUpsd();
  }
}

export function describeAction(a: Action): string {
  if (a.kind === "status") return `${a.ups} ${a.status}`;
  if (a.kind === "charge") return `${a.ups} charge ${a.charge}`;
  return "ups" in a ? `${a.kind} ${a.ups}` : a.kind;
}

/** Seconds the timeline runs: its steps, then long enough for a late verdict to show. */
export function length(t: Timeline, s: Settings): number {
  return t.steps.reduce((sum, st) => sum + st.after, 0) + s.dead + 3 * s.poll + 2;
}

/**
 * Runs the timelines at once and returns a verdict for each. The Node-RED
 * test helper must be free (nothing loaded); it is unloaded afterwards.
 */
export async function runTimelines(timelines: Timeline[], s: Settings = SETTINGS): Promise<Verdict[]> {
  const runs: Run[] = [];
  try {
    for (const t of timelines) {
      const served = t.upses.filter((u) => !u.ghost).map((u) => u.name);
      const lab = await startNutLab({ upses: served, maxAge: s.maxAge, driverPollInterval: 1 });
      const dir = upsmonDir("conformance-upsmon-");
      const log = new NotifyLog(dir);
      const notify = writeRecorder(dir, "notify.sh", "$NOTIFYTYPE", log);
      const shutdown = writeRecorder(dir, "shutdown.sh", "SHUTDOWNCMD", log);
      let upsmon: UpsmonProcess;
      try {
        upsmon = spawnUpsmon(dir, upsmonConf(t, lab, s, dir, notify, shutdown), [notify, shutdown]);
      } catch (err) {
        await lab.stop();
        throw err;
      }
      runs.push({ timeline: t, lab, upsmon, log, notes: [], start: 0, ours: null, last: null, summaries: [], played: [] });
    }
    await helper.load(
      [nutServerNode, nutUpsInNode, aggregateNode],
      runs.flatMap((r, i) => subflow(i, r.timeline, r.lab, s)),
    );
    runs.forEach((r, i) => {
      helper.getNode(`out${i}`).on("input", (msg: NodeMessage & { payload: PowerState; summary: string }) => {
        const at = Date.now();
        r.last = msg.payload;
        if (r.start) r.summaries.push(`${secs(r.start, at)} s ${msg.summary}`);
        if (msg.payload.critical && r.ours === null && r.start) r.ours = at;
      });
    });
    // both sides have read every UPS once: our aggregate has sent, upsmon has had a poll
    const ready = (r: Run) => {
      const ghosts = r.timeline.upses.filter((u) => u.ghost).map((u) => `${u.name}@${r.lab.host}:${r.lab.port}`);
      return r.last !== null && r.last.stale.every((t) => ghosts.includes(t));
    };
    await waitUntil("every aggregate to have read every UPS", () => runs.every(ready), 30_000);
    await new Promise((r) => setTimeout(r, (s.poll + 1) * 1000));
    for (const r of runs) {
      const early = r.log.read();
      if (early.some((n) => n.type === "SHUTDOWNCMD")) throw new Error(`upsmon shut down before ${r.timeline.name} began: ${JSON.stringify(early)}`);
      r.notes.push(...early);
    }
    const begin = Date.now();
    await Promise.all(
      runs.map(async (r) => {
        r.start = begin;
        let at = 0;
        for (const step of r.timeline.steps) {
          at += step.after;
          const wait = begin + at * 1000 - Date.now();
          if (wait > 0) await new Promise((res) => setTimeout(res, wait));
          const t0 = Date.now();
          // what happened is what both sides saw: an action the lab could not carry out is noted, not fatal
          const failed = await play(r.lab, step.action).then(
            () => "",
            (err: unknown) => ` (could not: ${err instanceof Error ? err.message : String(err)})`,
          );
          r.played.push(`${secs(begin, t0)}–${secs(begin, Date.now())} s ${describeAction(step.action)}${failed}`);
        }
        const end = begin + length(r.timeline, s) * 1000 - Date.now();
        if (end > 0) await new Promise((res) => setTimeout(res, end));
      }),
    );
    return runs.map((r) => verdict(r, s));
  } finally {
    await helper.unload().catch(() => undefined);
    await Promise.all(runs.map((r) => Promise.all([r.upsmon.stop(), r.lab.stop()])));
  }
}

function verdict(r: Run, s: Settings): Verdict {
  r.notes.push(...r.log.read());
  const down = r.notes.find((n) => n.type === "SHUTDOWNCMD");
  const upsmon = down && down.time >= r.start ? secs(r.start, down.time) : null;
  const ours = r.ours === null ? null : secs(r.start, r.ours);
  const expected = r.timeline.since && !upsmonHas(r.timeline.since.version) ? r.timeline.since.due : undefined;
  const { early, late } = tolerance(s);
  const near = (theirs: number | null, mine: number | null) =>
    theirs === null || mine === null ? theirs === mine : mine - theirs <= late && theirs - mine <= early;
  const agree = expected === undefined ? near(upsmon, ours) : near(expected, ours);
  const trace = [
    ...r.played.map((p) => `play   ${p}`),
    ...r.notes.filter((n) => n.time >= r.start).map((n) => `upsmon ${secs(r.start, n.time)} s ${n.type} ${n.ups}`),
    ...r.summaries.map((x) => `ours   ${x}`),
  ];
  return { timeline: r.timeline, upsmon, ours, expected, agree, trace };
}

// ---- generated timelines ------------------------------------------------------------------------

/** Status words whose handling upsmon 2.8.0 and 2.8.x share. */
const STATUSES = ["OL", "OL CHRG", "OB DISCHRG", "OB LB DISCHRG", "OL LB", "OB", "OL TRIM", "OL BOOST", "OB RB DISCHRG", "OL CHRG LB"];
/** And those whose rules came with NUT 2.8.1–2.8.3: played only to an upsmon that has them (the named timelines cover them otherwise). */
const STATUSES_28X = ["OB CAL DISCHRG", "OB LB CAL DISCHRG", "OL OFF", "OL BYPASS", "OL ALARM", "OB ALARM DISCHRG", "OL OVER", "OL ECO"];

const upsCount = fc.integer({ min: 2, max: 3 });

/**
 * A timeline over 2–3 UPSes: status words, charge, driver freezes and
 * deaths, upsd restarts and FSD, 5–8 steps 2–12 s apart. The drivers and
 * upsd are brought back before the end only if the timeline says so.
 */
export function timelineArb(statuses: string[] = upsmonHas("2.8.3") ? [...STATUSES, ...STATUSES_28X] : STATUSES): fc.Arbitrary<Omit<Timeline, "name">> {
  return upsCount.chain((n) => {
    const names = Array.from({ length: n }, (_, i) => `ups${i + 1}`);
    const ups = fc.constantFrom(...names);
    const action: fc.Arbitrary<Action> = fc.oneof(
      { weight: 10, arbitrary: fc.record({ kind: fc.constant("status" as const), ups, status: fc.constantFrom(...statuses) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("charge" as const), ups, charge: fc.integer({ min: 0, max: 100 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("freeze" as const, "thaw" as const), ups }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("kill" as const, "revive" as const), ups }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("upsd-stop" as const, "upsd-start" as const) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("fsd" as const), ups }) },
    );
    const step = fc.record({ after: fc.integer({ min: 2, max: 12 }), action });
    const powers = fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }).filter((p) => p.some((x) => x > 0));
    return fc.record({ powers, steps: fc.array(step, { minLength: 5, maxLength: 8 }), min: fc.integer({ min: 1, max: 4 }) }).map(({ powers, steps, min }) => {
      const total = powers.reduce((a, b) => a + b, 0);
      return {
        upses: names.map((name, i) => ({ name, power: powers[i] })),
        minSupplies: Math.min(min, total),
        steps,
      };
    });
  });
}

/** `count` timelines from `seed`, the same ones every run. */
export function generated(seed: number, count: number): Timeline[] {
  return fc.sample(timelineArb(), { seed, numRuns: count }).map((t, i) => ({ ...t, name: `generated #${i + 1} (seed ${seed})` }));
}
