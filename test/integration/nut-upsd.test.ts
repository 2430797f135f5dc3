/**
 * NutClient against a real upsd (Debian nut-server, dummy-ups drivers) on
 * a free loopback port: what the protocol really does.
 */
import assert from "node:assert/strict";
import { NutClient, type NutClientOptions } from "../../core/nut/client";
import { NutError, NutServerError, NutTlsError } from "../../core/nut/errors";
import { toNutValue } from "../../core/nut/protocol";
import { startNutLab, nutLabMissing, NUT_LAB_INSTALL, NUT_LAB_USERS, type NutLab } from "../harness/nut-lab";
import { requireComponent } from "../harness/system";
import { rejection, waitState } from "../harness/nut-client-wait";

describe("NutClient against a real upsd", function () {
  let lab: NutLab;
  const clients: NutClient[] = [];
  const client = (o: Partial<NutClientOptions> = {}) => {
    const c = new NutClient({ host: lab.host, port: lab.port, reconnectMinMs: 50, reconnectMaxMs: 500, ...o });
    clients.push(c);
    return c;
  };

  before(async function () {
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    lab = await startNutLab({ upses: 2 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(() => lab?.stop());

  it("reads LIST UPS, LIST VAR and GET VAR; values convert to numbers where NUT means numbers", async () => {
    const c = client();
    const connected = waitState(c, "connected");
    c.start();
    await connected;
    assert.equal(c.protocolVersion, "1.3");
    assert.deepEqual(await c.listUps(), [
      { name: "ups1", description: "NUT lab ups1" },
      { name: "ups2", description: "NUT lab ups2" },
    ]);
    const vars = new Map(await c.listVar("ups1"));
    assert.equal(vars.get("ups.status"), "OL");
    assert.equal(toNutValue("battery.charge", vars.get("battery.charge") ?? ""), 100);
    assert.equal(toNutValue("battery.charge.low", vars.get("battery.charge.low") ?? ""), 20);
    assert.equal(toNutValue("input.voltage", vars.get("input.voltage") ?? ""), 230);
    assert.equal(toNutValue("device.serial", vars.get("device.serial") ?? ""), "LAB-ups1");
    assert.equal(await c.getVar("ups2", "battery.charge"), "100");
  });

  it("maps upsd's ERR replies: UNKNOWN-UPS, VAR-NOT-SUPPORTED, and keeps the connection", async () => {
    const c = client();
    c.start();
    const unknown = await rejection(c.listVar("nosuch"));
    assert.ok(unknown instanceof NutServerError);
    assert.equal(unknown.code, "UNKNOWN-UPS");
    assert.equal((await rejection(c.getVar("ups1", "no.such.var"))).code, "VAR-NOT-SUPPORTED");
    assert.equal(c.state, "connected");
  });

  it("getVars: one value or error per name, in order, in one pipelined round", async () => {
    const c = client();
    c.start();
    const got = await c.getVars("ups1", ["ups.status", "no.such.var", "battery.charge", "ups.load"]);
    assert.equal(got[0], "OL");
    assert.ok(got[1] instanceof NutServerError && got[1].code === "VAR-NOT-SUPPORTED");
    assert.deepEqual(got.slice(2), ["100", "25"]);
    const unknown = await c.getVars("nosuch", ["ups.status", "battery.charge"]);
    assert.deepEqual(unknown.map((e) => (e instanceof NutServerError ? e.code : e)), ["UNKNOWN-UPS", "UNKNOWN-UPS"]);
    assert.equal(c.state, "connected");
  });

  it("pipelines 500 requests on one connection, replies in order", async () => {
    const c = client();
    c.start();
    const asks = Array.from({ length: 500 }, (_, i) => (i % 2 ? c.getVar(`ups${(i % 4 === 1) ? 1 : 2}`, "device.serial") : c.listUps()));
    const got = await Promise.all(asks);
    got.forEach((g, i) => {
      if (i % 2) assert.equal(g, `LAB-ups${i % 4 === 1 ? 1 : 2}`);
      else assert.equal((g as unknown[]).length, 2);
    });
  });

  it("sends words with spaces, quotes and '#' so that upsd answers (a quoted '#' would stall upsd 2.8.0)", async () => {
    const c = client({ requestTimeoutMs: 2000 });
    c.start();
    for (const name of ['we#ird', 'a b', 'q"uote', "back\\slash", "x=y"]) {
      assert.equal((await rejection(c.getVar("ups1", name))).code, "VAR-NOT-SUPPORTED", name);
    }
    assert.equal(await c.getVar("ups1", "ups.status"), "OL");
  });

  it("LOGIN as an upsmon user works; a wrong password or a user without upsmon rights shows only there: ACCESS-DENIED", async () => {
    const good = client({ ...NUT_LAB_USERS.monitor, login: "ups1" });
    const goodWarnings: NutError[] = [];
    good.on("warning", (w) => goodWarnings.push(w));
    const up = waitState(good, "connected");
    good.start();
    await up;
    assert.deepEqual(goodWarnings, []);

    for (const creds of [{ username: "monuser", password: "not-the-password" }, NUT_LAB_USERS.viewer]) {
      const c = client({ ...creds, login: "ups1" });
      const warning = new Promise<NutError>((resolve) => c.once("warning", resolve));
      c.start();
      const w = await warning;
      assert.equal(w.code, "ACCESS-DENIED");
      assert.ok(!w.message.includes(creds.password));
      assert.equal(await c.getVar("ups1", "ups.status"), "OL", "reading goes on");
    }
  });

  it("a wrong password without LOGIN is not noticed: upsd checks passwords only for privileged commands", async () => {
    const c = client({ username: "monuser", password: "not-the-password" });
    const warnings: NutError[] = [];
    c.on("warning", (w) => warnings.push(w));
    c.start();
    assert.equal(await c.getVar("ups1", "ups.status"), "OL");
    assert.deepEqual(warnings, []);
  });

  it("STARTTLS on Debian's upsd without certificates: FEATURE-NOT-CONFIGURED, and no plaintext fallback", async () => {
    const c = client({ tls: {}, ...NUT_LAB_USERS.monitor, reconnectMinMs: 10000 });
    const down = waitState(c, "disconnected");
    c.start();
    const s = await down;
    assert.ok(s.error instanceof NutTlsError);
    assert.equal(s.error.code, "FEATURE-NOT-CONFIGURED");
    assert.equal((await rejection(c.listUps())).code, "FEATURE-NOT-CONFIGURED");
  });

  it("upsd restart: the client sees the close, reconnects on its own and reads again", async () => {
    const c = client();
    const up = waitState(c, "connected");
    c.start();
    await up;
    const down = waitState(c, "disconnected");
    await lab.stopUpsd();
    assert.ok(["CLOSED", "ECONNRESET"].includes((await down).error?.code ?? ""), "upsd closes its clients");
    // Made while disconnected: waitState resolves at once for the state the client is in, so made before the
    // stop it was the connection that just ended, and getVar raced the reconnection.
    const back = waitState(c, "connected", 20000);
    await lab.startUpsd();
    await back;
    assert.equal(await c.getVar("ups1", "ups.status"), "OL");
  });
});
