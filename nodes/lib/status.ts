/**
 * The one renderer of statuses (core/status.ts): every node shows what its
 * core returns through here, translated with RED._ in the language
 * Node-RED runs in, so the editor, Status nodes and dashboards all get the
 * same words.
 */
import type { Node, NodeAPI } from "node-red";
import { type StatusView, type Text, statusOf, textTable } from "../../core/status";

/** Texts every node that checks its configuration shows (each such node's catalog has them). */
export const NODE_TEXTS = textTable({ "status.config": [] });

/** Red ring "configuration error": the node does nothing until it is fixed. */
export const CONFIG_STATUS: StatusView = statusOf("red", "ring", NODE_TEXTS("status.config"));

/** Separates a text from its further facts; the same in every language. */
const MORE = " · ";

/**
 * `text` in words, with RED._ of the node whose catalog holds it
 * (`type`: "nut-ups-in" reads "status.x" as "nut-ups-in.status.x").
 */
export function renderText(RED: NodeAPI, type: string, text: Text): string {
  const params: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(text.params ?? {})) {
    params[name] = typeof value === "object" ? renderText(RED, type, value) : value;
  }
  const key = text.key.includes(":") ? text.key : `${type}.${text.key}`;
  return [RED._(key, params), ...(text.more ?? []).map((m) => renderText(RED, type, m))].join(MORE);
}

/**
 * Shows views on `node`. With `onlyChanges`, a view that renders as the one
 * shown is not sent again (nodes that recompute their status on every poll:
 * the editor gets every call).
 */
export function statusShower(RED: NodeAPI, node: Node, onlyChanges = false): (view: StatusView) => void {
  let shown = "";
  return (view) => {
    const st = { fill: view.fill, shape: view.shape, text: renderText(RED, node.type, view) };
    const key = `${st.fill} ${st.shape} ${st.text}`;
    if (onlyChanges && key === shown) return;
    shown = key;
    node.status(st);
  };
}
