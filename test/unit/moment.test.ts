import assert from "node:assert/strict";
import { MAX_TIMER_MS, timerDelay, wallOf } from "../../core/moment";

describe("the two clocks (core/moment.ts)", () => {
  it("a deadline further than setTimeout can wait (24.8 days) is armed for the longest delay it keeps, never for 1 ms", () => {
    assert.equal(timerDelay(1000 + 30 * 86_400_000, 1000), MAX_TIMER_MS);
    assert.equal(timerDelay(5000, 1000), 4000);
    assert.equal(timerDelay(500, 1000), 0, "a deadline already passed is due now");
  });

  it("the wall-clock time of an earlier monotonic moment", () => {
    assert.equal(wallOf({ mono: 50_000, wall: 1_800_000_000_000 }, 45_000), 1_799_999_995_000);
  });
});
