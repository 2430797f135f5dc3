/**
 * `npm run bench`: runs the benchmarks of issue 6 and prints one table.
 * Every figure is a ratio against a baseline measured in the same run on
 * this machine. Benchmarks are not tests: nothing here fails on a time.
 *
 *   npm run bench                          everything (about 15 min)
 *   npm run bench -- --quick               smaller and shorter, to try things out
 *   npm run bench -- --only latency,memory one or several of:
 *                                          latency, pollcost, fanout, memory, scaling
 *   npm run bench -- --flow FILE           the flow the memory benchmark deploys
 *   npm run bench -- --json FILE --md FILE also write the results there
 *
 * Needs root (sshd lab, upsmon as nobody), NUT (upsd, dummy-ups, upsc,
 * upsmon), OpenSSH, and a built package (`npm run build` first).
 */
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../test/harness/node-red";
import { nutLabMissing } from "../test/harness/nut-lab";
import { sshLabMissing } from "../test/harness/ssh-lab";
import { cleanupOnSignals } from "./lib/cleanup";
import { cpuSnapshot, loadAverage, machine } from "./lib/proc";
import { table, type BenchResult } from "./lib/report";
import { upsmonBinary } from "./lib/upsmon";

export const BENCHMARKS = ["latency", "pollcost", "fanout", "memory", "scaling"] as const;
export type BenchName = (typeof BENCHMARKS)[number];

interface Args {
  only: BenchName[];
  quick: boolean;
  flow: string | null;
  json: string | null;
  md: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { only: [...BENCHMARKS], quick: false, flow: null, json: null, md: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") args.quick = true;
    else if (a === "--only") {
      const names = value().split(",").map((s) => s.trim()).filter(Boolean);
      const bad = names.filter((n) => !(BENCHMARKS as readonly string[]).includes(n));
      if (bad.length) throw new Error(`unknown benchmark ${bad.join(", ")} (known: ${BENCHMARKS.join(", ")})`);
      args.only = names as BenchName[];
    } else if (a === "--flow") args.flow = value();
    else if (a === "--json") args.json = value();
    else if (a === "--md") args.md = value();
    else if (a === "--help" || a === "-h") {
      process.stdout.write("usage: npm run bench -- [--quick] [--only latency,pollcost,fanout,memory,scaling] [--flow FILE] [--json FILE] [--md FILE]\n");
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return args;
}

function missing(): string[] {
  const out: string[] = [];
  if (!existsSync(join(repoRoot, "dist", "nodes", "nut-ups-in.js"))) out.push("dist/ is not built: run `npm run build`");
  const nut = nutLabMissing();
  if (nut) out.push(nut);
  if (!upsmonBinary()) out.push("upsmon not found (apt-get install -y nut-client)");
  const ssh = sshLabMissing();
  if (ssh) out.push(`ssh lab: ${ssh}`);
  for (const b of ["upsc", "ssh", "xargs"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${b}`], { stdio: "ignore" });
    } catch {
      out.push(`${b} not found`);
    }
  }
  return out;
}

async function runOne(name: BenchName, args: Args, done: BenchResult[]): Promise<BenchResult> {
  switch (name) {
    case "latency": {
      const m = await import("./latency");
      return m.runLatency(args.quick ? m.LATENCY_QUICK : m.LATENCY_FULL);
    }
    case "pollcost": {
      const m = await import("./poll-cost");
      return m.runPollCost(args.quick ? m.POLLCOST_QUICK : m.POLLCOST_FULL);
    }
    case "fanout": {
      const m = await import("./fanout");
      return m.runFanout(args.quick ? m.FANOUT_QUICK : m.FANOUT_FULL);
    }
    case "memory": {
      const m = await import("./memory");
      return m.runMemory({ ...(args.quick ? m.MEMORY_QUICK : m.MEMORY_FULL), flowFile: args.flow });
    }
    case "scaling": {
      const m = await import("./scaling");
      return m.runScaling(args.quick ? m.SCALING_QUICK : m.SCALING_FULL, done);
    }
  }
}

export async function main(argv: string[]): Promise<void> {
  cleanupOnSignals();
  const args = parseArgs(argv);
  const lacking = missing();
  if (lacking.length) {
    process.stderr.write(`bench: cannot run here:\n  ${lacking.join("\n  ")}\n`);
    process.exitCode = 1;
    return;
  }
  const m = machine();
  const started = Date.now();
  const cpu0 = cpuSnapshot();
  const loads: number[] = [loadAverage()];
  const loadTimer = setInterval(() => loads.push(loadAverage()), 10000);
  const results: BenchResult[] = [];
  const failures: string[] = [];
  // scaling reuses the largest sizes of pollcost and fanout when they ran: keep it last
  const order = [...args.only].sort((a, b) => (a === "scaling" ? 1 : 0) - (b === "scaling" ? 1 : 0));
  for (const name of order) {
    process.stderr.write(`bench: ${name}…\n`);
    try {
      const r = await runOne(name, args, results);
      results.push(r);
      process.stderr.write(`bench: ${name} done in ${Math.round(r.seconds)} s\n${table(r.rows)}\n`);
    } catch (err) {
      const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push(`${name}: ${text}`);
      process.stderr.write(`bench: ${name} FAILED: ${text}\n`);
    }
  }
  clearInterval(loadTimer);
  loads.push(loadAverage());
  const cpu1 = cpuSnapshot();
  const busy = (cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total);
  const seconds = (Date.now() - started) / 1000;

  const header = [
    `machine: ${m.cpus} × ${m.model}, ${m.memGb} GB, Linux ${m.kernel}, Node.js ${process.version}`,
    `load average during the run: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (1-min), whole-machine CPU busy ${(busy * 100).toFixed(0)} %`,
    `run: ${args.quick ? "quick" : "full"} (${order.join(", ")}), ${Math.round(seconds)} s, ${new Date(started).toISOString()}`,
  ];
  const notes = results.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`));
  const md = [
    ...header.map((h) => `- ${h}`),
    "",
    table(results.flatMap((r) => r.rows)),
    "",
    ...(notes.length ? ["Notes:", ...notes.map((n) => `- ${n}`), ""] : []),
    ...(failures.length ? ["FAILED:", ...failures.map((f) => `- ${f.split("\n")[0]}`), ""] : []),
  ].join("\n");
  process.stdout.write(`\n${md}\n`);
  if (args.md) writeFileSync(args.md, md + "\n");
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ machine: m, loads, busy, seconds, started, results, failures }, null, 1) + "\n");
  }
  if (failures.length) process.exitCode = 1;
}

/** Run and exit (labs, Node-RED and clients are stopped by then; nothing else should hold the process). */
export function cli(argv: string[]): void {
  main(argv).then(
    () => process.exit(),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) cli(process.argv.slice(2));
