/**
 * Benchmark 5, how cost grows: benchmark 2 (poll cost) from 1 UPS to 200
 * (1 and 2 on one upsd, a node per UPS, as the bundled examples; then over 4
 * upsd) and benchmark 3 (fan-out) at 4 numbers of hosts, with the same
 * baselines beside each size (upsmon and the bare Node.js client; xargs ssh
 * with curve25519). Poll-cost sizes and the 50-host fan-out are taken from
 * benchmarks 2 and 3 when they ran in the same `npm run bench`, else
 * measured here.
 *
 * "Linear, not worse": from the smallest to the largest size the cost grows
 * at most in proportion (cost ratio ≤ 1.15 × size ratio), and the cost of
 * one more unit between the two largest sizes is at most 1.5× the slope of
 * a straight line fitted through all sizes (no upward bend at the top).
 * The line's R² is shown too (a flat cost has a low R² and is fine).
 *
 *   npm run bench -- scaling [--quick]
 */
import { withCleanup } from "./lib/cleanup";
import { fmt, type BenchOutput, type BenchResult, type Row } from "./lib/report";
import { linearFit, median } from "./lib/stats";
import { hungCount, measureOpenssh, measureOurs, startFanoutLab, targets } from "./fanout";
import {
  BARE_TARGET,
  besideRatios,
  FOUR_UPSD,
  ONE_UPSD,
  measurePollCost,
  sizeText,
  upsmonTarget,
  type PollCostMeasure,
  type PollCostSize,
  type Window,
} from "./poll-cost";

export interface ScalingOptions {
  /** Poll-cost sizes, each with its seconds per window. */
  upses: Array<PollCostSize & { window: number }>;
  /** Windows per client. */
  runs: number;
  hosts: number[];
  fanoutRuns: number;
  baselineRuns: number;
}

const sizes = (one: number[], four: number[], smallWindow: number, window: number): ScalingOptions["upses"] => [
  ...one.map((n) => ({ ...ONE_UPSD(n), window: smallWindow })),
  ...four.map((n) => ({ ...FOUR_UPSD(n), window })),
];

export const SCALING_FULL: ScalingOptions = {
  upses: sizes([1, 2], [4, 12, 40, 200], 30, 20),
  runs: 1,
  hosts: [5, 20, 50, 100],
  fanoutRuns: 3,
  baselineRuns: 2,
};
export const SCALING_QUICK: ScalingOptions = { upses: sizes([1, 2], [4, 12, 40], 20, 10), runs: 1, hosts: [5, 10, 20], fanoutRuns: 1, baselineRuns: 1 };

const sameSize = (a: PollCostSize, b: PollCostSize): boolean => a.upses === b.upses && a.servers === b.servers && a.perUps === b.perUps;

const perSecond = (ws: Window[]): number => median(ws.map((w) => w.cpu / w.seconds));

function linearVerdict(xs: number[], ys: number[]): { text: string; met: boolean; b: number } {
  const fit = linearFit(xs, ys);
  const n = xs.length;
  const growth = ys[n - 1] / ys[0] / (xs[n - 1] / xs[0]);
  const top = (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]) / fit.b;
  return {
    text: `×${(ys[n - 1] / ys[0]).toFixed(1)} for ×${(xs[n - 1] / xs[0]).toFixed(0)} size, top step ${top.toFixed(2)}× the line, R² ${fit.r2.toFixed(3)}`,
    met: growth <= 1.15 && (top <= 1.5 || fit.b <= 0),
    b: fit.b,
  };
}

export async function runScaling(opts: ScalingOptions = SCALING_FULL, done: BenchResult[] = []): Promise<BenchOutput> {
  const rows: Row[] = [];
  const notes: string[] = [];

  // ---- poll cost at each number of UPSes
  const measures: PollCostMeasure[] = [];
  const earlier = (done.find((r) => r.name === "pollcost")?.raw.measures ?? []) as PollCostMeasure[];
  for (const size of opts.upses) {
    const taken = earlier.find((m) => sameSize(m, size));
    if (taken) {
      measures.push(taken);
      notes.push(`poll cost at ${sizeText(size)} taken from benchmark 2 of this run`);
    } else {
      measures.push(await measurePollCost({ ...size, runs: opts.runs, upscRuns: 0, upscWindow: 0, bare: true }));
    }
  }
  const ours = measures.map((m) => perSecond(m.ours));
  const mon = measures.map((m) => perSecond(m.upsmon));
  for (const [i, m] of measures.entries()) {
    const o = ours[i];
    const us = (v: number) => fmt.us((v / m.upses) * 1e6);
    rows.push({
      bench: "5 growth, poll cost",
      measure: `${sizeText(m)}: client CPU per 60 s (per UPS-poll)`,
      ours: `${fmt.s(o * 60)} (${us(o)})`,
      baseline: `upsmon ${fmt.s(mon[i] * 60)} (${us(mon[i])})`,
      ratio: fmt.ratio(o / mon[i]),
      target: `≤ ${upsmonTarget(m.upses)}× upsmon`,
      met: o <= upsmonTarget(m.upses) * mon[i],
    });
    const beside = besideRatios(m);
    if (beside) {
      rows.push({
        bench: "5 growth, poll cost",
        measure: `${m.upses} UPS: same, vs the bare Node.js client (same windows)`,
        ours: fmt.us(beside.ours),
        baseline: `bare ${fmt.us(beside.bare)} (${fmt.ratio(beside.bare / ((mon[i] / m.upses) * 1e6))} upsmon); inside an idle Node-RED ${fmt.us(beside.floor)}`,
        ratio: fmt.ratio(beside.vsBare.median),
        target: `≤ ${BARE_TARGET}× bare`,
        met: beside.vsBare.median <= BARE_TARGET,
      });
    }
  }
  const counts = measures.map((m) => m.upses);
  const vo = linearVerdict(counts, ours);
  const vm = linearVerdict(counts, mon);
  rows.push({
    bench: "5 growth, poll cost",
    measure: `growth over ${counts.join("/")} UPS`,
    ours: `${fmt.us(vo.b * 1e6)} per extra UPS-poll; ${vo.text}`,
    baseline: `upsmon ${fmt.us(vm.b * 1e6)} per extra UPS-poll; ${vm.text}`,
    ratio: fmt.ratio(vo.b / vm.b),
    target: "linear or better",
    met: vo.met,
  });

  // ---- fan-out at each number of hosts
  const fan: Array<{ n: number; ours: number[]; oursCpu: number[]; curve: number[] }> = [];
  const earlierFan = done.find((r) => r.name === "fanout")?.raw.runs as Record<string, Array<{ ms: number; cpu: number }>> | undefined;
  const earlierSize = Number(done.find((r) => r.name === "fanout")?.raw.size);
  await withCleanup(async (c) => {
    const fl = await startFanoutLab(c, Math.max(...opts.hosts));
    for (const n of opts.hosts) {
      if (earlierFan && earlierSize === n) {
        fan.push({
          n,
          ours: earlierFan.ours.map((r) => r.ms),
          oursCpu: earlierFan.ours.map((r) => r.cpu),
          curve: earlierFan["xargs-curve25519"].map((r) => r.ms),
        });
        notes.push(`fan-out at ${n} hosts taken from benchmark 3 of this run`);
        continue;
      }
      const ts = targets(fl.lab, n);
      const ours = await measureOurs(fl, ts, opts.fanoutRuns);
      const curve = [];
      for (let r = 0; r < opts.baselineRuns; r++) curve.push((await measureOpenssh(c, fl, ts, "xargs-curve25519")).ms);
      fan.push({ n, ours: ours.map((r) => r.ms), oursCpu: ours.map((r) => r.cpu), curve });
    }
  });
  for (const f of fan) {
    rows.push({
      bench: "5 growth, fan-out",
      measure: `${f.n} hosts (${f.n - hungCount(f.n)} live): all live recorded`,
      ours: `${fmt.s(median(f.ours) / 1000)}, CPU ${fmt.s(median(f.oursCpu))}`,
      baseline: `xargs ssh curve25519 ${fmt.s(median(f.curve) / 1000)}`,
      ratio: fmt.ratio(median(f.ours) / median(f.curve)),
      target: "",
      met: null,
    });
  }
  const hostSizes = fan.map((f) => f.n);
  const ft = linearVerdict(
    hostSizes,
    fan.map((f) => median(f.ours) / 1000),
  );
  const fc = linearVerdict(
    hostSizes,
    fan.map((f) => median(f.oursCpu)),
  );
  const fb = linearVerdict(
    hostSizes,
    fan.map((f) => median(f.curve) / 1000),
  );
  rows.push({
    bench: "5 growth, fan-out",
    measure: `growth over ${hostSizes.join("/")} hosts`,
    ours: `time ${fmt.ms(ft.b * 1000)}/host (${ft.text}); CPU ${fmt.ms(fc.b * 1000)}/host (${fc.text})`,
    baseline: `xargs curve25519 ${fmt.ms(fb.b * 1000)}/host (${fb.text})`,
    ratio: fmt.ratio(ft.b / fb.b),
    target: "linear or better (time)",
    met: ft.met,
  });
  return { name: "scaling", rows, notes, raw: { pollcost: measures, fanout: fan } };
}
