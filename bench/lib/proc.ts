/**
 * What a process costs, read from /proc: CPU time (precise, from the
 * scheduler), resident memory, and the bytes sent on TCP sockets.
 * Linux only, like the rest of the benchmarks.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/**
 * CPU seconds a running process used so far, all its live threads summed
 * (/proc/PID/task/T/schedstat: nanoseconds of run time, not ticks).
 */
export function cpuSeconds(pid: number): number {
  let ns = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  for (const t of tasks) ns += Number(read(`/proc/${pid}/task/${t}/schedstat`).split(" ")[0]) || 0;
  return ns / 1e9;
}

/** The fields of /proc/PID/stat after the command name (field 3 is index 0). */
function statFields(pid: number): string[] {
  const s = read(`/proc/${pid}/stat`);
  return s ? s.slice(s.lastIndexOf(")") + 2).split(" ") : [];
}

/** Resident set size in bytes (VmRSS), NaN when the process is gone. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(read(`/proc/${pid}/status`));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Read-family system calls so far (/proc/PID/io syscr): how many pieces a client's replies came in. */
export function readCalls(pid: number): number {
  const m = /^syscr:\s+(\d+)/m.exec(read(`/proc/${pid}/io`));
  return m ? Number(m[1]) : NaN;
}

/** Alive and not a zombie. */
export function alive(pid: number): boolean {
  const f = statFields(pid);
  return f.length > 0 && f[0] !== "Z" && f[0] !== "X";
}

function parentOf(pid: number): number {
  return Number(statFields(pid)[1] ?? 0);
}

/** `pid` and all its descendants (children first listed after their parent). */
export function processTree(pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pp = parentOf(Number(e));
    kids.set(pp, [...(kids.get(pp) ?? []), Number(e)]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift() as number;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** SIGTERM a process and its descendants, SIGKILL what is left after `graceMs`. */
export async function killTree(pid: number, graceMs = 3000): Promise<void> {
  const pids = processTree(pid).filter(alive);
  for (const p of pids) signal(p, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(20);
  for (const p of pids.filter(alive)) signal(p, "SIGKILL");
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Machine facts for the report. */
export function machine(): { cpus: number; model: string; memGb: number; kernel: string } {
  const info = read("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? "unknown";
  const cpus = (info.match(/^processor\s*:/gm) ?? []).length;
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(read("/proc/meminfo"))?.[1] ?? 0);
  return { cpus, model, memGb: Math.round(memKb / 1024 / 102.4) / 10, kernel: read("/proc/sys/kernel/osrelease").trim() };
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return Number(read("/proc/loadavg").split(" ")[0]);
}

/** CPU busy fraction of the whole machine between two snapshots (from /proc/stat). */
export function cpuSnapshot(): { busy: number; total: number } {
  const f = read("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Bytes the peers acknowledged, summed per remote port, over every
 * established TCP socket on this machine (`ss -tin`): with a known request
 * size this counts the requests a client sent to a server port, exactly.
 */
export function ackedBytesByPeerPort(): Map<number, number> {
  const out = new Map<number, number>();
  let text = "";
  try {
    text = execFileSync("ss", ["-Htin", "state", "established"], { encoding: "utf8", maxBuffer: 64 << 20 });
  } catch {
    return out;
  }
  let peerPort = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      const cols = line.trim().split(/\s+/);
      peerPort = Number(cols[cols.length - 1].split(":").pop());
    } else {
      const acked = Number(/bytes_acked:(\d+)/.exec(line)?.[1] ?? 0);
      out.set(peerPort, (out.get(peerPort) ?? 0) + acked);
    }
  }
  return out;
}
