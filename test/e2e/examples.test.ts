/**
 * Every bundled example, deployed as shipped into a real node-red process:
 * known node types only, no error logged, nothing connects anywhere it
 * should not (every ssh-shutdown is on simulate), and the library endpoint
 * behind Import > Examples lists all seven.
 */
import should from "../harness/should";
import { exampleFiles, loadExample, type FlowNode } from "../../tools/example-flow";
import { freePort } from "../harness/system";
import { removeUserDir, startNodeRed, type NodeRedProcess } from "../harness/node-red";
import { runtimeLabel } from "../harness/runtime";

const MODULE = "node-red-contrib-nut-shutdown";

describe(`bundled examples in a real ${runtimeLabel()}`, function () {
  this.timeout(120000);
  let nr: NodeRedProcess;

  before(async () => {
    nr = await startNodeRed({ port: await freePort() });
  });
  after(async () => {
    if (nr) {
      await nr.stop();
      removeUserDir(nr.userDir);
    }
  });

  it("Import > Examples lists the seven examples of the package (the editor's library endpoint)", async () => {
    const res = await fetch(`${nr.url}/library/examples/flows/${MODULE}`);
    should(res.status).equal(200);
    const listed = ((await res.json()) as Array<{ fn?: string }>).map((e) => e.fn);
    should(listed.sort()).eql(
      exampleFiles()
        .map((f) => f.replace(/\.json$/, ""))
        .sort(),
    );
    should(listed).have.length(7);
  });

  for (const file of exampleFiles()) {
    it(`deploys "${file}" with no unknown type and no error, ssh-shutdown on simulate`, async () => {
      const flow: FlowNode[] = loadExample(file.slice(0, 2));
      for (const n of flow) if (n.type === "ssh-shutdown") should(n.action).equal("simulate", `${n.name} must ship on simulate`);
      const from = nr.log().length;
      const res = await fetch(`${nr.url}/flows`, {
        method: "POST",
        headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
        body: JSON.stringify(flow),
      });
      should(res.status).equal(204, await res.text());
      await nr.waitForLog("Started flows", 30000, from);
      const log = nr.log().slice(from);
      should(log).not.match(/missing types|Waiting for missing|unknown type/i, log);
      should(log).not.match(/\[error\]/, log);
      // every ssh-shutdown simulates: nothing connects, so an unpinned ssh-host is no reason to warn
      should(log).not.match(/no host key fingerprint pinned/, log);
      const deployed = (await fetch(`${nr.url}/flows`).then((r) => r.json())) as FlowNode[];
      should(deployed.map((n) => n.id).sort()).eql(flow.map((n) => n.id).sort());
    });
  }
});
