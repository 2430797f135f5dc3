/**
 * core/moment.ts: the monotonic and wall clocks every decision reads, and
 * timer delays.
 */
import should from "../harness/should";
import { MAX_TIMER_MS, timerDelay, wallOf } from "../../core/moment";

describe("the two clocks (core/moment.ts)", () => {
  it("a deadline further than setTimeout can wait (24.8 days) is armed for the longest delay it keeps, never for 1 ms", () => {
    should(timerDelay(1000 + 30 * 86_400_000, 1000)).equal(MAX_TIMER_MS);
    should(timerDelay(5000, 1000)).equal(4000);
    should(timerDelay(500, 1000)).equal(0, "a deadline already passed is due now");
  });

  it("the wall-clock time of an earlier monotonic moment", () => {
    should(wallOf({ mono: 50_000, wall: 1_800_000_000_000 }, 45_000)).equal(1_799_999_995_000);
  });
});
