import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { Rng, guardLoopback } from "../harness/fuzz";
import { nodeSatisfies } from "../harness/runtime";
import { findExecutable, freePort } from "../harness/system";
import { waitUntil } from "../harness/wait";

describe("test harness", () => {
  it("freePort gives a port that can be bound on 127.0.0.1", async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    await new Promise<void>((resolve, reject) => {
      const srv = createServer().once("error", reject).listen(port, "127.0.0.1", () => srv.close(() => resolve()));
    });
  });

  it("waitUntil resolves with the first value a check gives (sync or async), fails naming what it waited for, and stops at a check's error", async () => {
    let n = 0;
    assert.equal(await waitUntil("the third poll", () => ++n >= 3 && `poll ${n}`), "poll 3");
    assert.equal(await waitUntil("an async check", async () => 0), 0, "0 is a value, not a miss");
    await assert.rejects(waitUntil("what never comes", () => false, { timeoutMs: 30, everyMs: 5 }), /^Error: timed out after 30 ms waiting for what never comes$/);
    let checks = 0;
    await assert.rejects(
      waitUntil("sshd", () => {
        checks++;
        throw new Error("sshd exited");
      }),
      /sshd exited/,
    );
    assert.equal(checks, 1, "an error ends the wait at once");
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

  it("the fuzz tests' loopback guard refuses (and records) any other address or host name before a packet leaves; loopback goes through", async () => {
    const srv = createServer((s) => s.end("hi"));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const addr = srv.address();
    const port = typeof addr === "object" && addr ? addr.port : 0;
    const guard = guardLoopback();
    const outcome = (s: Socket) =>
      new Promise<string>((resolve) => {
        s.on("error", (e: NodeJS.ErrnoException) => resolve(String(e.code)));
        s.on("data", (d) => resolve(d.toString()));
      });
    try {
      // TEST-NET-1 (RFC 5737) and the reserved .invalid name: refused here, never sent
      assert.equal(await outcome(connect({ host: "192.0.2.1", port: 9 })), "EFUZZGUARD");
      assert.equal(await outcome(connect(9, "name.invalid")), "EFUZZGUARD");
      assert.equal(await outcome(connect({ host: "127.0.0.1", port })), "hi");
    } finally {
      assert.deepEqual(guard.uninstall(), ["192.0.2.1", "name.invalid"]);
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it("the fuzz random source gives the same values for the same seed, and whole characters", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const seq = (r: Rng) => Array.from({ length: 20 }, () => r.int(0, 1000));
    assert.deepEqual(seq(a), seq(b));
    assert.notDeepEqual(seq(new Rng(43)), seq(new Rng(42)));
    const text = new Rng(1).text(2000, "a😀");
    assert.ok(/^(a|😀)+$/u.test(text), "never half of a surrogate pair");
  });
});
