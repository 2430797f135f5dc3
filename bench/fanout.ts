/**
 * Benchmark 3, shutdown fan-out: N real sshd hosts on loopback (the ssh-lab:
 * ForceCommand records the command and never runs it), a tenth of them hung
 * (TCP accepted, no SSH banner ever), spread through the host list. Measured:
 * from the tier message (stamped by a function node just before
 * ssh-shutdown in a real Node-RED) until the recorder of every live host
 * has logged the command (the recorders' own clock), and the client CPU
 * until every live host answered. Twice: connecting at the tier, and
 * pre-connected (a pre-flight, msg.action "prepare", opened and checked a
 * session per host before the tier; the shutdown goes out on it).
 *
 * Baselines in the same run, same hosts, same order, same host-key pinning:
 * the seed's sequential `for` loop of `ssh -o ConnectTimeout=5`, OpenSSH in
 * parallel (`xargs -P N ssh`, default kex and curve25519-sha256), and a bare
 * ssh2 script connecting to all at once.
 *
 *   npm run bench -- fanout [--quick]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeRedProcess } from "../test/harness/node-red";
import { SshLab, type Recorded } from "../test/harness/ssh-lab";
import { withCleanup, type Cleanup } from "./lib/cleanup";
import { terminate, processTree } from "../test/harness/proc";
import { waitUntil } from "../test/harness/wait";
import { cpuSeconds, shellTimesSeconds, sleep } from "./lib/proc";
import { deploy, inject, injectNode, makeSink, startRed, TAB, type FlowNode, type Sink } from "./lib/red";
import { fmt, type BenchOutput, type Row } from "./lib/report";
import { spread } from "./lib/stats";
import { WARMUP_COMMAND, type FanoutConfig } from "./lib/ssh2-fanout";

export interface FanoutOptions {
  /** Hosts in all, a tenth of them hung. */
  size: number;
  runs: number;
  /** Runs of each parallel baseline (xargs default kex, xargs curve25519, ssh2). */
  baselineRuns: number;
  /** Runs of the sequential loop (about 36 s each at 50 hosts). */
  sequentialRuns: number;
}

export const FANOUT_FULL: FanoutOptions = { size: 50, runs: 5, baselineRuns: 3, sequentialRuns: 2 };
export const FANOUT_QUICK: FanoutOptions = { size: 20, runs: 2, baselineRuns: 1, sequentialRuns: 1 };

/** The command every way sends (recorded by the lab, never run). */
const COMMAND = "sudo -n /sbin/shutdown -h now";
const CONNECT_TIMEOUT_S = 5;

export const hungCount = (size: number): number => Math.max(1, Math.round(size / 10));

export interface Target {
  name: string;
  address: string;
  port: number;
  fingerprint: string;
  hung: boolean;
}

export interface FanoutLab {
  lab: SshLab;
  nr: NodeRedProcess;
  sink: Sink;
  dir: string;
}

/** One lab big enough for `maxSize` hosts (live sshd + blackhole addresses), and a Node-RED. */
export async function startFanoutLab(c: Cleanup, maxSize: number): Promise<FanoutLab> {
  const dir = mkdtempSync(join(tmpdir(), "bench-fanout-"));
  c.add("fanout dir", () => rmSync(dir, { recursive: true, force: true }));
  const hung = hungCount(maxSize);
  const lab = await SshLab.start({ hosts: maxSize - hung, blackholes: hung });
  c.add(`ssh lab ${lab.dir}`, () => lab.stop());
  writeFileSync(join(dir, "known_hosts"), lab.knownHosts());
  const nr = await startRed(c);
  return { lab, nr, sink: makeSink(dir, "fanout.jsonl"), dir };
}

/** `size` targets: live hosts with the hung ones spread evenly among them (never last). */
export function targets(lab: SshLab, size: number): Target[] {
  const hung = hungCount(size);
  const live = lab.hosts().slice(0, size - hung);
  const holes = lab.blackholes.slice(0, hung);
  if (live.length + holes.length !== size) throw new Error(`fanout: the lab has too few hosts for ${size}`);
  const hungAt = new Set(Array.from({ length: hung }, (_, k) => Math.floor(((k + 0.5) * size) / hung)));
  const out: Target[] = [];
  for (let i = 0, l = 0, h = 0; i < size; i++) {
    if (hungAt.has(i)) {
      const b = holes[h++];
      out.push({ name: `hung${h}`, address: b.address, port: b.port, fingerprint: live[0].fingerprints.ed25519, hung: true });
    } else {
      const x = live[l++];
      out.push({ name: x.name, address: x.address, port: x.port, fingerprint: x.fingerprints.ed25519, hung: false });
    }
  }
  return out;
}

/** inject (the tier message) → stamp → ssh-shutdown → stamp each result. */
function flow(fl: FanoutLab, ts: Target[]): FlowNode[] {
  const hosts: FlowNode[] = ts.map((t, i) => ({
    id: `host${i}`,
    type: "ssh-host",
    name: t.name,
    address: t.address,
    port: t.port,
    username: fl.lab.user,
    keyFile: fl.lab.keyFile("ed25519"),
    fingerprints: `ssh-ed25519 ${t.fingerprint}`,
    acceptAnyHostKey: false,
  }));
  return [
    TAB,
    ...hosts,
    injectNode("tier", ["tier-stamp"]),
    ...fl.sink.nodes("tier-stamp", "{ k: 'tier', reset: msg.reset === true, action: msg.action || null }", ["shutdown"]),
    {
      id: "shutdown",
      type: "ssh-shutdown",
      z: TAB.id,
      name: "",
      hosts: hosts.map((h) => h.id),
      preset: "linux",
      delay: 0,
      message: "",
      customShutdown: "",
      customCancel: "",
      customCheck: "",
      action: "shutdown",
      allowed: ["shutdown", "cancel", "check", "simulate", "prepare"],
      keepAlive: true,
      connectTimeout: CONNECT_TIMEOUT_S,
      commandTimeout: 30,
      deadline: 60,
      wires: [["result-stamp"]],
    },
    ...fl.sink.nodes("result-stamp", "{ k: 'result', host: msg.payload.host, ok: msg.payload.ok, action: msg.payload.action }"),
  ];
}

interface SinkRecord {
  t: number;
  k: "tier" | "result";
  host?: string;
  ok?: boolean;
  reset?: boolean;
  action?: string | null;
}

export interface RunResult {
  /** ms from start until the last live host recorded the command. */
  ms: number;
  /** Client CPU seconds until every live host answered. */
  cpu: number;
}

/** Wait until every live target recorded the command; the time of the last one. */
async function lastRecorded(lab: SshLab, ts: Target[], timeoutMs: number): Promise<number> {
  const live = ts.filter((t) => !t.hung).map((t) => t.name);
  const timed = (rs: Recorded[]) => rs.filter((r) => r.command !== WARMUP_COMMAND);
  const records = timed(await lab.waitForRecords((rs) => live.every((n) => timed(rs).some((r) => r.host === n)), timeoutMs));
  return Math.max(...live.map((n) => Math.min(...records.filter((r) => r.host === n).map((r) => r.time))));
}

/**
 * Our node: `runs` shutdowns of `ts`, each cancelled after the live hosts
 * answered (ending the hung attempts and the kept sessions). `preconnected`:
 * a pre-flight first, and the tier once every live host is ready.
 */
export async function measureOurs(fl: FanoutLab, ts: Target[], runs: number, preconnected = false): Promise<RunResult[]> {
  await deploy(fl.nr, flow(fl, ts));
  await sleep(500);
  fl.sink.read();
  const out: RunResult[] = [];
  const live = ts.filter((t) => !t.hung).length;
  for (let r = 0; r < runs; r++) {
    fl.lab.clearRecords();
    const seen: SinkRecord[] = [];
    /** Results so far (reading what the sink got since the last look). */
    const results = (ok: boolean | null, action = "shutdown"): number => {
      seen.push(...fl.sink.read<SinkRecord>());
      return seen.filter((x) => x.k === "result" && x.action === action && (ok === null || x.ok === ok)).length;
    };
    if (preconnected) {
      // power lost: the pre-flight connects and checks every host; the hung ones are still trying when the tier fires
      await inject(fl.nr, "tier", { action: "prepare" });
      await waitUntil("fanout: the live hosts ready", () => results(true, "prepare") >= live, { timeoutMs: 30000, everyMs: 5 });
      fl.lab.clearRecords(); // the checks
    }
    const c0 = cpuSeconds(fl.nr.pid);
    await inject(fl.nr, "tier");
    const last = await lastRecorded(fl.lab, ts, 60000);
    await waitUntil("fanout: the live hosts' results", () => results(true) >= live, { timeoutMs: 30000, everyMs: 5 });
    const cpu = cpuSeconds(fl.nr.pid) - c0;
    const t0 = seen.find((x) => x.k === "tier" && !x.action && !x.reset)?.t ?? NaN;
    // power back: the hung attempts stop, every host has its result, the kept sessions close
    await inject(fl.nr, "tier", { reset: true });
    await waitUntil("fanout: every host's result", () => results(null) >= ts.length, { timeoutMs: 30000, everyMs: 5 });
    if (preconnected) await waitUntil("fanout: every pre-flight over", () => results(null, "prepare") >= ts.length, { timeoutMs: 30000, everyMs: 5 });
    out.push({ ms: last - t0, cpu });
    await sleep(300);
  }
  return out;
}

export type OpensshWay = "sequential" | "xargs" | "xargs-curve25519";

/** One run of an OpenSSH shell baseline; CPU from the shell's `times` (itself and its waited-for children). */
export async function measureOpenssh(c: Cleanup, fl: FanoutLab, ts: Target[], way: OpensshWay): Promise<RunResult> {
  fl.lab.clearRecords();
  const opts = [
    "-F",
    "/dev/null",
    "-n",
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-i",
    fl.lab.keyFile("ed25519"),
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${join(fl.dir, "known_hosts")}`,
    "-o",
    `ConnectTimeout=${CONNECT_TIMEOUT_S}`,
    "-o",
    "LogLevel=ERROR",
    "-p",
    String(ts[0].port),
    ...(way === "xargs-curve25519" ? ["-o", "KexAlgorithms=curve25519-sha256"] : []),
  ];
  const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const ssh = `ssh ${opts.map(q).join(" ")}`;
  const dests = ts.map((t) => `${fl.lab.user}@${t.address}`);
  const script =
    way === "sequential"
      ? `for d in ${dests.join(" ")}; do ${ssh} "$d" ${q(COMMAND)} >/dev/null 2>&1; done; times`
      : `printf '%s\\n' ${dests.join(" ")} | xargs -P ${ts.length} -I{} ${ssh} {} ${q(COMMAND)} >/dev/null 2>&1; times`;
  const t0 = Date.now();
  const child = spawn("bash", ["-c", script], { stdio: ["ignore", "pipe", "ignore"] });
  const pid = child.pid ?? 0;
  c.add(`openssh ${way} ${pid}`, () => terminate([pid], 3000));
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const last = await lastRecorded(fl.lab, ts, way === "sequential" ? 200000 : 60000);
  // the live ssh end right after their command; the ones still running wait on a hung host
  await sleep(300);
  if (way !== "sequential") for (const p of processTree([pid]).filter((p) => p !== pid)) if (isSsh(p)) process.kill(p, "SIGTERM");
  await exited;
  const cpu = shellTimesSeconds(out);
  return { ms: last - t0, cpu };
}

function isSsh(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "ssh";
  } catch {
    return false;
  }
}

/** One run of the bare ssh2 script (its own process; startup not counted); `preconnected`: timed from its commands, its connections already open. */
export async function measureSsh2(c: Cleanup, fl: FanoutLab, ts: Target[], preconnected = false): Promise<RunResult> {
  fl.lab.clearRecords();
  const cfg: FanoutConfig = {
    user: fl.lab.user,
    keyFile: fl.lab.keyFile("ed25519"),
    command: COMMAND,
    targets: ts.map((t) => ({ address: t.address, port: t.port, fingerprint: t.fingerprint })),
    preconnected,
  };
  const file = join(fl.dir, "ssh2.json");
  writeFileSync(file, JSON.stringify(cfg));
  const child = spawn(process.execPath, ["-r", "tsx/cjs", join(__dirname, "lib", "ssh2-fanout.ts"), file], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = child.pid ?? 0;
  c.add(`ssh2 script ${pid}`, () => terminate([pid], 3000));
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const last = await lastRecorded(fl.lab, ts, 60000);
  const live = ts.filter((t) => !t.hung).length;
  await waitUntil("fanout: the ssh2 script's results", () => (out.match(/^ok /gm) ?? []).length >= live, { timeoutMs: 30000, everyMs: 5 });
  child.kill("SIGTERM");
  await exited;
  const t0 = Number(/^start (\d+)/m.exec(out)?.[1]);
  const cpu = Number(/^cpu ([\d.]+)/m.exec(out)?.[1]);
  return { ms: last - t0, cpu };
}

export async function runFanout(opts: FanoutOptions = FANOUT_FULL): Promise<BenchOutput> {
  const res: Record<string, RunResult[]> = { ours: [], preconnected: [], sequential: [], xargs: [], "xargs-curve25519": [], ssh2: [], "ssh2-preconnected": [] };
  const ts = await withCleanup(async (c) => {
    const fl = await startFanoutLab(c, opts.size);
    const ts = targets(fl.lab, opts.size);
    // rounds interleave the ways, so a burst of load from elsewhere hits them alike
    const rounds = Math.max(opts.runs, opts.baselineRuns, opts.sequentialRuns);
    for (let r = 0; r < rounds; r++) {
      if (r < opts.runs) {
        res.ours.push(...(await measureOurs(fl, ts, 1)));
        res.preconnected.push(...(await measureOurs(fl, ts, 1, true)));
      }
      if (r < opts.baselineRuns) {
        res["xargs-curve25519"].push(await measureOpenssh(c, fl, ts, "xargs-curve25519"));
        res.xargs.push(await measureOpenssh(c, fl, ts, "xargs"));
        res.ssh2.push(await measureSsh2(c, fl, ts));
        res["ssh2-preconnected"].push(await measureSsh2(c, fl, ts, true));
      }
      if (r < opts.sequentialRuns) res.sequential.push(await measureOpenssh(c, fl, ts, "sequential"));
    }
    return ts;
  });
  const live = ts.filter((t) => !t.hung).length;
  const ms = (k: string) => spread(res[k].map((x) => x.ms / 1000));
  const cpu = (k: string) => spread(res[k].map((x) => x.cpu));
  const ours = ms("ours");
  const seq = ms("sequential");
  const bestName = ms("xargs").median <= ms("xargs-curve25519").median ? "xargs" : "xargs-curve25519";
  const best = ms(bestName);
  const b = `3 fan-out, ${opts.size} hosts`;
  const secs = (v: number) => fmt.s(v);
  const rows: Row[] = [
    {
      bench: b,
      measure: `tier message → all ${live} live hosts recorded (${opts.size - live} hung)`,
      ours: fmt.spread(ours, secs),
      baseline: `sequential ssh loop ${fmt.spread(seq, secs)}`,
      ratio: fmt.ratio(ours.median / seq.median),
      target: "≥ 30× faster (≤ 0.033×)",
      met: seq.median / ours.median >= 30,
    },
    {
      bench: b,
      measure: "same, vs the best parallel OpenSSH",
      ours: fmt.s(ours.median),
      baseline: `xargs -P ${opts.size} ssh: ${fmt.spread(ms("xargs"), secs)}; with curve25519 ${fmt.spread(ms("xargs-curve25519"), secs)}`,
      ratio: fmt.ratio(ours.median / best.median),
      target: "≤ 1.3× best",
      met: ours.median <= 1.3 * best.median,
    },
    {
      bench: b,
      measure: "same, vs a bare ssh2 script",
      ours: fmt.s(ours.median),
      baseline: `ssh2 all at once ${fmt.spread(ms("ssh2"), secs)}`,
      ratio: fmt.ratio(ours.median / ms("ssh2").median),
      target: "",
      met: null,
    },
    {
      bench: b,
      measure: `same, pre-connected: a pre-flight at power loss opened and checked every session`,
      ours: fmt.spread(ms("preconnected"), secs),
      baseline: `connecting at the tier (ours, same run) ${fmt.spread(ours, secs)}`,
      ratio: fmt.ratio(ms("preconnected").median / ours.median),
      target: "≤ 100 ms",
      met: ms("preconnected").median <= 0.1,
    },
    {
      bench: b,
      measure: "same, pre-connected, vs a bare ssh2 script pre-connected (the floor: sshd starting the command on every host)",
      ours: fmt.s(ms("preconnected").median),
      baseline: `ssh2, connections open, all at once ${fmt.spread(ms("ssh2-preconnected"), secs)}`,
      ratio: fmt.ratio(ms("preconnected").median / ms("ssh2-preconnected").median),
      target: "",
      met: null,
    },
    {
      bench: b,
      measure: "client CPU until the live hosts answered",
      ours: `Node-RED ${fmt.spread(cpu("ours"), secs)}`,
      baseline: `seq ${secs(cpu("sequential").median)}; xargs ${secs(cpu("xargs").median)}; curve25519 ${secs(cpu("xargs-curve25519").median)}; ssh2 ${secs(cpu("ssh2").median)}`,
      ratio: fmt.ratio(cpu("ours").median / cpu("xargs-curve25519").median),
      target: "",
      met: null,
    },
  ];
  const notes = [
    `${opts.size} hosts (${live} sshd + ${opts.size - live} no-banner), connect timeout ${CONNECT_TIMEOUT_S} s everywhere; ours ${opts.runs} runs each way (connecting at the tier, pre-connected), parallel baselines ${opts.baselineRuns}, sequential ${opts.sequentialRuns}, interleaved; CPU ratio vs xargs with curve25519 (connecting at the tier)`,
  ];
  return { name: "fanout", rows, notes, raw: { runs: res, size: opts.size } };
}
