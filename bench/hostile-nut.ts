/**
 * What a hostile or broken NUT server costs the package (issue 11, items 2
 * and 5): figures for the README and the issue, not a test (nothing here
 * fails on a number). Every peer is a fake TCP server on 127.0.0.1.
 *
 *   npm run bench -- hostile-nut                     everything (about 2 min)
 *   npm run bench -- hostile-nut --parts reconnect   some of client, node-red, reconnect (comma-separated)
 *   npm run bench -- hostile-nut --line 8000         bytes per line of the endless list (default 65000)
 *   npm run bench -- hostile-nut --shape max         the largest replies the bounds let through instead
 *   npm run bench -- hostile-nut --heap 256          Node-RED with --max-old-space-size=256 (does it survive?)
 *   npm run bench -- hostile-nut --seconds 10        how long the reconnect part counts (default 60)
 *
 * - client: one NutClient (default limits) asks LIST UPS of a peer that
 *   answers `BEGIN LIST UPS` and then 10 000 lines of `--line` bytes, never
 *   END: the peak heap of this process until the request fails.
 * - node-red: a real Node-RED (the built package) with nut-ups-in reading
 *   every UPS (every variable) of the same peer, then 20 parallel List UPSes
 *   requests to it: the peak RSS of the Node-RED process, and what the
 *   requests answered.
 * - `--shape max`: the peer ends its lists, each as large as the bounds let
 *   through: LIST UPS 1000 UPSes, every LIST VAR 1000 lines of 1040 bytes
 *   (just under 1 MiB).
 * - reconnect: three peers that answer one line and hang up (NETVER then
 *   close, an SSH banner, an HTTP reply), each with a NutClient of default
 *   options: connections accepted in 60 s of real time.
 */
import { createServer, type Server, type Socket } from "node:net";
import { NutClient } from "../core/nut/client";
import { drained } from "../tools/nut-sim";
import type { NodeRedProcess } from "../test/harness/node-red";
import { withCleanup, type Cleanup } from "./lib/cleanup";
import { peakWhile, rssBytes, sleep } from "./lib/proc";
import { deploy, startRed, type FlowNode } from "./lib/red";

const MB = 1024 * 1024;

export type Shape = "endless" | "max";
const what = (shape: Shape, lineBytes: number) =>
  shape === "endless" ? `endless lists of ${lineBytes}-byte lines` : "lists as large as the bounds let through";

function listen(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on("error", () => undefined);
    onSocket(s);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve({ server, port: typeof a === "object" && a ? a.port : 0 });
    }),
  );
}

/**
 * A peer that answers NETVER and streams any LIST: `lines` items of
 * `lineBytes`, never END ("endless"); or ("max") 1000 UPSes and, for each,
 * 1000 variables of 1040 bytes, with END.
 */
function listPeer(shape: "endless" | "max", lineBytes: number, lines: number): Promise<{ server: Server; port: number }> {
  return listen((s) => {
    let buf = "";
    // replies in order, one after the other, as upsd writes them
    let chain: Promise<void> = Promise.resolve();
    const then = (f: () => Promise<void> | void) => (chain = chain.then(f));
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === "NETVER") then(() => void s.write("1.3\n"));
        else if (line.startsWith("LIST ") && shape === "endless") then(() => stream(s, line.split(" "), lineBytes, lines, false));
        else if (line === "LIST UPS") then(() => stream(s, ["LIST", "UPS"], 20, 1000, true));
        else if (line.startsWith("LIST ")) then(() => stream(s, line.split(" "), 1040, 1000, true));
        else if (line.startsWith("GET VAR ")) then(() => void s.write(`VAR ${line.split(" ").slice(2).join(" ")} "0"\n`));
      }
    });
  });
}

async function stream(s: Socket, words: string[], lineBytes: number, lines: number, end: boolean): Promise<void> {
  s.write(`BEGIN ${words.join(" ")}\n`);
  const item = words[1] === "UPS" ? "UPS" : words[1];
  const args = words.slice(2).join(" ");
  for (let i = 0; i < lines && !s.destroyed; i++) {
    const head = `${item} ${args ? args + " " : ""}x${i} "`;
    const line = head + "x".repeat(Math.max(1, lineBytes - head.length - 2)) + '"\n';
    if (!s.write(line)) await drained(s);
  }
  if (end && !s.destroyed) s.write(`END ${words.join(" ")}\n`);
}

async function benchClient(shape: Shape, lineBytes: number): Promise<void> {
  const { server, port } = await listPeer(shape, lineBytes, 10000);
  global.gc?.();
  const base = process.memoryUsage().heapUsed;
  const c = new NutClient({ host: "127.0.0.1", port });
  c.on("state", () => undefined);
  c.start();
  let outcome = "";
  const started = performance.now();
  const peak = await peakWhile(
    () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers,
    c.listUps().then(
      (l) => (outcome = `resolved with ${l.length} items`),
      (e: Error & { code?: string }) => (outcome = `${e.code}: ${e.message.slice(0, 100)}`),
    ),
  );
  const ms = performance.now() - started;
  await c.close();
  server.close();
  console.log(`client, ${what(shape, lineBytes)}, LIST UPS: peak heap +${((peak - base) / MB).toFixed(1)} MB, failed after ${ms.toFixed(0)} ms: ${outcome}`);
}

/** A Node-RED without flows (admin authentication, for the List UPSes endpoint), stopped by `c`: its RSS once settled, and a token. */
async function quietNodeRed(c: Cleanup, heapMb: number | null): Promise<{ nr: NodeRedProcess; token: string; idle: number }> {
  const env = heapMb ? { NODE_OPTIONS: `--max-old-space-size=${heapMb}` } : undefined;
  const nr = await startRed(c, [], { adminAuth: true, env });
  const token = await nr.token("admin");
  await sleep(3000);
  return { nr, token, idle: rssBytes(nr.pid) };
}

async function benchNodeRed(shape: Shape, lineBytes: number, heapMb: number | null): Promise<void> {
  const { server, port } = await listPeer(shape, lineBytes, 10000);
  try {
    // nut-ups-in reading every UPS (and every variable) of the peer, polling every 5 s: 15 s
    await withCleanup(async (c) => {
      const a = await quietNodeRed(c, heapMb);
      const flows: FlowNode[] = [
        { id: "tab", type: "tab", label: "hostile" },
        { id: "srv", type: "nut-server", host: "127.0.0.1", port, usetls: false, tls: "", login: "", interval: 5, timeout: 5 },
        {
          id: "in",
          type: "nut-ups-in",
          z: "tab",
          server: "srv",
          mode: "all",
          ups: "",
          interval: 5,
          alertInterval: 2,
          output: "change",
          vars: true,
          nocomm: 60,
          wires: [[]],
        },
      ];
      await deploy(a.nr, flows, a.token);
      const peak = await peakWhile(() => rssBytes(a.nr.pid), sleep(15000));
      const alive = Number.isFinite(rssBytes(a.nr.pid)) ? "still running" : "DIED";
      console.log(
        `node-red${heapMb ? ` (heap limit ${heapMb} MB)` : ""} + nut-ups-in (every UPS, every variable), ${what(shape, lineBytes)}: RSS ${(a.idle / MB).toFixed(0)} MB before deploy, peak ${(peak / MB).toFixed(0)} MB in 15 s, ${alive}`,
      );
    });
    // 20 parallel List UPSes requests to the peer
    await withCleanup(async (c) => {
      const b = await quietNodeRed(c, heapMb);
      const probes = Array.from({ length: 20 }, () =>
        fetch(`${b.nr.url}/nut-server/list-ups`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${b.token}` },
          body: JSON.stringify({ host: "127.0.0.1", port }),
        }).then(
          async (r) => `${r.status} ${JSON.stringify(await r.json()).slice(0, 100)}`,
          (err: Error) => `no answer (${err.message})`,
        ),
      );
      const answers: string[] = [];
      const peak = await peakWhile(
        () => rssBytes(b.nr.pid),
        Promise.all(probes).then((x) => answers.push(...x)),
      );
      const alive = Number.isFinite(rssBytes(b.nr.pid)) ? "still running" : "DIED";
      console.log(
        `node-red${heapMb ? ` (heap limit ${heapMb} MB)` : ""}, 20 parallel List UPSes, ${what(shape, lineBytes)}: RSS ${(b.idle / MB).toFixed(0)} MB before, peak ${(peak / MB).toFixed(0)} MB, ${alive}`,
      );
      const counts = new Map<string, number>();
      for (const x of answers) counts.set(x, (counts.get(x) ?? 0) + 1);
      for (const [x, n] of counts) console.log(`  ${n} x ${x}`);
    });
  } finally {
    server.close();
  }
}

async function benchReconnect(seconds: number): Promise<void> {
  const peers: Array<[string, (s: Socket) => void]> = [
    ["NETVER then close", (s) => s.once("data", () => s.end("1.3\n"))],
    ["SSH banner then close", (s) => s.end("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")],
    ["HTTP reply then close", (s) => s.once("data", () => s.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))],
  ];
  const runs = await Promise.all(
    peers.map(async ([what, handle]) => {
      let count = 0;
      const { server, port } = await listen((s) => {
        count++;
        handle(s);
      });
      const c = new NutClient({ host: "127.0.0.1", port });
      c.on("state", () => undefined);
      c.start();
      return { what, server, c, count: () => count };
    }),
  );
  await sleep(seconds * 1000);
  for (const r of runs) {
    await r.c.close();
    r.server.close();
    console.log(`reconnect, ${r.what}: ${r.count()} connections in ${seconds} s`);
  }
}

export interface HostileNutOptions {
  /** Some of client, node-red, reconnect. */
  parts: string[];
  /** Bytes per line of the endless list. */
  lineBytes: number;
  shape: Shape;
  /** Node-RED's --max-old-space-size, null for Node's default. */
  heapMb: number | null;
  /** How long the reconnect part counts connections. */
  seconds: number;
}

/** Prints one line (or a few) per part; nothing fails on a number. */
export async function runHostileNut(opts: HostileNutOptions): Promise<void> {
  if (opts.parts.includes("client")) await benchClient(opts.shape, opts.lineBytes);
  if (opts.parts.includes("node-red")) await benchNodeRed(opts.shape, opts.lineBytes, opts.heapMb);
  if (opts.parts.includes("reconnect")) await benchReconnect(opts.seconds);
}
