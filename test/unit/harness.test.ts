import assert from "node:assert/strict";
import { createServer } from "node:net";
import { nodeSatisfies } from "../harness/runtime";
import { findExecutable, freePort } from "../harness/system";

describe("test harness", () => {
  it("freePort gives a port that can be bound on 127.0.0.1", async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    await new Promise<void>((resolve, reject) => {
      const srv = createServer().once("error", reject).listen(port, "127.0.0.1", () => srv.close(() => resolve()));
    });
  });

  it("findExecutable returns the first executable candidate, null when none", () => {
    assert.equal(findExecutable(["/nonexistent/x", process.execPath]), process.execPath);
    assert.equal(findExecutable(["/nonexistent/x"]), null);
  });

  it("nodeSatisfies reads a Node-RED's engines.node (>=major[.minor]) against a Node.js version", () => {
    assert.equal(nodeSatisfies(">=22.9", "v22.9.0"), true);
    assert.equal(nodeSatisfies(">=22.9", "v22.8.1"), false);
    assert.equal(nodeSatisfies(">=22.9", "v20.20.2"), false);
    assert.equal(nodeSatisfies(">=22.9", "v24.0.0"), true);
    assert.equal(nodeSatisfies(">=18.5", "v20.20.2"), true);
    assert.equal(nodeSatisfies(">=14", "14.0.0"), true);
    assert.throws(() => nodeSatisfies("^22.9.0", "v22.9.0"), /unexpected engines.node/);
  });
});
