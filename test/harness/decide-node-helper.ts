/**
 * node-red-node-test-helper for the decision nodes' tests: typed, initialised
 * once, plus what those tests need around it (a controllable clock, waiting for
 * a condition, a context store that outlives a simulated restart).
 */
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { mock } from "node:test";
import type { Node, NodeMessage } from "node-red";

export interface TestHelper {
  init(runtimePath: string, settings?: object): void;
  settings(s: object): object;
  load(nodes: unknown, flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  setFlows(flow: object[], type?: "full" | "flows" | "nodes"): Promise<void>;
  clearFlows(): Promise<void>;
  /** The spy on the runtime log: each call's first argument is {level, id, type, msg}. */
  log(): { args: Array<[{ level: number; id?: string; type?: string; msg?: unknown }]> };
}

export type TestNode = Node & EventEmitter;

const req = createRequire(__filename);
export const helper = req("node-red-node-test-helper") as TestHelper;
helper.init(req.resolve("node-red"));

/** Node-RED's context module (the same instance the helper's runtime uses). */
interface ContextModule {
  load(): Promise<void>;
  close(): Promise<void>;
}
const context = req("@node-red/runtime/lib/nodes/context") as ContextModule;

/**
 * Passed to `helper.load` with the node modules: the helper initialises the
 * context module (memory only) but never loads the stores of
 * `settings.contextStorage`; this does it before the flows start.
 */
export function loadContextStores(): Promise<void> {
  return context.load();
}

/** Closes the stores: a file store flushes what it cached, as on a clean stop of Node-RED. */
export function closeContextStores(): Promise<void> {
  return context.close();
}

// Real timers, kept before any test mocks them.
const realSetTimeout = globalThis.setTimeout;
const realSetImmediate = globalThis.setImmediate;

/** One turn of the event loop (setImmediate is never mocked here). */
export function turn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/**
 * Lets every message in flight reach its end: Node-RED delivers each hop
 * on a later turn, so enough turns empty a flow with no I/O.
 */
export async function settle(turns = 60): Promise<void> {
  for (let i = 0; i < turns; i++) await turn();
}

/** Waits (bounded, in real time) until `check` is true; fails with `what`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  let expired = false;
  const timer = realSetTimeout(() => (expired = true), timeoutMs);
  try {
    while (!check()) {
      if (expired) throw new Error(`timed out waiting for ${what}`);
      await turn();
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Every message a helper node receives, in order. */
export function collect(node: TestNode): NodeMessage[] {
  const got: NodeMessage[] = [];
  node.on("input", (m: NodeMessage) => got.push(m));
  return got;
}

/** The texts a node passed to `node.error`, as they happen. */
export function errors(node: TestNode): string[] {
  const got: string[] = [];
  node.on("call:error", (call: { args: unknown[] }) => got.push(String(call.args[0])));
  return got;
}

/** The last status a node set. */
export function statuses(node: TestNode): Array<{ fill?: string; shape?: string; text?: string }> {
  const got: Array<{ fill?: string; shape?: string; text?: string }> = [];
  node.on("call:status", (call: { args: unknown[] }) => got.push(call.args[0] as { text?: string }));
  return got;
}

/** How many messages each node has finished (called `done()` for), from Node-RED's onComplete hook. */
const completions = new Map<string, number>();
interface Hooks {
  add(name: string, fn: (event: { node: { id: string } }) => void): void;
}
(req("@node-red/util") as { hooks: Hooks }).hooks.add("onComplete.decideTests", (event) => {
  completions.set(event.node.id, (completions.get(event.node.id) ?? 0) + 1);
});

/**
 * Watches a decision node: its statuses and errors; `receive` hands it a
 * message and waits until the node has finished with it (`done()`), `step`
 * runs an action (a clock tick) and waits for the status the node sets after
 * each timer.
 */
export function watch(node: TestNode) {
  const status = statuses(node);
  const errs = errors(node);
  return {
    status,
    errs,
    lastStatus: () => status[status.length - 1]?.text ?? "",
    async receive(msg: object) {
      const before = completions.get(node.id) ?? 0;
      node.receive(msg as NodeMessage);
      await waitFor(`${node.type} to finish a message`, () => (completions.get(node.id) ?? 0) > before);
      await settle();
    },
    async step(what: string, action: () => void) {
      const before = status.length + errs.length;
      action();
      await waitFor(what, () => status.length + errs.length > before);
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
