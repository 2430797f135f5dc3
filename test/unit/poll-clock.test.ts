/**
 * The shared poll clock (nodes/lib/poll-clock.ts), on sinon's fake timers:
 * polls due at about the same instant share one timer, none runs later than
 * it wants, and none more than `early` sooner.
 */
import should from "../harness/should";
import sinon from "sinon";
import { earlyFor, newPollClock, type PollClock } from "../../nodes/lib/poll-clock";

describe("poll clock", () => {
  let clock: sinon.SinonFakeTimers;
  let polls: PollClock;
  /** [who, fake now] of every run. */
  let ran: Array<[string, number]>;
  const run = (who: string) => () => ran.push([who, performance.now()]);

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"], now: 0 });
    polls = newPollClock();
    ran = [];
  });
  afterEach(() => clock.restore());

  it("a poll due within `early` after a tick already set runs with it, on one timer", () => {
    polls.schedule(1000, 100, run("a"));
    polls.schedule(1040, 100, run("b"));
    should(polls.pending()).equal(1);
    should(clock.countTimers()).equal(1);
    clock.tick(1000);
    should(ran).eql([
      ["a", 1000],
      ["b", 1000],
    ]);
    should(polls.pending()).equal(0);
  });

  it("never runs a poll later than it wants; a tick set sooner takes along the polls within their `early`, not the others", () => {
    polls.schedule(1000, 100, run("a"));
    polls.schedule(1200, 100, run("far")); // 200 ms sooner is more than it allows
    polls.schedule(990, 100, run("sooner")); // the tick at 1000 would be 10 ms late: its own, and a comes along
    polls.schedule(1300, 50, run("strict")); // 100 ms after far's tick, more than it allows
    should(polls.pending()).equal(3);
    should(clock.countTimers()).equal(3);
    clock.tick(1300);
    should(ran).eql([
      ["a", 990],
      ["sooner", 990],
      ["far", 1200],
      ["strict", 1300],
    ]);
  });

  it("a poll taken along to a sooner tick can still be cancelled", () => {
    const cancelA = polls.schedule(1000, 100, run("a"));
    polls.schedule(990, 100, run("sooner"));
    cancelA();
    clock.tick(1000);
    should(ran).eql([["sooner", 990]]);
  });

  it("a cancelled poll does not run; a tick left with nobody clears its timer", () => {
    const cancelA = polls.schedule(1000, 100, run("a"));
    const cancelB = polls.schedule(1050, 100, run("b"));
    cancelA();
    should(polls.pending()).equal(1);
    cancelB();
    should(polls.pending()).equal(0);
    should(clock.countTimers()).equal(0);
    cancelB(); // twice: nothing
    clock.tick(2000);
    should(ran).eql([]);
  });

  it("nodes polling at 1 s and 5 s from one start keep sharing a tick every 5 s (each reschedules from its start)", () => {
    const starts: Record<string, number[]> = { one: [], five: [] };
    const every = (who: "one" | "five", ms: number) => {
      const go = (): void => {
        const start = performance.now();
        starts[who].push(start);
        polls.schedule(start + ms, earlyFor(ms), go);
      };
      return go;
    };
    every("one", 1000)();
    clock.tick(3); // the second node's first poll a little later, as nodes started one after the other
    every("five", 5000)();
    clock.tick(20000);
    should(starts.one).eql([
      0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000, 18000, 19000, 20000,
    ]);
    // it joined the 1 s node's tick 3 ms sooner than it asked, and stays on it
    should(starts.five).eql([3, 5000, 10000, 15000, 20000]);
  });

  it("earlyFor: a tenth of the interval, at most 250 ms", () => {
    should(earlyFor(200)).equal(20);
    should(earlyFor(1000)).equal(100);
    should(earlyFor(5000)).equal(250);
  });
});
