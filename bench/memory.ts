/**
 * Benchmark 4, memory: RSS of a real Node-RED with the progressive-shutdown
 * flow deployed, against the same Node-RED with an empty flow. Each
 * measurement is a fresh process (the two kinds alternate), left to settle,
 * then sampled once a second; the figure is the median of the samples.
 *
 * The flow: `--flow FILE` (e.g. the bundled example), else
 * examples/01 - Progressive shutdown (weakest of two UPSes).json when it
 * exists, else a representative flow built here (2 nut-ups-in, 1
 * ups-aggregate, 1 battery-tier-switch, 4 outage-latch, 4 ssh-shutdown over
 * 5 ssh-host, action simulate). Whatever the file says, every nut-server is
 * pointed at a lab upsd and every ssh-host at a host of a recording ssh-lab
 * on loopback, so nothing real is ever read or reached.
 *
 *   npm run bench -- memory [--quick] [--flow FILE]
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../test/harness/node-red";
import { PLAN_TIERS, aggregateNodeDef } from "../test/harness/decide-fixtures";
import { startNutLab, type NutLab } from "../test/harness/nut-lab";
import { SshLab } from "../test/harness/ssh-lab";
import { withCleanup } from "./lib/cleanup";
import { upsInNode } from "./lib/nut";
import { rssBytes, sleep } from "./lib/proc";
import { placed, startRed, TAB, type FlowNode } from "./lib/red";
import { fmt, type BenchOutput } from "./lib/report";
import { median, spread } from "./lib/stats";

export interface MemoryOptions {
  /** Fresh Node-RED processes per flow. */
  runs: number;
  /** Seconds from "Started flows" to the first sample. */
  settle: number;
  /** Samples, one a second. */
  samples: number;
  flowFile?: string | null;
}

export const MEMORY_FULL: MemoryOptions = { runs: 3, settle: 10, samples: 5 };
export const MEMORY_QUICK: MemoryOptions = { runs: 1, settle: 5, samples: 3 };

export const EXAMPLE_FLOW = join(repoRoot, "examples", "01 - Progressive shutdown (weakest of two UPSes).json");

/** Node types a benchmarked flow may hold: ours and core nodes that reach nothing outside Node-RED. */
const ALLOWED = new Set([
  "tab",
  "group",
  "junction",
  "comment",
  "inject",
  "debug",
  "function",
  "change",
  "switch",
  "template",
  "delay",
  "trigger",
  "rbe",
  "filter",
  "link in",
  "link out",
  "link call",
  "catch",
  "status",
  "complete",
  "split",
  "join",
  "nut-server",
  "nut-ups-in",
  "ups-aggregate",
  "battery-tier-switch",
  "outage-latch",
  "ssh-host",
  "ssh-shutdown",
]);

/** The representative flow of issue 6 (used when no example flow is given or found). */
export function representativeFlow(): FlowNode[] {
  const hosts = Array.from({ length: 5 }, (_, i): FlowNode => ({
    id: `host${i + 1}`,
    type: "ssh-host",
    name: `server${i + 1}`,
    address: "127.0.40.1",
    port: 22,
    username: "shutdown",
    keyFile: "",
    fingerprints: "",
    acceptAnyHostKey: false,
  }));
  const tiers = ["backup", "storage", "production", "everything"];
  const hostsOf = [["host1"], ["host2"], ["host3"], ["host4", "host5"]];
  return [
    TAB,
    { id: "srv", type: "nut-server", name: "upsd", host: "127.0.0.1", port: 3493, usetls: false, tls: "", login: "", interval: 5, timeout: 5 },
    upsInNode("ups-a", "srv", "ups1", 5, ["agg"]),
    upsInNode("ups-b", "srv", "ups2", 5, ["agg"]),
    aggregateNodeDef(["ups1@127.0.0.1:3493", "ups2@127.0.0.1:3493"], { z: TAB.id, wires: [["tiers"]] }),
    {
      id: "tiers",
      type: "battery-tier-switch",
      z: TAB.id,
      name: "",
      tiers: PLAN_TIERS,
      mode: "while",
      staleCounts: false,
      outputs: 4,
      wires: tiers.map((_, i) => [`latch${i}`]),
    },
    ...tiers.map((t, i): FlowNode => ({
      id: `latch${i}`,
      type: "outage-latch",
      z: TAB.id,
      name: t,
      key: "outage",
      store: "",
      forwardReset: true,
      wires: [[`down${i}`]],
    })),
    ...tiers.map((t, i): FlowNode => ({
      id: `down${i}`,
      type: "ssh-shutdown",
      z: TAB.id,
      name: t,
      hosts: hostsOf[i],
      preset: "linux",
      delay: 1,
      message: "",
      customShutdown: "",
      customCancel: "",
      customCheck: "",
      action: "simulate",
      allowed: ["simulate", "check"],
      connectTimeout: 10,
      commandTimeout: 30,
      deadline: 60,
      wires: [[]],
    })),
    ...hosts,
  ];
}

/** Point every server and host of `flow` at the labs; refuse node types that could reach anything else. */
export function intoLabs(flow: FlowNode[], nut: NutLab, ssh: SshLab): FlowNode[] {
  const bad = flow.filter((n) => !ALLOWED.has(n.type)).map((n) => n.type);
  if (bad.length) throw new Error(`memory: the flow holds node types the benchmark will not run: ${[...new Set(bad)].join(", ")}`);
  const upsNames = new Map<string, string>();
  const labHosts = ssh.hosts();
  let hostIndex = 0;
  const out = flow.map((n): FlowNode => {
    if (n.type === "nut-server") return { ...n, host: nut.host, port: nut.port, usetls: false, tls: "" };
    if (n.type === "ssh-host") {
      const h = labHosts[hostIndex++ % labHosts.length];
      return {
        ...n,
        address: h.address,
        port: h.port,
        username: ssh.user,
        keyFile: ssh.keyFile("ed25519"),
        fingerprints: `ssh-ed25519 ${h.fingerprints.ed25519}`,
        acceptAnyHostKey: false,
      };
    }
    if (n.type === "nut-ups-in" && n.mode !== "all") {
      const old = String(n.ups);
      if (!upsNames.has(old)) upsNames.set(old, nut.upses[upsNames.size % nut.upses.length]);
      return { ...n, ups: upsNames.get(old) };
    }
    return n;
  });
  // ups-aggregate names its sources by topic "ups@host:port": follow the renames
  const newAddress = `${nut.host}:${nut.port}`;
  return out.map((n) => {
    if (n.type !== "ups-aggregate" || !Array.isArray(n.sources)) return n;
    const sources = (n.sources as Array<{ topic: string }>).map((s) => {
      const ups = s.topic.split("@")[0];
      return { ...s, topic: `${upsNames.get(ups) ?? ups}@${newAddress}` };
    });
    return { ...n, sources };
  });
}

function loadFlow(file: string | null | undefined): { flow: FlowNode[]; source: string } {
  const path = file ?? (existsSync(EXAMPLE_FLOW) ? EXAMPLE_FLOW : null);
  if (!path) return { flow: representativeFlow(), source: "the representative flow of bench/memory.ts (the example was not there)" };
  const flow = JSON.parse(readFileSync(path, "utf8")) as FlowNode[];
  if (!Array.isArray(flow)) throw new Error(`memory: ${path} is not a flow (an array of nodes)`);
  return { flow, source: path.replace(repoRoot + "/", "") };
}

export async function runMemory(opts: MemoryOptions = MEMORY_FULL): Promise<BenchOutput> {
  const { flow, source } = loadFlow(opts.flowFile);
  const rss: Record<"empty" | "flow", number[]> = { empty: [], flow: [] };
  let nodes = 0;
  await withCleanup(async (c) => {
    const nut = await startNutLab({ upses: 2 });
    c.add(`nut lab ${nut.port}`, () => nut.stop());
    const ssh = await SshLab.start({ hosts: 5, blackhole: false });
    c.add(`ssh lab ${ssh.dir}`, () => ssh.stop());
    const deployed = placed(intoLabs(flow, nut, ssh));
    nodes = deployed.filter((n) => n.type !== "tab").length;
    for (let run = 0; run < opts.runs; run++) {
      // alternate which goes first, so a drift in the machine's state hits both alike
      const order: Array<"empty" | "flow"> = run % 2 === 0 ? ["empty", "flow"] : ["flow", "empty"];
      for (const kind of order) {
        await withCleanup(async (cc) => {
          const nr = await startRed(cc, kind === "flow" ? deployed : [TAB]);
          await sleep(opts.settle * 1000);
          const samples: number[] = [];
          for (let i = 0; i < opts.samples; i++) {
            samples.push(rssBytes(nr.pid));
            await sleep(1000);
          }
          const errors = nr
            .log()
            .split("\n")
            .filter((l) => /\[error\]/.test(l));
          if (kind === "flow" && errors.length) throw new Error(`memory: the flow logged errors:\n${errors.slice(0, 5).join("\n")}`);
          // alive, not just loaded: the flow reads the lab's upsd
          if (kind === "flow" && !/connected to upsd/.test(nr.log())) throw new Error(`memory: the flow never connected to upsd:\n${nr.log().slice(-2000)}`);
          rss[kind].push(median(samples));
        });
      }
    }
  });
  const empty = spread(rss.empty);
  const withFlow = spread(rss.flow);
  const added = withFlow.median - empty.median;
  return {
    name: "memory",
    rows: [
      {
        bench: "4 memory",
        measure: `Node-RED RSS with the flow (${nodes} nodes) vs empty flow`,
        ours: fmt.spread(withFlow, fmt.mb),
        baseline: `empty flow ${fmt.spread(empty, fmt.mb)}`,
        ratio: fmt.ratio(withFlow.median / empty.median),
        target: "≤ 10 MB added",
        met: added <= 10 * 1048576,
      },
      {
        bench: "4 memory",
        measure: "added by the flow (median − median)",
        ours: fmt.mb(added),
        baseline: `run-to-run spread of the empty flow ${fmt.mb(empty.max - empty.min)}`,
        ratio: "",
        target: "",
        met: null,
      },
    ],
    notes: [`flow: ${source}; ${opts.runs} fresh Node-RED per flow, ${opts.settle} s settle, median of ${opts.samples} samples 1 s apart`],
    raw: { rss, source },
  };
}
