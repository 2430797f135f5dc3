/**
 * The messages of wake-hosts (the message contract's WakeResult): one when a
 * host's waking starts, one when it ends, each with a one-line summary.
 */
import type { WakeEvent, WakeResult } from "../contract";
import { formatDuration } from "../format";
import type { WakeOutage } from "./wake";

/** The host as its ssh-host describes it. */
export interface WakeTarget {
  id: string;
  name: string;
  address: string;
  port: number;
  mac: string | null;
}

export function wakeResult(
  host: WakeTarget,
  to: { broadcast: string; wolPort: number },
  event: WakeEvent,
  more: { simulated: boolean; packets?: number; duration?: number; error?: string | null },
  now: number,
): WakeResult {
  return {
    host: host.name,
    hostId: host.id,
    address: host.address,
    port: host.port,
    mac: host.mac,
    broadcast: to.broadcast,
    wolPort: to.wolPort,
    event,
    simulated: more.simulated,
    packets: more.packets ?? 0,
    duration: more.duration ?? 0,
    error: more.error ?? null,
    time: now,
  };
}

const packetsText = (n: number): string => (n === 1 ? "1 packet" : `${n} packets`);

/** One line a person can read in a notification as it is. */
export function summarizeWake(r: WakeResult): string {
  const oneLine = (s: string): string => s.replace(/\s*[\r\n]+\s*/g, " ").trim();
  const to = `${r.broadcast}:${r.wolPort}`;
  switch (r.event) {
    case "WAKING":
      return r.simulated ? `${r.host}: simulate, would wake ${r.mac} (to ${to}; no packet sent)` : `${r.host}: waking ${r.mac} (to ${to})`;
    case "UP":
      return `${r.host}: up, SSH answers on ${r.address}:${r.port} (${packetsText(r.packets)}, ${formatDuration(r.duration)})`;
    case "NO_ANSWER":
      return oneLine(
        `${r.host}: NO ANSWER on ${r.address}:${r.port} after ${formatDuration(r.duration)} (${packetsText(r.packets)}${r.error ? `; last send failed: ${r.error}` : ""})`,
      );
    case "STOPPED":
      return `${r.host}: waking stopped (${packetsText(r.packets)}, ${formatDuration(r.duration)})${r.error ? `: ${r.error}` : ""}`;
    case "SIMULATED":
      return `${r.host}: simulated waking done (no packet sent)`;
    case "FAILED":
      return oneLine(`${r.host}: cannot wake: ${r.error ?? "unknown error"}`);
  }
}

/** What one message carries: the result, the host's name as topic, a summary, the outage the host was shut down in. */
export function wakeMessage(r: WakeResult, outage: WakeOutage | null): { payload: WakeResult; topic: string; summary: string; outage?: WakeOutage } {
  // a copy: what a later node does to the message must not change what this node keeps
  return { payload: r, topic: r.host, summary: summarizeWake(r), ...(outage ? { outage: { id: outage.id, since: outage.since } } : {}) };
}
