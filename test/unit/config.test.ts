/**
 * core/config.ts: what the editor saved, read the same way by every node.
 */
import assert from "node:assert/strict";
import { flag, isEmpty, numberOr, optionalNumber, secondsOr, secondsOrNever, textOf, within } from "../../core/config";

describe("config: editor values", () => {
  it("an empty field is the default, whatever the editor wrote for it", () => {
    for (const v of [undefined, null, "", "  "]) {
      assert.equal(isEmpty(v), true, JSON.stringify(v));
      assert.equal(optionalNumber(v), null);
      assert.equal(numberOr(v, 5), 5);
      assert.equal(secondsOr(v, 5000), 5000);
      assert.equal(secondsOrNever(v, null), null);
    }
  });

  it("a number as a number or as the text typed; anything else is NaN, never the default", () => {
    assert.equal(numberOr(7, 5), 7);
    assert.equal(numberOr("7.5", 5), 7.5);
    assert.equal(numberOr(" 0 ", 5), 0);
    assert.ok(Number.isNaN(numberOr("soon", 5)));
    assert.ok(Number.isNaN(numberOr({ toString: 1 }, 5)), "an object is no number (and Number() would throw on this one)");
    assert.ok(Number.isNaN(numberOr(true, 5)));
  });

  it("seconds to ms; a negative number is never (upsmon.conf)", () => {
    assert.equal(secondsOr("2.5", 0), 2500);
    assert.equal(secondsOrNever("30", 1000), 30_000);
    assert.equal(secondsOrNever(-1, 1000), null);
    assert.equal(secondsOrNever("", 1000), 1000);
  });

  it("bounds: at least, more than, at most, whole", () => {
    assert.equal(within(0.2, { min: 0.2 }), true);
    assert.equal(within(0.19, { min: 0.2 }), false);
    assert.equal(within(0, { above: 0 }), false);
    assert.equal(within(65535, { min: 1, max: 65535, integer: true }), true);
    assert.equal(within(65536, { min: 1, max: 65535, integer: true }), false);
    assert.equal(within(1.5, { integer: true }), false);
    assert.equal(within(NaN, {}), false);
    assert.equal(within(Infinity, {}), false);
  });

  it("a checkbox as a boolean or its text; anything else the default", () => {
    assert.equal(flag(true, false), true);
    assert.equal(flag("true", false), true);
    assert.equal(flag(false, true), false);
    assert.equal(flag("false", true), false);
    assert.equal(flag(undefined, true), true);
    assert.equal(flag("yes", false), false);
    assert.equal(textOf("a"), "a");
    assert.equal(textOf(3), "");
  });
});
