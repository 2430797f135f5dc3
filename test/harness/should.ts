/**
 * should.js, the assertion library of Node-RED's own node tests, used as a
 * function: `should(x).equal(1)`. Object.prototype gets no `should` getter,
 * and a null or undefined subject works like any other.
 *
 * `eql` is set as strict as Node's assert.deepStrictEqual: prototypes must be
 * the same, and +0 and -0 are two values.
 */
import should from "should/as-function";

should.config.checkProtoEql = true;
should.config.plusZeroAndMinusZeroEqual = false;

export default should;
