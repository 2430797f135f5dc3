/**
 * node-red-node-test-helper, typed and initialised once, for the NUT nodes'
 * tests, plus a watcher that records what a node sends, shows and reports so
 * tests wait for a condition instead of sleeping.
 */
import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import type { Node, NodeMessage } from "node-red";
import type { UpsState } from "../../core/contract";

export interface TestHelper {
  init(runtimePath: string, settings?: object): void;
  load(nodes: unknown, flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  request(): RequestChain;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
}

/** The part of supertest the tests use. */
export interface RequestChain {
  post(url: string): RequestChain;
  get(url: string): RequestChain;
  send(body: object): Promise<{ status: number; body: Record<string, unknown> }>;
  set(header: string, value: string): RequestChain;
}

export type TestNode = Node & EventEmitter & { _complete(msg: object, err?: unknown): void };

const req = createRequire(__filename);
export const helper = req("node-red-node-test-helper") as TestHelper;
helper.init(req.resolve("node-red"));

export type UpsMsg = NodeMessage & { topic: string; payload: UpsState; summary: string };

export interface Watch {
  messages: UpsMsg[];
  statuses: Array<{ fill?: string; shape?: string; text?: string }>;
  errors: Array<{ text: string; msg: NodeMessage | undefined }>;
  /** Messages whose handling the node finished (done() called). */
  completed: NodeMessage[];
  /** Resolves with the first recorded item after `from` (index) that matches; fails clearly after `ms`. */
  next<K extends "messages" | "statuses" | "errors" | "completed">(
    kind: K,
    match: (item: Watch[K][number]) => boolean,
    ms?: number,
    from?: number,
  ): Promise<Watch[K][number]>;
}

/** Record what `nodeId` reports and what `outId` (a helper node wired to it) receives. */
export function watch(nodeId: string, outId?: string): Watch {
  const node = helper.getNode(nodeId);
  const w: Watch = {
    messages: [],
    statuses: [],
    errors: [],
    completed: [],
    next(kind, match, ms = 10000, from = 0) {
      return waitFor(`a matching ${kind} item from ${nodeId}`, ms, () => {
        const list = w[kind] as Array<Watch[typeof kind][number]>;
        return list.slice(from).find(match);
      });
    },
  };
  if (outId) helper.getNode(outId).on("input", (msg: UpsMsg) => w.messages.push(msg));
  node.on("call:status", (call: { args: [{ fill?: string; shape?: string; text?: string }] }) => w.statuses.push(call.args[0]));
  node.on("call:error", (call: { args: [unknown, NodeMessage | undefined] }) => w.errors.push({ text: String(call.args[0]), msg: call.args[1] }));
  const complete = node._complete.bind(node);
  node._complete = (msg: NodeMessage, err?: unknown) => {
    w.completed.push(msg);
    complete(msg, err);
  };
  return w;
}

/** Poll `check` until it gives a value; fail with `what` after `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => T | undefined | null | false): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
