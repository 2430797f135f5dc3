/**
 * The runner's SshTarget for a host of an ssh-lab (kept apart from ssh-lab.ts,
 * which must not depend on the code under test), and an ssh-host node of a
 * test flow.
 */
import { parsePins } from "../../core/ssh/hostkey";
import { loadPrivateKey } from "../../core/ssh/keys";
import type { RunOutcome, SshTarget } from "../../core/ssh/runner";
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

/** An ssh-host config node of a test flow, as the editor saves it (loopback, nothing pinned, no key), with `over`. */
export function sshHostDef(id: string, name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: "ssh-host", name, address: "127.0.0.1", port: 22, username: "nut", keyFile: "", fingerprints: "", acceptAnyHostKey: false, ...over };
}

/** A runner outcome for unit tests: the command ran and exited 0 on the first attempt, with `over`. */
export function runOutcome(over: Partial<RunOutcome> = {}): RunOutcome {
  return {
    ok: true,
    exitCode: 0,
    signal: null,
    stdout: "",
    stderr: "",
    durationMs: 412,
    attempts: 1,
    error: null,
    sent: true,
    aborted: false,
    steps: [],
    reused: false,
    ...over,
  };
}
