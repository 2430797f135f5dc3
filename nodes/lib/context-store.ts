/**
 * Node-RED context store facts a node may need to warn about.
 */

type ContextStorage = Record<string, string | { module?: unknown }>;

/**
 * Whether `store` (or the default store) keeps data across a restart. With no
 * store configured, Node-RED even deletes a node's context when that node is
 * redeployed (Node.close), so anything kept there is lost at the next deploy.
 */
export function persistentStore(settings: unknown, store: string | undefined): boolean {
  const storage = (settings as { contextStorage?: ContextStorage } | undefined)?.contextStorage;
  if (!storage || Object.keys(storage).length === 0) return false;
  // Without a "default" entry, Node-RED uses the first store listed.
  let entry = storage[store ?? "default"] ?? (store ? undefined : storage[Object.keys(storage)[0]]);
  if (typeof entry === "string") entry = storage[entry];
  return typeof entry === "object" && entry !== null && entry.module !== "memory";
}
