/**
 * node-red-node-test-helper, typed and initialised once for every node test,
 * and what those tests wait on instead of sleeping: the calls the helper's
 * spies see, what a node sends, shows and reports, and `watch`, which hands
 * a node a message and waits until the node is done with it (the bounded
 * wait itself is `waitUntil`, in wait.ts).
 *
 * The helper spies on Node.prototype (log, status, warn, error, debug, trace,
 * send) from `load` on, and emits `call:<method>` on the node a tick after
 * each call. Two ways to look at that, both used:
 * - history since the flow was loaded (`callsOf`, `statusTexts`,
 *   `loggedText`): also sees what a node did while it started;
 * - live arrays filled from now on (`collect…`): for waiting on them.
 */
import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import type { Node, NodeAPI, NodeMessage, NodeStatus } from "node-red";
import { translator } from "./catalog";
import { targetRuntime } from "./runtime";
import { waitUntil } from "./wait";

const req = createRequire(__filename);
/** Resolves from the Node-RED under test, so its own @node-red/* modules are found (4.x at the top, 5.x nested in node-red-5). */
const runtimeReq = createRequire(req.resolve(`${targetRuntime}/package.json`));

// Real timers, kept before any test mocks them (the decision tests mock setTimeout and Date).
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetImmediate = globalThis.setImmediate;

export interface SpyCall<A extends unknown[] = unknown[]> {
  args: A;
  thisValue: unknown;
}

/** A sinon spy as the helper installs it. */
export interface Spy<A extends unknown[] = unknown[]> {
  getCalls(): SpyCall<A>[];
  /** Each call's arguments. */
  args: A[];
  callCount: number;
}

/** One call of the runtime log (`RED.log.log`). */
export interface LogEntry {
  level: number;
  id?: string;
  type?: string;
  msg?: unknown;
}

/** A node of a loaded flow: its spied methods are shared by every node (they live on the prototype). */
export type TestNode = Node &
  EventEmitter & {
    status: Node["status"] & Spy;
    error: Node["error"] & Spy;
    warn: Node["warn"] & Spy;
    log: Node["log"] & Spy;
    send: Node["send"] & Spy;
  };

/** The part of supertest the tests use. */
export interface TestResponse {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

export interface TestRequest extends PromiseLike<TestResponse> {
  send(body: object): TestRequest;
  query(q: Record<string, string | number>): TestRequest;
  set(header: string, value: string): TestRequest;
}

export interface TestHelper {
  init(runtimePath: string, settings?: object): void;
  /** Settings for the next load, merged with Node-RED's defaults (`{}` resets: the helper is shared by every test file). */
  settings(settings: object): object;
  /** `nodes` are node modules (or functions run with RED before the flow starts). */
  load(nodes: unknown, flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  setFlows(flow: object[], type?: "full" | "flows" | "nodes", credentials?: object): Promise<void>;
  /** Stops the flows (as a stop of Node-RED would), leaves the helper loaded. */
  clearFlows(): Promise<void>;
  /** The editor API (httpAdmin) of the loaded runtime. */
  request(): { get(url: string): TestRequest; post(url: string): TestRequest };
  /** The spy on the runtime log since the last load. */
  log(): Spy<[LogEntry]>;
}

export const helper = req("node-red-node-test-helper") as TestHelper;
helper.init(req.resolve(targetRuntime));

/**
 * The helper hands nodes a `RED._` that returns the key it is given; a node
 * here gets the package's English catalog instead (test/harness/catalog.ts),
 * so the tests see the statuses and errors a person reads, and a key missing
 * from the catalog shows as a key.
 */
const load = helper.load.bind(helper);
helper.load = (nodes, flow, credentials) => {
  const translated = (fn: unknown) => (red: { _: unknown }) => {
    red._ = translator("en-US");
    return (fn as (red: unknown) => unknown)(red);
  };
  return load(Array.isArray(nodes) ? nodes.map(translated) : translated(nodes), flow, credentials);
};

/** The runtime the helper loaded: its version and the class of its nodes (to check a run tests the Node-RED it claims to). */
export const helperRuntime = {
  version: (runtimeReq("@node-red/runtime/package.json") as { version: string }).version,
  Node: runtimeReq("@node-red/runtime/lib/nodes/Node") as new (...args: never[]) => object,
};

/** Node-RED's context module: the instance the helper's runtime uses. */
const context = runtimeReq("@node-red/runtime/lib/nodes/context") as { load(): Promise<void>; close(): Promise<void> };

/**
 * Opens the stores of `settings.contextStorage`, which the helper never does
 * (it starts memory-only context). Pass it to `helper.load` with the node
 * modules so it runs before the flow starts, or call it before `setFlows`.
 */
export function loadContextStores(): Promise<void> {
  return context.load();
}

/** Closes the stores: a file store flushes what it cached, as on a clean stop of Node-RED. */
export function closeContextStores(): Promise<void> {
  return context.close();
}

/**
 * Lets every message in flight reach its end: Node-RED delivers each hop on a
 * later turn of the event loop, so enough turns empty a flow with no I/O.
 */
export async function settle(turns = 60): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => realSetImmediate(resolve));
}

/** Waits until `node` emits `event` (`input`, `call:error`…) `count` times from now; fails clearly after `timeoutMs`. */
export function waitForCalls(node: TestNode, event: string, count: number, timeoutMs = 15000): Promise<SpyCall[]> {
  return new Promise((resolve, reject) => {
    const calls: SpyCall[] = [];
    const timer = realSetTimeout(() => {
      node.removeListener(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms: ${calls.length}/${count} ${event} on ${node.type} ${node.id}`));
    }, timeoutMs);
    const on = (call: SpyCall): void => {
      calls.push(call);
      if (calls.length >= count) {
        realClearTimeout(timer);
        node.removeListener(event, on);
        resolve(calls);
      }
    };
    node.on(event, on);
  });
}

/** Every message a (helper) node receives from now on, in order. */
export function collect<M extends NodeMessage = NodeMessage>(node: TestNode): M[] {
  const got: M[] = [];
  node.on("input", (msg: M) => got.push(msg));
  return got;
}

/** Every status `node` sets from now on. */
export function collectStatuses(node: TestNode): NodeStatus[] {
  const got: NodeStatus[] = [];
  node.on("call:status", (call: SpyCall) => got.push(call.args[0] as NodeStatus));
  return got;
}

/** What a `node.error` says: its text, or the message of the Error it was given (`done(err)` passes an Error). */
export function errorText(logged: unknown): string {
  return logged instanceof Error ? logged.message : String(logged);
}

/** The text of every `node.error` from now on. */
export function collectErrors(node: TestNode): string[] {
  const got: string[] = [];
  node.on("call:error", (call: SpyCall) => got.push(errorText(call.args[0])));
  return got;
}

// Node-RED's onComplete hook sees every done() of every node (kept across loads).
const completedBy = new WeakMap<object, NodeMessage[]>();
(runtimeReq("@node-red/util") as { hooks: { add(name: string, fn: (event: { msg: NodeMessage; node: { node: object } }) => void): void } }).hooks.add(
  "onComplete.redHelper",
  (event) => completedBy.get(event.node.node)?.push(event.msg),
);

/** Every message `node` finishes handling (calls `done()` for) from now on. */
export function collectCompleted(node: TestNode): NodeMessage[] {
  let got = completedBy.get(node);
  if (!got) completedBy.set(node, (got = []));
  return got;
}

/** The calls of a spied Node method made by `node` since the flow was loaded. */
export function callsOf(node: TestNode, spy: Spy): SpyCall[] {
  return spy.getCalls().filter((c) => c.thisValue === node);
}

/** The text of every status `node` showed since the flow was loaded. */
export function statusTexts(node: TestNode): string[] {
  return callsOf(node, node.status).map((c) => String((c.args[0] as NodeStatus | undefined)?.text ?? ""));
}

/** Everything the runtime logged since the flow was loaded, as text. */
export function loggedText(): string {
  return helper
    .log()
    .getCalls()
    .map((c) => JSON.stringify(c.args))
    .join("\n");
}

/** What `watch` records of a node, and the waits built on it. */
export interface Watch<M extends NodeMessage = NodeMessage> {
  /** What the helper node wired to the watched one received (empty without one). */
  messages: M[];
  statuses: NodeStatus[];
  /** Each node.error with the message it went with (what a Catch node would get). */
  errors: Array<{ text: string; msg: NodeMessage | undefined }>;
  /** Messages whose handling the node finished (done() called). */
  completed: NodeMessage[];
  /** The text of every node.error so far. */
  errorTexts(): string[];
  /** The text of the last status, "" before any. */
  lastStatus(): string;
  /** Hands the node `msg`, waits until the node has finished with it (`done()`), then lets what it sent land. */
  receive(msg: object, timeoutMs?: number): Promise<void>;
  /** Runs `action` (a clock tick) and waits for the status or error the node gives after it. */
  step(what: string, action: () => void): Promise<void>;
  /** Resolves with the first recorded item after `from` (index) that matches; fails clearly after `ms`. */
  next<K extends "messages" | "statuses" | "errors" | "completed">(
    kind: K,
    match: (item: Watch<M>[K][number]) => boolean,
    ms?: number,
    from?: number,
  ): Promise<Watch<M>[K][number]>;
}

/** Records, from now on, what `node` (a node or its id) shows, reports and finishes, and what `out` (a helper node wired to it) receives. */
export function watch<M extends NodeMessage = NodeMessage>(node: TestNode | string, out?: TestNode | string): Watch<M> {
  const n = typeof node === "string" ? helper.getNode(node) : node;
  const errors: Watch["errors"] = [];
  n.on("call:error", (call: SpyCall) => errors.push({ text: errorText(call.args[0]), msg: call.args[1] as NodeMessage | undefined }));
  const w: Watch<M> = {
    messages: out === undefined ? [] : collect<M>(typeof out === "string" ? helper.getNode(out) : out),
    statuses: collectStatuses(n),
    errors,
    completed: collectCompleted(n),
    errorTexts: () => errors.map((e) => e.text),
    lastStatus: () => w.statuses[w.statuses.length - 1]?.text ?? "",
    async receive(msg: object, timeoutMs?: number) {
      const before = w.completed.length;
      n.receive(msg as NodeMessage);
      await waitUntil(`${n.type} to finish a message`, () => w.completed.length > before, timeoutMs);
      await settle();
    },
    async step(what: string, action: () => void) {
      const before = w.statuses.length + errors.length;
      action();
      await waitUntil(what, () => w.statuses.length + errors.length > before);
      await settle();
    },
    next(kind, match, ms = 10000, from = 0) {
      return waitUntil(`a matching ${kind} item from ${n.id}`, () => (w[kind] as Array<Watch<M>[typeof kind][number]>).slice(from).find(match), ms);
    },
  };
  return w;
}

/** Node-RED's own Change node, from the runtime under test, for flows that route what our nodes report as the examples do (the helper has Catch already). */
export const changeRuntimeNode = runtimeReq("@node-red/nodes/core/function/15-change.js") as unknown;

/**
 * A node module whose RED.auth.needsPermission records each permission its
 * endpoints ask for in `permissions`, and lets a request through only when
 * its x-test-permission header names that permission (else 401).
 */
export function permissionGuarded(module: (RED: NodeAPI) => void, permissions: string[]): (RED: NodeAPI) => void {
  return (RED: NodeAPI) => {
    const auth = {
      needsPermission: (p: string) => {
        permissions.push(p);
        return (req: { headers: Record<string, string> }, res: { status(n: number): { end(): void } }, next: () => void) =>
          req.headers["x-test-permission"] === p ? next() : res.status(401).end();
      },
    };
    return module({ ...RED, auth } as unknown as NodeAPI);
  };
}
