/**
 * Copying the message a node answers (nut-ups-in's poll trigger, the power
 * state battery-tier-switch routes, the request ssh-shutdown reports on).
 */
import type { NodeAPI, NodeMessage } from "node-red";

/**
 * RED.util.cloneMessage, and when that throws (Node-RED's deep copy fails on
 * some objects a function node can build, such as one whose prototype is a
 * Map: found by test/fuzz/node-inputs.test.ts), a copy without the top-level
 * properties that cannot be copied, so that what the node decided still goes
 * out. `dropped` names what was left out. `req` and `res` are shared, as
 * cloneMessage shares them.
 */
export function copyMessage<T extends NodeMessage>(RED: NodeAPI, msg: T): { copy: T; dropped: string[] } {
  try {
    return { copy: RED.util.cloneMessage(msg), dropped: [] };
  } catch {
    // property by property below
  }
  const copy: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(msg)) {
    let v: unknown = value;
    if (key !== "req" && key !== "res") {
      try {
        v = RED.util.cloneMessage({ v: value } as NodeMessage & { v: unknown }).v;
      } catch {
        dropped.push(key);
        continue;
      }
    }
    // defineProperty: an own "__proto__" (JSON.parse makes those) stays a property, never a prototype
    Object.defineProperty(copy, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return { copy: copy as T, dropped };
}
