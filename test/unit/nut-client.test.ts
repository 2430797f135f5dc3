/**
 * NutClient against the in-repo NUT simulator (tools/nut-sim.ts) and raw
 * loopback servers: the faults a real upsd cannot produce. The same client
 * against a real upsd: test/integration/nut-upsd.test.ts.
 */
import should from "../harness/should";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import fc from "fast-check";
import sinon from "sinon";
import { NUT_REPLY_LIMITS, NutClient, type NutClientOptions, type StateChange } from "../../core/nut/client";
import { NutArgumentError, NutConnectionError, NutError, NutProtocolError, NutServerError, NutTimeoutError, NutTlsError } from "../../core/nut/errors";
import { startNutSim, type NutSim } from "../../tools/nut-sim";
import { freePort } from "../harness/system";
import { rejection, waitState } from "../harness/nut-client-wait";
import { waitUntil } from "../harness/wait";

const fixture = (f: string) => readFileSync(join(__dirname, "..", "fixtures", "tls", f));

/** The next `state` event reaching `state` (no timer of its own: it works under mocked timers). */
function next(c: NutClient, state: StateChange["state"]): Promise<StateChange> {
  return new Promise((resolve) => {
    const on = (s: StateChange) => {
      if (s.state !== state) return;
      c.off("state", on);
      resolve(s);
    };
    c.on("state", on);
  });
}

/** A loopback TCP peer running `handle` for each connection; counts them. */
async function peer(handle: (s: Socket) => void): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.on("error", () => undefined);
    s.resume(); // always read, or the socket never sees the client's FIN and server.close() never returns
    handle(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  return { server, port: typeof addr === "object" && addr ? addr.port : 0, connections: () => n };
}

describe("NutClient against nut-sim", function () {
  let sim: NutSim;
  const clients: NutClient[] = [];
  const client = (o: Partial<NutClientOptions> = {}) => {
    const c = new NutClient({ host: sim.host, port: sim.port, requestTimeoutMs: 1000, reconnectMinMs: 20, reconnectMaxMs: 200, ...o });
    clients.push(c);
    c.start();
    return c;
  };

  beforeEach(async () => {
    sim = await startNutSim({ users: { mon: { password: "secret", upsmon: true }, viewer: { password: "v" } } });
    sim.addUps("ups1", { "battery.charge": 100, "battery.charge.low": 20, "ups.status": "OL" });
    sim.addUps("ups2", { "battery.charge": 50, "ups.status": "OB DISCHRG" }, 'desc with "quotes" and #hash');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await sim.close();
  });

  it("lists UPSes and variables, unescaping values", async () => {
    const c = client();
    should(await c.listUps()).eql([
      { name: "ups1", description: "nut-sim ups1" },
      { name: "ups2", description: 'desc with "quotes" and #hash' },
    ]);
    should(await c.listVar("ups1")).eql([
      ["battery.charge", "100"],
      ["battery.charge.low", "20"],
      ["ups.status", "OL"],
    ]);
    should(await c.getVar("ups2", "ups.status")).equal("OB DISCHRG");
    should(c.protocolVersion).equal("1.3");
  });

  it("maps ERR replies to NutServerError and keeps the connection", async () => {
    const c = client();
    const err = await rejection(c.listVar("nope"));
    should(err).be.instanceOf(NutServerError);
    should(err.code).equal("UNKNOWN-UPS");
    should((await rejection(c.getVar("ups1", "nope"))).code).equal("VAR-NOT-SUPPORTED");
    sim.setUpsError("ups1", "DATA-STALE");
    should((await rejection(c.listVar("ups1"))).code).equal("DATA-STALE");
    should(c.state).equal("connected");
  });

  it("pipelines requests on one connection and matches replies in order", async () => {
    const c = client();
    await waitState(c, "connected");
    const asks = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? c.listVar(i % 2 ? "ups1" : "ups2") : i % 3 === 1 ? c.getVar("ups2", "battery.charge") : c.listUps(),
    );
    const got = await Promise.all(asks);
    got.forEach((g, i) => {
      if (i % 3 === 0) should(g as Array<[string, string]>).have.length(i % 2 ? 3 : 2);
      else if (i % 3 === 1) should(g).equal("50");
      else should(g as unknown[]).have.length(2);
    });
    should(sim.connections).equal(1);
  });

  it("refuses an argument it cannot send, without writing anything", async () => {
    const c = client();
    await waitState(c, "connected");
    const before = sim.commands.length;
    const err = await rejection(c.listVar("ups1\nLIST UPS"));
    should(err).be.instanceOf(NutArgumentError);
    should(await c.listUps()).have.length(2);
    should(sim.commands.slice(before)).eql(["LIST UPS"]);
  });

  it("fault: replies split across TCP packets are reassembled", async () => {
    sim.setFault("split");
    const c = client();
    should(await c.listVar("ups1")).eql([
      ["battery.charge", "100"],
      ["battery.charge.low", "20"],
      ["ups.status", "OL"],
    ]);
    should((await c.listUps())[1].description).equal('desc with "quotes" and #hash');
  });

  it("fault: LIST UPS from a peer that is not upsd: a name upsd could not hold is left out", async () => {
    sim.addUps("\u001b[2Jnot-a-name", {});
    sim.addUps("x".repeat(129), {});
    sim.addUps("ups3", {}, "as\tsaid");
    const c = client();
    const list = await c.listUps();
    should(list.map((u) => u.name)).eql(["ups1", "ups2", "ups3"]);
    should(list[2].description).equal("as\tsaid", "a description is what the reply said (the editor's list makes it one line)");
  });

  it("fault: a garbage line is a protocol error; the connection is rebuilt and works again", async () => {
    const c = client();
    await waitState(c, "connected");
    sim.setFault("garbage");
    const down = waitState(c, "disconnected");
    const err = await rejection(c.listVar("ups1"));
    should(err).be.instanceOf(NutProtocolError, err.message);
    should((await down).error?.code).equal("PROTOCOL-ERROR");
    sim.setFault(null);
    await waitState(c, "connected");
    should(await c.listVar("ups1")).have.length(3);
  });

  it("fault: a server that accepts and never answers times out, and the client reconnects", async () => {
    sim.setFault("silent");
    const c = client({ requestTimeoutMs: 300 });
    const err = await rejection(c.listUps());
    should(err.code).equal("TIMEOUT");
    sim.setFault(null);
    await waitState(c, "connected");
    should(await c.listUps()).have.length(2);
  });

  it("fault: upsd stops answering on a live connection: the request times out, the pipeline is rebuilt", async () => {
    const c = client({ requestTimeoutMs: 300 });
    await waitState(c, "connected");
    sim.setFault("silent");
    const down = waitState(c, "disconnected");
    const [a, b] = await Promise.all([rejection(c.listVar("ups1")), rejection(c.getVar("ups1", "ups.status"))]);
    should(a).be.instanceOf(NutTimeoutError);
    should(b.code).equal("TIMEOUT", "later requests of the broken pipeline fail too");
    should((await down).error?.code).equal("TIMEOUT");
    sim.setFault(null);
    await waitState(c, "connected");
    should(await c.getVar("ups1", "ups.status")).equal("OL");
  });

  it("a request asked after others were answered still times out at its own deadline (one watchdog for all)", async () => {
    const c = client({ requestTimeoutMs: 300 });
    await waitState(c, "connected");
    should(await c.getVar("ups1", "ups.status")).equal("OL"); // the queue empties: the watchdog fires at this one's deadline, finds nothing
    await new Promise((r) => setTimeout(r, 200));
    sim.setFault("silent");
    // without a watchdog re-armed for the next deadline, this would never settle (mocha's timeout fails the test)
    const err = await rejection(c.getVar("ups1", "ups.status"));
    should(err.code).equal("TIMEOUT");
  });

  it("getVars: a word that cannot be sent fails its own entry only, and nothing is written for it", async () => {
    const c = client();
    await waitState(c, "connected");
    const start = sim.commands.length;
    const got = await c.getVars("ups1", ["ups.status", "bad\nLIST UPS"]);
    should(got[0]).equal("OL");
    should(got[1]).be.instanceOf(NutArgumentError);
    should(sim.commands.slice(start)).eql(["GET VAR ups1 ups.status"]);
    const bad = await c.getVars("ups\u00e9", ["ups.status"]);
    should(bad[0]).be.instanceOf(NutArgumentError);
  });

  it("getVars reads every reply as tokenize would: plain and escaped values, an empty one, a missing variable", async () => {
    sim.addUps("ups3", { "ups.status": "OL", "ups.mfr": 'say "hi" \\ #1', "battery.charge": "" });
    const c = client();
    await waitState(c, "connected");
    for (let round = 0; round < 2; round++) {
      // the second round uses the requests made by the first
      const got = await c.getVars("ups3", ["ups.status", "ups.mfr", "battery.charge", "ups.load"]);
      should(got.slice(0, 3)).eql(["OL", 'say "hi" \\ #1', ""]);
      should(got[3]).be.instanceOf(NutServerError);
      should((got[3] as NutServerError).code).equal("VAR-NOT-SUPPORTED");
      should(await c.getVars("ups2", ["ups.status", "battery.charge"])).eql(["OB DISCHRG", "50"]);
    }
  });

  it("fault: a connection closed mid-list fails that request, then the client reconnects", async () => {
    const c = client();
    await waitState(c, "connected");
    sim.setFault("close-mid-list");
    const err = await rejection(c.listVar("ups1"));
    should(err).be.instanceOf(NutConnectionError);
    should(err.code).equal("CLOSED");
    sim.setFault(null);
    await waitState(c, "connected");
    should(await c.listVar("ups1")).have.length(3);
  });

  it("fault: a non-NUT greeting (wrong port) is reported as not NUT", async () => {
    sim.setFault("banner");
    const c = client({ reconnectMinMs: 5000 });
    const down = await waitState(c, "disconnected");
    should(down.error).be.instanceOf(NutProtocolError);
    should((down.error as NutProtocolError).message).match(/does not speak NUT/);
  });

  it("upsd restart: requests in flight fail, the client reconnects on its own", async () => {
    const c = client();
    await waitState(c, "connected");
    sim.dropConnections();
    await waitState(c, "disconnected");
    await waitState(c, "connected");
    should(await c.getVar("ups1", "ups.status")).equal("OL");
  });

  it("sends USERNAME/PASSWORD and LOGIN; the password never shows in what it reports", async () => {
    const c = client({ username: "mon", password: "secret", login: "ups1" });
    await waitState(c, "connected");
    should(sim.commands.slice(0, 4)).eql(["NETVER", "USERNAME mon", "PASSWORD ****", "LOGIN ups1"]);
  });

  it("a refused LOGIN (wrong password) is a warning; reading goes on", async () => {
    const c = client({ username: "mon", password: "s3cr3t-bad", login: "ups1" });
    const warning = new Promise<NutError>((resolve) => c.once("warning", resolve));
    await waitState(c, "connected");
    const w = await warning;
    should(w.code).equal("ACCESS-DENIED");
    should(w.message).match(/^LOGIN ups1: ERR ACCESS-DENIED/);
    should(w.message).not.containEql("s3cr3t-bad");
    should(await c.listUps()).have.length(2);
  });

  it("STARTTLS refused (FEATURE-NOT-CONFIGURED): no connection, and no credentials sent in clear", async () => {
    const c = client({ tls: {}, username: "mon", password: "secret", reconnectMinMs: 5000 });
    const down = await waitState(c, "disconnected");
    should(down.error).be.instanceOf(NutTlsError);
    should((down.error as NutTlsError).code).equal("FEATURE-NOT-CONFIGURED");
    should((down.error as NutTlsError).message).match(/not connecting without TLS/);
    should(sim.commands).eql(["STARTTLS"]);
    should((await rejection(c.listUps())).code).equal("FEATURE-NOT-CONFIGURED");
  });

  describe("with a TLS certificate", () => {
    let tlsSim: NutSim;
    beforeEach(async () => {
      tlsSim = await startNutSim({ tls: { key: fixture("server.key"), cert: fixture("server.pem") } });
      tlsSim.addUps("ups1", { "ups.status": "OL" });
    });
    afterEach(() => tlsSim.close());

    it("STARTTLS with the right CA: everything after it is encrypted and works", async () => {
      const c = client({ port: tlsSim.port, tls: { ca: fixture("ca.pem") }, username: "u", password: "p" });
      await waitState(c, "connected");
      should(await c.getVar("ups1", "ups.status")).equal("OL");
      should(tlsSim.commands.slice(0, 4)).eql(["STARTTLS", "NETVER", "USERNAME u", "PASSWORD ****"]);
    });

    it("STARTTLS with an unrelated CA: refused, and nothing else is sent", async () => {
      const c = client({ port: tlsSim.port, tls: { ca: fixture("other-ca.pem") }, username: "u", password: "p", reconnectMinMs: 5000 });
      const down = await waitState(c, "disconnected");
      should(down.error).be.instanceOf(NutTlsError, String(down.error));
      should((down.error as NutTlsError).message).match(/TLS with .* failed/);
      should(tlsSim.commands).eql(["STARTTLS"]);
    });
  });

  it("keeps an idle connection alive with NETVER (upsd closes idle clients after ~60 s)", async () => {
    const c = client({ keepAliveMs: 100 });
    await waitState(c, "connected");
    const before = sim.commands.filter((x) => x === "NETVER").length;
    await waitUntil("two keep-alive NETVER", () => sim.commands.filter((x) => x === "NETVER").length >= before + 2, { timeoutMs: 3000, everyMs: 20 });
    should(sim.connections).equal(1);
  });

  it("close(): pending requests fail, LOGOUT is sent, no reconnect afterwards", async () => {
    const c = client();
    await waitState(c, "connected");
    sim.setFault("silent");
    const pending = rejection(c.listUps());
    await c.close();
    should((await pending).code).equal("CLOSED");
    should(c.state).equal("closed");
    should(sim.commands).containEql("LOGOUT");
    should((await rejection(c.listUps())).code).equal("CLOSED");
  });

  it("an ERR word of 5000 characters is code UNKNOWN, and the error text quotes only an excerpt; a short plain word is kept", async () => {
    const c = client();
    sim.setUpsError("ups1", "A".repeat(5000));
    const err = await rejection(c.getVar("ups1", "ups.status"));
    should(err).be.instanceOf(NutServerError);
    should(err.code).equal("UNKNOWN");
    should(err.message.length).be.below(200, err.message);
    sim.setUpsError("ups1", "NEW-CODE-2");
    should((await rejection(c.getVar("ups1", "ups.status"))).code).equal("NEW-CODE-2", "a newer upsd may have more codes");
  });

  // ---- a hostile or broken server (issue 11): what one reply may hold ----

  it("a list that never ends fails at 1 MiB with PROTOCOL-ERROR, long before its timeout; the connection is rebuilt", async () => {
    // a 60 s timeout: without the bound the request would end on mocha's timeout or at 10 000 items, not here
    const c = client({ requestTimeoutMs: 60000 });
    await waitState(c, "connected");
    sim.setFault("endless-list");
    const down = waitState(c, "disconnected");
    const err = await rejection(c.listVar("ups1"));
    should(err).be.instanceOf(NutProtocolError, String(err));
    should(err.message).equal(`LIST VAR ups1: reply longer than ${NUT_REPLY_LIMITS.maxReplyBytes} bytes`);
    should((await down).error?.code).equal("PROTOCOL-ERROR");
    sim.setFault(null);
    await waitState(c, "connected");
    should(await c.listVar("ups1")).have.length(3);
  });

  it("a line that never ends fails at 8 KiB with PROTOCOL-ERROR; requests pipelined behind it fail with it", async () => {
    const c = client({ requestTimeoutMs: 60000 });
    await waitState(c, "connected");
    sim.setFault("long-line");
    const [a, b] = await Promise.all([rejection(c.listUps()), rejection(c.getVar("ups1", "ups.status"))]);
    should(a).be.instanceOf(NutProtocolError);
    should(a.message).match(new RegExp(`is longer than ${NUT_REPLY_LIMITS.maxLineBytes} bytes$`));
    should(b.code).equal("PROTOCOL-ERROR");
    sim.setFault(null);
    await waitState(c, "connected");
    should(await c.getVar("ups1", "ups.status")).equal("OL");
  });

  it("the bounds are options: more items than maxListItems, a reply over maxReplyBytes", async () => {
    for (let i = 3; i <= 6; i++) sim.addUps(`ups${i}`, { "ups.status": "OL" });
    should((await rejection(client({ maxListItems: 5 }).listUps())).message).equal("LIST UPS: more than 5 items");
    should((await rejection(client({ maxReplyBytes: 100 }).listUps())).message).equal("LIST UPS: reply longer than 100 bytes");
  });

  it("a real-size reply passes: 1000 variables of 200 characters, upsd's longest lines", async () => {
    const vars: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) vars[`outlet.${i}.desc`] = "d".repeat(200);
    sim.addUps("pdu", vars);
    const got = await client().listVar("pdu");
    should(got).have.length(1000);
    should(got[999][1]).have.length(200);
  });
});

describe("NutClient: STARTTLS refused with a word that is not NUT's", () => {
  it("is TLS-FAILED, not the peer's word", async () => {
    const p = await peer((s) => s.once("data", () => s.write("ERR please-use-port-443\n")));
    try {
      const c = new NutClient({ host: "127.0.0.1", port: p.port, tls: {}, reconnectMinMs: 5000 });
      const down = next(c, "disconnected");
      c.start();
      const err = (await down).error;
      should(err).be.instanceOf(NutTlsError, String(err));
      should((err as NutTlsError).code).equal("TLS-FAILED");
      await c.close();
    } finally {
      await new Promise<void>((r) => p.server.close(() => r()));
    }
  });
});

describe("NutClient: reconnecting", () => {
  let server: Server | null = null;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it("server down: requests fail at once with the socket's code; retries back off exponentially up to the cap", async () => {
    const port = await freePort();
    const c = new NutClient({ host: "127.0.0.1", port, reconnectMinMs: 20, reconnectMaxMs: 160, random: () => 0.5 });
    const delays: Array<number | null> = [];
    c.on("state", (s) => s.state === "disconnected" && delays.push(s.retryInMs));
    c.start();
    const err = await rejection(c.listUps());
    should(err.code).equal("ECONNREFUSED");
    await waitUntil("6 attempts", () => delays.length >= 6, { timeoutMs: 5000, everyMs: 10 }).catch(() => {
      throw new Error(`only ${delays.length} attempts`);
    });
    await c.close();
    should(delays.slice(0, 6)).eql([20, 40, 80, 160, 160, 160]);
  });

  it("a server that accepts and hangs up at once is not hammered: the backoff only resets after a reply", async () => {
    server = createServer((s: Socket) => s.destroy());
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
    const addr = server.address();
    const port = typeof addr === "object" && addr ? addr.port : 0;
    const c = new NutClient({ host: "127.0.0.1", port, reconnectMinMs: 10, reconnectMaxMs: 80, random: () => 0.5 });
    const delays: Array<number | null> = [];
    c.on("state", (s) => s.state === "disconnected" && delays.push(s.retryInMs));
    c.start();
    await waitUntil("5 attempts", () => delays.length >= 5, { timeoutMs: 5000, everyMs: 10 }).catch(() => {
      throw new Error(`only ${delays.length} attempts`);
    });
    await c.close();
    should(delays.slice(0, 5)).eql([10, 20, 40, 80, 80]);
  });

  it("a request while the backoff waits connects at once, as upsmon reconnects at every poll: a upsd back after a restart is read at the next poll", async () => {
    const port = await freePort();
    const c = new NutClient({ host: "127.0.0.1", port, reconnectMinMs: 60_000, reconnectMaxMs: 60_000, random: () => 0.5 });
    const down = waitState(c, "disconnected");
    c.start();
    should((await down).retryInMs).equal(60_000, "the next attempt is a minute away");
    const sim = await startNutSim({ port });
    try {
      sim.addUps("ups1", { "ups.status": "OL" });
      await new Promise((r) => setTimeout(r, 300));
      should((await c.listUps()).map((u) => u.name)).eql(["ups1"], "read now, not in a minute");
    } finally {
      await c.close();
      await sim.close();
    }
  });

  it("a port out of range is a connection error, not a throw out of start()", async () => {
    const c = new NutClient({ host: "127.0.0.1", port: 99999, reconnectMinMs: 5000 });
    const down = waitState(c, "disconnected");
    should(() => c.start()).not.throw();
    should((await down).error?.code).equal("ERR_SOCKET_BAD_PORT");
    should((await rejection(c.listUps())).code).equal("ERR_SOCKET_BAD_PORT");
    await c.close();
  });

  it("jitter keeps retries within ±25 % of the backoff step", async () => {
    const port = await freePort();
    for (const [r, want] of [
      [0, 750],
      [0.999, 1250],
    ] as const) {
      const c = new NutClient({ host: "127.0.0.1", port, reconnectMinMs: 1000, reconnectMaxMs: 60000, random: () => r });
      const down = waitState(c, "disconnected");
      c.start();
      should((await down).retryInMs).equal(want);
      await c.close();
    }
  });

  // Before (issue 11) each of these was retried every 250 ms: 236-240 connections a minute.
  const oneLinePeers: Array<[string, (s: Socket) => void]> = [
    ["NETVER answered, then close", (s) => s.once("data", () => s.end("1.3\n"))],
    ["an SSH banner, then close", (s) => s.end("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")],
    ["an HTTP reply, then close", (s) => s.once("data", () => s.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))],
  ];
  for (const [what, handle] of oneLinePeers) {
    it(`a peer that answers ${what}: 9 connections in the first minute (default delays, mocked timers), then one per 15 s`, async () => {
      const p = await peer(handle);
      server = p.server;
      const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      try {
        const c = new NutClient({ host: "127.0.0.1", port: p.port, random: () => 0.5 });
        const delays: number[] = [];
        let elapsed = 0;
        const first = next(c, "disconnected");
        c.start();
        let down = await first;
        for (;;) {
          const delay = down.retryInMs ?? NaN;
          delays.push(delay);
          if (elapsed + delay > 60000) break;
          elapsed += delay;
          const again = next(c, "disconnected");
          clock.tick(delay);
          down = await again;
        }
        await c.close();
        should(delays).eql([250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
        should(p.connections()).equal(9, "connections within the first 60 s");
      } finally {
        clock.restore();
      }
    });
  }

  it("a connection that answered requests and stayed up 15 s starts the backoff again at 250 ms; a shorter one, or one that answered nothing, does not", async () => {
    const sim = await startNutSim();
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      sim.addUps("ups1", { "ups.status": "OL" });
      const c = new NutClient({ host: sim.host, port: sim.port, random: () => 0.5 });
      /** upsd hangs up: the retry delay the client chose; resolves once reconnected after it. */
      const drop = async () => {
        const down = next(c, "disconnected");
        sim.dropConnections();
        const delay = (await down).retryInMs ?? NaN;
        const up = next(c, "connected");
        clock.tick(delay);
        await up;
        return delay;
      };
      const up = next(c, "connected");
      c.start();
      await up;
      should(await c.getVar("ups1", "ups.status")).equal("OL");
      should(await drop()).equal(250);
      should(await c.getVar("ups1", "ups.status")).equal("OL");
      should(await drop()).equal(500, "answered, but up for less than 15 s: proves nothing");
      clock.tick(15000);
      should(await drop()).equal(1000, "up 15 s, but nothing answered after the handshake: proves nothing");
      should(await c.getVar("ups1", "ups.status")).equal("OL");
      clock.tick(15000);
      should(await drop()).equal(250, "answered and up 15 s: a upsd restarted after a good run is retried at once");
      await c.close();
    } finally {
      clock.restore();
      await sim.close();
    }
  });
});

describe("NutClient fed random bytes (property)", function () {
  this.timeout(120000);

  /** Lines that steer the client into its deeper states, mixed with raw bytes. */
  const fragment = fc.oneof(
    fc.constantFrom(
      "1.3\n",
      "OK\n",
      "ERR DATA-STALE\n",
      "BEGIN LIST UPS\n",
      'UPS ups1 "d"\n',
      "END LIST UPS\n",
      "BEGIN LIST VAR ups1\n",
      'VAR ups1 ups.status "OL"\n',
      "END LIST VAR ups1\n",
      'VAR ups1 x "unterminated\n',
      "\n",
      "\r\n",
      '"',
      "\\",
      "#",
    ),
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString("latin1")),
  );

  it("never throws out of the client: every request settles with a NutError or a value", async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUncaught);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fragment, { maxLength: 30 }), fc.boolean(), async (parts, onConnect) => {
          const bytes = Buffer.from(parts.join(""), "latin1");
          const srv = createServer((s: Socket) => {
            s.on("error", () => undefined);
            let answered = false;
            // always read, or the socket never sees the client's FIN and srv.close() never returns
            s.on("data", () => {
              if (!answered) s.write(bytes);
              answered = true;
            });
            if (onConnect) {
              answered = true;
              s.write(bytes);
            }
          });
          await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
          const addr = srv.address();
          const port = typeof addr === "object" && addr ? addr.port : 0;
          const c = new NutClient({ host: "127.0.0.1", port, requestTimeoutMs: 150, reconnectMinMs: 1000 });
          c.start();
          const results = await Promise.allSettled([c.listUps(), c.listVar("ups1"), c.getVar("ups1", "ups.status")]);
          for (const r of results) if (r.status === "rejected") should(r.reason).be.instanceOf(NutError, String(r.reason));
          await c.close();
          await new Promise<void>((r) => srv.close(() => r()));
        }),
        { numRuns: 60 },
      );
    } finally {
      process.off("uncaughtException", onUncaught);
      process.off("unhandledRejection", onUncaught);
    }
    should(uncaught).eql([]);
  });
});
