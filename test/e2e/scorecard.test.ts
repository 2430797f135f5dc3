/**
 * The Flow Library scorecard (node-red-dev validate) on the packed package,
 * offline (scripts/scorecard.ts): node-red-dev's own checks, their network
 * answered from local data. Every check passes; and each check that looks at
 * outside data can fail (a catalogued package with one of our node types, a
 * newer dependency), so passing says something.
 */
import should from "../harness/should";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHECKS, packPackage, scorecard } from "../../scripts/scorecard";
import { packageNotBuilt, repoRoot } from "../harness/node-red";

const fixtures = join(repoRoot, "test", "fixtures", "scorecard");

describe("Flow Library scorecard (node-red-dev validate, offline)", function () {
  this.timeout(60000);
  let packed: ReturnType<typeof packPackage> | null = null;
  let tmp = "";

  before(function () {
    if (packageNotBuilt()) this.skip();
    packed = packPackage();
    tmp = mkdtempSync(join(tmpdir(), "scorecard-fixtures-"));
  });
  after(() => {
    packed?.remove();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("passes P01 to D03 with nothing asked of the network; D02 walked ssh2's tree", async () => {
    const r = await scorecard({ pkg: packed?.pkg });
    const failed = Object.keys(CHECKS).filter((id) => (r.card[id] as { test?: boolean } | undefined)?.test !== true);
    should(failed).eql([], r.lines.join("\n"));
    should(r.refused).eql([]);
    should(r.sameName).eql([]);
    should((r.card.D01 as { total?: number }).total).equal(1);
    should((r.card.N02 as { nodes?: string[] }).nodes?.sort()).eql([
      "battery-tier-switch",
      "nut-command",
      "nut-ups-in",
      "outage-latch",
      "ssh-shutdown",
      "standby-gate",
      "ups-aggregate",
      "wake-hosts",
    ]);
    for (const dep of ["ssh2", "asn1", "bcrypt-pbkdf", "safer-buffer", "tweetnacl"])
      should(r.tree.includes(dep)).be.true(`D02 looked at ${dep}: ${r.tree.join(", ")}`);
    should(r.tree.includes("cpu-features")).be.false("optional dependencies are not walked (as node-red-dev configures npm-remote-ls)");
  });

  it("can fail: a catalogued package registering nut-server fails N01, a newer ssh2 fails D03, the same name in a scope is found", async () => {
    const catalogue = JSON.parse(readFileSync(join(fixtures, "catalogue.json"), "utf8")) as { modules: object[] };
    catalogue.modules.push(
      { id: "node-red-contrib-other-ups", version: "1.0.0", types: ["nut-server"] },
      { id: "@someone/node-red-contrib-nut-shutdown", version: "0.0.1", types: ["x-nut"] },
    );
    writeFileSync(join(tmp, "catalogue.json"), JSON.stringify(catalogue));
    const registry = JSON.parse(readFileSync(join(fixtures, "registry.json"), "utf8")) as { latest: Record<string, string> };
    registry.latest.ssh2 = "2.0.0";
    writeFileSync(join(tmp, "registry.json"), JSON.stringify(registry));
    const r = await scorecard({ pkg: packed?.pkg, catalogue: join(tmp, "catalogue.json"), registry: join(tmp, "registry.json") });
    should(r.card.N01).eql({ test: false, nodes: ["node-red-contrib-other-ups"] });
    should(r.card.D03).eql({ test: false, packages: ["ssh2"] });
    should(r.sameName).eql(["@someone/node-red-contrib-nut-shutdown"]);
    // node-red-dev 0.1.6's own P08 compares an array with includes(): it never finds anything.
    should((r.card.P08 as { test: boolean }).test).be.true();
  });
});
