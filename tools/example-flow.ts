/**
 * The bundled example flows, loaded and re-pointed at other servers: the
 * `npm start` demo points them at the NUT simulator, the end-to-end test at
 * a real upsd and recording sshd hosts.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

export const examplesDir = resolve(__dirname, "..", "examples");

/** A node of a flow file: only the fields these rewrites touch are typed. */
export interface FlowNode {
  id: string;
  type: string;
  name?: string;
  [key: string]: unknown;
}

export function exampleFiles(): string[] {
  return readdirSync(examplesDir)
    .filter((f) => f.endsWith(".json"))
    .sort();
}

/** Loads the example whose file name starts with `prefix` (e.g. "01"). */
export function loadExample(prefix: string): FlowNode[] {
  const file = exampleFiles().find((f) => f.startsWith(prefix));
  if (!file) throw new Error(`no example file starting with "${prefix}" in ${examplesDir}`);
  return JSON.parse(readFileSync(join(examplesDir, file), "utf8")) as FlowNode[];
}

/**
 * Points every nut-server at host:port, renames the UPSes the nut-ups-in nodes
 * read (`upsNames` maps the example's names to the server's), and rewrites the
 * aggregate's expected topics to match what those nodes will send.
 */
export function pointAtNut(flow: FlowNode[], host: string, port: number, upsNames: Record<string, string> = {}): FlowNode[] {
  const servers = new Map<string, string>();
  for (const n of flow) {
    if (n.type !== "nut-server") continue;
    servers.set(`${String(n.host)}:${String(n.port)}`, `${host}:${port}`);
    n.host = host;
    n.port = port;
  }
  for (const n of flow) {
    if (n.type === "nut-ups-in" && typeof n.ups === "string") n.ups = upsNames[n.ups] ?? n.ups;
    if (n.type === "ups-aggregate" && Array.isArray(n.sources)) {
      n.sources = (n.sources as Array<{ topic: string; power: number }>).map((s) => {
        const at = s.topic.lastIndexOf("@");
        const ups = s.topic.slice(0, at);
        const server = servers.get(s.topic.slice(at + 1));
        return server ? { ...s, topic: `${upsNames[ups] ?? ups}@${server}` } : s;
      });
    }
  }
  return flow;
}

export interface SshTarget {
  address: string;
  port: number;
  username: string;
  /** Pinned fingerprint lines. */
  fingerprints: string;
  keyFile?: string;
}

/** Points the ssh-host named `name` (e.g. "backup-server") at a target; every ssh-host must be given one. */
export function pointAtSsh(flow: FlowNode[], targets: Record<string, SshTarget>): FlowNode[] {
  for (const n of flow) {
    if (n.type !== "ssh-host") continue;
    const t = targets[String(n.name)];
    if (!t) throw new Error(`no target given for ssh-host "${String(n.name)}"`);
    Object.assign(n, { address: t.address, port: t.port, username: t.username, fingerprints: t.fingerprints, keyFile: t.keyFile ?? "" });
  }
  return flow;
}

/** Sets the action (and what a message may ask for) of every ssh-shutdown node. */
export function setShutdownAction(flow: FlowNode[], action: string, allowed: string[]): FlowNode[] {
  for (const n of flow) {
    if (n.type !== "ssh-shutdown") continue;
    n.action = action;
    n.allowed = allowed;
  }
  return flow;
}

/** Sets a property on every node of a type (e.g. a context store on the latches). */
export function setOnType(flow: FlowNode[], type: string, props: Record<string, unknown>): FlowNode[] {
  for (const n of flow) if (n.type === type) Object.assign(n, props);
  return flow;
}
