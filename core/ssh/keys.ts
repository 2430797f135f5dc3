/**
 * Private keys for SSH authentication: pasted text (Node-RED credentials) or
 * a key file on the controller (`-i /etc/nut/id_nut` in the usual script).
 *
 * A key is parsed ONCE (decrypting an encrypted key costs 230-330 ms of CPU)
 * and the parsed key is handed to ssh2 through `authHandler`: ssh2 ignores a
 * parsed key given as `privateKey`. Error texts never contain key material.
 */
import { readFileSync, statSync } from "node:fs";
import { utils } from "ssh2";
import type { ParsedKey } from "ssh2";

export interface KeySource {
  /** Pasted key text (from the credentials); wins over `file` when both are set. */
  text?: string;
  /** Path of a key file on the controller. */
  file?: string;
  passphrase?: string;
}

/** A key problem an operator can fix; the message says how. */
export class KeyError extends Error {
  override name = "KeyError";
}

/**
 * Read a key file the way OpenSSH would accept it: it must exist, be a
 * regular file and not be accessible by group or others (mode & 077 === 0).
 */
export function readKeyFile(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new KeyError(`key file ${path} does not exist`);
    if (code === "EACCES") throw new KeyError(`key file ${path} cannot be read by this Node-RED user (permission denied)`);
    throw new KeyError(`key file ${path} cannot be read (${code ?? "error"})`);
  }
  if (!st.isFile()) throw new KeyError(`key file ${path} is not a regular file`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KeyError(
      `key file ${path} is too open (mode ${mode.toString(8).padStart(4, "0")}, group or others have access): ` +
        `run chmod 600 ${path}, as OpenSSH also requires`,
    );
  }
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyError(`key file ${path} cannot be read (${code === "EACCES" ? "permission denied" : (code ?? "error")})`);
  }
}

/**
 * Parse a private key from `source`; errors name where the key came from
 * ("key file /etc/nut/id_nut", "the pasted private key"). Returns null when
 * the source holds no key at all (password-only host).
 */
export function loadPrivateKey(source: KeySource): ParsedKey | null {
  const text = source.text?.trim() ? source.text : undefined;
  const file = source.file?.trim() ? source.file.trim() : undefined;
  if (!text && !file) return null;
  const label = text ? "the pasted private key" : `key file ${file}`;
  const data = text ?? readKeyFile(file as string);
  const passphrase = source.passphrase ? source.passphrase : undefined;
  const parsed = utils.parseKey(data, passphrase);
  if (parsed instanceof Error) throw new KeyError(`${label}: ${explainParseError(parsed.message, passphrase !== undefined)}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new KeyError(`${label}: no key found`);
  if (!key.isPrivateKey()) throw new KeyError(`${label} is a public key: give the private key (the file without .pub)`);
  return key;
}

/** ssh2's parse errors, reworded for an operator (they never quote the key). */
function explainParseError(message: string, hadPassphrase: boolean): string {
  if (/no passphrase given/i.test(message)) return "the key is encrypted: enter its passphrase";
  if (/passphrase/i.test(message) && hadPassphrase) return "wrong passphrase (the key could not be decrypted)";
  if (/unsupported key format/i.test(message)) {
    return "not a private key ssh2 can read (OpenSSH, PEM or PuTTY format expected)";
  }
  return `the key cannot be used (${message.replace(/[\r\n]+/g, " ").slice(0, 120)})`;
}
