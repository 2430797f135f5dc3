/**
 * Slow (about 70 s), so opt-in: NUT_SLOW_TESTS=1 npx mocha test/integration/nut-keepalive.test.ts
 * upsd closes a client that has been idle for ~60 s; the client's keep-alive
 * (NETVER every 30 s when idle) must keep the connection, and the same client
 * without keep-alive must see the close. Measured here: close at 60.1 s
 * without keep-alive, none with it.
 */
import should from "../harness/should";
import { NutClient, type StateChange } from "../../core/nut/client";
import { startNutLab, nutLabMissing, NUT_LAB_INSTALL, type NutLab } from "../harness/nut-lab";
import { requireComponent } from "../harness/system";
import { waitState } from "../harness/nut-client-wait";

describe("NutClient keep-alive against upsd's idle close (slow, opt-in)", function () {
  this.timeout(120000);
  let lab: NutLab;
  before(async function () {
    if (process.env.NUT_SLOW_TESTS !== "1") {
      console.warn("\n  (skipped: set NUT_SLOW_TESTS=1 to run the 70 s keep-alive check)\n");
      this.skip();
    }
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    lab = await startNutLab({ upses: 1 });
  });
  after(() => lab?.stop());

  it("an idle connection with keep-alive outlives one without, which upsd closes after about 60 s", async () => {
    const lost: Record<string, StateChange[]> = { kept: [], idle: [] };
    const make = (name: "kept" | "idle", keepAliveMs: number) => {
      const c = new NutClient({ host: lab.host, port: lab.port, keepAliveMs });
      c.on("state", (s) => s.state === "disconnected" && lost[name].push(s));
      c.start();
      return c;
    };
    const kept = make("kept", 30000);
    await waitState(kept, "connected");
    // the kept client starts 5 s earlier: were its keep-alive broken, upsd would close it first
    await new Promise((r) => setTimeout(r, 5000));
    const idle = make("idle", 1e9);
    await waitState(idle, "connected");
    const closed = await waitState(idle, "disconnected", 90000);
    should(closed.error?.code).equal("CLOSED");
    should(lost.kept).eql([]);
    should(kept.state).equal("connected");
    await kept.close();
    await idle.close();
  });
});
