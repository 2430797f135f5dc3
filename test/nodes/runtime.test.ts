/**
 * The node tests run against the Node-RED they name: the one TEST_NODE_RED
 * selects ("node-red", 4.x, by default; "node-red-5" in the Node 22 and 24
 * runs), on the Node.js that runs mocha, never another install's runtime.
 */
import should from "../harness/should";
import { helper, helperRuntime } from "../harness/red-helper";
import { runtimeInfo, runtimeLabel, targetRuntime } from "../harness/runtime";

const { version } = runtimeInfo(targetRuntime);

describe(`node tests: node-red-node-test-helper runs ${runtimeLabel()}`, () => {
  afterEach(() => helper.unload());

  it(`loads the runtime of ${targetRuntime} (${version}): a node of a loaded flow is one of its nodes`, async () => {
    should(helperRuntime.version).equal(version);
    await helper.load([], [{ id: "h", type: "helper" }]);
    should(helper.getNode("h")).be.instanceOf(helperRuntime.Node, "the flow's node comes from another runtime");
  });
});
