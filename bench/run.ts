/**
 * `npm run bench`: the one command line of the benchmarks (the list is in
 * bench/registry.ts). Runs the named benchmarks, or the suite of issue 6
 * when none is named, and prints one table: every figure is a ratio against
 * a baseline measured in the same run on this machine. Benchmarks are not
 * tests: nothing here fails on a time.
 *
 *   npm run bench                            the suite: latency, pollcost, fanout, memory, scaling (about 17 min)
 *   npm run bench -- --list                  every benchmark, with what it measures and its options
 *   npm run bench -- fanout --quick          one benchmark (or several: latency,memory), smaller and shorter
 *   npm run bench -- memory --flow FILE      a benchmark's own options after its name
 *   npm run bench -- --json FILE --md FILE   also write the results there
 *   npm run conformance -- --count 20        = npm run bench -- conformance --count 20
 *
 * Checks what the chosen benchmarks need first (root for the sshd lab and
 * upsmon as nobody, NUT, OpenSSH, a built package) and says what is missing.
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
import { BENCHMARKS, type Benchmark, type Need } from "./registry";

interface Args {
  chosen: Benchmark[];
  quick: boolean;
  json: string | null;
  md: string | null;
  options: Map<string, string>;
}

const COMMON = [
  { name: "quick", help: "smaller sizes, shorter windows, to try things out" },
  { name: "json", value: "FILE", help: "also write every figure as JSON" },
  { name: "md", value: "FILE", help: "also write the table as Markdown" },
  { name: "list", help: "list the benchmarks and their options" },
];

function usage(): string {
  const opt = (o: { name: string; value?: string; help: string }) => `    --${o.name}${o.value ? ` ${o.value}` : ""}  ${o.help}`;
  return [
    "usage: npm run bench -- [NAME[,NAME…]] [--quick] [--json FILE] [--md FILE] [options of the named benchmarks]",
    "  no NAME: the suite (" +
      BENCHMARKS.filter((b) => b.suite)
        .map((b) => b.name)
        .join(", ") +
      ")",
    ...COMMON.map(opt),
    "",
    ...BENCHMARKS.flatMap((b) => [`  ${b.name}${b.suite ? "" : " (not in the suite)"}: ${b.description}`, ...b.options.map(opt)]),
    "",
  ].join("\n");
}

function parseArgs(argv: string[]): Args | null {
  const byName = new Map(BENCHMARKS.map((b) => [b.name, b]));
  const ownerOf = new Map(BENCHMARKS.flatMap((b) => b.options.map((o) => [o.name, { b, o }] as const)));
  const names: string[] = [];
  const args: Args = { chosen: [], quick: false, json: null, md: null, options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--help" || a === "-h" || a === "--list") {
      process.stdout.write(usage());
      return null;
    } else if (a === "--quick") args.quick = true;
    else if (a === "--json") args.json = value();
    else if (a === "--md") args.md = value();
    else if (a === "--only")
      names.push(...value().split(",")); // the older spelling of the names
    else if (a.startsWith("--") && ownerOf.has(a.slice(2))) {
      const { o } = ownerOf.get(a.slice(2)) as { o: { value?: string } };
      args.options.set(a.slice(2), o.value ? value() : "true");
    } else if (!a.startsWith("-")) names.push(...a.split(","));
    else throw new Error(`unknown option ${a} (npm run bench -- --list)`);
  }
  const wanted = names.map((n) => n.trim()).filter(Boolean);
  const unknown = wanted.filter((n) => !byName.has(n));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(", ")} (known: ${BENCHMARKS.map((b) => b.name).join(", ")})`);
  const chosen = wanted.length ? [...new Set(wanted)].map((n) => byName.get(n) as Benchmark) : BENCHMARKS.filter((b) => b.suite);
  for (const name of args.options.keys()) {
    const { b } = ownerOf.get(name) as { b: Benchmark };
    if (!chosen.includes(b)) throw new Error(`--${name} is an option of ${b.name}, which this run does not include`);
  }
  // scaling reuses the largest sizes of pollcost and fanout when they ran: keep it last
  args.chosen = chosen.sort((x, y) => (x.name === "scaling" ? 1 : 0) - (y.name === "scaling" ? 1 : 0));
  return args;
}

function commandMissing(b: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${b}`], { stdio: "ignore" });
    return false;
  } catch {
    return true;
  }
}

const CHECKS: Record<Need, () => string[]> = {
  build: () => (existsSync(join(repoRoot, "dist", "nodes", "nut-ups-in.js")) ? [] : ["dist/ is not built: run `npm run build`"]),
  nut: () => [nutLabMissing()].filter((x): x is string => x !== null),
  upsmon: () => (upsmonBinary() ? [] : ["upsmon not found (apt-get install -y nut-client)"]),
  upsc: () => (commandMissing("upsc") ? ["upsc not found"] : []),
  "ssh-lab": () => [sshLabMissing()].filter((x): x is string => x !== null).map((m) => `ssh lab: ${m}`),
  openssh: () => ["ssh", "xargs"].filter(commandMissing).map((b) => `${b} not found`),
};

function missing(chosen: Benchmark[]): string[] {
  const needs = new Set(chosen.flatMap((b) => b.needs));
  return [...needs].flatMap((n) => CHECKS[n]());
}

export async function main(argv: string[]): Promise<void> {
  cleanupOnSignals();
  const args = parseArgs(argv);
  if (!args) return;
  const lacking = missing(args.chosen);
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
  for (const b of args.chosen) {
    process.stderr.write(`bench: ${b.name}…\n`);
    const t0 = performance.now();
    try {
      const out = await b.run({ quick: args.quick, option: (name) => args.options.get(name), done: results });
      const seconds = (performance.now() - t0) / 1000;
      if (out) {
        results.push({ ...out, seconds });
        process.stderr.write(`bench: ${b.name} done in ${Math.round(seconds)} s\n${table(out.rows)}\n`);
      } else process.stderr.write(`bench: ${b.name} done in ${Math.round(seconds)} s\n`);
    } catch (err) {
      const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push(`${b.name}: ${text}`);
      process.stderr.write(`bench: ${b.name} FAILED: ${text}\n`);
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
    `run: ${args.quick ? "quick" : "full"} (${args.chosen.map((b) => b.name).join(", ")}), ${Math.round(seconds)} s, ${new Date(started).toISOString()}`,
  ];
  const notes = results.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`));
  const md = [
    ...header.map((h) => `- ${h}`),
    "",
    ...(results.length ? [table(results.flatMap((r) => r.rows)), ""] : []),
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

// Run and exit (labs, Node-RED and clients are stopped by then; nothing else should hold the process).
if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
