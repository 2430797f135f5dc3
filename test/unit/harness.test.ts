import assert from "node:assert/strict";
import { createServer } from "node:net";
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
});
