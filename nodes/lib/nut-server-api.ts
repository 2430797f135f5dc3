/**
 * What a nut-server config node offers its users (nut-ups-in and later
 * nodes), modelled on core mqtt-broker: register on start, deregister on
 * close, connection state pushed to every user.
 */
import type { Node } from "node-red";
import type { StateChange } from "../../core/nut/client";
import type { UpsReader } from "../../core/nut/monitor";
import { numberOf } from "../../core/check";
import type { NutError } from "../../core/nut/errors";
import type { CommandConfig } from "../../core/nut/command";
import type { SendOptions, Sent } from "../../core/nut/commander";

export interface NutServerUser {
  readonly id: string;
  /** The shared connection changed state (connecting, connected, disconnected). */
  onServerState(change: StateChange): void;
  /** upsd refused something that does not stop reading (LOGIN, USERNAME, PASSWORD). */
  onServerWarning(err: NutError): void;
}

export interface NutServerCredentials {
  username?: string;
  password?: string;
}

export interface NutServerNode extends Node<NutServerCredentials> {
  /** "host:port", as in topics. */
  address: string;
  /** Default poll interval of the users, in seconds. */
  interval: number;
  /** What was deployed (the editor endpoint compares the dialog's host/port with it). */
  deployed: { host: string; port: number; usetls: boolean; tls: string };
  /**
   * Reads UPSes on the shared connection (open while at least one user is
   * registered); with no connection, every read fails NOT-CONNECTED. Users
   * read through this, never through the client itself.
   */
  readonly reader: UpsReader;
  /**
   * Sends commands to this server's UPSes with its credentials, each on a
   * session of its own (core/nut/commander.ts); its users never get the
   * password or the client.
   */
  readonly commander: NutCommander;
  register(user: NutServerUser): void;
  deregister(user: NutServerUser, done: () => void): void;
}

export interface NutCommander {
  /** The username commands are sent as, null when none is configured. */
  readonly username: string | null;
  send(config: CommandConfig, opts: SendOptions): Promise<Sent>;
  /**
   * The addresses of the upsmon clients LOGINed to `ups` other than this
   * server's own shared connection (LIST CLIENT on the shared connection;
   * rejects when it is not connected).
   */
  otherClients(ups: string): Promise<string[]>;
}

/**
 * Bounds of the admin endpoint: its answer (UPSes, description length), its
 * time, what one probe may hold (its LIST UPS reply, in characters), and
 * how many requests run at once in this Node-RED (more are refused, 429).
 */
export const LIST_UPS_LIMITS = { maxUpses: 1000, maxDescription: 200, timeoutMs: 5000, maxReplyBytes: 256 * 1024, maxParallel: 4 };

/** A host typed in the editor: a DNS name or an IP address, nothing URL-like. */
export function isPlausibleHost(host: unknown): host is string {
  return typeof host === "string" && host.length > 0 && host.length <= 253 && /^[A-Za-z0-9.:_-]+$/.test(host) && !host.startsWith("-");
}

export function isPort(port: unknown): boolean {
  const n = numberOf(port);
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** "host:port", IPv6 in brackets. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
