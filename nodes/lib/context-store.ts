/**
 * Node context that must survive a restart when the operator configured a
 * persistent store (ups-aggregate's outage, outage-latch's passes,
 * ssh-shutdown's pending shutdowns): what the chosen store keeps, and
 * reading and writing through the asynchronous API, so stores with
 * `cache: false` (written to disk before the callback) work too.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import type { Node, NodeAPI } from "node-red";

type ContextStorage = Record<string, string | { module?: unknown; config?: { dir?: unknown; base?: unknown } }>;

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

/**
 * How long what a node keeps in a store of `kind` lasts (a status tells the
 * operator what a restart or redeploy will forget): "restart" (it survives
 * one), "redeploy" (memory), "nothing" (no store: dropped when the node
 * stops), "unknown".
 */
export function storeKeeps(kind: StoreKind): "restart" | "redeploy" | "nothing" | "unknown" {
  if (kind === "unconfigured") return "nothing";
  if (kind === "memory") return "redeploy";
  if (kind === "unknown") return "unknown";
  return "restart";
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
 * Why a node could not have back, after a start, the state it kept in its
 * store (what Node-RED's localfilesystem store does with each case was
 * measured on Node-RED 3.1, 4.1 and 5.0; see docs/nodes.md, "Surviving a restart"):
 * - "empty-file": the node's context file is there with 0 bytes (a crash or
 *   power cut while it was written). Node-RED reads it as "nothing stored",
 *   with or without its cache, and says nothing: only the file tells.
 * - "unreadable": the store's get failed (with `cache: false`, a file that is
 *   not JSON: truncated, garbage). With the cache, Node-RED itself refuses
 *   to start on such a file, so a node never sees it.
 * - "unrecognised": a value is stored under the node's key but it is not one
 *   this node writes (edited by hand, another version, another node's data).
 */
export type StoreProblem = { kind: "empty-file"; file: string } | { kind: "unreadable"; error: string } | { kind: "unrecognised" };

/**
 * The file a localfilesystem store keeps `node`'s context in, as
 * @node-red/runtime's localfilesystem.js names it (Node-RED 3.1 to 5.0): the
 * node's context scope is `id:z` (`_alias:z` inside a subflow), kept in
 * `<dir or userDir>/<base>/<z>/<id>.json`; without a flow, `<base>/<id>/flow.json`.
 * Null when `store` is not a localfilesystem store or its folder is not known.
 */
export function contextFile(settings: unknown, store: string | undefined, node: Pick<Node, "id" | "z"> & { _alias?: string }): string | null {
  if (storeKind(settings, store) !== "persistent") return null;
  const s = settings as { contextStorage: ContextStorage; userDir?: unknown };
  const all = s.contextStorage;
  const name = store || (Object.hasOwn(all, "default") ? "default" : Object.keys(all)[0]);
  const alias = all[name];
  const entry = typeof alias === "string" ? all[alias] : alias;
  if (typeof entry !== "object" || entry === null) return null;
  const config = entry.config ?? {};
  const base = typeof config.base === "string" && config.base ? config.base : "context";
  const dir = typeof config.dir === "string" && config.dir ? config.dir : typeof s.userDir === "string" && s.userDir ? s.userDir : null;
  if (!dir) return null;
  const id = node._alias || node.id;
  return node.z ? join(dir, base, node.z, `${id}.json`) : join(dir, base, id, "flow.json");
}

/** The node's context file when it is there and empty (0 bytes), else null. */
export function emptyContextFile(settings: unknown, store: string | undefined, node: Pick<Node, "id" | "z"> & { _alias?: string }): string | null {
  const file = contextFile(settings, store, node);
  if (!file) return null;
  try {
    const st = statSync(file);
    return st.isFile() && st.size === 0 ? file : null;
  } catch {
    return null; // no file: nothing was stored yet (or the folder is not readable, which the store itself will say)
  }
}

/**
 * Reads back what a node stored under `key`: its state (`parse`d), or null
 * when nothing usable is there, and the problem when something was lost
 * rather than never stored. Never rejects: a node that cannot read its
 * state starts from its initial one (each node's rule) and shows why.
 */
export async function loadStored<T>(
  node: Node & { _alias?: string },
  settings: unknown,
  key: string,
  store: string,
  parse: (x: unknown) => T | null,
): Promise<{ value: T | null; problem: StoreProblem | null }> {
  // Looked at before the store is read: reading (or writing) does not change an empty file, but be first anyway.
  const empty = emptyContextFile(settings, store, node);
  let raw: unknown;
  try {
    raw = await loadContext(node, key, store);
  } catch (err) {
    return { value: null, problem: { kind: "unreadable", error: err instanceof Error ? err.message : String(err) } };
  }
  if (raw === undefined) return { value: null, problem: empty ? { kind: "empty-file", file: empty } : null };
  const value = parse(raw);
  return { value, problem: value === null ? { kind: "unrecognised" } : null };
}

/** The message that goes with a store problem's node.error, so a Catch node can route it. */
export function storeProblemMessage(node: Node, store: string, key: string, problem: StoreProblem): { topic: string; payload: Record<string, unknown> } {
  return {
    topic: `${node.type}/context`,
    payload: { store: store || "default", key, problem: problem.kind, ...(problem.kind === "empty-file" ? { file: problem.file } : {}) },
  };
}

/**
 * Says, with node.error and the message of storeProblemMessage (for a Catch
 * node), that what `node` stored could not be had back, in the words of its
 * catalog: `<type>.errors.load` (followed by the store's error) or
 * `<type>.errors.store-<kind>` (outage-latch, wake-hosts).
 */
export function reportStoreProblem(RED: NodeAPI, node: Node, store: string, key: string, problem: StoreProblem): void {
  const text =
    problem.kind === "unreadable"
      ? `${RED._(`${node.type}.errors.load`)}: ${problem.error}`
      : RED._(`${node.type}.errors.store-${problem.kind}`, problem.kind === "empty-file" ? { file: problem.file } : {});
  node.error(text, storeProblemMessage(node, store, key, problem));
}
