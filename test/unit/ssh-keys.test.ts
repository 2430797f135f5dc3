/**
 * core/ssh/keys.ts: private keys accepted or refused, and why.
 */
import should from "../harness/should";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyError, loadPrivateKey, readKeyFile } from "../../core/ssh/keys";
import { findExecutable, requireComponent } from "../harness/system";

const KEYGEN = findExecutable(["/usr/bin/ssh-keygen"]);
const PASS = "correct horse battery";

/** The base64 body lines of a PEM/OpenSSH key: none may ever appear in an error. */
function secretLines(keyText: string): string[] {
  return keyText.split("\n").filter((l) => l && !l.startsWith("-----") && !l.includes(":"));
}

function expectKeyError(fn: () => unknown, pattern: RegExp, secrets: string[] = []): void {
  should(fn).throw(Error, (err: unknown) => {
    should(err).be.instanceOf(KeyError, `KeyError expected, got ${String(err)}`);
    should((err as KeyError).message).match(pattern);
    for (const s of secrets) should((err as KeyError).message.includes(s.slice(0, 20))).be.false("key material in the error text");
    should((err as KeyError).message.includes(PASS)).be.false("passphrase in the error text");
    return true;
  });
}

describe("ssh private keys", () => {
  let dir: string;
  const f = (name: string): string => join(dir, name);

  before(function () {
    requireComponent(this, "ssh-keygen", KEYGEN ? null : "/usr/bin/ssh-keygen", "apt-get install -y openssh-client");
    dir = mkdtempSync(join(tmpdir(), "ssh-keys-"));
    const gen = (name: string, args: string[]): void => {
      execFileSync(KEYGEN as string, ["-q", "-C", name, "-f", f(name), ...args]);
    };
    gen("ed25519", ["-t", "ed25519", "-N", ""]);
    gen("rsa_pem", ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""]);
    gen("ecdsa", ["-t", "ecdsa", "-b", "256", "-N", ""]);
    gen("ed25519_pass", ["-t", "ed25519", "-N", PASS]);
    gen("rsa_pem_pass", ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", PASS]);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("parses OpenSSH and PEM keys, ed25519 / RSA / ECDSA, from a file or pasted", () => {
    should(loadPrivateKey({ file: f("ed25519") })?.type).equal("ssh-ed25519");
    should(loadPrivateKey({ file: f("rsa_pem") })?.type).equal("ssh-rsa");
    should(loadPrivateKey({ file: f("ecdsa") })?.type).equal("ecdsa-sha2-nistp256");
    should(loadPrivateKey({ text: readFileSync(f("ecdsa"), "utf8") })?.type).equal("ecdsa-sha2-nistp256");
    should(loadPrivateKey({ file: f("ed25519_pass"), passphrase: PASS })?.isPrivateKey()).be.true();
    should(loadPrivateKey({ file: f("rsa_pem_pass"), passphrase: PASS })?.type).equal("ssh-rsa");
  });

  it("a pasted key wins over a key file; nothing at all means no key", () => {
    const key = loadPrivateKey({ text: readFileSync(f("ecdsa"), "utf8"), file: "/nonexistent/id_nut" });
    should(key?.type).equal("ecdsa-sha2-nistp256");
    should(loadPrivateKey({})).equal(null);
    should(loadPrivateKey({ text: "  \n", file: " " })).equal(null);
  });

  it("a missing key file is named in a clear error", () => {
    expectKeyError(() => loadPrivateKey({ file: f("id_nut") }), /key file .*id_nut does not exist/);
  });

  it("a key file readable by group or others is refused, as OpenSSH does, with the fix", () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o601]) {
      chmodSync(f("ed25519"), mode);
      expectKeyError(
        () => readKeyFile(f("ed25519")),
        new RegExp(`too open \\(mode 0${mode.toString(8)}.*chmod 600 ${f("ed25519").replace(/[/.]/g, "\\$&")}`),
        secretLines(readFileSync(f("ed25519"), "utf8")),
      );
    }
    chmodSync(f("ed25519"), 0o600);
    should(readKeyFile(f("ed25519"))).containEql("PRIVATE KEY");
    chmodSync(f("ed25519"), 0o400);
    should(readKeyFile(f("ed25519"))).containEql("PRIVATE KEY");
    chmodSync(f("ed25519"), 0o600);
  });

  it("a directory is not a key file", () => {
    mkdirSync(f("adir"), { mode: 0o700 });
    expectKeyError(() => readKeyFile(f("adir")), /not a regular file/);
  });

  it("an encrypted key without its passphrase, or with a wrong one, says so without quoting the key", () => {
    for (const name of ["ed25519_pass", "rsa_pem_pass"]) {
      const secrets = secretLines(readFileSync(f(name), "utf8"));
      expectKeyError(() => loadPrivateKey({ file: f(name) }), /encrypted: enter its passphrase/, secrets);
      expectKeyError(() => loadPrivateKey({ file: f(name), passphrase: "wrong" }), /wrong passphrase/, secrets);
      expectKeyError(() => loadPrivateKey({ text: readFileSync(f(name), "utf8"), passphrase: "wrong" }), /^the pasted private key: wrong passphrase/, secrets);
    }
  });

  it("a public key or garbage is refused with a hint", () => {
    expectKeyError(() => loadPrivateKey({ text: readFileSync(f("ed25519.pub"), "utf8") }), /is a public key/);
    expectKeyError(() => loadPrivateKey({ text: "not a key at all" }), /not a private key ssh2 can read/);
    const body = secretLines(readFileSync(f("ed25519"), "utf8"));
    expectKeyError(() => loadPrivateKey({ text: body.join("\n") }), /not a private key|cannot be used/, body);
  });
});
