/**
 * What the decision nodes' tests need on top of red-helper: a clock moved by
 * hand, and a watch that hands a node a message and waits until the node is
 * done with it.
 */
import { mock } from "node:test";
import type { NodeMessage } from "node-red";
import { collectCompleted, collectErrors, collectStatuses, settle, waitUntil, type TestNode } from "./red-helper";

/**
 * Watches a decision node: its statuses and errors; `receive` hands it a
 * message and waits until the node has finished with it (`done()`), `step`
 * runs an action (a clock tick) and waits for the status the node sets after
 * each timer.
 */
export function watch(node: TestNode) {
  const status = collectStatuses(node);
  const errs = collectErrors(node);
  const completed = collectCompleted(node);
  return {
    status,
    errs,
    lastStatus: () => status[status.length - 1]?.text ?? "",
    async receive(msg: object) {
      const before = completed.length;
      node.receive(msg as NodeMessage);
      await waitUntil(`${node.type} to finish a message`, () => completed.length > before);
      await settle();
    },
    async step(what: string, action: () => void) {
      const before = status.length + errs.length;
      action();
      await waitUntil(what, () => status.length + errs.length > before);
      await settle();
    },
  };
}

/**
 * A clock the tests move by hand: Date and setTimeout are mocked (the nodes'
 * timers), setImmediate is not (Node-RED's message delivery).
 */
export const clock = {
  start(now: number) {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now });
  },
  /** Moves time forward, firing due timers on the way. */
  tick(ms: number) {
    mock.timers.tick(ms);
  },
  stop() {
    mock.timers.reset();
  },
};
