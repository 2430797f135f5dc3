import assert from "node:assert/strict";
import { freePort } from "../harness/system";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, startNodeRed, removeUserDir, type NodeRedProcess } from "../harness/node-red";

describe("a real node-red process with the package installed", function () {
  this.timeout(90000);
  let nr: NodeRedProcess | undefined;

  after(async () => {
    if (nr) { await nr.stop(); removeUserDir(nr.userDir); }
  });

  it("starts, listens on 127.0.0.1 only and loads every node type of the package without error", async () => {
    nr = await startNodeRed({ port: await freePort() });
    const res = await fetch(`${nr.url}/nodes`, { headers: { Accept: "application/json" } });
    assert.equal(res.status, 200);
    const sets = (await res.json()) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>;
    const ours = sets.filter((s) => s.module === "node-red-contrib-nut-shutdown");
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } };
    const expected = Object.keys(pkg["node-red"].nodes).sort();
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), expected);
    for (const s of ours) assert.equal(s.err, undefined, `node set ${s.types.join(",")} failed to load: ${s.err}`);
    assert.match(nr.log(), /Server now running at http:\/\/127\.0\.0\.1:/);
  });
});
