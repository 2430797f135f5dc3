/**
 * Every benchmark `npm run bench` knows: its name, what it measures, what it
 * needs on the machine, its own options, and how to run it. bench/run.ts is
 * the command line over this list; each benchmark's module is loaded only
 * when it runs, and none of them imports this file or run.ts.
 */
import type { BenchOutput, BenchResult } from "./lib/report";

/** What a benchmark needs on the machine (checked before anything starts). */
export type Need = "build" | "nut" | "upsmon" | "upsc" | "ssh-lab" | "openssh";

export interface BenchOption {
  /** `--name`. */
  name: string;
  /** Shown as `--name VALUE`; absent for a flag. */
  value?: string;
  help: string;
}

/** What a benchmark gets from the command line. */
export interface BenchContext {
  /** `--quick`: smaller sizes, shorter windows. */
  quick: boolean;
  /** The value of one of its options, undefined when not given. */
  option(name: string): string | undefined;
  /** The results of the benchmarks that ran before it in this run. */
  done: BenchResult[];
}

export interface Benchmark {
  name: string;
  /** One line for `--list`. */
  description: string;
  /** Part of `npm run bench` without a name (the suite of issue 6, in this order). */
  suite: boolean;
  needs: Need[];
  options: BenchOption[];
  /** Rows for the table, or null for a benchmark that prints its own figures. Throws on failure. */
  run(ctx: BenchContext): Promise<BenchOutput | null>;
}

const numberOption = (ctx: BenchContext, name: string, fallback: number): number => {
  const v = ctx.option(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got ${JSON.stringify(v)}`);
  return n;
};

export const BENCHMARKS: Benchmark[] = [
  {
    name: "latency",
    description: "1. detection latency: SET VAR on a real upsd → nut-ups-in's message, against upsmon's NOTIFYCMD",
    suite: true,
    needs: ["build", "nut", "upsmon"],
    options: [],
    async run(ctx) {
      const m = await import("./latency");
      return m.runLatency(ctx.quick ? m.LATENCY_QUICK : m.LATENCY_FULL);
    },
  },
  {
    name: "pollcost",
    description: "2. poll cost at 1, 2 UPSes on one upsd and 200 over 4: CPU per UPS-poll of Node-RED against upsmon, a bare Node.js client, spawning upsc",
    suite: true,
    needs: ["build", "nut", "upsmon", "upsc"],
    options: [],
    async run(ctx) {
      const m = await import("./poll-cost");
      return m.runPollCost(ctx.quick ? m.POLLCOST_QUICK : m.POLLCOST_FULL);
    },
  },
  {
    name: "fanout",
    description: "3. shutdown fan-out: tier message → every live sshd recorded the command, against OpenSSH loops and bare ssh2",
    suite: true,
    needs: ["build", "ssh-lab", "openssh"],
    options: [],
    async run(ctx) {
      const m = await import("./fanout");
      return m.runFanout(ctx.quick ? m.FANOUT_QUICK : m.FANOUT_FULL);
    },
  },
  {
    name: "memory",
    description: "4. memory: RSS of Node-RED with the flow against an empty flow",
    suite: true,
    needs: ["build", "nut", "ssh-lab"],
    options: [{ name: "flow", value: "FILE", help: "the flow to deploy (default: the progressive example)" }],
    async run(ctx) {
      const m = await import("./memory");
      return m.runMemory({ ...(ctx.quick ? m.MEMORY_QUICK : m.MEMORY_FULL), flowFile: ctx.option("flow") ?? null });
    },
  },
  {
    name: "scaling",
    description: "5. how cost grows: benchmark 2 at 1, 2, 4, 12, 40, 200 UPSes and benchmark 3 at 4 numbers of hosts, each size with its baselines",
    suite: true,
    needs: ["build", "nut", "upsmon", "ssh-lab", "openssh"],
    options: [],
    async run(ctx) {
      const m = await import("./scaling");
      return m.runScaling(ctx.quick ? m.SCALING_QUICK : m.SCALING_FULL, ctx.done);
    },
  },
  {
    name: "hostile-nut",
    description: "what a hostile NUT server makes a client and Node-RED hold (heap, RSS), and how often a hang-up is redialled",
    suite: false,
    needs: ["build"],
    options: [
      { name: "parts", value: "LIST", help: "some of client,node-red,reconnect (default all)" },
      { name: "line", value: "BYTES", help: "bytes per line of the endless list (default 65000)" },
      { name: "shape", value: "endless|max", help: "max: the largest replies the bounds let through, ended" },
      { name: "heap", value: "MB", help: "Node-RED with --max-old-space-size=MB" },
      { name: "seconds", value: "S", help: "how long the reconnect part counts (default 60; 10 with --quick)" },
    ],
    async run(ctx) {
      const m = await import("./hostile-nut");
      const shape = ctx.option("shape") ?? "endless";
      if (shape !== "endless" && shape !== "max") throw new Error(`--shape endless or max, not ${shape}`);
      await m.runHostileNut({
        parts: (ctx.option("parts") ?? "client,node-red,reconnect").split(","),
        lineBytes: numberOption(ctx, "line", 65000),
        shape,
        heapMb: ctx.option("heap") === undefined ? null : numberOption(ctx, "heap", 0),
        seconds: numberOption(ctx, "seconds", ctx.quick ? 10 : 60),
      });
      return null;
    },
  },
  {
    name: "conformance",
    description: "the differential test against upsmon in full: named and generated fault timelines, verdicts compared (also `npm run conformance`)",
    suite: false,
    needs: ["nut", "upsmon"],
    options: [
      { name: "count", value: "N", help: "generated timelines (default 200; 8 with --quick)" },
      { name: "seed", value: "N", help: "seed of the generated timelines (default 20261205)" },
      { name: "batch", value: "N", help: "timelines played at once, each on its own upsd (default 10)" },
    ],
    async run(ctx) {
      const m = await import("./conformance");
      await m.runConformance({
        count: numberOption(ctx, "count", ctx.quick ? 8 : 200),
        seed: numberOption(ctx, "seed", 20261205),
        batch: numberOption(ctx, "batch", 10),
      });
      return null;
    },
  },
];
