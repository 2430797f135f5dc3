/**
 * Why ups-aggregate counts a source the way it does, as codes with
 * parameters: the aggregate decides with these and compares them to tell a
 * change, and only the message it sends carries them as English words
 * (`SourceState.note`, via `noteText`). Rewording a note here cannot change
 * when a message is sent.
 */

/** Why a source's data is not current. */
export type StaleWhy =
  | { code: "never-reported" }
  /** No message for `seconds` (the silent time) or more. */
  | { code: "silent"; seconds: number }
  | { code: "unreachable" }
  | { code: "stale" };

/** One clause of a source's note. Durations are whole seconds of the configuration. */
export type Note =
  | StaleWhy
  | { code: "never-reported-lost"; dead: number }
  | { code: "not-counted-never-reported" }
  | { code: "fsd" }
  | { code: "last-over"; why: StaleWhy; over: number }
  | { code: "last-alarm"; why: StaleWhy }
  | { code: "last-cal"; why: StaleWhy }
  | { code: "last-bypass"; why: StaleWhy }
  | { code: "last-off"; why: StaleWhy }
  | { code: "off"; off: number }
  | { code: "dead-on-battery-oblb"; why: StaleWhy; dead: number; oblb: number }
  | { code: "dead-on-battery"; why: StaleWhy; dead: number }
  | { code: "dead-lost"; why: StaleWhy; dead: number }
  | { code: "dead-on-line"; why: StaleWhy; dead: number }
  | { code: "kept"; why: StaleWhy; dead: number }
  | { code: "calibrating" }
  | { code: "lb-calibrating" }
  | { code: "lb-not-yet"; oblb: number }
  | { code: "neither"; status: string | null }
  | { code: "via"; topic: string }
  | { code: "ignored"; why: StaleWhy };

function clause(n: Note): string {
  const beyond = (dead: number) => `beyond the dead time (${dead} s)`;
  switch (n.code) {
    case "never-reported":
      return "never reported";
    case "silent":
      return `silent for ${n.seconds} s or more`;
    case "unreachable":
      return "server unreachable";
    case "stale":
      return "data stale";
    case "never-reported-lost":
      return `never reported within the dead time (${n.dead} s): counted as lost`;
    case "not-counted-never-reported":
      return "never reported: not counted";
    case "fsd":
      return "FSD: forced shutdown";
    case "last-over":
      return `${clause(n.why)}, last seen overloaded (OVER) for ${n.over} s or more: counted as lost`;
    case "last-alarm":
      return `${clause(n.why)}, last seen in ALARM: counted as lost`;
    case "last-cal":
      return `${clause(n.why)}, last seen calibrating (CAL): counted as lost`;
    case "last-bypass":
      return `${clause(n.why)}, last seen on BYPASS: counted as lost`;
    case "last-off":
      return `${clause(n.why)}, last seen OFF: counted as lost`;
    case "off":
      return `OFF for ${n.off} s or more: counted as a lost feed`;
    case "dead-on-battery-oblb":
      return `${clause(n.why)} ${beyond(n.dead)}, last seen on battery: exhausted once low battery has lasted ${n.oblb} s`;
    case "dead-on-battery":
      return `${clause(n.why)} ${beyond(n.dead)}, last seen on battery: counted as exhausted`;
    case "dead-lost":
      return `${clause(n.why)} ${beyond(n.dead)}: counted as lost`;
    case "dead-on-line":
      return `${clause(n.why)} ${beyond(n.dead)}, last seen on line power: not counted`;
    case "kept":
      return `${clause(n.why)}: last values kept for the dead time (${n.dead} s)`;
    case "calibrating":
      return "calibrating (CAL): not a power loss";
    case "lb-calibrating":
      return "low battery while calibrating (CAL): not critical";
    case "lb-not-yet":
      return `low battery for less than ${n.oblb} s: not critical yet`;
    case "neither":
      return `status ${n.status ?? "unknown"}: neither OL nor OB, not counted`;
    case "via":
      return `reported as ${n.topic}: matched by UPS name, update the list`;
    case "ignored":
      return `${clause(n.why)}: ignored while other sources report`;
  }
}

/** A source's note in words, its clauses joined by "; "; null when there is nothing to say. */
export function noteText(notes: readonly Note[]): string | null {
  return notes.length ? notes.map(clause).join("; ") : null;
}
