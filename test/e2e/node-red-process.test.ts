/**
 * The package in real node-red processes, on the Node.js that runs mocha: in
 * the default run the current 4.x and 3.1, the oldest release package.json
 * accepts (`"node-red": {"version": ">=3.1.0"}`); in a run with TEST_NODE_RED
 * set (Node-RED 5 under Node 22 and 24, see scripts/test-node-red-5.ts), that
 * one. On each: every node type loads, and the progressive example, pointed
 * at the NUT simulator with both UPSes on battery at 40 %, runs the backup
 * and storage steps (simulated) and nothing else.
 */
import should from "../harness/should";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadExample, pointAtNut, setOnType } from "../../tools/example-flow";
import { startNutSim, type NutSim } from "../../tools/nut-sim";
import { freePort } from "../harness/system";
import { repoRoot, startNodeRed, removeUserDir, type NodeRedProcess } from "../harness/node-red";
import { runtimeInfo, runtimeLabel, targetRuntime, type NodeRedPackage } from "../harness/runtime";

const RUNTIMES: NodeRedPackage[] = targetRuntime === "node-red" ? ["node-red", "node-red-3"] : [targetRuntime];

for (const runtime of RUNTIMES) {
  const { version } = runtimeInfo(runtime);
  describe(`the package in a real process: ${runtimeLabel(runtime)}`, function () {
    this.timeout(90000);
    let nr: NodeRedProcess | undefined;
    let sim: NutSim | undefined;

    before(async () => {
      nr = await startNodeRed({ port: await freePort(), runtime });
    });
    after(async () => {
      if (nr) {
        await nr.stop();
        removeUserDir(nr.userDir);
      }
      await sim?.close();
    });

    it(`is ${runtimeLabel(runtime)}, listening on 127.0.0.1 only, and loads every node type of the package without error`, async () => {
      const settings = (await fetch(`${nr?.url}/settings`).then((r) => r.json())) as { version: string };
      // Node-RED adds "-git" when its @node-red/runtime sits in a git checkout, as 4.x's does here (node_modules/@node-red).
      should(settings.version.replace(/-git$/, "")).equal(version);
      should(nr?.log() ?? "").match(new RegExp(`Node\\.js\\s+version: ${process.version.replace(/\./g, "\\.")}\\b`));
      const res = await fetch(`${nr?.url}/nodes`, { headers: { Accept: "application/json" } });
      should(res.status).equal(200);
      const sets = (await res.json()) as Array<{ module: string; types: string[]; err?: string }>;
      const ours = sets.filter((s) => s.module === "node-red-contrib-nut-shutdown");
      const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } };
      should(ours.flatMap((s) => s.types).sort()).eql(Object.keys(pkg["node-red"].nodes).sort());
      for (const s of ours) should(s.err).equal(undefined, `node set ${s.types.join(",")} failed to load: ${s.err}`);
      should(nr?.log() ?? "").match(/Server now running at http:\/\/127\.0\.0\.1:/);
    });

    it("runs the progressive example: both UPSes on battery at 40 % simulate the backup and storage steps, nothing else", async () => {
      sim = await startNutSim({ port: 0 });
      for (const ups of ["ups1", "ups2"]) {
        sim.addUps(ups, { "ups.status": "OB DISCHRG", "battery.charge": ups === "ups1" ? 70 : 40, "battery.runtime": 900, "ups.load": 30 });
      }
      const flow = pointAtNut(loadExample("01"), sim.host, sim.port);
      setOnType(flow, "ups-aggregate", { confirm: 1 });
      setOnType(flow, "debug", { console: true });
      const from = nr?.log().length ?? 0;
      const res = await fetch(`${nr?.url}/flows`, {
        method: "POST",
        headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
        body: JSON.stringify(flow),
      });
      should(res.status).equal(204);
      await nr?.waitForLog(/backup-server: simulate, would run/, 30000, from);
      await nr?.waitForLog(/storage-server: simulate, would run/, 30000, from);
      // "steps passed" is one hop further than the shutdown (the switch that keeps power-back out of it)
      await nr?.waitForLog(/\[debug:steps passed\] Tier storage reached/, 30000, from);
      const log = nr?.log().slice(from) ?? "";
      should(log).match(/Tier backup reached.*\n?[^]*Tier storage reached/);
      should(log).not.match(/Tier production reached|prod-server-\d: simulate|hypervisor: simulate/);
      should(log).not.match(/\[error\]/);
    });
  });
}
