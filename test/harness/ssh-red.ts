/**
 * node-red-node-test-helper with the types the SSH node tests use, and small
 * waits on the events the helper emits (`call:send`, `call:error`…), so
 * tests wait for what happens instead of sleeping.
 */
import { createRequire } from "node:module";
import type { EventEmitter } from "node:events";

export interface SpyCall {
  args: unknown[];
  thisValue: unknown;
}

export interface Spy {
  getCalls(): SpyCall[];
  callCount: number;
}

export interface TestNode extends EventEmitter {
  id: string;
  type: string;
  receive(msg: Record<string, unknown>): void;
  context(): { get(key: string): unknown; set(key: string, value: unknown): void };
  status: Spy;
  error: Spy;
  warn: Spy;
  log: Spy;
  send: Spy;
  trace: Spy;
  debug: Spy;
}

interface TestResponse {
  status: number;
  body: unknown;
  text: string;
}

export interface TestRequest extends PromiseLike<TestResponse> {
  send(body: object): TestRequest;
  query(q: Record<string, string | number>): TestRequest;
  set(header: string, value: string): TestRequest;
}

export interface NodeTestHelper {
  init(runtimePath: string, settings?: object): void;
  /** Settings for the next load (merged with Node-RED's defaults; `{}` resets). */
  settings(settings: object): object;
  load(nodes: unknown, flow: object[], credentials?: object): Promise<void>;
  setFlows(flow: object[], type?: "full" | "flows" | "nodes", credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  request(): { get(url: string): TestRequest; post(url: string): TestRequest };
  log(): Spy;
  clearFlows(): Promise<void>;
}

export const helper = createRequire(__filename)("node-red-node-test-helper") as NodeTestHelper;
helper.init(createRequire(__filename).resolve("node-red"));

/** Wait until `node` emits `event` `count` times; fails with a clear message after `timeoutMs`. */
export function waitForCalls(node: TestNode, event: string, count: number, timeoutMs = 15000): Promise<SpyCall[]> {
  return new Promise((resolve, reject) => {
    const calls: SpyCall[] = [];
    const timer = setTimeout(() => {
      node.removeListener(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms: ${calls.length}/${count} ${event} on ${node.type} ${node.id}`));
    }, timeoutMs);
    const on = (call: SpyCall): void => {
      calls.push(call);
      if (calls.length >= count) {
        clearTimeout(timer);
        node.removeListener(event, on);
        resolve(calls);
      }
    };
    node.on(event, on);
  });
}

/** Every message that reached a helper node, in arrival order. */
export function collect(node: TestNode): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  node.on("input", (msg: Record<string, unknown>) => out.push(msg));
  return out;
}

/** Wait until `test()` holds (polls every 10 ms). */
export function until(what: string, test: () => boolean, timeoutMs = 15000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (test()) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** Calls of a Node method spy made by `node` (the helper spies on the prototype: all nodes share it). */
export function callsOf(node: TestNode, spy: Spy): SpyCall[] {
  return spy.getCalls().filter((c) => c.thisValue === node);
}

/** The text of every status a node showed. */
export function statusTexts(node: TestNode): string[] {
  return callsOf(node, node.status).map((c) => String((c.args[0] as { text?: string } | undefined)?.text ?? ""));
}

/** Everything the runtime logged since the flow was loaded, as text. */
export function loggedText(): string {
  return helper
    .log()
    .getCalls()
    .map((c) => JSON.stringify(c.args))
    .join("\n");
}
