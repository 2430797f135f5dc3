/**
 * One timer for the polls due at about the same instant. Each nut-ups-in
 * polls at its own fixed rate; nodes deployed together, or polling at
 * multiples of one another's interval, come due within a few ms of each
 * other, and each with its own timer woke the process on its own: at one
 * to a few UPSes the wake-ups are most of what polling costs
 * (docs/benchmarks.md). So a poll due at `wanted` joins a tick already set
 * for at most `early` ms before it, and runs that much sooner; else it sets
 * a tick of its own, which takes along the polls set for at most their own
 * `early` after it. Polls of one server that run in one tick leave in one
 * write (core/nut/client.ts).
 *
 * A poll never runs later than it wants (to the timer's precision), so the
 * interval a node promises is kept: only its phase may move, and only
 * earlier.
 */

interface Tick {
  at: number;
  timer: NodeJS.Timeout;
  members: Member[];
}

interface Member {
  run: () => void;
  early: number;
  tick: Tick;
}

export interface PollClock {
  /**
   * Run `run` once at `wanted` (performance.now() ms), or up to `early` ms
   * sooner with another poll. Returns what cancels it.
   */
  schedule(wanted: number, early: number, run: () => void): () => void;
  /** Ticks set (for tests). */
  pending(): number;
}

export function newPollClock(): PollClock {
  // few: one per distinct instant, at most one per node
  const ticks: Tick[] = [];

  function drop(tick: Tick): void {
    clearTimeout(tick.timer);
    ticks.splice(ticks.indexOf(tick), 1);
  }

  function fire(tick: Tick): void {
    ticks.splice(ticks.indexOf(tick), 1);
    for (const m of tick.members) m.run();
  }

  function newTick(at: number): Tick {
    const tick: Tick = { at, members: [], timer: setTimeout(() => fire(tick), Math.max(0, at - performance.now())) };
    // polls set a little later that may run this much sooner come along
    for (const later of [...ticks]) {
      if (later.at <= at) continue;
      later.members = later.members.filter((m) => {
        if (later.at - at > m.early) return true;
        m.tick = tick;
        tick.members.push(m);
        return false;
      });
      if (later.members.length === 0) drop(later);
    }
    ticks.push(tick);
    return tick;
  }

  return {
    schedule(wanted, early, run) {
      const tick = ticks.find((t) => t.at <= wanted && t.at >= wanted - early) ?? newTick(wanted);
      const member: Member = { run, early, tick };
      tick.members.push(member);
      return () => {
        const t = member.tick;
        const i = t.members.indexOf(member);
        if (i < 0) return;
        t.members.splice(i, 1);
        if (t.members.length === 0 && ticks.includes(t)) drop(t);
      };
    },
    pending: () => ticks.length,
  };
}

/** The clock every nut-ups-in of this Node-RED shares. */
export const pollClock: PollClock = newPollClock();

/** How much sooner a poll with this interval (ms) may run to share a tick: a tenth of it, at most 250 ms. */
export function earlyFor(intervalMs: number): number {
  return Math.min(intervalMs / 10, 250);
}
