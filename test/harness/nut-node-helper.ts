/**
 * A watcher for the NUT nodes' tests (on top of red-helper): records what a
 * node sends, shows and reports, so a test waits for the next matching item
 * instead of sleeping.
 */
import type { NodeMessage, NodeStatus } from "node-red";
import type { UpsState } from "../../core/contract";
import { collect, collectCompleted, collectStatuses, errorText, helper, waitUntil, type SpyCall } from "./red-helper";

export type UpsMsg = NodeMessage & { topic: string; payload: UpsState; summary: string };

export interface Watch {
  messages: UpsMsg[];
  statuses: NodeStatus[];
  /** Each node.error with the message it went with (what a Catch node would get). */
  errors: Array<{ text: string; msg: NodeMessage | undefined }>;
  /** Messages whose handling the node finished (done() called). */
  completed: NodeMessage[];
  /** Resolves with the first recorded item after `from` (index) that matches; fails clearly after `ms`. */
  next<K extends "messages" | "statuses" | "errors" | "completed">(
    kind: K,
    match: (item: Watch[K][number]) => boolean,
    ms?: number,
    from?: number,
  ): Promise<Watch[K][number]>;
}

/** Record what `nodeId` reports and what `outId` (a helper node wired to it) receives. */
export function watch(nodeId: string, outId?: string): Watch {
  const node = helper.getNode(nodeId);
  const errors: Watch["errors"] = [];
  node.on("call:error", (call: SpyCall) => errors.push({ text: errorText(call.args[0]), msg: call.args[1] as NodeMessage | undefined }));
  const w: Watch = {
    messages: outId ? collect<UpsMsg>(helper.getNode(outId)) : [],
    statuses: collectStatuses(node),
    errors,
    completed: collectCompleted(node),
    next(kind, match, ms = 10000, from = 0) {
      return waitUntil(
        `a matching ${kind} item from ${nodeId}`,
        () => (w[kind] as Array<Watch[typeof kind][number]>).slice(from).find(match),
        ms,
      );
    },
  };
  return w;
}
