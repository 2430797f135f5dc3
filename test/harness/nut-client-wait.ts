/** Waiting on a NutClient in tests: bounded, failing with a clear message. */
import should from "./should";
import type { ConnectionState, NutClient, StateChange } from "../../core/nut/client";
import { NutError } from "../../core/nut/errors";

/** Resolve when the client reaches `state` (at once if it is there). */
export function waitState(c: NutClient, state: ConnectionState, ms = 10000): Promise<StateChange> {
  if (c.state === state) return Promise.resolve({ state, error: c.lastError, retryInMs: null });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.off("state", on);
      reject(new Error(`client did not reach "${state}" within ${ms} ms (is "${c.state}")`));
    }, ms);
    const on = (s: StateChange) => {
      if (s.state !== state) return;
      clearTimeout(timer);
      c.off("state", on);
      resolve(s);
    };
    c.on("state", on);
  });
}

/** The NutError `p` rejects with; fails when it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<NutError> {
  try {
    await p;
  } catch (err) {
    should(err).be.instanceOf(NutError, `expected a NutError, got ${String(err)}`);
    return err as NutError;
  }
  throw new Error("expected a rejection");
}
