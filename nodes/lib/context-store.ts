/**
 * Node context that must survive a restart when the operator configured a
 * persistent store (ups-aggregate's outage, outage-latch's passes,
 * ssh-shutdown's pending shutdowns): what the chosen store keeps, and
 * reading and writing through the asynchronous API, so stores with
 * `cache: false` (written to disk before the callback) work too.
 */
import type { Node } from "node-red";

type ContextStorage = Record<string, string | { module?: unknown }>;

/**
 * What `store` ("" or undefined = the default store) keeps:
 * - "unconfigured": no contextStorage in settings.js; Node-RED then drops a
 *   node's context when the node stops, so even a redeploy forgets;
 * - "memory": kept over a redeploy, lost on a restart;
 * - "persistent": localfilesystem, kept over a restart;
 * - "custom": another module, assumed to know what it does;
 * - "unknown": a store name contextStorage does not list (Node-RED falls
 *   back to the default store and logs a warning): not counted on.
 */
export type StoreKind = "unconfigured" | "memory" | "persistent" | "custom" | "unknown";

export function storeKind(settings: unknown, store: string | undefined): StoreKind {
  const all = (settings as { contextStorage?: ContextStorage } | undefined)?.contextStorage;
  if (!all || Object.keys(all).length === 0) return "unconfigured";
  // Without a "default" entry, Node-RED uses the first store listed.
  const name = store || (Object.hasOwn(all, "default") ? "default" : Object.keys(all)[0]);
  if (!Object.hasOwn(all, name)) return "unknown";
  // "default" may name another store.
  const alias = all[name];
  const entry = typeof alias === "string" ? (Object.hasOwn(all, alias) ? all[alias] : undefined) : alias;
  if (typeof entry !== "object" || entry === null) return "unknown";
  if (entry.module === "memory") return "memory";
  if (entry.module === "localfilesystem") return "persistent";
  return "custom";
}

/** Whether what is kept in `store` survives a restart (a custom module is trusted to). */
export function persistentStore(settings: unknown, store: string | undefined): boolean {
  const kind = storeKind(settings, store);
  return kind === "persistent" || kind === "custom";
}

/** Status suffix telling the operator what a restart or redeploy will forget. */
export function storeWarning(kind: StoreKind): string {
  if (kind === "unconfigured") return " · memory only, lost on redeploy";
  if (kind === "memory") return " · memory only";
  if (kind === "unknown") return " · unknown context store";
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
