/**
 * What a process costs, read from /proc: CPU time (precise, from the
 * scheduler, or from a shell's `times`), resident memory and its peak while
 * something runs, and the bytes sent on TCP sockets; and the machine's
 * facts for the report. Linux only, like the rest of the benchmarks.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { readText } from "../../test/harness/proc";

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
  for (const t of tasks) ns += Number(readText(`/proc/${pid}/task/${t}/schedstat`).split(" ")[0]) || 0;
  return ns / 1e9;
}

/** Resident set size in bytes (VmRSS), NaN when the process is gone. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readText(`/proc/${pid}/status`));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Read-family system calls so far (/proc/PID/io syscr): how many pieces a client's replies came in. */
export function readCalls(pid: number): number {
  const m = /^syscr:\s+(\d+)/m.exec(readText(`/proc/${pid}/io`));
  return m ? Number(m[1]) : NaN;
}

/**
 * CPU seconds a bash script reported with `times` at its end (user and
 * system, of the shell then of its waited-for children: "0m0.010s 0m0.020s").
 */
export function shellTimesSeconds(text: string): number {
  return [...text.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, x) => a + Number(x[1]) * 60 + Number(x[2]), 0);
}

/**
 * Samples `read` (a memory figure) every `everyMs` while `work` runs, and
 * once after: the peak of the finite samples (a process gone reads NaN).
 * `work` failing ends the sampling like its success.
 */
export async function peakWhile(read: () => number, work: Promise<unknown>, everyMs = 20): Promise<number> {
  let peak = 0;
  const sample = () => {
    const v = read();
    if (Number.isFinite(v)) peak = Math.max(peak, v);
  };
  let running = true;
  const sampler = (async () => {
    while (running) {
      sample();
      await sleep(everyMs);
    }
  })();
  await work.catch(() => undefined);
  running = false;
  await sampler;
  sample();
  return peak;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Machine facts for the report. */
export function machine(): { cpus: number; model: string; memGb: number; kernel: string } {
  const info = readText("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? "unknown";
  const cpus = (info.match(/^processor\s*:/gm) ?? []).length;
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readText("/proc/meminfo"))?.[1] ?? 0);
  return { cpus, model, memGb: Math.round(memKb / 1024 / 102.4) / 10, kernel: readText("/proc/sys/kernel/osrelease").trim() };
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return Number(readText("/proc/loadavg").split(" ")[0]);
}

/** CPU busy fraction of the whole machine between two snapshots (from /proc/stat). */
export function cpuSnapshot(): { busy: number; total: number } {
  const f = readText("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Bytes the peers acknowledged so far, per client process and remote port
 * (key "PID PORT"), over every established TCP socket on this machine
 * (`ss -tinp`; needs root to see other users' sockets): with a known request
 * size this counts the requests each client sent to a server port, exactly,
 * also when several poll one server at once.
 */
export function ackedBytesByClient(): Map<string, number> {
  const out = new Map<string, number>();
  let text = "";
  try {
    text = execFileSync("ss", ["-Htinp", "state", "established"], { encoding: "utf8", maxBuffer: 64 << 20 });
  } catch {
    return out;
  }
  let key = "";
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      // Recv-Q Send-Q local peer users:(("node",pid=N,fd=M))
      const cols = line.trim().split(/\s+/);
      key = `${/pid=(\d+)/.exec(line)?.[1] ?? 0} ${Number(cols[3]?.split(":").pop())}`;
    } else {
      const acked = Number(/bytes_acked:(\d+)/.exec(line)?.[1] ?? 0);
      out.set(key, (out.get(key) ?? 0) + acked);
    }
  }
  return out;
}
