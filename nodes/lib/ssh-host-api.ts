/**
 * What an ssh-host config node offers to the nodes that use it. Node files
 * may only `export =` their registration, so the shared shape lives here.
 */
import type { Node } from "node-red";
import type { SshTarget } from "../../core/ssh/runner";

export interface SshHostInfo {
  /** The ssh-host's name, else its address. */
  name: string;
  address: string;
  port: number;
  username: string;
}

export interface SshHostApi {
  readonly sshHost: SshHostInfo;
  /** Its MAC address for Wake-on-LAN, "aa:bb:cc:dd:ee:ff"; null when none (or not a MAC: said at deploy). */
  readonly mac: string | null;
  /**
   * Everything needed to connect, with the private key parsed once per
   * deploy. Throws an Error whose message says what to fix (never key text).
   */
  target(): SshTarget;
  /**
   * A node that may connect to this host uses it (not one that only
   * simulates): the host warns, once per deploy, when nothing is pinned.
   */
  connectingUser(): void;
}

export function isSshHost(node: unknown): node is Node & SshHostApi {
  const n = node as Partial<Node & SshHostApi> | null;
  return !!n && n.type === "ssh-host" && typeof n.target === "function" && typeof n.connectingUser === "function" && typeof n.sshHost === "object";
}
