/**
 * NutClient against a real upsd (Debian nut-server, dummy-ups drivers) on
 * a free loopback port: what the protocol really does.
 */
import should from "../harness/should";
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
    should(c.protocolVersion).equal("1.3");
    should(await c.listUps()).eql([
      { name: "ups1", description: "NUT lab ups1" },
      { name: "ups2", description: "NUT lab ups2" },
    ]);
    const vars = new Map(await c.listVar("ups1"));
    should(vars.get("ups.status")).equal("OL");
    should(toNutValue("battery.charge", vars.get("battery.charge") ?? "")).equal(100);
    should(toNutValue("battery.charge.low", vars.get("battery.charge.low") ?? "")).equal(20);
    should(toNutValue("input.voltage", vars.get("input.voltage") ?? "")).equal(230);
    should(toNutValue("device.serial", vars.get("device.serial") ?? "")).equal("LAB-ups1");
    should(await c.getVar("ups2", "battery.charge")).equal("100");
  });

  it("maps upsd's ERR replies: UNKNOWN-UPS, VAR-NOT-SUPPORTED, and keeps the connection", async () => {
    const c = client();
    c.start();
    const unknown = await rejection(c.listVar("nosuch"));
    should(unknown).be.instanceOf(NutServerError);
    should(unknown.code).equal("UNKNOWN-UPS");
    should((await rejection(c.getVar("ups1", "no.such.var"))).code).equal("VAR-NOT-SUPPORTED");
    should(c.state).equal("connected");
  });

  it("getVars: one value or error per name, in order, in one pipelined round", async () => {
    const c = client();
    c.start();
    const got = await c.getVars("ups1", ["ups.status", "no.such.var", "battery.charge", "ups.load"]);
    should(got[0]).equal("OL");
    should(got[1]).be.instanceOf(NutServerError);
    should((got[1] as NutServerError).code).equal("VAR-NOT-SUPPORTED");
    should(got.slice(2)).eql(["100", "25"]);
    const unknown = await c.getVars("nosuch", ["ups.status", "battery.charge"]);
    should(unknown.map((e) => (e instanceof NutServerError ? e.code : e))).eql(["UNKNOWN-UPS", "UNKNOWN-UPS"]);
    should(c.state).equal("connected");
  });

  it("pipelines 500 requests on one connection, replies in order", async () => {
    const c = client();
    c.start();
    const asks = Array.from({ length: 500 }, (_, i) => (i % 2 ? c.getVar(`ups${i % 4 === 1 ? 1 : 2}`, "device.serial") : c.listUps()));
    const got = await Promise.all(asks);
    got.forEach((g, i) => {
      if (i % 2) should(g).equal(`LAB-ups${i % 4 === 1 ? 1 : 2}`);
      else should(g as unknown[]).have.length(2);
    });
  });

  it("sends words with spaces, quotes and '#' so that upsd answers (a quoted '#' would stall upsd 2.8.0)", async () => {
    const c = client({ requestTimeoutMs: 2000 });
    c.start();
    for (const name of ["we#ird", "a b", 'q"uote', "back\\slash", "x=y"]) {
      should((await rejection(c.getVar("ups1", name))).code).equal("VAR-NOT-SUPPORTED", name);
    }
    should(await c.getVar("ups1", "ups.status")).equal("OL");
  });

  it("LOGIN as an upsmon user works; a wrong password or a user without upsmon rights shows only there: ACCESS-DENIED", async () => {
    const good = client({ ...NUT_LAB_USERS.monitor, login: "ups1" });
    const goodWarnings: NutError[] = [];
    good.on("warning", (w) => goodWarnings.push(w));
    const up = waitState(good, "connected");
    good.start();
    await up;
    should(goodWarnings).eql([]);

    for (const creds of [{ username: "monuser", password: "not-the-password" }, NUT_LAB_USERS.viewer]) {
      const c = client({ ...creds, login: "ups1" });
      const warning = new Promise<NutError>((resolve) => c.once("warning", resolve));
      c.start();
      const w = await warning;
      should(w.code).equal("ACCESS-DENIED");
      should(w.message).not.containEql(creds.password);
      should(await c.getVar("ups1", "ups.status")).equal("OL", "reading goes on");
    }
  });

  it("a wrong password without LOGIN is not noticed: upsd checks passwords only for privileged commands", async () => {
    const c = client({ username: "monuser", password: "not-the-password" });
    const warnings: NutError[] = [];
    c.on("warning", (w) => warnings.push(w));
    c.start();
    should(await c.getVar("ups1", "ups.status")).equal("OL");
    should(warnings).eql([]);
  });

  it("STARTTLS on Debian's upsd without certificates: FEATURE-NOT-CONFIGURED, and no plaintext fallback", async () => {
    const c = client({ tls: {}, ...NUT_LAB_USERS.monitor, reconnectMinMs: 10000 });
    const down = waitState(c, "disconnected");
    c.start();
    const s = await down;
    should(s.error).be.instanceOf(NutTlsError);
    should((s.error as NutTlsError).code).equal("FEATURE-NOT-CONFIGURED");
    should((await rejection(c.listUps())).code).equal("FEATURE-NOT-CONFIGURED");
  });

  it("upsd restart: the client sees the close, reconnects on its own and reads again", async () => {
    const c = client();
    const up = waitState(c, "connected");
    c.start();
    await up;
    const down = waitState(c, "disconnected");
    await lab.stopUpsd();
    should(["CLOSED", "ECONNRESET"].includes((await down).error?.code ?? "")).be.true("upsd closes its clients");
    // Made while disconnected: waitState resolves at once for the state the client is in, so made before the
    // stop it was the connection that just ended, and getVar raced the reconnection.
    const back = waitState(c, "connected", 20000);
    await lab.startUpsd();
    await back;
    should(await c.getVar("ups1", "ups.status")).equal("OL");
  });
});
