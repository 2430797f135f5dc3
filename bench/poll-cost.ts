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
 * cost too. For context, a bare Node.js client (bench/lib/bare-nut-client.ts)
 * shows what Node.js itself costs for the same polls.
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
import { ackedBytesByPeerPort, cpuSeconds, peakWhile, readCalls, rssBytes, shellTimesSeconds, sleep } from "./lib/proc";
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
  /** Windows of the bare Node.js client, alone and inside an idle Node-RED (0: not measured). */
  bareRuns: number;
}

/**
 * The sizes benchmark 2 measures, one after the other: 1 and 2 UPSes (a
 * second of CPU is few polls there, so 20 s windows), then many.
 */
export const POLLCOST_FULL: PollCostOptions[] = [
  { ...ONE_UPSD(1), window: 30, runs: 3, upscRuns: 0, upscWindow: 0, bareRuns: 2 },
  { ...ONE_UPSD(2), window: 30, runs: 3, upscRuns: 0, upscWindow: 0, bareRuns: 2 },
  { ...FOUR_UPSD(200), window: 60, runs: 3, upscRuns: 2, upscWindow: 20, bareRuns: 1 },
];
export const POLLCOST_QUICK: PollCostOptions[] = [
  { ...ONE_UPSD(1), window: 20, runs: 2, upscRuns: 0, upscWindow: 0, bareRuns: 1 },
  { ...ONE_UPSD(2), window: 20, runs: 2, upscRuns: 0, upscWindow: 0, bareRuns: 1 },
  { ...FOUR_UPSD(40), window: 10, runs: 2, upscRuns: 1, upscWindow: 5, bareRuns: 1 },
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
  bare: Window[];
  /** The bare client's loop inside a Node-RED with an empty flow: the floor of any Node-RED node. */
  bareInRed: Window[];
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
 * from the bytes upsd acknowledged on client sockets (only one client runs
 * at a time) divided by the bytes of one poll round of each server.
 */
async function window(group: NutLabGroup, pid: number, seconds: number, roundBytes: (lab: NutLab) => number): Promise<Window> {
  const upsds = group.labs.map((l) => l.upsdPid ?? 0);
  const upsdCpu = () => upsds.reduce((s, p) => s + cpuSeconds(p), 0);
  const c0 = cpuSeconds(pid);
  const u0 = upsdCpu();
  const b0 = ackedBytesByPeerPort();
  const r0 = readCalls(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const took = (performance.now() - t0) / 1000;
  const b1 = ackedBytesByPeerPort();
  const rss = rssBytes(pid);
  const polls = group.labs.reduce((sum, lab) => sum + Math.round(((b1.get(lab.port) ?? 0) - (b0.get(lab.port) ?? 0)) / roundBytes(lab)) * lab.upses.length, 0);
  const upses = group.labs.reduce((n, l) => n + l.upses.length, 0);
  return { cpu: cpuSeconds(pid) - c0, upsdCpu: upsdCpu() - u0, reads: readCalls(pid) - r0, polls, due: Math.round(took) * upses, rss, seconds: took };
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

async function bareWindow(c: Cleanup, group: NutLabGroup, seconds: number): Promise<Window> {
  const child = spawn(process.execPath, ["-r", "tsx/cjs", join(__dirname, "lib", "bare-nut-client.ts"), ...bareArgs(group)], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, ...BARE_WARM },
  });
  const pid = child.pid ?? 0;
  let early: string | null = null;
  const exited = new Promise<void>((r) =>
    child.once("exit", (code, signal) => {
      early ??= `exit ${code ?? signal}`;
      r();
    }),
  );
  c.add(`bare client ${pid}`, () => terminate([pid], 3000));
  await sleep(WARM_FAST_MS + WARM_SETTLE_MS);
  const w = await window(group, pid, seconds, bareRound);
  // A client that died or never polled is not a baseline: say so rather than report 0 polls.
  if (early !== null || w.polls === 0) throw new Error(`the bare client did not poll through its window (${early ?? "0 polls"}; its stderr is above)`);
  early = "stopped";
  child.kill("SIGTERM");
  await exited;
  return w;
}

/**
 * The bare client's loop preloaded into a Node-RED with an empty flow: what
 * polling costs any Node-RED node (its process, its heap, its event loop)
 * before a line of the node's own code. Warmed as the others.
 */
async function bareInRedWindow(c: Cleanup, group: NutLabGroup, seconds: number): Promise<Window> {
  const preload = `--require ${require.resolve("tsx/cjs")} --require ${join(__dirname, "lib", "bare-nut-client.ts")}`;
  const env = { NODE_OPTIONS: preload, BARE_ARGS: bareArgs(group).join(" "), ...BARE_WARM };
  const nr = await startRed(c, [TAB], { env });
  await sleep(WARM_FAST_MS + WARM_SETTLE_MS);
  const w = await window(group, nr.pid, seconds, bareRound);
  await nr.stop();
  if (w.polls === 0) throw new Error("the bare client inside Node-RED did not poll through its window (Node-RED's log is above)");
  return w;
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
      bare: [],
      bareInRed: [],
      redIdlePerSecond: [],
      redRssBefore: rssBytes(nr.pid),
    };
    const targets = group.upses.map((u) => ({ ups: u.ups, host: u.lab.host, port: u.lab.port }));
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
        await sleep(WARM_FAST_MS);
      }
      await deploy(nr, flows(group, 1, opts.perUps));
      await sleep(run === 0 ? WARM_SETTLE_MS : WARMUP_MS);
      m.ours.push(await window(group, nr.pid, opts.window, oursRound(opts.perUps)));
      await deploy(nr, [TAB]);
    }
    for (let run = 0; run < opts.bareRuns; run++) m.bare.push(await bareWindow(c, group, opts.window));
    for (let run = 0; run < opts.bareRuns; run++) m.bareInRed.push(await bareInRedWindow(c, group, opts.window));
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
  if (m.bare.length) {
    const bare = s(m.bare.map(perPollUs));
    rows.push({
      bench,
      measure: "same, vs a bare Node.js client (the floor of a Node process)",
      ours: fmt.us(ours.median),
      baseline: `pipelined LIST VAR, values kept, nothing else: ${fmt.spread(bare, fmt.us)} (${fmt.ratio(bare.median / mon.median)} upsmon)`,
      ratio: fmt.ratio(ours.median / bare.median),
      target: `≤ ${BARE_TARGET}× bare`,
      met: ours.median <= BARE_TARGET * bare.median,
    });
  }
  if (m.bareInRed.length && m.bare.length) {
    const floor = s(m.bareInRed.map(perPollUs));
    const bare = s(m.bare.map(perPollUs));
    rows.push({
      bench,
      measure: "same, vs the bare client inside an idle Node-RED (the floor of any Node-RED node)",
      ours: fmt.us(ours.median),
      baseline: `${fmt.spread(floor, fmt.us)} (${fmt.ratio(floor.median / bare.median)} the bare client alone)`,
      ratio: fmt.ratio(ours.median / floor.median),
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
    baseline: `upsmon ${fmt.s(s(m.upsmon.map(perHour)).median, 1)}${m.bare.length ? `; bare ${fmt.s(s(m.bare.map(perHour)).median, 1)}` : ""}`,
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
    baseline: `upsmon ${done(m.upsmon)}${m.upsc.length ? `; upsc ${done(m.upsc)}` : ""}${m.bare.length ? `; bare ${done(m.bare)}` : ""}`,
    ratio: "",
    target: "",
    met: null,
  });
  const readsPer = (ws: Window[]) => fmt.spread(s(ws.map((w) => w.reads / w.polls)), (v) => v.toFixed(2));
  rows.push({
    bench,
    measure: "read syscalls per UPS-poll (replies in pieces)",
    ours: readsPer(m.ours),
    baseline: `upsmon ${readsPer(m.upsmon)}${m.bare.length ? `; bare ${readsPer(m.bare)}` : ""}`,
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
      `${sizeText(opts)}: ${opts.runs} windows of ${opts.window} s per client (upsmon and ours interleaved, never together), bare ${opts.bareRuns}, upsc ${opts.upscRuns} × ${opts.upscWindow} s`,
    );
  }
  notes.push("polls done counted from the request bytes upsd acknowledged (ss), upsc from its rounds; a fresh Node-RED and fresh labs per size");
  return { name: "pollcost", rows, notes, raw: { measures } };
}
