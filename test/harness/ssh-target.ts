/**
 * The runner's SshTarget for a host of an ssh-lab (kept apart from ssh-lab.ts,
 * which must not depend on the code under test).
 */
import { parsePins } from "../../core/ssh/hostkey";
import { loadPrivateKey } from "../../core/ssh/keys";
import type { SshTarget } from "../../core/ssh/runner";
import type { ClientKey, SshLab } from "./ssh-lab";

/** Lab host `name`, its ed25519 host key pinned (with its type), client key `key`. */
export function labTarget(lab: SshLab, name: string, over: Partial<SshTarget> = {}, key: ClientKey = "ed25519"): SshTarget {
  const h = lab.host(name);
  return {
    name,
    address: h.address,
    port: h.port,
    username: lab.user,
    key: loadPrivateKey({ file: lab.keyFile(key), passphrase: key.endsWith("Pass") ? lab.passphrase : undefined }),
    password: null,
    pins: parsePins(`ssh-ed25519 ${h.fingerprints.ed25519}`).pins,
    acceptAnyHostKey: false,
    ...over,
  };
}
