/**
 * The node tests run against the Node-RED they name: the one TEST_NODE_RED
 * selects ("node-red", 4.x, by default; "node-red-5" in the Node 22 and 24
 * runs), on the Node.js that runs mocha, never another install's runtime.
 */
import assert from "node:assert/strict";
import { helper, helperRuntime } from "../harness/red-helper";
import { runtimeInfo, runtimeLabel, targetRuntime } from "../harness/runtime";

const { version } = runtimeInfo(targetRuntime);

describe(`node tests: node-red-node-test-helper runs ${runtimeLabel()}`, () => {
  afterEach(() => helper.unload());

  it(`loads the runtime of ${targetRuntime} (${version}): a node of a loaded flow is one of its nodes`, async () => {
    assert.equal(helperRuntime.version, version);
    await helper.load([], [{ id: "h", type: "helper" }]);
    assert.ok(helper.getNode("h") instanceof helperRuntime.Node, "the flow's node comes from another runtime");
  });
});
