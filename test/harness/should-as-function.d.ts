/**
 * Types for should.js's function-only entry point ("should/as-function"; the
 * package types only "should", which also extends Object.prototype).
 * `should.exist` narrows like the check it makes: after it, the value is
 * neither null nor undefined.
 */
declare module "should/as-function" {
  import type base from "should";

  type ErrorClass = abstract new (...args: never[]) => unknown;

  interface Assertion extends base.Assertion {
    /** As for throw (the package types leave the class out): a message, or a class then properties or a function that checks the error. */
    rejectedWith(expected: RegExp | string | Error | ErrorClass, properties?: object): Promise<unknown>;
    rejectedWith(properties: object): Promise<unknown>;
  }

  interface ShouldFunction {
    (obj: unknown): Assertion;
    /** Fails when `obj` is null or undefined. */
    exist<T>(obj: T, msg?: string): asserts obj is NonNullable<T>;
    not: {
      /** Fails unless `obj` is null or undefined. */
      exist(obj: unknown, msg?: string): void;
    };
    /** Throws an AssertionError with `message` (node:assert's legacy signature). */
    fail(actual: unknown, expected: unknown, message?: string, operator?: string): never;
    AssertionError: new (options: { message?: string }) => Error;
    config: {
      /** eql compares prototypes (should-equal's default: true). */
      checkProtoEql: boolean;
      /** eql takes +0 and -0 as equal (should-equal's default: true). */
      plusZeroAndMinusZeroEqual: boolean;
    };
  }

  const should: ShouldFunction;
  export = should;
}
