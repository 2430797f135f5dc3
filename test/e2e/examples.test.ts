/**
 * Every bundled example, deployed as shipped into a real node-red process:
 * known node types only, no error logged, nothing connects anywhere it
 * should not (every ssh-shutdown is on simulate), and the library endpoint
 * behind Import > Examples lists all eight.
 */
import should from "../harness/should";
import { exampleFiles, loadExample, type FlowNode } from "../../tools/example-flow";
import { freePort } from "../harness/system";
import { deployFlows, removeUserDir, startNodeRed, type NodeRedProcess } from "../harness/node-red";
import { runtimeLabel } from "../harness/runtime";

const MODULE = "node-red-contrib-nut-shutdown";

describe(`bundled examples in a real ${runtimeLabel()}`, function () {
  this.timeout(120000);
  let nr: NodeRedProcess;

  before(async () => {
    // example 05 needs FlowFuse Dashboard 2.0
    nr = await startNodeRed({ port: await freePort(), dashboard: true });
  });
  after(async () => {
    if (nr) {
      await nr.stop();
      removeUserDir(nr.userDir);
    }
  });

  it("Import > Examples lists the eight examples of the package (the editor's library endpoint)", async () => {
    const res = await fetch(`${nr.url}/library/examples/flows/${MODULE}`);
    should(res.status).equal(200);
    const listed = ((await res.json()) as Array<{ fn?: string }>).map((e) => e.fn);
    should(listed.sort()).eql(
      exampleFiles()
        .map((f) => f.replace(/\.json$/, ""))
        .sort(),
    );
    should(listed).have.length(8);
  });

  it("the dashboard example (05) is the progressive one (01) node for node, plus dashboard nodes fed by its power state and results", () => {
    const plan = loadExample("01");
    const withDashboard = new Map(loadExample("05").map((n) => [n.id, n]));
    const extraWires = new Set<string>();
    for (const n of plan) {
      if (n.type === "tab" || (n.type === "comment" && n.name?.startsWith("Progressive shutdown:"))) continue; // its own label and read-me
      const m = withDashboard.get(n.id);
      should(m !== undefined).be.true(`${n.type} "${n.name ?? ""}" of example 01 is missing from 05`);
      const { wires, ...rest } = n;
      const { wires: mWires, ...mRest } = m as FlowNode;
      should(mRest).eql(rest, `${n.type} "${n.name ?? ""}" differs between 01 and 05`);
      // the same wires, plus some to the dashboard nodes on the first output
      const [w, mw] = [(wires ?? []) as string[][], (mWires ?? []) as string[][]];
      should(mw.length).equal(w.length);
      w.forEach((out, i) => should(mw[i].slice(0, out.length)).eql(out));
      for (const id of mw.flat().filter((id) => !w.flat().includes(id))) extraWires.add(`${n.type}>${String(withDashboard.get(id)?.type)}`);
    }
    should([...extraWires].sort()).eql(
      ["ups-aggregate>function", "ups-aggregate>ui-gauge", "ups-aggregate>ui-text", "junction>function"].sort(),
      "only the power state and the shutdown results feed the dashboard",
    );
    const own = [...withDashboard.values()].filter((n) => !plan.some((p) => p.id === n.id));
    should(own.filter((n) => n.type !== "function" && n.type !== "comment" && n.type !== "group" && !n.type.startsWith("ui-"))).eql([]);
  });

  for (const file of exampleFiles()) {
    it(`deploys "${file}" with no unknown type and no error, ssh-shutdown on simulate`, async () => {
      const flow: FlowNode[] = loadExample(file.slice(0, 2));
      for (const n of flow) if (n.type === "ssh-shutdown") should(n.action).equal("simulate", `${n.name} must ship on simulate`);
      const from = await deployFlows(nr, flow);
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
