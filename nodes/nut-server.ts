/**
 * nut-server: one upsd. Owns ONE connection (NutClient) shared by every node
 * using this server: opened when the first user registers, closed when the
 * last one leaves, its state pushed to every user (like core mqtt-broker).
 *
 * Editor endpoint POST /nut-server/list-ups lists a server's UPSes for the
 * edit dialogs. Why it is not an open proxy:
 * - it needs the "nut-server.write" permission (an editor who may deploy
 *   flows; the "read" scope is not enough), and such a user can already
 *   reach any host through core nodes;
 * - it connects only to the host/port of a deployed nut-server (by id) or
 *   to the host/port typed in the dialog, and sends nothing but NETVER and
 *   LIST UPS: stored credentials never go to a typed host;
 * - it answers only UPS names and descriptions taken from a well-formed
 *   `BEGIN LIST UPS … END LIST UPS` reply (at most 1000 UPSes and 256 KiB,
 *   descriptions cut at 200 characters), within 5 s. Whatever else a peer
 *   sends is reduced to a code from a fixed list (NUT's error codes, ours,
 *   the socket's) and a fixed text, never echoed back, so it cannot be used
 *   to read another service's banner or reply;
 * - at most 4 requests run at once in this Node-RED; more are refused (429),
 *   so parallel requests cannot pile up memory.
 * What remains is what any TCP client reveals: whether host:port accepts a
 * connection (refused / timeout / not NUT).
 *
 * POST /nut-server/list-commands ({id, host, port, usetls, tls, ups}) lists
 * what one UPS offers for nut-command's dialog under the same rules: LIST
 * CMD with GET CMDDESC, LIST RW with GET DESC, GET TYPE and LIST ENUM /
 * LIST RANGE (none needs credentials, none are sent); only well-formed
 * names, printable descriptions (200 characters) and values, at most 300
 * commands and 300 variables, 100 enum values and 20 ranges each; one
 * answer within 5 s in all.
 *
 * Commands (FSD, INSTCMD, SET VAR) go through `commander`, which holds the
 * credentials: a nut-command node gets the commander, never the password.
 */
import type { NodeAPI, NodeDef, Node } from "node-red";
import type { ConnectionOptions } from "node:tls";
import type { Request, Response } from "express";
import { numberOf } from "../core/check";
import { flag, numberOr, within } from "../core/config";
import { NutClient, type StateChange, type UpsListEntry } from "../core/nut/client";
import { NutConnectionError, NutServerError, NutTimeoutError, excerpt, fixedCode, toNutError, type NutError } from "../core/nut/errors";
import { isNutName, otherClients } from "../core/nut/command";
import { listClients, readUpsLists, sendCommand, type UpsLists } from "../core/nut/commander";
import type { UpsReader } from "../core/nut/monitor";
import {
  LIST_UPS_LIMITS,
  formatAddress,
  isPlausibleHost,
  isPort,
  type NutCommander,
  type NutServerCredentials,
  type NutServerNode,
  type NutServerUser,
} from "./lib/nut-server-api";

interface NutServerDef extends NodeDef {
  host: string;
  port: string | number;
  usetls: boolean;
  tls: string;
  login: string;
  interval: string | number;
  timeout: string | number;
}

interface TlsConfigNode extends Node {
  addTLSOptions(opts: ConnectionOptions): ConnectionOptions;
}

export = function (RED: NodeAPI) {
  /** Each deployed server's shared connection, for the editor endpoint below (its users get a reader, not the client). */
  const clients = new WeakMap<NutServerNode, () => NutClient | null>();

  /** STARTTLS options from a core tls-config node; certificate verification stays on by default. */
  function tlsOptions(usetls: boolean, tlsId: string): ConnectionOptions | false {
    if (!usetls) return false;
    const opts: ConnectionOptions = {};
    const tlsNode = tlsId ? (RED.nodes.getNode(tlsId) as TlsConfigNode | null) : null;
    if (tlsNode && typeof tlsNode.addTLSOptions === "function") tlsNode.addTLSOptions(opts);
    return opts;
  }

  function NutServer(this: NutServerNode, def: NutServerDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const host = String(def.host || "").trim() || "127.0.0.1";
    const port = numberOr(def.port, 3493);
    if (!isPlausibleHost(host) || !isPort(port)) node.error(RED._("nut-server.errors.bad-address", { host, port: String(def.port) }));
    const creds: NutServerCredentials = node.credentials ?? {};
    if (creds.password && !creds.username) node.warn(RED._("nut-server.errors.password-without-user"));
    // Not a positive number (a flow edited by hand): said at deploy, and the default is used,
    // because reading the UPSes at a known pace matters more than the typo.
    const positiveOr = (v: unknown, fallback: number, field: "interval" | "timeout"): number => {
      const n = numberOr(v, fallback);
      if (within(n, { above: 0 })) return n;
      node.error(RED._("nut-server.errors.bad-seconds", { field, value: String(v).slice(0, 40), fallback }));
      return fallback;
    };
    const interval = positiveOr(def.interval, 5, "interval");
    const timeoutMs = positiveOr(def.timeout, 5, "timeout") * 1000;
    const users = new Map<string, NutServerUser>();
    let client: NutClient | null = null;
    let lastState: StateChange = { state: "idle", error: null, retryInMs: null };

    node.address = formatAddress(host, port);
    node.interval = interval;
    node.deployed = { host, port, usetls: flag(def.usetls, false), tls: def.tls || "" };
    clients.set(node, () => client);
    /** After the last user left (a node closing), reads fail as upsd unreachable would. */
    const notConnected = () => Promise.reject(new NutConnectionError(`not connected to ${node.address}`, "NOT-CONNECTED"));
    const reader: UpsReader = {
      listUps: () => (client ? client.listUps() : notConnected()),
      listVar: (ups) => (client ? client.listVar(ups) : notConnected()),
      getVars: (ups, names) => (client ? client.getVars(ups, names) : notConnected().catch((err: NutError) => names.map(() => err))),
    };
    Object.defineProperty(node, "reader", { value: reader, enumerable: true });
    const login = String(def.login || "").trim();
    const commander: NutCommander = {
      username: creds.username || null,
      send: (config, opts) =>
        sendCommand(
          {
            host,
            port,
            tls: tlsOptions(node.deployed.usetls, def.tls),
            username: creds.username || null,
            password: creds.password || null,
            requestTimeoutMs: timeoutMs,
          },
          config,
          opts,
        ),
      otherClients: async (ups) => {
        const shared = client;
        // our own LOGIN (the shared connection's) is one of LIST CLIENT's: left out once, by its address
        if (shared?.state === "connected") return otherClients(await listClients(shared, ups), login === ups ? shared.localAddress : null);
        return withProbe({ host, port, tls: tlsOptions(node.deployed.usetls, def.tls), requestTimeoutMs: timeoutMs }, (c) => listClients(c, ups));
      },
    };
    Object.defineProperty(node, "commander", { value: commander, enumerable: false });

    const onState = (change: StateChange) => {
      // log the changes an admin wants in the log, not every retry
      if (change.state === "connected") node.log(RED._("nut-server.log.connected", { address: node.address }));
      if (change.state === "disconnected" && lastState.state === "connected") {
        node.log(RED._("nut-server.log.disconnected", { address: node.address, error: change.error?.message ?? "" }));
      }
      lastState = change;
      for (const user of users.values()) user.onServerState(change);
    };
    const onWarning = (err: NutError) => {
      for (const user of users.values()) user.onServerWarning(err);
    };

    node.register = (user: NutServerUser) => {
      users.set(user.id, user);
      if (!client) {
        client = new NutClient({
          host,
          port,
          username: creds.username || undefined,
          password: creds.password || undefined,
          login: login || undefined,
          tls: tlsOptions(node.deployed.usetls, def.tls),
          requestTimeoutMs: timeoutMs,
        });
        client.on("state", onState);
        client.on("warning", onWarning);
        client.start();
      } else {
        user.onServerState(lastState);
      }
    };

    /** Closes the connection when the last user leaves. */
    const release = (): Promise<void> => {
      const c = client;
      client = null;
      if (!c) return Promise.resolve();
      c.off("state", onState);
      c.off("warning", onWarning);
      return c.close();
    };

    node.deregister = (user: NutServerUser, done: () => void) => {
      users.delete(user.id);
      if (users.size > 0) return done();
      release().then(done, done);
    };

    node.on("close", (done: () => void) => {
      users.clear();
      release().then(done, done);
    });
  }

  RED.nodes.registerType<NutServerNode, NutServerDef, Record<string, never>, NutServerCredentials>("nut-server", NutServer, {
    credentials: { username: { type: "text" }, password: { type: "password" } },
  });

  // ---- editor endpoint ------------------------------------------------------------------------

  interface ListUpsBody {
    id?: unknown;
    host?: unknown;
    port?: unknown;
    usetls?: unknown;
    tls?: unknown;
  }

  /** The error as the editor may see it: a code from a fixed list and a fixed text, nothing the peer wrote. */
  function editorError(err: NutError, address: string): { code: string; message: string } {
    const code = fixedCode(err);
    if (err instanceof NutServerError) return { code, message: RED._("nut-server.editor.err-nut", { address, code }) };
    if (code === "TIMEOUT" || code === "ETIMEDOUT") return { code, message: RED._("nut-server.editor.err-timeout", { address }) };
    if (code === "PROTOCOL-ERROR") return { code, message: RED._("nut-server.editor.err-not-nut", { address }) };
    if (/TLS|CERT|SSL/.test(code)) return { code, message: RED._("nut-server.editor.err-tls", { address, code }) };
    return { code, message: RED._("nut-server.editor.err-connect", { address, code }) };
  }

  /** A short-lived connection that sends no credentials (the lists need none), closed after `work`. */
  async function withProbe<T>(
    opts: { host: string; port: number; tls: ConnectionOptions | false; requestTimeoutMs: number; maxListItems?: number; maxReplyBytes?: number },
    work: (c: NutClient) => Promise<T>,
  ): Promise<T> {
    const probe = new NutClient(opts);
    probe.on("state", () => undefined);
    probe.start();
    try {
      return await work(probe);
    } finally {
      await probe.close();
    }
  }

  /**
   * `work` on the deployed server's shared connection when the dialog names
   * that server (by id) at its deployed host/port and it is connected; else
   * on a probe to the host/port typed, without credentials.
   */
  function onServer<T>(body: ListUpsBody, work: (c: NutClient) => Promise<T>): Promise<T> {
    const host = String(body.host ?? "").trim();
    const port = numberOf(body.port);
    const server = typeof body.id === "string" ? (RED.nodes.getNode(body.id) as NutServerNode | null) : null;
    const same = server?.type === "nut-server" && server.deployed.host === host && server.deployed.port === port;
    const shared = same ? clients.get(server)?.() : null;
    if (shared?.state === "connected") return work(shared);
    const usetls = same ? server.deployed.usetls : flag(body.usetls, false);
    const tlsId = same ? server.deployed.tls : typeof body.tls === "string" ? body.tls : "";
    const opts = {
      host,
      port,
      tls: tlsOptions(usetls, tlsId),
      requestTimeoutMs: LIST_UPS_LIMITS.timeoutMs,
      maxListItems: LIST_UPS_LIMITS.maxUpses,
      maxReplyBytes: LIST_UPS_LIMITS.maxReplyBytes,
    };
    return withProbe(opts, work);
  }

  /** Requests running now (in this Node-RED), both endpoints together. */
  let running = 0;

  /**
   * One editor endpoint: permission, a host/port that may be typed, at most
   * LIST_UPS_LIMITS.maxParallel at once, one answer within its time, errors
   * as fixed codes and texts.
   */
  function endpoint<B extends ListUpsBody, T>(path: string, check: (body: B) => boolean, work: (body: B) => Promise<T>, answer: (value: T) => object): void {
    RED.httpAdmin.post(path, RED.auth.needsPermission("nut-server.write"), (req: Request, res: Response) => {
      const body = (req.body && typeof req.body === "object" ? req.body : {}) as B;
      // Text only: String() would make a host of a number (0.424 is an IPv4 address to the resolver).
      if (typeof body.host !== "string" || !isPlausibleHost(body.host.trim()) || !isPort(body.port) || !check(body)) {
        res.status(400).json({ code: "INVALID-ARGUMENT", message: RED._("nut-server.editor.err-address") });
        return;
      }
      if (running >= LIST_UPS_LIMITS.maxParallel) {
        res.status(429).json({ code: "BUSY", message: RED._("nut-server.editor.err-busy", { max: LIST_UPS_LIMITS.maxParallel }) });
        return;
      }
      const address = formatAddress(String(body.host).trim(), numberOf(body.port));
      running++;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NutTimeoutError(path, LIST_UPS_LIMITS.timeoutMs)), LIST_UPS_LIMITS.timeoutMs);
      });
      const job = work(body);
      job.catch(() => undefined); // answered by the race below, or too late to matter
      Promise.race([job, late])
        .finally(() => {
          clearTimeout(timer);
          // counted until the work itself is over: a late one still holds its connection
          job.then(
            () => running--,
            () => running--,
          );
        })
        .then(
          (value) => res.json(answer(value)),
          (err: unknown) => res.status(502).json(editorError(toNutError(err), address)),
        );
    });
  }

  endpoint(
    "/nut-server/list-ups",
    () => true,
    (body) => onServer(body, (c) => c.listUps()),
    (list: UpsListEntry[]) => ({
      upses: list.slice(0, LIST_UPS_LIMITS.maxUpses).map((u) => ({
        name: u.name,
        description: excerpt(u.description, LIST_UPS_LIMITS.maxDescription), // one line: a control character is "?"
      })),
    }),
  );

  endpoint<ListUpsBody & { ups?: unknown }, UpsLists>(
    "/nut-server/list-commands",
    (body) => isNutName(body.ups),
    (body) => onServer(body, (c) => readUpsLists(c, String(body.ups))),
    (lists) => lists,
  );
};
