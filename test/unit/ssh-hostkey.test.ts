/**
 * core/ssh/hostkey.ts: fingerprints, pinning and their parsing.
 */
import should from "../harness/should";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprint, hostKeyAlgorithms, keyTypeOf, parsePins, verifyHostKey } from "../../core/ssh/hostkey";
import { findExecutable, requireComponent } from "../harness/system";

const KEYGEN = findExecutable(["/usr/bin/ssh-keygen"]);

interface Generated {
  blob: Buffer;
  pubLine: string;
  keygenLine: string;
  fp: string;
}

function generate(dir: string, type: string, bits?: number): Generated {
  const file = join(dir, `k_${type}_${bits ?? 0}`);
  const args = ["-q", "-t", type, "-N", "", "-C", "test@example", "-f", file];
  if (bits) args.push("-b", String(bits));
  execFileSync(KEYGEN as string, args);
  const pubLine = readFileSync(file + ".pub", "utf8").trim();
  const keygenLine = execFileSync(KEYGEN as string, ["-lf", file + ".pub"], { encoding: "utf8" }).trim();
  return { blob: Buffer.from(pubLine.split(" ")[1], "base64"), pubLine, keygenLine, fp: keygenLine.split(" ")[1] };
}

describe("ssh host keys", () => {
  let dir: string;
  let ed: Generated;
  let rsa: Generated;
  let ecdsa: Generated;
  let ecdsa384: Generated;

  before(function () {
    requireComponent(this, "ssh-keygen", KEYGEN ? null : "/usr/bin/ssh-keygen", "apt-get install -y openssh-client");
    dir = mkdtempSync(join(tmpdir(), "ssh-hostkey-"));
    ed = generate(dir, "ed25519");
    rsa = generate(dir, "rsa", 2048);
    ecdsa = generate(dir, "ecdsa", 256);
    ecdsa384 = generate(dir, "ecdsa", 384);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("fingerprint() equals what ssh-keygen -lf prints, for every key type", () => {
    for (const k of [ed, rsa, ecdsa, ecdsa384]) {
      should(k.fp).match(/^SHA256:[A-Za-z0-9+/]{43}$/);
      should(fingerprint(k.blob)).equal(k.fp);
    }
    should(keyTypeOf(ed.blob)).equal("ssh-ed25519");
    should(keyTypeOf(rsa.blob)).equal("ssh-rsa");
    should(keyTypeOf(ecdsa384.blob)).equal("ecdsa-sha2-nistp384");
    should(keyTypeOf(Buffer.from([0, 0]))).equal("unknown");
    should(keyTypeOf(Buffer.from([0xff, 0xff, 0xff, 0xff, 1]))).equal("unknown");
  });

  it("parses every way an operator may paste a fingerprint, knowing the type when the text says it", () => {
    const text = [
      "# backup server",
      ed.fp,
      `ssh-rsa ${rsa.fp}`,
      ecdsa.keygenLine,
      ecdsa384.keygenLine,
      "",
      `[nas.lan]:2222 ${ed.pubLine}`, // known_hosts line: same key again, deduplicated
      `|1|abc=|def= ${rsa.pubLine.split(" ").slice(0, 2).join(" ")}`, // hashed known_hosts line
    ].join("\n");
    const { pins, invalid } = parsePins(text);
    should(invalid).eql([]);
    should(pins).eql([
      { fingerprint: ed.fp, type: null },
      { fingerprint: rsa.fp, type: "ssh-rsa" },
      { fingerprint: ecdsa.fp, type: "ecdsa-sha2-nistp256" },
      { fingerprint: ecdsa384.fp, type: "ecdsa-sha2-nistp384" },
    ]);
    should(parsePins(ed.keygenLine).pins).eql([{ fingerprint: ed.fp, type: "ssh-ed25519" }]);
    should(parsePins(rsa.keygenLine).pins).eql([{ fingerprint: rsa.fp, type: "ssh-rsa" }]);
    should(parsePins(ed.pubLine).pins).eql([{ fingerprint: ed.fp, type: "ssh-ed25519" }]);
    should(parsePins(`${ed.fp}=`).pins).eql([{ fingerprint: ed.fp, type: null }], "padding tolerated");
  });

  it("reports lines that are not fingerprints (MD5, truncated, garbage) and keeps the rest", () => {
    const { pins, invalid } = parsePins(["MD5:12:34:56", "SHA256:tooShort", ed.fp, "ssh-ed25519 AAAAnotakey"].join("\n"));
    should(pins.map((p) => p.fingerprint)).eql([ed.fp]);
    should(invalid).have.length(3);
  });

  it("restricts the offered host key algorithms only when every pin names its type", () => {
    should(hostKeyAlgorithms([])).equal(undefined);
    should(hostKeyAlgorithms(parsePins(`${rsa.fp}\n${ed.keygenLine}`).pins)).equal(undefined);
    should(hostKeyAlgorithms(parsePins(rsa.keygenLine).pins)).eql(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    should(hostKeyAlgorithms(parsePins(`${rsa.keygenLine}\n${ed.keygenLine}`).pins)).eql(["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
  });

  it("accepts a pinned key and refuses any other, naming the expected and the actual fingerprints", () => {
    const pins = parsePins(`${ed.fp}\n${ecdsa.keygenLine}`).pins;
    should(verifyHostKey(pins, ed.blob, "nas (10.0.0.5:22)")).eql({ ok: true, fingerprint: ed.fp, type: "ssh-ed25519" });
    const v = verifyHostKey(pins, rsa.blob, "nas (10.0.0.5:22)");
    should(v.ok).be.false();
    if (v.ok) return;
    should(v.message.includes(ed.fp)).be.true("expected fingerprints named");
    should(v.message.includes(ecdsa.fp)).be.true("expected fingerprints named");
    should(v.message.includes(rsa.fp)).be.true("actual fingerprint named");
    should(v.message.includes("ssh-rsa")).be.true("actual fingerprint named");
    should(v.message).containEql("nas (10.0.0.5:22)");
  });

  it("refuses every key when nothing is pinned, and says which key the server offered", () => {
    const v = verifyHostKey([], ed.blob, "h1");
    should(v.ok).be.false();
    if (v.ok) return;
    should(v.message).match(/no fingerprint is pinned \(expected: none\)/);
    should(v.message).containEql(ed.fp);
  });
});
