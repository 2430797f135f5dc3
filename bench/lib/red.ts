/**
 * A real Node-RED for the benchmarks (test/harness/node-red.ts), flows
 * deployed through its admin API, and a "sink": a function node stamps
 * Date.now() on each message and a core file node appends it as a JSON
 * line the benchmark reads. Same machine, same clock as the benchmark.
 */
import { closeSync, openSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeUserDir, startNodeRed, type NodeRedOptions, type NodeRedProcess } from "../../test/harness/node-red";
import type { Cleanup } from "./cleanup";

export type FlowNode = Record<string, unknown> & { id: string; type: string };

export const TAB: FlowNode = { id: "bench-tab", type: "tab", label: "benchmark" };

/** Start Node-RED (stopped and its userDir removed by `cleanup`); `opts` as for startNodeRed. */
export async function startRed(cleanup: Cleanup, flows: FlowNode[] = [TAB], opts: NodeRedOptions = {}): Promise<NodeRedProcess> {
  const nr = await startNodeRed({ ...opts, flows: placed(flows) });
  cleanup.add(`node-red pid ${nr.pid}`, async () => {
    await nr.stop();
    removeUserDir(nr.userDir);
  });
  return nr;
}

/**
 * Give every node of a tab a position, as the editor does: Node-RED takes a
 * node without x/y for a config node.
 */
export function placed(flows: FlowNode[]): FlowNode[] {
  return flows.map((n, i) => (n.z !== undefined && n.x === undefined ? { ...n, x: 100 + 200 * (i % 5), y: 40 + 40 * Math.floor(i / 5) } : n));
}

/** Replace every flow (a full deploy; `token` with admin authentication) and wait until Node-RED says they started. */
export async function deploy(nr: NodeRedProcess, flows: FlowNode[], token?: string): Promise<void> {
  const mark = nr.log().length;
  const res = await fetch(`${nr.url}/flows`, {
    method: "POST",
    headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(placed(flows)),
  });
  if (!res.ok) throw new Error(`deploy: HTTP ${res.status} ${await res.text()}`);
  await nr.waitForLog("Started flows", 30000, mark);
}

/** Press an inject node's button, with extra message properties. */
export async function inject(nr: NodeRedProcess, id: string, props: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${nr.url}/inject/${id}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ __user_inject_props__: true, ...props }),
  });
  if (!res.ok) throw new Error(`inject ${id}: HTTP ${res.status}`);
}

/** An inject node that only sends when pressed. */
export function injectNode(id: string, wires: string[], z = TAB.id): FlowNode {
  return { id, type: "inject", z, name: id, props: [{ p: "payload" }], repeat: "", once: false, topic: "", payload: "", payloadType: "date", wires: [wires] };
}

export class Sink {
  private offset = 0;
  private rest = "";

  constructor(readonly path: string) {
    writeFileSync(path, "");
  }

  /**
   * Two nodes: a function that stamps `t: Date.now()` on the record built by
   * `record` (a JS expression over `msg`), then a file node appending it.
   * With `passTo`, the message itself also goes on, unchanged, to those nodes.
   */
  nodes(id: string, record: string, passTo: string[] | null = null, z = TAB.id): FlowNode[] {
    const line = `{ payload: JSON.stringify(Object.assign({ t: Date.now() }, ${record})) }`;
    return [
      {
        id,
        type: "function",
        z,
        name: `stamp ${id}`,
        func: passTo ? `return [${line}, msg];` : `return ${line};`,
        outputs: passTo ? 2 : 1,
        wires: passTo ? [[`${id}-file`], passTo] : [[`${id}-file`]],
      },
      {
        id: `${id}-file`,
        type: "file",
        z,
        name: "",
        filename: this.path,
        filenameType: "str",
        appendNewline: true,
        createDir: false,
        overwriteFile: "false",
        encoding: "none",
        wires: [[]],
      },
    ];
  }

  /** Records appended since the last call. */
  read<T>(): T[] {
    const fd = openSync(this.path, "r");
    const buf = Buffer.alloc(1 << 16);
    let text = "";
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        text += buf.toString("utf8", 0, n);
      }
    } finally {
      closeSync(fd);
    }
    const lines = (this.rest + text).split("\n");
    this.rest = lines.pop() ?? "";
    return lines.filter(Boolean).map((l) => JSON.parse(l) as T);
  }
}

/** A sink file in `dir`. */
export function makeSink(dir: string, name = "sink.jsonl"): Sink {
  return new Sink(join(dir, name));
}
