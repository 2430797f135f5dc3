/**
 * Waking one host: a Wake-on-LAN magic packet to the broadcast address
 * every `repeatMs`, until the host answers on its SSH port (a TCP connect
 * whose first bytes are an SSH banner, "SSH-…") or `deadlineMs` passes.
 * The socket, the SSH check and the clock are handed in, so the loop is
 * unit-tested with a fake socket and fake timers; openUdpSender and
 * probeSsh are the real ones (node:dgram, node:net: no dependency).
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { magicPacket } from "./mac";

/** Sends datagrams; `send` rejects with the socket's error (network unreachable, no permission…). */
export interface UdpSender {
  send(packet: Buffer, port: number, address: string): Promise<void>;
  close(): void;
}

/** Whether `address:port` answers with an SSH banner within `timeoutMs`; never rejects. */
export type Probe = (address: string, port: number, timeoutMs: number, signal: AbortSignal) => Promise<boolean>;

/** The longest an SSH check waits for a banner (a host that accepts but says nothing is not up). */
export const PROBE_TIMEOUT_MS = 3000;
/** What an SSH check reads at most before giving up on finding a banner. */
const PROBE_MAX_BYTES = 1024;

/** A UDP socket (IPv4) that may send to broadcast addresses. */
export function openUdpSender(): Promise<UdpSender> {
  const socket = createSocket("udp4");
  // an 'error' event with no listener would crash Node-RED; send errors come back through its callback
  socket.on("error", () => undefined);
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, () => {
      socket.off("error", reject);
      socket.setBroadcast(true);
      resolve({
        send: (packet, port, address) => new Promise<void>((ok, fail) => socket.send(packet, port, address, (err) => (err ? fail(err) : ok()))),
        close: () => {
          try {
            socket.close();
          } catch {
            // already closed
          }
        },
      });
    });
  });
}

/** The real SSH check: connect, and read until a line starts with "SSH-" (or the time, the bytes or the connection run out). */
export const probeSsh: Probe = (address, port, timeoutMs, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const socket = connect({ host: address, port });
    let seen = "";
    const finish = (up: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(up);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      seen += chunk;
      if (seen.startsWith("SSH-") || seen.includes("\nSSH-")) finish(true);
      else if (seen.length >= PROBE_MAX_BYTES) finish(false);
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
  });

export interface WakeRun {
  mac: string;
  broadcast: string;
  wolPort: number;
  /** Where the SSH check goes. */
  address: string;
  sshPort: number;
  repeatMs: number;
  deadlineMs: number;
  probeTimeoutMs?: number;
  /** Aborting stops the packets and the check at once (the outcome says `stopped`). */
  signal: AbortSignal;
  /** After each packet: how many were sent, and the error of this one (null when sent). */
  onPacket?: (packets: number, error: string | null) => void;
}

export interface WakeDeps {
  openSender: () => Promise<UdpSender>;
  probe: Probe;
  /** The monotonic clock, ms. */
  now: () => number;
}

export interface WakeOutcome {
  up: boolean;
  stopped: boolean;
  packets: number;
  durationMs: number;
  /** The last packet's send error, if the last one failed. */
  error: string | null;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Waits `ms` (setTimeout), or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Wakes one host: packets every repeatMs, an SSH check after each, until it is up, the deadline, or an abort. */
export async function wakeHost(run: WakeRun, deps: WakeDeps): Promise<WakeOutcome> {
  const packet = magicPacket(run.mac);
  const start = deps.now();
  const deadline = start + run.deadlineMs;
  let packets = 0;
  let attempts = 0;
  let error: string | null = null;
  let sender: UdpSender | null = null;
  const outcome = (up: boolean): WakeOutcome => ({ up, stopped: !up && run.signal.aborted, packets, durationMs: deps.now() - start, error });
  try {
    while (!run.signal.aborted && deps.now() < deadline) {
      attempts++;
      try {
        // opened again after a failure: a network that was not up yet (a switch still booting) may be now
        sender ??= await deps.openSender();
        await sender.send(packet, run.wolPort, run.broadcast);
        packets++;
        error = null;
      } catch (err) {
        error = message(err);
        sender?.close();
        sender = null;
      }
      run.onPacket?.(packets, error);
      const left = deadline - deps.now();
      if (left <= 0 || run.signal.aborted) break;
      if (await deps.probe(run.address, run.sshPort, Math.min(run.probeTimeoutMs ?? PROBE_TIMEOUT_MS, left), run.signal)) return outcome(true);
      await pause(Math.min(start + attempts * run.repeatMs, deadline) - deps.now(), run.signal);
    }
    return outcome(false);
  } finally {
    sender?.close();
  }
}
