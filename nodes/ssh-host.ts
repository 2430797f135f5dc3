/**
 * ssh-host: one SSH target (address, port, user), its secrets in Node-RED's
 * credential store, and its pinned host key fingerprints. It owns no
 * connection: ssh-shutdown connects per action. The private key is parsed
 * once per deploy here, not per connection.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import type { ParsedKey } from "ssh2";
import { numberOf } from "../core/check";
import { flag, numberOr, within } from "../core/config";
import { FetchHostKeysError, fetchHostKeys, parsePins } from "../core/ssh/hostkey";
import { loadPrivateKey } from "../core/ssh/keys";
import { parseMac } from "../core/wake/mac";
import { connects, readConfig } from "../core/ssh/shutdown";
import type { SshTarget } from "../core/ssh/runner";
import type { SshHostApi, SshHostInfo } from "./lib/ssh-host-api";
import { isSshHost } from "./lib/ssh-host-api";

interface SshHostDef extends NodeDef {
  address: string;
  port: string | number;
  username: string;
  keyFile: string;
  fingerprints: string;
  acceptAnyHostKey: boolean;
  /** MAC address for Wake-on-LAN (wake-hosts); optional. */
  mac?: string;
}

interface SshHostCredentials {
  privateKey?: string;
  passphrase?: string;
  password?: string;
}

type SshHostNode = Node<SshHostCredentials> & SshHostApi;

/** Fingerprint probes from the editor: few at a time, each short. */
const MAX_PROBES = 4;
const PROBE_TIMEOUT_MS = 5000;
/** A host name or IP address as typed; never one that starts with "-" (no host name does, and an option looks like that). */
const ADDRESS = /^(?!-)[A-Za-z0-9._:-]{1,253}$/;

export = function (RED: NodeAPI) {
  /** An enabled ssh-shutdown of the deployed flows that connects on its own lists this host. */
  function usedToConnect(id: string): boolean {
    const defs: (NodeDef & { d?: unknown; disabled?: unknown; hosts?: unknown })[] = [];
    RED.nodes.eachNode((n) => defs.push(n));
    const disabledTabs = new Set(defs.filter((n) => n.type === "tab" && n.disabled === true).map((n) => n.id));
    return defs.some(
      (n) =>
        n.type === "ssh-shutdown" && n.d !== true && !disabledTabs.has(n.z) && Array.isArray(n.hosts) && n.hosts.includes(id) && connects(readConfig(n).config),
    );
  }

  function SshHost(this: SshHostNode, def: SshHostDef) {
    RED.nodes.createNode(this, def);
    const creds = this.credentials ?? {};
    const address = String(def.address ?? "").trim();
    const typedPort = numberOr(def.port, 22);
    const portOk = within(typedPort, { min: 1, max: 65535, integer: true });
    const port = portOk ? typedPort : 22;
    const username = String(def.username ?? "").trim();
    const info: SshHostInfo = { name: def.name || address, address, port, username };
    const { pins, invalid } = parsePins(String(def.fingerprints ?? ""));
    const acceptAny = flag(def.acceptAnyHostKey, false);

    if (!address) this.error(RED._("ssh-host.errors.no-address"));
    if (!username) this.error(RED._("ssh-host.errors.no-username"));
    const badPort = portOk ? null : RED._("ssh-host.errors.bad-port", { host: info.name, port: String(def.port) });
    if (badPort) this.error(badPort);
    for (const line of invalid) this.error(RED._("ssh-host.errors.bad-fingerprint", { host: info.name, line }));
    const typedMac = typeof def.mac === "string" ? def.mac.trim() : "";
    const mac = parseMac(typedMac);
    // a MAC typed wrong is said now, not when power returns and the host stays down
    if (typedMac && !mac) this.error(RED._("ssh-host.errors.bad-mac", { host: info.name, mac: typedMac.slice(0, 40) }));
    if (acceptAny) this.warn(RED._("ssh-host.warn.insecure", { host: info.name }));
    // Nothing pinned: worth a warning only when a node that connects uses this host
    // (a flow on simulate never connects); once per deploy of this host. Asked here
    // (this host deployed alone) and by each ssh-shutdown that starts (deployed alone).
    let unpinnedWarned = false;
    this.connectingUser = (): void => {
      if (acceptAny || pins.length > 0 || unpinnedWarned) return;
      unpinnedWarned = true;
      this.warn(RED._("ssh-host.warn.no-pin", { host: info.name }));
    };
    if (usedToConnect(this.id)) this.connectingUser();

    // Parse once now; a failure (file missing, too open, wrong passphrase) is
    // reported at deploy and retried on use, so fixing the file needs no redeploy.
    let key: ParsedKey | null = null;
    let keyError: string | null = null;
    const loadKey = (): void => {
      try {
        key = loadPrivateKey({ text: creds.privateKey, file: def.keyFile, passphrase: creds.passphrase });
        keyError = null;
      } catch (err) {
        key = null;
        keyError = err instanceof Error ? err.message : String(err);
      }
    };
    loadKey();
    if (keyError) this.error(RED._("ssh-host.errors.key", { host: info.name, error: keyError }));

    Object.defineProperty(this, "sshHost", { value: Object.freeze(info), enumerable: true });
    Object.defineProperty(this, "mac", { value: mac, enumerable: true });
    this.target = (): SshTarget => {
      if (keyError) loadKey();
      if (keyError) throw new Error(keyError);
      if (!address || !username) throw new Error(RED._("ssh-host.errors.incomplete", { host: info.name }));
      // never another port than the one typed
      if (badPort) throw new Error(badPort);
      return {
        name: info.name,
        address,
        port,
        username,
        key,
        password: creds.password ? creds.password : null,
        pins,
        acceptAnyHostKey: acceptAny,
      };
    };
  }

  RED.nodes.registerType<SshHostNode, SshHostDef, object, SshHostCredentials>("ssh-host", SshHost, {
    credentials: {
      privateKey: { type: "password" },
      passphrase: { type: "password" },
      password: { type: "password" },
    },
  });

  // Editor button "fetch fingerprints": for a deployed ssh-host (id) or the
  // address typed in the dialog. Answers with fingerprints only, or a code and
  // a fixed text of ours (nothing the peer wrote).
  let probes = 0;
  const fail = (res: { status(n: number): { json(body: object): void } }, status: number, code: string, params: Record<string, string | number> = {}): void => {
    res.status(status).json({ code, error: RED._(`ssh-host.fetch.err.${code}`, params) });
  };
  RED.httpAdmin.post("/ssh-host/fingerprints", RED.auth.needsPermission("ssh-host.write"), (req, res) => {
    const body = (req.body ?? {}) as { id?: unknown; address?: unknown; port?: unknown };
    let address = typeof body.address === "string" ? body.address.trim().replace(/^\[(.*)\]$/, "$1") : "";
    let port = body.port === undefined || body.port === "" ? 22 : numberOf(body.port);
    if (typeof body.id === "string" && body.id) {
      const configured = RED.nodes.getNode(body.id);
      if (isSshHost(configured) && configured.sshHost.address) {
        address = configured.sshHost.address;
        port = configured.sshHost.port;
      } else if (!address) {
        fail(res, 404, "unknown-id");
        return;
      }
    }
    if (!ADDRESS.test(address) || !Number.isInteger(port) || port < 1 || port > 65535) {
      fail(res, 400, "bad-address");
      return;
    }
    if (probes >= MAX_PROBES) {
      fail(res, 429, "busy", { max: MAX_PROBES });
      return;
    }
    probes++;
    fetchHostKeys(address, port, PROBE_TIMEOUT_MS)
      .then((keys) => res.json({ fingerprints: keys.map((k) => ({ type: k.type, fingerprint: k.fingerprint })) }))
      .catch((err: unknown) =>
        fail(res, 502, err instanceof FetchHostKeysError ? err.code : "failed", {
          address: address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`,
        }),
      )
      .finally(() => probes--);
  });
};
