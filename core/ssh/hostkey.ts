/**
 * Host key pinning: SHA256 fingerprints as `ssh-keygen -lf` prints them, the
 * pin check run by ssh2's hostVerifier, and a probe that fetches a server's
 * fingerprints for the editor's "fetch" button.
 */
import { createHash } from "node:crypto";
import { Client } from "ssh2";
import type { ServerHostKeyAlgorithm } from "ssh2";

/** Host key types ssh2 can verify (the name inside the key blob). */
export type HostKeyType = "ssh-ed25519" | "ssh-rsa" | "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521";

/** One pinned fingerprint; `type` is known when the operator's text said it. */
export interface Pin {
  fingerprint: string;
  type: HostKeyType | null;
}

export interface HostKeyInfo {
  type: string;
  fingerprint: string;
}

const KEY_TYPES: readonly HostKeyType[] = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/** The negotiation names that make a server sign with a key of that type. */
const ALGORITHMS: Record<HostKeyType, ServerHostKeyAlgorithm[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

const FINGERPRINT = /SHA256:([A-Za-z0-9+/]{43})=?/;

/** `SHA256:<base64 without padding>` of a raw key blob, as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/**
 * The key type named at the start of a key blob, e.g. "ssh-ed25519"; a type
 * this package cannot verify is "unknown" (the name is the peer's text, and
 * goes into errors and the editor).
 */
export function keyTypeOf(blob: Buffer): HostKeyType | "unknown" {
  if (blob.length < 4) return "unknown";
  const len = blob.readUInt32BE(0);
  if (len <= 0 || len > 64 || blob.length < 4 + len) return "unknown";
  const name = blob.subarray(4, 4 + len).toString("latin1");
  return isHostKeyType(name) ? name : "unknown";
}

function isHostKeyType(s: string): s is HostKeyType {
  return (KEY_TYPES as readonly string[]).includes(s);
}

/** Type from `ssh-keygen -lf` output: "256 SHA256:… comment (ECDSA)". */
function typeFromKeygen(line: string): HostKeyType | null {
  const m = /\((ED25519|RSA|ECDSA)\)\s*$/i.exec(line);
  if (!m) return null;
  const kind = m[1].toUpperCase();
  if (kind === "ED25519") return "ssh-ed25519";
  if (kind === "RSA") return "ssh-rsa";
  const bits = /^\s*(256|384|521)\s/.exec(line);
  return bits ? (`ecdsa-sha2-nistp${bits[1]}` as HostKeyType) : null;
}

/**
 * Parse the operator's pinned fingerprints, one per line. Accepted: a bare
 * `SHA256:…`, `ssh-ed25519 SHA256:…`, a line of `ssh-keygen -lf` output, or a
 * public key / known_hosts line (`[host] ssh-ed25519 AAAA…`, fingerprinted here).
 * Blank lines and `#` comments are skipped; anything else is returned as invalid.
 */
export function parsePins(text: string): { pins: Pin[]; invalid: string[] } {
  const pins: Pin[] = [];
  const invalid: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const pin = parsePinLine(line);
    if (pin) {
      if (!pins.some((p) => p.fingerprint === pin.fingerprint)) pins.push(pin);
    } else {
      invalid.push(line.length > 80 ? line.slice(0, 77) + "..." : line);
    }
  }
  return { pins, invalid };
}

function parsePinLine(line: string): Pin | null {
  const fp = FINGERPRINT.exec(line);
  const tokens = line.split(/\s+/);
  if (fp) {
    const named = tokens.find(isHostKeyType) ?? null;
    return { fingerprint: "SHA256:" + fp[1], type: named ?? typeFromKeygen(line) };
  }
  // A public key or known_hosts line: "<type> <base64 blob>" somewhere in it.
  const i = tokens.findIndex(isHostKeyType);
  if (i >= 0 && i + 1 < tokens.length && /^[A-Za-z0-9+/]+={0,2}$/.test(tokens[i + 1])) {
    const blob = Buffer.from(tokens[i + 1], "base64");
    if (keyTypeOf(blob) === tokens[i]) return { fingerprint: fingerprint(blob), type: tokens[i] as HostKeyType };
  }
  return null;
}

/**
 * Host key algorithms to offer so that the server signs with a pinned key:
 * ssh2 prefers ed25519, so a host pinned only by its RSA fingerprint would
 * otherwise always fail. Undefined (ssh2's default order) when a pin's type is unknown.
 */
export function hostKeyAlgorithms(pins: Pin[]): ServerHostKeyAlgorithm[] | undefined {
  if (pins.length === 0 || pins.some((p) => p.type === null)) return undefined;
  const out: ServerHostKeyAlgorithm[] = [];
  for (const t of KEY_TYPES) {
    if (pins.some((p) => p.type === t)) out.push(...ALGORITHMS[t]);
  }
  return out;
}

export type HostKeyVerdict = { ok: true; fingerprint: string; type: string } | { ok: false; fingerprint: string; type: string; message: string };

/**
 * The pin check. `where` names the host in the message ("nas (192.0.2.5:22)").
 * The refusal names the expected and the actual fingerprints so an operator
 * can tell a reinstalled server from an attack.
 */
export function verifyHostKey(pins: Pin[], blob: Buffer, where: string): HostKeyVerdict {
  const actual = fingerprint(blob);
  const type = keyTypeOf(blob);
  if (pins.some((p) => p.fingerprint === actual)) return { ok: true, fingerprint: actual, type };
  if (pins.length === 0) {
    return {
      ok: false,
      fingerprint: actual,
      type,
      message:
        `host key of ${where} is unknown: no fingerprint is pinned (expected: none), the server offered ` +
        `${actual} (${type}). Compare it with \`ssh-keygen -lf\` of the host key on the server, then pin it`,
    };
  }
  const expected = pins.map((p) => (p.type ? `${p.fingerprint} (${p.type})` : p.fingerprint)).join(" or ");
  const hint =
    pins.some((p) => p.type === null) && !pins.some((p) => p.type === type)
      ? `; if you pinned another key type, write its type before the fingerprint (e.g. "ssh-rsa SHA256:…")`
      : "";
  return {
    ok: false,
    fingerprint: actual,
    type,
    message:
      `host key of ${where} does not match: expected ${expected}, the server offered ${actual} (${type}). ` +
      `Connection refused: the server was reinstalled or someone is in the middle${hint}`,
  };
}

/**
 * Why fetching fingerprints failed, as a code from a fixed list: what the
 * editor is told is chosen by the code, never the peer's words.
 */
export type FetchFailure = "refused" | "not-found" | "unreachable" | "reset" | "timeout" | "no-key-type" | "closed" | "not-ssh" | "failed";

/** The English text of each failure (the editor shows its own locale's text for the code). */
const FETCH_FAILURES: Record<FetchFailure, string> = {
  refused: "connection refused",
  "not-found": "address not found",
  unreachable: "host unreachable",
  reset: "connection reset",
  timeout: "no SSH handshake in time",
  "no-key-type": "the server offers no host key type this node can verify",
  closed: "the server closed the connection during the handshake",
  "not-ssh": "not an SSH server",
  failed: "the SSH handshake failed",
};

export class FetchHostKeysError extends Error {
  constructor(readonly code: FetchFailure) {
    super(FETCH_FAILURES[code]);
    this.name = "FetchHostKeysError";
  }
}

/**
 * Fetch the fingerprints a server offers, one short connection per key
 * family, all cut at the host key check (no authentication is attempted).
 * Bounded: at most 5 connections, each ending within `timeoutMs`; at most
 * one fingerprint per key type. Fails with a FetchHostKeysError.
 */
export async function fetchHostKeys(address: string, port: number, timeoutMs: number): Promise<HostKeyInfo[]> {
  const probes = await Promise.all(KEY_TYPES.map((t) => probeHostKey(address, port, ALGORITHMS[t], timeoutMs)));
  const found: HostKeyInfo[] = [];
  for (const p of probes) {
    if (p.key && !found.some((f) => f.fingerprint === p.key?.fingerprint)) found.push(p.key);
  }
  if (found.length > 0) return found;
  // Nothing offered: report the most telling error (a socket error beats "no matching format").
  const errors = probes.map((p) => p.error).filter((e): e is FetchFailure => e !== null);
  throw new FetchHostKeysError(errors.find((e) => e !== "no-key-type") ?? errors[0] ?? "no-key-type");
}

function probeHostKey(
  address: string,
  port: number,
  algorithms: ServerHostKeyAlgorithm[],
  timeoutMs: number,
): Promise<{ key: HostKeyInfo | null; error: FetchFailure | null }> {
  return new Promise((resolve) => {
    const conn = new Client();
    let key: HostKeyInfo | null = null;
    let error: FetchFailure | null = null;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolve({ key, error });
    };
    const timer = setTimeout(() => {
      error = error ?? "timeout";
      finish();
    }, timeoutMs);
    conn.on("error", (err: Error & { code?: string | number; level?: string }) => {
      if (!key) error = error ?? probeFailure(err);
      finish();
    });
    conn.on("close", finish);
    conn.on("ready", finish); // cannot happen: the verifier always refuses
    try {
      conn.connect({
        host: address,
        port,
        username: "fingerprint-probe",
        readyTimeout: timeoutMs,
        algorithms: { serverHostKey: algorithms },
        authHandler: [],
        hostVerifier: (blob: Buffer): boolean => {
          const type = keyTypeOf(blob);
          if (type !== "unknown") key = { type, fingerprint: fingerprint(blob) };
          else error = "no-key-type";
          return false; // look, never trust: the operator decides
        },
      });
    } catch {
      error = "failed";
      finish();
    }
  });
}

/** An ssh2 or socket error as a fixed code; its text (maybe the peer's) goes no further. */
export function probeFailure(err: Error & { code?: string | number; level?: string }): FetchFailure {
  if (typeof err.code === "number") return "closed"; // an SSH disconnect: its description is the peer's
  switch (err.code) {
    case "ECONNREFUSED":
      return "refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "not-found";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "unreachable";
    case "ECONNRESET":
    case "EPIPE":
      return "reset";
    case "ETIMEDOUT":
      return "timeout";
  }
  if (err.level === "client-timeout") return "timeout";
  if (/no matching host key format/i.test(err.message)) return "no-key-type";
  if (/connection lost|socket closed|not connected/i.test(err.message)) return "closed";
  if (/identification|greeting|header|bad packet|protocol/i.test(err.message) || err.level === "protocol") return "not-ssh";
  return "failed";
}
