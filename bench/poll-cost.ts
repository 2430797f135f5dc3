/**
 * Benchmark 2, poll cost from one UPS to many: N UPSes (dummy-ups) polled
 * every second inside a real Node-RED, output on change. The sizes people
 * run, 1 and 2 UPSes on one upsd, have the bundled examples' layout (one
 * nut-server, one nut-ups-in per UPS); larger sizes are spread over 4 real
 * upsd (one nut-server and one nut-ups-in "all UPSes" per upsd). Measured per window:
 * CPU of the Node-RED process (scheduler nanoseconds of all its threads),
 * its RSS, CPU of the 4 upsd, and the request bytes upsd acknowledged on
 * the client's sockets (`ss`), which count the polls actually done.
 *
 * Baselines in the same run, same UPSes, one at a time (never two clients
 * polling together): upsmon with POLLFREQ 1 (as nobody, unable to shut
 * anything down), and a shell loop spawning `upsc` for every UPS every
 * second, all at once (what a Node-RED node that execs upsc does). Node-RED
 * stays up with an empty flow while the baselines run: that gives its idle
 * cost too. What Node.js itself costs for the same polls is measured in
 * windows of their own where three clients poll at once, the same machine
 * state for each: ours, a bare Node.js client (bench/lib/bare-nut-client.ts)
 * and the same bare client inside an idle Node-RED.
 *
 *   npm run bench -- pollcost [--quick]
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { STATE_VARS } from "../core/nut/ups-state";
import { startNutLabs, type NutLab, type NutLabGroup } from "../test/harness/nut-lab";
import type { NodeRedProcess } from "../test/harness/node-red";
import { withCleanup, type Cleanup } from "./lib/cleanup";
import { serverNode, upsInNode } from "./lib/nut";
import { terminate } from "../test/harness/proc";
import { ackedBytesByClient, cpuSeconds, peakWhile, readCalls, rssBytes, shellTimesSeconds, sleep } from "./lib/proc";
import { deploy, startRed, TAB, type FlowNode } from "./lib/red";
import { fmt, type BenchOutput, type Row } from "./lib/report";
import { spread, type Spread } from "./lib/stats";
import { startUpsmon } from "./lib/upsmon";

/** How many UPSes over how many upsd, and how Node-RED reads them. */
export interface PollCostSize {
  upses: number;
  servers: number;
  /** One nut-ups-in per UPS (mode "one", as the bundled examples); else one "all UPSes" per upsd. */
  perUps: boolean;
}

/** 1 and 2 UPSes on one upsd, one node per UPS: what most people run (a Pi, one or two UPSes). */
export const ONE_UPSD = (upses: number): PollCostSize => ({ upses, servers: 1, perUps: true });
/** N UPSes over 4 upsd, one "all UPSes" node per upsd. */
export const FOUR_UPSD = (upses: number): PollCostSize => ({ upses, servers: 4, perUps: false });

export interface PollCostOptions extends PollCostSize {
  /** Seconds per measured window. */
  window: number;
  /** Windows per client (ours, upsmon), interleaved. */
  runs: number;
  /** Windows of the upsc loop (0: not measured). */
  upscRuns: number;
  upscWindow: number;
  /** The bare Node.js client, alone and inside an idle Node-RED, measured beside ours in one more window per run. */
  bare: boolean;
}

/**
 * The sizes benchmark 2 measures, one after the other: 1 and 2 UPSes (a
 * second of CPU is few polls there, so 20 s windows), then many.
 */
export const POLLCOST_FULL: PollCostOptions[] = [
  { ...ONE_UPSD(1), window: 30, runs: 3, upscRuns: 0, upscWindow: 0, bare: true },
  { ...ONE_UPSD(2), window: 30, runs: 3, upscRuns: 0, upscWindow: 0, bare: true },
  { ...FOUR_UPSD(200), window: 60, runs: 3, upscRuns: 2, upscWindow: 20, bare: true },
];
export const POLLCOST_QUICK: PollCostOptions[] = [
  { ...ONE_UPSD(1), window: 20, runs: 2, upscRuns: 0, upscWindow: 0, bare: true },
  { ...ONE_UPSD(2), window: 20, runs: 2, upscRuns: 0, upscWindow: 0, bare: true },
  { ...FOUR_UPSD(40), window: 10, runs: 2, upscRuns: 1, upscWindow: 5, bare: true },
];

/** Warm-up before a window: connections made, first polls done. */
const WARMUP_MS = 3000;
/**
 * Before the first window of a Node.js client (ours and the bare one): its
 * steady state, what a controller running for months pays. V8 compiles a
 * function with its optimizing compiler once it has run enough, on worker
 * threads; at one poll a second that takes minutes (measured at 12 UPSes:
 * 10 ms of CPU per second in the first 30 s after the deploy, 4-6 in the
 * next two minutes, 2.6-3.4 from then on, compile bursts of ~1 ms/s on a
 * worker now and then), and a window that catches a compile of 26 ms
 * (readUpses, traced) is not the cost of polling. So each first polls 5×
 * faster (every 0.2 s) for WARM_FAST_MS, as many polls as 3 min 20 s at one
 * a second, then at 1 s for WARM_SETTLE_MS before its first window. What a
 * deploy costs on top is reported apart (docs/benchmarks.md, *Found while
 * measuring*).
 */
export const WARM_FAST_MS = 40000;
export const WARM_FAST_INTERVAL = 0.2;
const WARM_SETTLE_MS = 10000;

/** One client over one window. */
export interface Window {
  seconds: number;
  /** Client CPU seconds. */
  cpu: number;
  /** The 4 upsd together, CPU seconds. */
  upsdCpu: number;
  /** Read system calls of the client (replies arriving in many small pieces cost more). */
  reads: number;
  /** UPS-polls the client did (from the request bytes upsd acknowledged). */
  polls: number;
  due: number;
  rss: number;
}

export interface PollCostMeasure extends PollCostSize {
  ours: Window[];
  upsmon: Window[];
  upsc: Window[];
  /** Windows where ours, the bare client and the bare client inside an idle Node-RED (the floor of any Node-RED node) polled at once. */
  together: Array<{ ours: Window; bare: Window; bareInRed: Window }>;
  /** Node-RED with an empty flow, CPU seconds per second (measured while upsmon ran). */
  redIdlePerSecond: number[];
  /** Node-RED RSS before the polling flow was first deployed. */
  redRssBefore: number;
}

const perPollUs = (w: Window): number => (w.cpu / w.polls) * 1e6;
const upsdPerPollUs = (w: Window): number => (w.upsdCpu / w.polls) * 1e6;

function flows(group: NutLabGroup, interval: number, perUps: boolean): FlowNode[] {
  return [
    TAB,
    ...group.labs.flatMap((lab, i) => [
      serverNode(`srv${i}`, lab, interval),
      ...(perUps ? lab.upses.map((u, j) => upsInNode(`in${i}-${j}`, `srv${i}`, u, interval, [])) : [upsInNode(`in${i}`, `srv${i}`, null, interval, [])]),
    ]),
  ];
}

/**
 * CPU of a client process and of the upsd, over `seconds`; UPS-polls done,
 * from the bytes upsd acknowledged on the client's own sockets divided by
 * the bytes of one poll round of each server (the paused baselines' rare
 * keep-alive is not counted).
 */
async function window(group: NutLabGroup, pid: number, seconds: number, roundBytes: (lab: NutLab) => number): Promise<Window> {
  const [w] = await windowsTogether(group, [{ pid, round: roundBytes }], seconds);
  return w;
}

/**
 * Bytes of one poll round of our nodes (message without every variable): GET
 * VAR of the state's variables of each UPS, after LIST UPS for "all UPSes".
 */
const oursRound =
  (perUps: boolean) =>
  (lab: NutLab): number =>
    (perUps ? 0 : "LIST UPS\n".length) + lab.upses.reduce((n, u) => n + STATE_VARS.reduce((m, v) => m + `GET VAR ${u} ${v}\n`.length, 0), 0);
/** Bytes of one round of the bare client: LIST VAR of each UPS. */
const bareRound = (lab: NutLab): number => lab.upses.reduce((n, u) => n + `LIST VAR ${u}\n`.length, 0);
/** Bytes of one upsmon round: GET VAR ups.status of each UPS. */
const upsmonRound = (lab: NutLab): number => lab.upses.reduce((n, u) => n + `GET VAR ${u} ups.status\n`.length, 0);

/** The upsc baseline: a shell loop (see its header). */
const UPSC_LOOP = join(__dirname, "lib", "upsc-loop.sh");

async function upscWindow(c: Cleanup, group: NutLabGroup, seconds: number): Promise<Window> {
  const targets = group.upses.map((u) => u.lab.name(u.ups));
  const upsds = group.labs.map((l) => l.upsdPid ?? 0);
  const upsdCpu = () => upsds.reduce((s, p) => s + cpuSeconds(p), 0);
  const child = spawn("bash", [UPSC_LOOP, String(seconds), ...targets], { stdio: ["ignore", "pipe", "ignore"] });
  const pid = child.pid ?? 0;
  c.add(`upsc loop ${pid}`, () => terminate([pid], 3000));
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  const u0 = upsdCpu();
  const t0 = performance.now();
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const rss = await peakWhile(() => rssBytes(pid), exited, 200);
  const code = await exited;
  const took = (performance.now() - t0) / 1000;
  const [roundsLine, ...times] = out.trim().split("\n");
  const rounds = Number(roundsLine);
  const cpu = shellTimesSeconds(times.join(" "));
  if (code !== 0 || !Number.isFinite(rounds) || times.length !== 2) throw new Error(`upsc loop failed (exit ${code}, output ${out})`);
  return { seconds: took, reads: NaN, cpu, upsdCpu: upsdCpu() - u0, polls: rounds * targets.length, due: Math.round(took) * targets.length, rss };
}

/** The bare client's UPSes: PORT=ups1,ups2 per upsd. */
const bareArgs = (group: NutLabGroup): string[] => group.labs.map((l) => `${l.port}=${l.upses.join(",")}`);
/** Warmed as ours: WARM_FAST_MS at WARM_FAST_INTERVAL, then every second. */
const BARE_WARM = { BARE_WARM_MS: String(WARM_FAST_MS), BARE_WARM_INTERVAL_MS: String(WARM_FAST_INTERVAL * 1000) };

/**
 * The two Node.js baselines, measured in the same windows as ours (the same
 * machine state for all three: apart, their ratio moved by more than the
 * target's margin from one run to the next): the bare client alone, and its
 * loop preloaded into a Node-RED with an empty flow (what polling costs any
 * Node-RED node, its process, heap and event loop, before a line of the
 * node's own code). Paused (SIGWINCH, see bench/lib/bare-nut-client.ts)
 * while upsmon or ours alone is measured, so those windows stay one client
 * polling at a time; SIGSTOP would not do: upsd drops a client that stops
 * reading with a round of lists unanswered.
 */
interface Beside {
  bare: number;
  bareInRed: number;
  /** Why the bare client is gone, null while it runs. */
  gone(): string | null;
  pause(): void;
  resume(): void;
}

/** Starts both baselines, warming from now as ours does. */
async function startBeside(c: Cleanup, group: NutLabGroup): Promise<Beside> {
  const child = spawn(process.execPath, ["-r", "tsx/cjs", join(__dirname, "lib", "bare-nut-client.ts"), ...bareArgs(group)], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, ...BARE_WARM },
  });
  const bare = child.pid ?? 0;
  let gone: string | null = null;
  child.once("exit", (code, signal) => (gone = `exit ${code ?? signal}`));
  const preload = `--require ${require.resolve("tsx/cjs")} --require ${join(__dirname, "lib", "bare-nut-client.ts")}`;
  const nr = await startRed(c, [TAB], { env: { NODE_OPTIONS: preload, BARE_ARGS: bareArgs(group).join(" "), ...BARE_WARM } });
  c.add(`bare client ${bare}`, () => terminate([bare], 3000));
  // both poll from the start; each SIGWINCH pauses or resumes them
  let paused = false;
  const toggle = (pause: boolean) => {
    if (paused === pause) return;
    paused = pause;
    for (const pid of [bare, nr.pid]) process.kill(pid, "SIGWINCH");
  };
  return { bare, bareInRed: nr.pid, gone: () => gone, pause: () => toggle(true), resume: () => toggle(false) };
}

/**
 * Several clients polling the same upsd over one window: each one's CPU,
 * reads and polls (its own sockets' acknowledged request bytes). upsdCpu
 * is theirs together.
 */
async function windowsTogether(group: NutLabGroup, clients: Array<{ pid: number; round: (lab: NutLab) => number }>, seconds: number): Promise<Window[]> {
  const upsds = group.labs.map((l) => l.upsdPid ?? 0);
  const upsdCpu = () => upsds.reduce((sum, p) => sum + cpuSeconds(p), 0);
  const c0 = clients.map((k) => cpuSeconds(k.pid));
  const r0 = clients.map((k) => readCalls(k.pid));
  const u0 = upsdCpu();
  const b0 = ackedBytesByClient();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const took = (performance.now() - t0) / 1000;
  const b1 = ackedBytesByClient();
  const u = upsdCpu() - u0;
  const upses = group.labs.reduce((n, l) => n + l.upses.length, 0);
  return clients.map((k, i) => {
    const acked = (lab: NutLab, b: Map<string, number>) => b.get(`${k.pid} ${lab.port}`) ?? 0;
    const polls = group.labs.reduce((sum, lab) => sum + Math.round((acked(lab, b1) - acked(lab, b0)) / k.round(lab)) * lab.upses.length, 0);
    return {
      cpu: cpuSeconds(k.pid) - c0[i],
      upsdCpu: u,
      reads: readCalls(k.pid) - r0[i],
      polls,
      due: Math.round(took) * upses,
      rss: rssBytes(k.pid),
      seconds: took,
    };
  });
}

/** Every window of one size. `upscRuns` 0 skips the upsc loop. */
export async function measurePollCost(opts: PollCostOptions): Promise<PollCostMeasure> {
  return withCleanup(async (c) => {
    const group = await startNutLabs({ upses: opts.upses, servers: opts.servers, driverPollInterval: 2 });
    if (group.labs.length !== opts.servers) throw new Error(`${opts.upses} UPS cannot be spread over ${opts.servers} upsd`);
    c.add("nut labs", () => group.stop());
    const nr: NodeRedProcess = await startRed(c);
    await sleep(2000);
    const m: PollCostMeasure = {
      upses: opts.upses,
      servers: opts.servers,
      perUps: opts.perUps,
      ours: [],
      upsmon: [],
      upsc: [],
      together: [],
      redIdlePerSecond: [],
      redRssBefore: rssBytes(nr.pid),
    };
    const targets = group.upses.map((u) => ({ ups: u.ups, host: u.lab.host, port: u.lab.port }));
    let beside: Beside | null = null;
    for (let run = 0; run < opts.runs; run++) {
      // upsmon first (Node-RED idles meanwhile, past its start-up)
      const upsmon = await startUpsmon(c, targets, 1, WARMUP_MS);
      const r0 = cpuSeconds(nr.pid);
      const u = await window(group, upsmon.pid, opts.window, upsmonRound);
      m.redIdlePerSecond.push((cpuSeconds(nr.pid) - r0) / u.seconds);
      await upsmon.stop();
      m.upsmon.push(u);
      // ours
      if (run === 0) {
        await deploy(nr, flows(group, WARM_FAST_INTERVAL, opts.perUps));
        if (opts.bare) beside = await startBeside(c, group);
        await sleep(WARM_FAST_MS);
      } else beside?.resume();
      await deploy(nr, flows(group, 1, opts.perUps));
      await sleep(run === 0 ? WARM_SETTLE_MS : WARMUP_MS);
      beside?.pause();
      m.ours.push(await window(group, nr.pid, opts.window, oursRound(opts.perUps)));
      if (beside) {
        // the same polls of ours, the two baselines beside
        beside.resume();
        await sleep(WARMUP_MS);
        const round = oursRound(opts.perUps);
        const [o, b, f] = await windowsTogether(
          group,
          [
            { pid: nr.pid, round },
            { pid: beside.bare, round: bareRound },
            { pid: beside.bareInRed, round: bareRound },
          ],
          opts.window,
        );
        const gone = beside.gone();
        if (gone !== null || b.polls === 0 || f.polls === 0) {
          throw new Error(
            `a bare client did not poll through its window (bare ${b.polls} polls${gone ? `, ${gone}` : ""}, inside Node-RED ${f.polls}; stderr above)`,
          );
        }
        m.together.push({ ours: o, bare: b, bareInRed: f });
        beside.pause();
      }
      await deploy(nr, [TAB]);
    }
    for (let run = 0; run < opts.upscRuns; run++) m.upsc.push(await upscWindow(c, group, opts.upscWindow));
    return m;
  });
}

const s = (xs: number[]): Spread => spread(xs);

/**
 * The targets of issue 16, as ratios in the same run: at most 3× upsmon's
 * CPU up to 4 UPSes (there a Node.js process's own floor, a wake-up per
 * poll, is most of the cost), 2× above; at most 1.5× the bare Node.js
 * client at every size.
 */
export const upsmonTarget = (upses: number): number => (upses <= 4 ? 3 : 2);
export const BARE_TARGET = 1.5;

/**
 * Ours against the two Node.js baselines, window by window (each ratio from
 * one window where the three polled at once), and their medians per UPS-poll.
 */
export function besideRatios(m: PollCostMeasure): { ours: number; bare: number; floor: number; vsBare: Spread; vsFloor: Spread; floorVsBare: Spread } | null {
  const t = m.together;
  if (!t.length) return null;
  return {
    ours: s(t.map((w) => perPollUs(w.ours))).median,
    bare: s(t.map((w) => perPollUs(w.bare))).median,
    floor: s(t.map((w) => perPollUs(w.bareInRed))).median,
    vsBare: s(t.map((w) => perPollUs(w.ours) / perPollUs(w.bare))),
    vsFloor: s(t.map((w) => perPollUs(w.ours) / perPollUs(w.bareInRed))),
    floorVsBare: s(t.map((w) => perPollUs(w.bareInRed) / perPollUs(w.bare))),
  };
}

/** "2 UPS on 1 upsd, a node per UPS". */
export function sizeText(m: PollCostSize): string {
  return `${m.upses} UPS on ${m.servers} upsd, ${m.perUps ? "a node per UPS" : "a node per upsd"}`;
}

export function pollCostRows(m: PollCostMeasure, bench: string): Row[] {
  const ours = s(m.ours.map(perPollUs));
  const mon = s(m.upsmon.map(perPollUs));
  const rows: Row[] = [
    {
      bench,
      measure: `client CPU per UPS-poll (${sizeText(m)}, 1 s)`,
      ours: fmt.spread(ours, fmt.us),
      baseline: `upsmon ${fmt.spread(mon, fmt.us)}`,
      ratio: fmt.ratio(ours.median / mon.median),
      target: `≤ ${upsmonTarget(m.upses)}× upsmon`,
      met: ours.median <= upsmonTarget(m.upses) * mon.median,
    },
  ];
  if (m.upsc.length) {
    const up = s(m.upsc.map(perPollUs));
    rows.push({
      bench,
      measure: `client CPU per UPS-poll vs spawning upsc`,
      ours: fmt.us(ours.median),
      baseline: `upsc per UPS per s ${fmt.spread(up, fmt.us)}`,
      ratio: fmt.ratio(ours.median / up.median),
      target: "≥ 100× cheaper (≤ 0.01×)",
      met: up.median / ours.median >= 100,
    });
  }
  const beside = besideRatios(m);
  if (beside) {
    rows.push({
      bench,
      measure: "same, vs a bare Node.js client (the floor of a Node process), polling in the same windows",
      ours: fmt.us(beside.ours),
      baseline: `pipelined LIST VAR, values kept, nothing else: ${fmt.us(beside.bare)} (${fmt.ratio(beside.bare / mon.median)} upsmon)`,
      ratio: `${fmt.ratio(beside.vsBare.median)} (${fmt.ratio(beside.vsBare.min)}–${fmt.ratio(beside.vsBare.max)}, n=${beside.vsBare.n})`,
      target: `≤ ${BARE_TARGET}× bare`,
      met: beside.vsBare.median <= BARE_TARGET,
    });
    rows.push({
      bench,
      measure: "same, vs the bare client inside an idle Node-RED (the floor of any Node-RED node), same windows",
      ours: fmt.us(beside.ours),
      baseline: `${fmt.us(beside.floor)} (${fmt.ratio(beside.floorVsBare.median)} the bare client alone)`,
      ratio: `${fmt.ratio(beside.vsFloor.median)} (${fmt.ratio(beside.vsFloor.min)}–${fmt.ratio(beside.vsFloor.max)}, n=${beside.vsFloor.n})`,
      target: "",
      met: null,
    });
  }
  const idle = s(m.redIdlePerSecond);
  rows.push({
    bench,
    measure: "Node-RED with an empty flow (measured while upsmon ran)",
    ours: `${fmt.spread(s(m.redIdlePerSecond.map((v) => v * 60)), (v) => fmt.s(v))} CPU per 60 s`,
    baseline: `= ${fmt.us((idle.median / m.upses) * 1e6)} per UPS-poll of the ${m.upses}`,
    ratio: "",
    target: "",
    met: null,
  });
  const per60 = (w: Window) => (w.cpu / w.seconds) * 60;
  rows.push({
    bench,
    measure: "client CPU s per 60 s",
    ours: fmt.spread(s(m.ours.map(per60)), (v) => fmt.s(v)),
    baseline: `upsmon ${fmt.s(s(m.upsmon.map(per60)).median)}${m.upsc.length ? `; upsc ${fmt.s(s(m.upsc.map(per60)).median, 1)}` : ""}`,
    ratio: fmt.ratio(s(m.ours.map(per60)).median / s(m.upsmon.map(per60)).median),
    target: "",
    met: null,
  });
  const perHour = (w: Window) => (w.cpu / w.seconds) * 3600;
  rows.push({
    bench,
    measure: "client CPU s per hour",
    ours: fmt.spread(s(m.ours.map(perHour)), (v) => fmt.s(v, 1)),
    baseline: `upsmon ${fmt.s(s(m.upsmon.map(perHour)).median, 1)}${m.together.length ? `; bare ${fmt.s(s(m.together.map((t) => perHour(t.bare))).median, 1)}` : ""}`,
    ratio: "",
    target: "",
    met: null,
  });
  rows.push({
    bench,
    measure: "upsd CPU per UPS-poll (server side)",
    ours: fmt.us(s(m.ours.map(upsdPerPollUs)).median),
    baseline: `upsmon ${fmt.us(s(m.upsmon.map(upsdPerPollUs)).median)}${m.upsc.length ? `; upsc ${fmt.us(s(m.upsc.map(upsdPerPollUs)).median)}` : ""}`,
    ratio: fmt.ratio(s(m.ours.map(upsdPerPollUs)).median / s(m.upsmon.map(upsdPerPollUs)).median),
    target: "",
    met: null,
  });
  const sum = (ws: Window[], f: (w: Window) => number) => ws.reduce((a, w) => a + f(w), 0);
  const done = (ws: Window[]) => `${sum(ws, (w) => w.polls)} / ${sum(ws, (w) => w.due)}`;
  rows.push({
    bench,
    measure: "UPS-polls done / due",
    ours: done(m.ours),
    baseline: `upsmon ${done(m.upsmon)}${m.upsc.length ? `; upsc ${done(m.upsc)}` : ""}${m.together.length ? `; bare ${done(m.together.map((t) => t.bare))}, inside Node-RED ${done(m.together.map((t) => t.bareInRed))}` : ""}`,
    ratio: "",
    target: "",
    met: null,
  });
  const readsPer = (ws: Window[]) => fmt.spread(s(ws.map((w) => w.reads / w.polls)), (v) => v.toFixed(2));
  rows.push({
    bench,
    measure: "read syscalls per UPS-poll (replies in pieces)",
    ours: readsPer(m.ours),
    baseline: `upsmon ${readsPer(m.upsmon)}${m.together.length ? `; bare ${readsPer(m.together.map((t) => t.bare))}` : ""}`,
    ratio: "",
    target: "",
    met: null,
  });
  const rss = s(m.ours.map((w) => w.rss));
  rows.push({
    bench,
    measure: "RSS while polling",
    ours: `Node-RED ${fmt.mb(rss.median)}`,
    baseline: `Node-RED before the flow ${fmt.mb(m.redRssBefore)}; upsmon ${fmt.mb(s(m.upsmon.map((w) => w.rss)).median)}`,
    ratio: fmt.ratio(rss.median / m.redRssBefore),
    target: "",
    met: null,
  });
  return rows;
}

export async function runPollCost(sizes: PollCostOptions[] = POLLCOST_FULL): Promise<BenchOutput> {
  const measures: PollCostMeasure[] = [];
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const opts of sizes) {
    const m = await measurePollCost(opts);
    measures.push(m);
    rows.push(...pollCostRows(m, `2 poll cost, ${opts.upses} UPS`));
    notes.push(
      `${sizeText(opts)}: ${opts.runs} windows of ${opts.window} s per client (upsmon and ours interleaved, never together)${opts.bare ? ", then ours, the bare client and the bare client inside Node-RED together" : ""}, upsc ${opts.upscRuns} × ${opts.upscWindow} s`,
    );
  }
  notes.push("polls done counted from the request bytes upsd acknowledged (ss), upsc from its rounds; a fresh Node-RED and fresh labs per size");
  return { name: "pollcost", rows, notes, raw: { measures } };
}
