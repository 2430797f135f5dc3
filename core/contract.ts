/**
 * The message contract: the shapes every node of this package emits.
 *
 * Every message is plain JSON (numbers, strings, booleans, null, arrays,
 * plain objects): times are epoch milliseconds, never Date objects, so a
 * message crosses MQTT, a link node or a file unchanged.
 *
 * Conventions shared by every node:
 * - `msg.payload` holds the node's main object (below).
 * - `msg.summary` is a one-line text a person can read in a notification as
 *   it is ("ups1@nas:3493 on battery: 73 %, ~21 min").
 * - `msg.outage` is the outage identity, set by ups-aggregate and carried
 *   unchanged by every later node (tier switch, latch, ssh-shutdown results).
 */

/** upsmon's notification names, plus NOT… counterparts where upsmon has them. */
export type UpsEvent =
  | "ONLINE"
  | "ONBATT"
  | "LOWBATT"
  | "FSD"
  | "COMMOK"
  | "COMMBAD"
  | "NOCOMM"
  | "REPLBATT"
  | "CAL"
  | "NOTCAL"
  | "OFF"
  | "NOTOFF"
  | "BYPASS"
  | "NOTBYPASS"
  | "OVER"
  | "NOTOVER"
  | "TRIM"
  | "NOTTRIM"
  | "BOOST"
  | "NOTBOOST"
  | "ALARM"
  | "NOTALARM"
  | "ECO"
  | "NOTECO"
  | "OTHER"
  | "NOTOTHER";

/** `msg.payload` of a nut-ups-in message. `msg.topic` is `ups@host:port`. */
export interface UpsState {
  /** UPS name on its server, e.g. "ups1". */
  ups: string;
  /** The upsd it came from, "host:port". */
  server: string;
  /** Raw `ups.status` as upsd served it ("OB DISCHRG"); null when never read. */
  status: string | null;
  /** The status tokens, upper case, in upsd's order: ["OB", "DISCHRG"]. */
  flags: string[];
  /** OL in flags AND the data is fresh: stale data is never reported as online. */
  online: boolean;
  /** OB in the last known flags (kept when stale: "dead while last seen on battery" needs it). */
  onBattery: boolean;
  /** LB in the last known flags (kept when stale). */
  lowBattery: boolean;
  /** `battery.charge` in %, null when the UPS does not report it. */
  charge: number | null;
  /** `battery.runtime` in seconds, null when not reported. */
  runtime: number | null;
  /** `ups.load` in %, null when not reported. */
  load: number | null;
  /** When these values were read from upsd (epoch ms). Kept from the last good read when stale. */
  time: number;
  /**
   * How old the values are when the message is sent, in ms, measured on a
   * clock that cannot jump: 0 for a fresh read; for stale data the time since
   * the last good read (what upsmon's DEADTIME counts); null when never read.
   */
  age: number | null;
  /** True when the values are not current: DATA-STALE, driver gone, server unreachable. */
  stale: boolean;
  /** False when upsd itself could not be reached. */
  reachable: boolean;
  /** Why the data is stale or missing (the NUT error name or the socket error), else null. */
  error: string | null;
  /** The first event this message reports (a transition), else null. */
  event: UpsEvent | null;
  /** Every event of this transition, ONBATT before LOWBATT (the order of docs/nodes.md). */
  events: UpsEvent[];
  /** All variables of the UPS when the node is asked for them (numbers as numbers). */
  vars?: Record<string, string | number>;
}

/**
 * How ups-aggregate counts a source right now:
 * online / battery (supplying), critical (OB+LB or FSD, its values are
 * readings), lost (counts as critical, its values are not readings: dead on
 * battery, OFF too long, not communicating while on BYPASS, …), unknown (not
 * counted: never reported, neither OL nor OB), ignored (stale, and the stale
 * rule says to decide on the others).
 */
export type SourceVerdict = "online" | "battery" | "critical" | "lost" | "unknown" | "ignored";

/** What ups-aggregate keeps and reports of each source. */
export interface SourceState {
  topic: string;
  verdict: SourceVerdict;
  status: string | null;
  flags: string[];
  onBattery: boolean;
  lowBattery: boolean;
  charge: number | null;
  runtime: number | null;
  stale: boolean;
  reachable: boolean;
  /** When the last message of this source arrived (epoch ms); null if never. */
  lastSeen: number | null;
  /** Whether this source counts towards the decision right now. */
  counted: boolean;
  /** Why it counts the way it does when that is not plain (stale, calibrating, OFF, lost…), else null. */
  note: string | null;
}

export type AggregatePolicy = "weakest" | "redundant" | "minsupplies";

/** `msg.payload` of an ups-aggregate message. */
export interface PowerState {
  policy: AggregatePolicy;
  /** Power is out under the policy (debounced as configured). */
  onBattery: boolean;
  /** Critical: act now (OB+LB / FSD / lost of what counts under the policy, or MINSUPPLIES no longer met). */
  critical: boolean;
  /** Critical because of FSD (a NUT primary or an admin forces the shutdown): every tier fires. */
  fsd: boolean;
  /**
   * Effective charge % and runtime s under the policy, from the reference UPS,
   * which is always one whose values are readings (a lost UPS adds `critical`,
   * it never stands in with a 0 %);
   * except that weakest takes the lowest runtime of any UPS on battery, and
   * redundant / minsupplies divide the reference's runtime by the feeds still
   * sharing the load (see ups-aggregate's help).
   */
  charge: number | null;
  runtime: number | null;
  /** Topic of the UPS the effective values come from (weakest: the lowest charge), null when none. */
  reference: string | null;
  /** Seconds since the outage began (its whole length on OUTAGE_END); null when no outage is open. */
  onBatterySeconds: number | null;
  /** Every source's last state, in the node's order (its list, then as they arrived). */
  sources: SourceState[];
  /** Topics of sources that are stale, silent or unreachable. */
  stale: string[];
  /** What changed to cause this message. */
  event: PowerEvent;
  /** When this state was computed (epoch ms). */
  time: number;
}

/**
 * POWER_LOST: an outage begins. POWER_BACK: power returned but the outage is
 * still open (a flicker may follow). OUTAGE_END: power has been back for the
 * configured restore time; the outage is over. UPDATE: anything else.
 */
export type PowerEvent = "POWER_LOST" | "POWER_BACK" | "OUTAGE_END" | "UPDATE";

/** `msg.outage`: stable from the moment power was lost until the outage ends. */
export interface OutageIdentity {
  /** Unique per outage, e.g. "outage-20261125T164730Z-3f9a". */
  id: string;
  /** When power was lost (epoch ms). */
  since: number;
  /** When the outage ended (epoch ms), only on the OUTAGE_END message. */
  ended?: number;
}

/** `msg.tier` added by battery-tier-switch to the power-state message it routes. */
export interface TierInfo {
  /** 0-based tier index = output index. */
  index: number;
  /** Operator's label, e.g. "backup". */
  name: string;
  /** Why it fired, in words: "charge 88 % ≤ 90 %". */
  reason: string;
  /**
   * The tiers first reached by the same power state, in tier order (they
   * are sent in that order): ["storage"] on its own, ["backup", "storage",
   * "production"] on a jump; a tier sent again is alone: [name].
   */
  together: string[];
}

export type NutCommandKind = "fsd" | "instcmd" | "setvar";

/**
 * SUCCESS: done (FSD set; tracking said SUCCESS). FAILED: upsd or the
 * driver refused (`code`). UNKNOWN: tracked, but no final answer within the
 * tracking time, or the driver answered "unknown" (`unknownBecause`).
 * SENT: upsd accepted it without tracking: queued, outcome unknown.
 * REFUSED: this node did not send it (the load-off guard). CANCELLED:
 * power came back while waiting; nothing was sent.
 */
export type NutCommandOutcome = "SUCCESS" | "FAILED" | "UNKNOWN" | "SENT" | "REFUSED" | "CANCELLED";

/** What nut-command waited for before sending. */
export interface NutCommandWaited {
  /** Awaited ssh-host results that arrived in this outage, of how many. */
  hosts: { reported: number; expected: number };
  /** The other upsmon clients of the UPS had logged out; null when not awaited (or not known). */
  clientsLeft: boolean | null;
  /** The margin after the last host result, in seconds. */
  marginSeconds: number;
  /** Waits the deadline cut short: "hosts", "margin", "clients" (empty when none). */
  cutShort: string[];
}

/** `msg.payload` of a nut-command result message (one per command, and one per joined message). */
export interface NutCommandResult {
  ups: string;
  /** The upsd, "host:port". */
  server: string;
  kind: NutCommandKind;
  /** "FSD", the instant command, or the variable. */
  command: string;
  /** INSTCMD's parameter or SET VAR's value; null when none. */
  param: string | null;
  result: NutCommandOutcome;
  /** NUT's error code (ACCESS-DENIED, CMD-NOT-SUPPORTED, FAILED, …) or ours (TIMEOUT, ON-LINE-POWER, …); null on success. */
  code: string | null;
  /** upsd tracked the command (protocol 1.3, SET TRACKING ON accepted). */
  tracking: boolean;
  /** For UNKNOWN: "timeout" (no final answer in time) or "driver" (it answered unknown); else null. */
  unknownBecause: "timeout" | "driver" | null;
  waited: NutCommandWaited;
  /** Milliseconds from the go to the result. */
  duration: number;
  /** What went wrong, in words (with the upsd.users line to add for missing rights); null on success. */
  error: string | null;
  /** When the result was produced (epoch ms). */
  time: number;
  /** This message joined a command already waiting or running for an earlier go: the result is that command's. */
  joined: boolean;
}

/** prepare: the pre-flight at power loss (connect, authenticate, check; never a shutdown). */
export type ShutdownAction = "shutdown" | "cancel" | "check" | "simulate" | "prepare";

/** `msg.payload` of one ssh-shutdown result message (one per host). */
export interface ShutdownResult {
  /** The ssh-host's name (or address when unnamed). */
  host: string;
  /** The ssh-host config node's id: what other nodes (wake-hosts) key on, as names may repeat. */
  hostId: string;
  address: string;
  port: number;
  action: ShutdownAction;
  /** The command run (or that would run, for simulate). */
  command: string;
  /** True when the action did what it should. */
  ok: boolean;
  /** Remote exit code, null when no command completed. */
  exitCode: number | null;
  /** Remote signal name if the command was killed, else null. */
  signal: string | null;
  /** Excerpts of the output (bounded). */
  stdout: string;
  stderr: string;
  /** Milliseconds from the first attempt to the result. */
  duration: number;
  attempts: number;
  /** Error text when not ok, else null. */
  error: string | null;
  /** When the result was produced (epoch ms). */
  time: number;
  /**
   * This message joined a run already in progress for an earlier message:
   * the result is that run's (the command was not sent again for it).
   */
  joined: boolean;
  /**
   * The guest steps run before the command on the same connection, in order
   * (shutdown: stopping the guests; check: their privilege checks; simulate:
   * what would run, nothing ran). Empty when the node stops no guests or
   * none was sent. A failed guest step does not stop the host's shutdown.
   */
  steps: ShutdownStepResult[];
}

/** One guest step of a ShutdownResult (at most 9; output excerpts bounded). */
export interface ShutdownStepResult {
  /** What the step does, e.g. "stop Proxmox guests", "docker compose down web". */
  label: string;
  command: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  /** Why it failed (exit code and first line of output, timeout…), else null. */
  error: string | null;
  /** Milliseconds from sending the step to its end. */
  duration: number;
  /** Excerpts of its output (at most 1000 characters each). */
  stdout: string;
  stderr: string;
}

/**
 * WAKING: a host's waking starts (the first packet is sent, or would be when
 * simulated). It ends with exactly one of: UP (it answered on its SSH port),
 * NO_ANSWER (the deadline passed), STOPPED (power was lost again, or a reset:
 * it stays recorded after a power loss and is woken again later), SIMULATED
 * (its shutdown was a rehearsal, so is its waking: no packet). FAILED: it
 * could not be tried at all (no MAC address, its ssh-host is gone); no
 * WAKING comes before it.
 */
export type WakeEvent = "WAKING" | "UP" | "NO_ANSWER" | "STOPPED" | "SIMULATED" | "FAILED";

/** `msg.payload` of a wake-hosts message (one when a host's waking starts, one when it ends). */
export interface WakeResult {
  /** The ssh-host's name (or address when unnamed). */
  host: string;
  /** The ssh-host config node's id. */
  hostId: string;
  /** Where its SSH port is checked. */
  address: string;
  port: number;
  /** The MAC address woken, "aa:bb:cc:dd:ee:ff"; null when its ssh-host has none. */
  mac: string | null;
  /** Where the magic packets go (broadcast address and UDP port). */
  broadcast: string;
  wolPort: number;
  event: WakeEvent;
  /** The host's shutdown was simulated: so is its waking, no packet is sent. */
  simulated: boolean;
  /** Magic packets sent so far. */
  packets: number;
  /** Milliseconds since its waking started (0 on WAKING). */
  duration: number;
  /** Why it was not woken (NO_ANSWER: the last send error, if any), else null. */
  error: string | null;
  /** When this message was produced (epoch ms). */
  time: number;
}
