/**
 * The test harness's own helpers (waitUntil, runtime detection, fuzz guard):
 * they must fail when they should.
 */
import should from "../harness/should";
import { connect, createServer, type Socket } from "node:net";
import { Rng, guardLoopback } from "../harness/fuzz";
import { nodeSatisfies } from "../harness/runtime";
import { findExecutable, freePort } from "../harness/system";
import { waitUntil } from "../harness/wait";

describe("test harness", () => {
  it("freePort gives a port that can be bound on 127.0.0.1", async () => {
    const port = await freePort();
    should(port).be.above(0);
    should(port).be.below(65536);
    await new Promise<void>((resolve, reject) => {
      const srv = createServer()
        .once("error", reject)
        .listen(port, "127.0.0.1", () => srv.close(() => resolve()));
    });
  });

  it("waitUntil resolves with the first value a check gives (sync or async), fails naming what it waited for, and stops at a check's error", async () => {
    let n = 0;
    should(await waitUntil("the third poll", () => ++n >= 3 && `poll ${n}`)).equal("poll 3");
    should(await waitUntil("an async check", async () => 0)).equal(0, "0 is a value, not a miss");
    await should(waitUntil("what never comes", () => false, { timeoutMs: 30, everyMs: 5 })).be.rejectedWith(
      /^timed out after 30 ms waiting for what never comes$/,
    );
    let checks = 0;
    await should(
      waitUntil("sshd", () => {
        checks++;
        throw new Error("sshd exited");
      }),
    ).be.rejectedWith(/sshd exited/);
    should(checks).equal(1, "an error ends the wait at once");
  });

  it("findExecutable returns the first executable candidate, null when none", () => {
    should(findExecutable(["/nonexistent/x", process.execPath])).equal(process.execPath);
    should(findExecutable(["/nonexistent/x"])).equal(null);
  });

  it("nodeSatisfies reads a Node-RED's engines.node (>=major[.minor]) against a Node.js version", () => {
    should(nodeSatisfies(">=22.9", "v22.9.0")).be.true();
    should(nodeSatisfies(">=22.9", "v22.8.1")).be.false();
    should(nodeSatisfies(">=22.9", "v20.20.2")).be.false();
    should(nodeSatisfies(">=22.9", "v24.0.0")).be.true();
    should(nodeSatisfies(">=18.5", "v20.20.2")).be.true();
    should(nodeSatisfies(">=14", "14.0.0")).be.true();
    should(() => nodeSatisfies("^22.9.0", "v22.9.0")).throw(/unexpected engines.node/);
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
      should(await outcome(connect({ host: "192.0.2.1", port: 9 }))).equal("EFUZZGUARD");
      should(await outcome(connect(9, "name.invalid"))).equal("EFUZZGUARD");
      should(await outcome(connect({ host: "127.0.0.1", port }))).equal("hi");
    } finally {
      should(guard.uninstall()).eql(["192.0.2.1", "name.invalid"]);
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it("the fuzz random source gives the same values for the same seed, and whole characters", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const seq = (r: Rng) => Array.from({ length: 20 }, () => r.int(0, 1000));
    should(seq(a)).eql(seq(b));
    should(seq(new Rng(43))).not.eql(seq(new Rng(42)));
    const text = new Rng(1).text(2000, "a😀");
    should(/^(a|😀)+$/u.test(text)).be.true("never half of a surrogate pair");
  });
});
