/**
 * How every node of the package says what is wrong (docs/nodes.md, "When
 * something is wrong"):
 * - a bad configuration: node.error once at start naming every problem, a
 *   red "configuration error" status, and then each message that arrives is
 *   finished with done(err) naming the problems, so a Catch node hears of a
 *   misconfigured node at every message of an outage instead of silence;
 * - a bad message: done(err) saying what is wrong (Node-RED logs it with the
 *   message, for a Catch node); the node keeps its state and sends nothing.
 */
import type { Node, NodeAPI, NodeMessageInFlow } from "node-red";
import { textTable } from "../../core/status";
import { CONFIG_STATUS, renderText, statusShower } from "./status";

/** Texts each node that uses them has in its catalog. */
export const ERROR_TEXTS = textTable({
  "errors.config": ["problems"],
  "errors.config-input": ["problems"],
  "errors.bad-input": ["problem"],
});

/**
 * The node cannot work as configured: says so now and at every message,
 * and does nothing else. `problems` are in words; the caller returns after this.
 */
export function refuseMisconfigured(RED: NodeAPI, node: Node, problems: readonly string[]): void {
  const list = problems.join("; ");
  node.error(renderText(RED, node.type, ERROR_TEXTS("errors.config", { problems: list })));
  statusShower(RED, node)(CONFIG_STATUS);
  const refusal = renderText(RED, node.type, ERROR_TEXTS("errors.config-input", { problems: list }));
  node.on("input", (_msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => {
    done(new Error(refusal));
  });
}

/** The error that finishes a message the node cannot use (`problem`: what is wrong with it). */
export function inputError(RED: NodeAPI, node: Node, problem: string): Error {
  return new Error(renderText(RED, node.type, ERROR_TEXTS("errors.bad-input", { problem })));
}
