/**
 * Context-store plumbing shared by ups-aggregate and outage-latch: both keep
 * a small piece of state that must survive a restart when the operator
 * configured a persistent store. Always the asynchronous API, so stores with
 * `cache: false` (written to disk before the callback) work too.
 */
import type { Node, NodeAPI } from "node-red";

interface StoreSetting {
  module?: unknown;
}

/**
 * What `store` ("" = the default store) keeps:
 * - "unconfigured": no contextStorage in settings.js; Node-RED then drops a
 *   node's context when the node stops, so even a redeploy forgets;
 * - "memory": kept over a redeploy, lost on a restart;
 * - "persistent": localfilesystem, kept over a restart;
 * - "custom": another module, assumed to know what it does.
 */
export type StoreKind = "unconfigured" | "memory" | "persistent" | "custom";

export function storeKind(RED: NodeAPI, store: string): StoreKind {
  const all = (RED.settings as { contextStorage?: Record<string, StoreSetting | string> }).contextStorage;
  if (!all || !Object.keys(all).length) return "unconfigured";
  // An unknown name falls back to the default store, as Node-RED does.
  let name = store && all[store] ? store : "default";
  if (!all[name]) name = Object.keys(all)[0];
  let entry = all[name];
  if (typeof entry === "string") entry = all[entry];
  const module = typeof entry === "object" ? entry.module : undefined;
  if (module === "memory") return "memory";
  if (module === "localfilesystem") return "persistent";
  return "custom";
}

/** Status suffix telling the operator what a restart or redeploy will forget. */
export function storeWarning(kind: StoreKind): string {
  if (kind === "unconfigured") return " · memory only, lost on redeploy";
  if (kind === "memory") return " · memory only";
  return "";
}

export function loadContext(node: Node, key: string, store: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    node.context().get(key, store || undefined, (err: Error, value: unknown) => (err ? reject(err) : resolve(value)));
  });
}

export function saveContext(node: Node, key: string, value: unknown, store: string): Promise<void> {
  return new Promise((resolve, reject) => {
    node.context().set(key, value, store || undefined, (err: Error) => (err ? reject(err) : resolve()));
  });
}

/**
 * Runs tasks one after the other, in the order they were queued: a message
 * is handled (state stored, then sent) before the next one is looked at.
 * A task that throws goes to `fail` (default: `onError`), and the queue goes on.
 */
export function serialQueue(onError: (err: unknown) => void): (task: () => Promise<void> | void, fail?: (err: unknown) => void) => void {
  let tail: Promise<void> = Promise.resolve();
  return (task, fail = onError) => {
    tail = tail.then(task).catch(fail);
  };
}

/** Ends an input handler with the error, so Node-RED reports it with the message (a catch node sees it). */
export function failWith(done: (err?: Error) => void): (err: unknown) => void {
  return (err) => done(err instanceof Error ? err : new Error(String(err)));
}
