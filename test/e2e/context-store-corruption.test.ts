/**
 * What a real `node-red` process does with a damaged localfilesystem context
 * file, and what this package makes of it (docs/nodes.md, "Surviving a restart"):
 * - an empty file (a crash or power cut while it was written) is read as
 *   "nothing stored", without a word from Node-RED: outage-latch says it (an
 *   error in the log and to Catch nodes, a red status) and lets through;
 * - a file that is not JSON (truncated, garbage), with the store's cache
 *   (Node-RED's default): Node-RED does not start at all, and names the file.
 * The same cases with `cache: false` and in every node: test/nodes/.
 */
import should from "../harness/should";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeUserDir, packageNotBuilt, removeUserDir, startNodeRed, type NodeRedProcess } from "../harness/node-red";
import { runtimeLabel } from "../harness/runtime";
import { waitUntil } from "../harness/wait";

const OUTAGE = { id: "outage-20261125T130200Z-ab12", since: Date.UTC(2026, 10, 25, 13, 2, 0) };
const FLOWS = [
  { id: "tab1", type: "tab", label: "corrupt store" },
  { id: "inj", type: "inject", z: "tab1", props: [{ p: "outage", v: JSON.stringify(OUTAGE), vt: "json" }], repeat: "", once: false, wires: [["latch"]] },
  { id: "latch", type: "outage-latch", z: "tab1", key: "outage", store: "", forwardReset: true, wires: [["dbg"]] },
  {
    id: "dbg",
    type: "debug",
    z: "tab1",
    name: "latch-out",
    active: true,
    console: true,
    tosidebar: false,
    tostatus: false,
    complete: "outage",
    targetType: "msg",
  },
];
/** Where Node-RED keeps the latch's context: <userDir>/context/<flow>/<node>.json. */
const latchFile = (userDir: string) => join(userDir, "context", "tab1", "latch.json");

describe(`a damaged context file in a real ${runtimeLabel()}`, function () {
  this.timeout(120000);
  let nr: NodeRedProcess | undefined;
  let userDir = "";

  before(function () {
    if (packageNotBuilt()) this.skip();
  });
  after(async () => {
    await nr?.stop();
    if (userDir) removeUserDir(userDir);
  });

  /** Starts Node-RED on the userDir and fires the inject once the flows run; resolves with the log offset before it. */
  async function startAndInject(): Promise<number> {
    nr = await startNodeRed({ userDir, flows: userDir && !existsSync(join(userDir, "flows.json")) ? FLOWS : undefined, persistentContext: true });
    await nr.waitForLog("Started flows");
    const from = nr.log().length;
    const res = await fetch(`${nr.url}/inject/inj`, { method: "POST" });
    should(res.status).equal(200);
    return from;
  }

  it("an empty file: Node-RED says nothing, the latch says it in red and lets through; a file that is not JSON: Node-RED does not start", async () => {
    userDir = makeUserDir();
    let from = await startAndInject();
    await nr?.waitForLog("[debug:latch-out]", 15000, from);
    await waitUntil("the latch state on disk", () => existsSync(latchFile(userDir)) && readFileSync(latchFile(userDir), "utf8").includes(OUTAGE.id), {
      everyMs: 50,
    });
    await nr?.stop();

    // A crash or power cut while the file was written leaves it empty.
    writeFileSync(latchFile(userDir), "");
    from = await startAndInject();
    await nr?.waitForLog("[debug:latch-out]", 15000, from);
    const log = nr?.log() ?? "";
    should(log).match(/\[error\] \[outage-latch:latch\] The stored latch state is lost: its context file .*latch\.json is empty/);
    should(log).not.match(/Invalid JSON|localfilesystem.*error/i, "Node-RED itself says nothing");
    await waitUntil("the latch state stored again", () => readFileSync(latchFile(userDir), "utf8").includes(OUTAGE.id), { everyMs: 50 });
    await nr?.stop();

    // Truncated in the middle: with its cache (the default), Node-RED refuses to start and names the file.
    const good = readFileSync(latchFile(userDir), "utf8");
    writeFileSync(latchFile(userDir), good.slice(0, Math.floor(good.length / 2)));
    await should(startNodeRed({ userDir, persistentContext: true })).be.rejectedWith(Error, (err: Error) => {
      should(err.message).match(/exited before printing/);
      should(err.message).match(/Failed to start server/);
      should(err.message.includes(`Invalid JSON in context file '${latchFile(userDir)}'`)).be.true(err.message);
      return true;
    });
  });
});
