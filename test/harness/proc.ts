/**
 * Processes from /proc (Linux): how the labs and the benchmarks find and
 * stop what they started, by PID and with every descendant.
 */
import { readFileSync, readdirSync } from "node:fs";
import { waitUntil } from "./wait";

/** A file's text, "" when it cannot be read (a process gone meanwhile). */
export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The fields of /proc/PID/stat after the command name (state is index 0, parent PID 1); [] when gone. */
function statFields(pid: number): string[] {
  const s = readText(`/proc/${pid}/stat`);
  return s ? s.slice(s.lastIndexOf(")") + 2).split(" ") : [];
}

/** Alive and not a zombie (PID 1 here reaps lazily). */
export function alive(pid: number): boolean {
  const f = statFields(pid);
  return f.length > 0 && f[0] !== "Z" && f[0] !== "X";
}

export function parentOf(pid: number): number {
  return Number(statFields(pid)[1] ?? 0);
}

/** `pids` and all their descendants (each listed after its parent). */
export function processTree(pids: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const queue = [...pids];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Stop processes and their descendants: SIGTERM, up to `graceMs` to end,
 * then SIGKILL; rejects if something still runs 2 s after that.
 */
export async function terminate(pids: number[], graceMs = 2000): Promise<void> {
  const all = processTree(pids.filter(alive));
  const send = (sig: NodeJS.Signals) => {
    for (const p of all.filter(alive)) {
      try {
        process.kill(p, sig);
      } catch {
        // already gone
      }
    }
  };
  const ended = (ms: number): Promise<boolean> =>
    waitUntil("processes to end", () => !all.some(alive), { timeoutMs: ms, everyMs: 20 }).then(
      () => true,
      () => false,
    );
  send("SIGTERM");
  if (await ended(graceMs)) return;
  send("SIGKILL");
  if (!(await ended(2000))) throw new Error(`processes still running after SIGKILL: ${all.filter(alive).join(", ")}`);
}
