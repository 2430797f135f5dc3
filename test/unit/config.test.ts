/**
 * core/config.ts: what the editor saved, read the same way by every node.
 */
import should from "../harness/should";
import { flag, isEmpty, numberOr, optionalNumber, secondsOr, secondsOrNever, textOf, within } from "../../core/config";

describe("config: editor values", () => {
  it("an empty field is the default, whatever the editor wrote for it", () => {
    for (const v of [undefined, null, "", "  "]) {
      should(isEmpty(v)).be.true(JSON.stringify(v));
      should(optionalNumber(v)).equal(null);
      should(numberOr(v, 5)).equal(5);
      should(secondsOr(v, 5000)).equal(5000);
      should(secondsOrNever(v, null)).equal(null);
    }
  });

  it("a number as a number or as the text typed; anything else is NaN, never the default", () => {
    should(numberOr(7, 5)).equal(7);
    should(numberOr("7.5", 5)).equal(7.5);
    should(numberOr(" 0 ", 5)).equal(0);
    should(Number.isNaN(numberOr("soon", 5))).be.true();
    should(Number.isNaN(numberOr({ toString: 1 }, 5))).be.true("an object is no number (and Number() would throw on this one)");
    should(Number.isNaN(numberOr(true, 5))).be.true();
  });

  it("seconds to ms; a negative number is never (upsmon.conf)", () => {
    should(secondsOr("2.5", 0)).equal(2500);
    should(secondsOrNever("30", 1000)).equal(30_000);
    should(secondsOrNever(-1, 1000)).equal(null);
    should(secondsOrNever("", 1000)).equal(1000);
  });

  it("bounds: at least, more than, at most, whole", () => {
    should(within(0.2, { min: 0.2 })).be.true();
    should(within(0.19, { min: 0.2 })).be.false();
    should(within(0, { above: 0 })).be.false();
    should(within(65535, { min: 1, max: 65535, integer: true })).be.true();
    should(within(65536, { min: 1, max: 65535, integer: true })).be.false();
    should(within(1.5, { integer: true })).be.false();
    should(within(NaN, {})).be.false();
    should(within(Infinity, {})).be.false();
  });

  it("a checkbox as a boolean or its text; anything else the default", () => {
    should(flag(true, false)).be.true();
    should(flag("true", false)).be.true();
    should(flag(false, true)).be.false();
    should(flag("false", true)).be.false();
    should(flag(undefined, true)).be.true();
    should(flag("yes", false)).be.false();
    should(textOf("a")).equal("a");
    should(textOf(3)).equal("");
  });
});
