/**
 * Every node's input fuzzed with wrong-shaped messages in the real Node-RED
 * runtime (node-red-node-test-helper), between the good messages of a short
 * outage whose outputs are known. FUZZ_SCALE multiplies the messages; a
 * failure names its seed (FUZZ_SEED replays it).
 *
 * For every fuzzed message: nothing is thrown out of Node-RED, the node
 * finishes it (done), and it gets a node.error carrying it (for a Catch node)
 * unless it is a documented no-op; it sends nothing. Afterwards the state is
 * intact: each good message gives exactly the output it gives without the
 * fuzz. ssh-shutdown's hosts point at a loopback listener that counts
 * connections: on "simulate" any message at all, on "shutdown" every message
 * that must never be a shutdown (a reset in any spelling, power back or on, a
 * forbidden property, an unknown action) leaves it at 0; one good message at
 * the end shows it counts. wake-hosts' packets go to a loopback UDP socket
 * that counts them: no message wakes a host, or records one not in its list.
 * standby-gate: whatever arrives on its broker topics (as a core mqtt in
 * delivers it) never goes on as a step; a step without an outage is refused;
 * the standby takes over and claims as without the fuzz.
 * nut-command against nut-sim: a message that
 * chooses or says power is back never sends an INSTCMD; one plain message
 * sends one. The editor endpoints get generated bodies: never a
 * 500, never a connection off the loopback range.
 */
import should from "../harness/should";
import { createServer, type Server, type Socket } from "node:net";
import type { NodeMessage } from "node-red";
import type { ShutdownResult } from "../../core/contract";
import { restoredKind } from "../../core/decide/restored";
import { FORBIDDEN_PROPERTIES } from "../../core/ssh/shutdown";
import aggregateNode from "../../nodes/ups-aggregate";
import tierNode from "../../nodes/battery-tier-switch";
import latchNode from "../../nodes/outage-latch";
import nutServerNode from "../../nodes/nut-server";
import nutUpsInNode from "../../nodes/nut-ups-in";
import { CHOOSING_PROPERTIES } from "../../core/nut/command";
import type { NutCommandResult } from "../../core/contract";
import sshHostNode from "../../nodes/ssh-host";
import sshShutdownNode from "../../nodes/ssh-shutdown";
import wakeHostsNode from "../../nodes/wake-hosts";
import standbyGateNode from "../../nodes/standby-gate";
import { parseClaim } from "../../core/decide/standby";
import { createSocket } from "node:dgram";
import type { WakeResult } from "../../core/contract";
import { startNutSim, type NutSim } from "../../tools/nut-sim";
import { loadCommandOnSim } from "../harness/nut-command-sim";
import { outage, power, ups } from "../harness/decide-fixtures";
import { Rng, fuzzScale, fuzzSeed, fuzzSuite, junkString, junkValue, notAmount, notBoolean, notText, replay } from "../harness/fuzz";
import { collect, collectCompleted, helper, settle, type SpyCall } from "../harness/red-helper";
import { waitUntil } from "../harness/wait";
import { freePort } from "../harness/system";
import { sshHostDef } from "../harness/ssh-target";

type Msg = NodeMessage & Record<string, unknown>;
const A = "ups1@nas:3493";
const B = "ups2@nas:3493";
const O1 = outage("outage-20261125T140000Z-fz01", Date.UTC(2026, 10, 25, 14, 0, 0));
const O2 = outage("outage-20261125T160000Z-fz01", Date.UTC(2026, 10, 25, 16, 0, 0));
const FP = "SHA256:0wqZLw85RM2xD+3XcEgBRMeaIagvbANVbgufXmhjbHY";

const scale = fuzzScale();
const seed = fuzzSeed();
/** Fuzzed messages between two good ones. */
const between = Math.max(1, Math.round(100 * scale));

/** A TCP listener on loopback that counts connections and closes each at once. */
async function countingServer(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer((s: Socket) => {
    n++;
    s.on("error", () => undefined);
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  return { port: typeof addr === "object" && addr ? addr.port : 0, count: () => n, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * Watches `nodeId` under fuzz: `feed` hands it a message and waits until the
 * node is done with it; `errorsFor` the node.errors that carried that message.
 */
function fuzzWatch(nodeId: string) {
  const node = helper.getNode(nodeId);
  const completed = collectCompleted(node);
  const errors: Array<{ text: string; msgid: unknown }> = [];
  node.on("call:error", (call: SpyCall) =>
    errors.push({ text: String((call.args[0] as Error)?.message ?? call.args[0]), msgid: (call.args[1] as Msg | undefined)?._msgid }),
  );
  return {
    node,
    errors,
    async feed(msg: Msg): Promise<void> {
      const before = completed.length;
      node.receive(msg);
      await waitUntil(`${node.type} to finish a fuzzed message (${replay(seed)})`, () => completed.length > before, 5000);
      await settle();
    },
    errorsFor: (msg: Msg) => errors.filter((e) => e.msgid === msg._msgid),
  };
}

/** A few properties a confused flow adds to anything (never a reset: those are documented inputs). */
function noise(r: Rng, msg: Msg): Msg {
  for (const key of r.some(["topic", "summary", "action", "tier", "_extra", "req", "parts", "__proto__x"], r.int(0, 2))) msg[key] = junkValue(r, 1);
  delete msg.reset;
  return msg;
}

/** Breaks `count` of `fields` of `payload` with the makers given, on a copy. */
function breakFields(r: Rng, payload: Record<string, unknown>, makers: Record<string, (r: Rng) => unknown>, count: number): Record<string, unknown> {
  const out = { ...payload };
  for (const f of r.some(Object.keys(makers), count)) {
    const v = makers[f](r);
    if (v === undefined) delete out[f];
    else out[f] = v;
  }
  return out;
}

/** A value that is no record (object that is not an array, not null). */
function notRecord(r: Rng): unknown {
  for (;;) {
    const v = junkValue(r, 1);
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
  }
}

describe(`fuzz: every node's input in the Node-RED runtime (${between} fuzzed messages between good ones; ${replay(seed)})`, function () {
  this.timeout(300000);
  const { uncaught } = fuzzSuite();
  afterEach(async () => {
    await helper.unload();
    should(uncaught()).eql([], replay(seed));
  });

  /** Feeds `n` fuzzed messages; each must get an error carrying it and send nothing. */
  async function fuzzAll(w: ReturnType<typeof fuzzWatch>, got: unknown[], n: number, make: () => Msg, what: string): Promise<void> {
    for (let i = 0; i < n; i++) {
      const msg = make();
      const sent = got.length;
      await w.feed(msg);
      const label = `${what} #${i}: ${show(msg)} (${replay(seed)})`;
      should(got.length).equal(sent, `${label}: sent something`);
      should(w.errorsFor(msg).length).be.aboveOrEqual(1, `${label}: no node.error carrying the message`);
    }
  }

  it("ups-aggregate: a wrong topic or UPS state is an error, and the outage goes on as without it", async () => {
    const r = new Rng(seed ^ 0xa99);
    await helper.load(
      [aggregateNode],
      [
        {
          id: "agg",
          type: "ups-aggregate",
          name: "",
          policy: "weakest",
          sources: [
            { topic: A, power: 1 },
            { topic: B, power: 1 },
          ],
          feedsOut: 0,
          minSupplies: 1,
          confirm: 0,
          restore: 3600,
          staleRule: "deadtime",
          deadtime: 3600,
          silent: 0,
          emit: "change",
          store: "",
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
      ],
    );
    const w = fuzzWatch("agg");
    const got = collect(helper.getNode("out")) as Array<
      Msg & { payload: { event: string; onBattery: boolean; charge: number }; outage: { id: string } | null }
    >;
    const makers: Record<string, (r: Rng) => unknown> = {
      flags: (r) => (r.chance(0.5) ? notRecordOrArray(r) : ["OB", junkValue(r, 0) ?? 1].map((f) => (typeof f === "string" ? 7 : f))),
      onBattery: notBoolean,
      lowBattery: notBoolean,
      stale: notBoolean,
      reachable: notBoolean,
      charge: notAmount,
      runtime: notAmount,
      age: notAmount,
      status: (r) => {
        for (;;) {
          const v = junkValue(r, 1);
          if (v !== undefined && v !== null && typeof v !== "string") return v;
        }
      },
    };
    const bad = (): Msg => {
      const k = r.int(0, 9);
      if (k < 2)
        return noise(r, { topic: r.chance(0.5) ? notText(r) : r.chance(0.5) ? `ups9@${junkString(r)}` : "x".repeat(201), payload: ups(A, "OB") } as Msg);
      if (k < 4) return noise(r, { topic: r.pick([A, B]), payload: notRecord(r) } as Msg);
      const topic = r.pick([A, B]);
      const m = noise(r, { payload: breakFields(r, { ...ups(topic, r.pick(["OB", "OL", "OB LB"])) }, makers, r.int(1, 3)) } as Msg);
      m.topic = topic;
      return m;
    };
    const good = async (topic: string, status: string, charge: number) => {
      const before = got.length;
      await w.feed({ topic, payload: ups(topic, status, { charge }) } as Msg);
      return got.slice(before).map((m) => `${m.payload.event} ${m.payload.onBattery ? "OB" : "OL"} ${m.payload.charge}`);
    };
    await fuzzAll(w, got, between, bad, "before any UPS reported");
    should(await good(A, "OL", 100)).eql(["UPDATE OL 100"]);
    should(await good(B, "OL", 100)).eql(["UPDATE OL 100"]);
    await fuzzAll(w, got, between, bad, "on line power");
    should(await good(A, "OB", 80)).eql(["POWER_LOST OB 80"]);
    const id = got[got.length - 1].outage?.id;
    await fuzzAll(w, got, between, bad, "on battery");
    should(await good(A, "OB", 60)).eql(["UPDATE OB 60"]);
    should(got[got.length - 1].outage?.id).equal(id, "the same outage");
    await fuzzAll(w, got, between, bad, "on battery, later");
    should(await good(A, "OL", 61)).eql(["POWER_BACK OL 61"]);
  });

  it("battery-tier-switch: a wrong power state is an error; the tiers fire as without it", async () => {
    const r = new Rng(seed ^ 0x7e5);
    await helper.load(
      [tierNode],
      [
        { id: "tiers", type: "battery-tier-switch", name: "", mode: "while", staleCounts: false, wires: [["o0"], ["o1"], ["o2"], ["o3"], ["restored"]] },
        ...["o0", "o1", "o2", "o3", "restored"].map((id) => ({ id, type: "helper" })),
      ],
    );
    const w = fuzzWatch("tiers");
    const ports = ["o0", "o1", "o2", "o3", "restored"];
    const restored = collect(helper.getNode("restored")) as Msg[];
    /** Every output of the node, in the order sent. */
    const all: Msg[] = [];
    for (const id of ports) helper.getNode(id).on("input", (m: Msg) => all.push(m));
    const makers: Record<string, (r: Rng) => unknown> = {
      onBattery: notBoolean,
      critical: notBoolean,
      charge: notAmount,
      runtime: notAmount,
      onBatterySeconds: notAmount,
      fsd: notBoolean,
      stale: (r) => (r.chance(0.5) ? notRecordOrArray(r) : [junkString(r), 5]),
      sources: (r) => (r.chance(0.5) ? notRecordOrArray(r) : [{}, r.pick([1, "x", null, []])]),
      reference: (r) => {
        for (;;) {
          const v = junkValue(r, 1);
          if (v !== null && v !== undefined && typeof v !== "string") return v; // a topic (any text) or null is a reference
        }
      },
      event: (r) => r.pick(["POWER_lost", "", "OUTAGE", 1, null, undefined, "UPDATE "]),
    };
    const bad = (): Msg => {
      for (;;) {
        const k = r.int(0, 9);
        let m: Msg;
        if (k < 2) m = noise(r, { payload: notRecord(r), outage: O1 } as Msg);
        else if (k < 4)
          m = noise(r, {
            payload: power({ onBattery: true, charge: 40 }),
            outage: r.chance(0.3) ? null : r.chance(0.5) ? undefined : { id: notText(r), since: r.chance(0.5) ? O1.since : notAmount(r) },
          } as Msg);
        else m = noise(r, { payload: breakFields(r, { ...power({ onBattery: true, charge: r.pick([95, 45, 5]) }) }, makers, r.int(1, 3)), outage: O1 } as Msg);
        if (!restoredKind(m)) return m; // a reset or power-restored message is a documented input, not a wrong one
      }
    };
    /** A good power state, with any other properties a flow may have added: the tiers route it all the same. */
    const good = async (msg: Msg) => {
      const before = all.length;
      const m = noise(r, { ...msg });
      m.payload = msg.payload;
      m.outage = msg.outage;
      await w.feed(m);
      should(w.errorsFor(m)).eql([], `a good message with ${show(m)} (${replay(seed)})`);
      return all.slice(before).map((x) => String(x.topic));
    };
    await fuzzAll(w, all, between, bad, "on line power");
    should(await good({ payload: power({ charge: 100 }), outage: null } as Msg)).eql([]);
    should(await good({ payload: power({ onBattery: true, charge: 85, event: "POWER_LOST", onBatterySeconds: 0 }), outage: O1 } as Msg)).eql(["backup"]);
    await fuzzAll(w, all, between, bad, "tier backup reached");
    should(await good({ payload: power({ onBattery: true, charge: 45, onBatterySeconds: 600 }), outage: O1 } as Msg)).eql(["backup", "storage"]);
    await fuzzAll(w, all, between, bad, "tier storage reached");
    should(await good({ payload: power({ onBattery: false, charge: 46, event: "OUTAGE_END" }), outage: { ...O1, ended: O1.since + 3_600_000 } } as Msg)).eql([
      "restored",
    ]);
    should(restored).have.length(1);
  });

  it("outage-latch: a message without a valid outage (or topic) is an error; the latch keeps what passed", async () => {
    const r = new Rng(seed ^ 0x1a7);
    await helper.load(
      [latchNode],
      [
        { id: "latch", type: "outage-latch", name: "", key: "outage", store: "", forwardReset: true, wires: [["out"]] },
        { id: "latchT", type: "outage-latch", name: "", key: "topic", store: "", forwardReset: true, wires: [["outT"]] },
        { id: "out", type: "helper" },
        { id: "outT", type: "helper" },
      ],
    );
    const w = fuzzWatch("latch");
    const wt = fuzzWatch("latchT");
    const got = collect(helper.getNode("out")) as Msg[];
    const gotT = collect(helper.getNode("outT")) as Msg[];
    const badOutage = (): Msg => {
      for (;;) {
        const o = r.pick([
          () => undefined,
          () => notRecord(r),
          () => ({ id: notText(r), since: O1.since }),
          () => ({ id: "x".repeat(201), since: O1.since }),
          () => ({ id: O1.id, since: r.chance(0.5) ? notAmount(r) : r.pick([NaN, Infinity, "1", null]) }),
          () => ({}),
        ])();
        const m = noise(r, { outage: o, payload: junkValue(r, 1) } as Msg);
        if (
          !restoredKind(m) &&
          !(
            typeof m.outage === "object" &&
            m.outage !== null &&
            typeof (m.outage as { since?: unknown }).since === "number" &&
            Number.isFinite((m.outage as { since: number }).since) &&
            typeof (m.outage as { id?: unknown }).id === "string" &&
            (m.outage as { id: string }).id !== "" &&
            (m.outage as { id: string }).id.length <= 200
          )
        )
          return m;
      }
    };
    const badTopic = (): Msg => {
      const m = noise(r, { outage: O1 } as Msg);
      (m as Record<string, unknown>).topic = r.chance(0.7) ? notText(r) : "t".repeat(201);
      return m;
    };
    await fuzzAll(w, got, between, badOutage, "armed");
    await fuzzAll(wt, gotT, between, badTopic, "armed (per topic)");
    await w.feed({ outage: O1, summary: "first" } as Msg);
    await wt.feed({ outage: O1, topic: "backup" } as Msg);
    should(got.map((m) => m.summary)).eql(["first"]);
    await fuzzAll(w, got, between, badOutage, "passed");
    await fuzzAll(wt, gotT, between, badTopic, "passed (per topic)");
    await w.feed({ outage: O1, summary: "repeat" } as Msg);
    await wt.feed({ outage: O1, topic: "backup" } as Msg);
    should(got.map((m) => m.summary)).eql(["first"], "still latched");
    should(gotT.length).equal(1, "still latched (per topic)");
    await w.feed({ outage: O2, summary: "next outage" } as Msg);
    should(got.map((m) => m.summary)).eql(["first", "next outage"]);
  });

  describe("ssh-shutdown", () => {
    let srv: Awaited<ReturnType<typeof countingServer>>;
    beforeEach(async () => {
      srv = await countingServer();
    });
    afterEach(() => srv.close());

    function flow(node: Record<string, unknown>): object[] {
      const host = (id: string, name: string) => ({
        id,
        type: "ssh-host",
        name,
        address: "127.0.0.1",
        port: srv.port,
        username: "nut",
        keyFile: "",
        fingerprints: FP,
        acceptAnyHostKey: false,
      });
      return [
        host("h1", "backup-server"),
        host("h2", "nas"),
        {
          id: "n1",
          type: "ssh-shutdown",
          name: "",
          hosts: ["h1", "h2"],
          preset: "linux",
          delay: 2,
          message: "Power failure",
          connectTimeout: 1,
          commandTimeout: 1,
          deadline: 1,
          wires: [["out"]],
          ...node,
        },
        { id: "out", type: "helper" },
      ];
    }
    const CREDS = { h1: { password: "pw-1" }, h2: { password: "pw-2" } };

    /** Any message at all: any property a message may or may not have, with any value. */
    function anything(r: Rng): Msg {
      const msg: Msg = {};
      const keys = ["payload", "topic", "action", "reset", "outage", "tier", "summary", ...FORBIDDEN_PROPERTIES];
      for (const key of r.some(keys, r.int(0, 4))) {
        msg[key] =
          key === "action" && r.chance(0.6) ? r.pick(["shutdown", "cancel", "check", "simulate", "Shutdown", " shutdown", "reboot", ""]) : junkValue(r, 2);
      }
      return msg;
    }

    it('on "simulate" (the examples): any message at all opens no connection and sends only simulated results', async () => {
      const r = new Rng(seed ^ 0x551);
      await helper.load([sshHostNode, sshShutdownNode], flow({ action: "simulate", allowed: ["simulate", "cancel"] }), CREDS);
      const w = fuzzWatch("n1");
      const got = collect(helper.getNode("out")) as Array<Msg & { payload: ShutdownResult }>;
      const n = 4 * between;
      for (let i = 0; i < n; i++) {
        const msg = anything(r);
        const sent = got.length;
        await w.feed(msg);
        const label = `#${i}: ${show(msg)} (${replay(seed)})`;
        const out = got.slice(sent);
        should(out.length === 0 || out.length === 2).be.true(`${label}: ${out.length} results`);
        for (const m of out) should(m.payload.action).equal("simulate", label);
        if (FORBIDDEN_PROPERTIES.some((p) => msg[p] !== undefined)) {
          should(w.errorsFor(msg).length).be.aboveOrEqual(1, `${label}: a forbidden property must be refused`);
          should(out.length).equal(0, `${label}: a forbidden property must be refused`);
        }
        should(srv.count()).equal(0, `${label}: a connection`);
      }
      // intact: a plain message still simulates both hosts
      const before = got.length;
      await w.feed({ payload: "go" } as Msg);
      should(got.slice(before).map((m) => `${m.payload.host} ${m.payload.action} ${m.payload.ok}`)).eql(["backup-server simulate true", "nas simulate true"]);
    });

    it('on "shutdown": a reset in any spelling, power back or on, a forbidden property or an unknown action never connects; a plain message does', async () => {
      const r = new Rng(seed ^ 0x5d);
      await helper.load([sshHostNode, sshShutdownNode], flow({ action: "shutdown", allowed: ["shutdown", "cancel", "check", "simulate"] }), CREDS);
      const w = fuzzWatch("n1");
      const got = collect(helper.getNode("out")) as Array<Msg & { payload: ShutdownResult }>;
      const action = () => (r.chance(0.5) ? undefined : r.pick(["shutdown", "check", "simulate", "cancel", null, ""]));
      const kinds: Array<[string, () => Msg]> = [
        // anything but false (or nothing) is a reset
        [
          "reset",
          () =>
            ({
              reset: [r.pick([true, "true", 1, "yes", 0, "", {}, [], "false", null, NaN, junkValue(r, 1)])].map((v) =>
                v === false || v === undefined ? "no" : v,
              )[0],
              action: action(),
              payload: junkValue(r, 1),
            }) as Msg,
        ],
        [
          "OUTAGE_END",
          () => ({ payload: { ...power({ event: "OUTAGE_END" }), ...(r.chance(0.5) ? { onBattery: junkValue(r, 0) } : {}) }, action: action() }) as Msg,
        ],
        [
          "ended outage",
          () =>
            ({
              outage: { id: junkValue(r, 0), since: junkValue(r, 0), ended: r.pick([0, 1, Date.now(), -1, 1e15]) },
              action: action(),
              payload: junkValue(r, 1),
            }) as Msg,
        ],
        [
          "power on",
          () =>
            ({
              payload: power({ onBattery: false, critical: false, event: r.pick(["POWER_BACK", "UPDATE"] as const), charge: r.int(0, 100) }),
              action: r.pick([undefined, "shutdown"]),
            }) as Msg,
        ],
        ["forbidden property", () => ({ [r.pick(FORBIDDEN_PROPERTIES)]: junkValue(r, 1) ?? "x", action: action(), payload: junkValue(r, 1) }) as Msg],
        [
          "unknown action",
          () =>
            ({
              action: r.chance(0.5) ? r.pick(["Shutdown", " shutdown", "SHUTDOWN", "shutdown\n", "reboot", "poweroff", "shutdown;reboot"]) : notActionValue(r),
              payload: junkValue(r, 1),
            }) as Msg,
        ],
      ];
      const n = 4 * between;
      for (let i = 0; i < n; i++) {
        const [kind, make] = r.pick(kinds);
        const msg = make();
        if (msg.action === undefined) delete msg.action;
        const sent = got.length;
        await w.feed(msg);
        const label = `${kind} #${i}: ${show(msg)} (${replay(seed)})`;
        should(srv.count()).equal(0, `${label}: a connection`);
        should(got.slice(sent)).eql([], `${label}: a result`);
        if (kind === "forbidden property" || kind === "unknown action") should(w.errorsFor(msg).length).be.aboveOrEqual(1, `${label}: no error`);
      }
      // The listener counts: a plain message is a shutdown, and connects (the peer hangs up: a failed result per host).
      const before = got.length;
      helper.getNode("n1").receive({ payload: "go" } as Msg);
      await waitUntil("the shutdown results", () => got.length >= before + 2, 15000);
      should(srv.count()).be.aboveOrEqual(2, `connections: ${srv.count()}`);
      should(
        got
          .slice(before)
          .map((m) => `${m.payload.action} ${m.payload.ok}`)
          .sort(),
      ).eql(["shutdown false", "shutdown false"]);
    });
  });

  it("wake-hosts: a broken result or power state is an error; results of other hosts record nothing; the recorded host is woken as without the fuzz", async () => {
    const r = new Rng(seed ^ 0x3a4e);
    const udp = createSocket("udp4");
    let packets = 0;
    udp.on("message", () => packets++);
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    try {
      const host = (id: string, name: string, mac: string) => sshHostDef(id, name, { port: 1, fingerprints: FP, mac });
      await helper.load(
        [sshHostNode, wakeHostsNode],
        [
          host("h1", "nas", "02:00:5e:00:00:01"),
          host("h2", "storage", "02:00:5e:00:00:02"),
          {
            id: "wake",
            type: "wake-hosts",
            name: "",
            hosts: ["h1", "h2"],
            minCharge: 50,
            stable: 0,
            broadcast: "127.0.0.1",
            wolPort: udp.address().port,
            repeat: 1,
            deadline: 2,
            store: "",
            wires: [["out"]],
          },
          { id: "out", type: "helper" },
        ],
      );
      const w = fuzzWatch("wake");
      const got = collect(helper.getNode("out")) as Array<Msg & { payload: WakeResult }>;
      const result = (hostId: unknown, action = "simulate"): Record<string, unknown> => ({ host: "x", hostId, action, command: "c", ok: true });
      const bad = (): Msg =>
        r.pick([
          // neither a result nor a power state
          () => {
            for (;;) {
              const p = junkValue(r, 2);
              if (typeof p !== "object" || p === null || !("policy" in p || "action" in p)) return noise(r, { payload: p } as Msg);
            }
          },
          () =>
            noise(r, {
              payload: breakFields(
                r,
                result("h1"),
                { hostId: (x) => (x.chance(0.7) ? notText(x) : "h".repeat(201)), action: (x) => x.pick([notText(x), "reboot", "SHUTDOWN"]), ok: notBoolean },
                r.int(1, 3),
              ),
              outage: O1,
            } as Msg),
          () => {
            // (no outage at all, null or undefined, is a result without one: recorded, not an error)
            const o = r.pick([() => notRecord(r), () => ({ id: notText(r), since: O1.since }), () => ({ id: "x".repeat(201), since: O1.since })])();
            return noise(r, { payload: result("h1"), outage: o ?? { id: "" } } as Msg);
          },
          () =>
            noise(r, {
              payload: breakFields(
                r,
                { ...power({ onBattery: false, charge: 90 }) },
                { onBattery: notBoolean, critical: notBoolean, charge: notAmount },
                r.int(1, 3),
              ),
            } as Msg),
        ])();
      await fuzzAll(w, got, between, bad, "nothing recorded");
      await w.feed({ payload: result("h1"), outage: O1 } as Msg);
      await fuzzAll(w, got, between, bad, "nas recorded");
      // results of hosts not in the list: no error, nothing recorded (any text a message may carry as an id)
      for (let i = 0; i < between; i++) {
        const id = r.chance(0.5) ? junkString(r).slice(0, 200) || "h9" : r.pick(["h3", "__proto__", "constructor", "toString", "h1 ", "H1"]);
        const msg = { payload: result(id, r.pick(["shutdown", "simulate"])), outage: O1 } as Msg;
        await w.feed(msg);
        should(w.errorsFor(msg)).eql([], `a result of ${JSON.stringify(id)} is no error (${replay(seed)})`);
      }
      should(got).have.length(0);
      await w.feed({ payload: power({ onBattery: false, charge: 90 }) } as Msg);
      await waitUntil("the simulated waking of nas", () => got.length >= 2);
      await settle();
      should(got.map((m) => `${m.payload.host} ${m.payload.event}`)).eql(["nas WAKING", "nas SIMULATED"]);
      should(packets).equal(0, "a simulated host gets no packet");
    } finally {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
  });

  it("standby-gate: nothing from the broker's topics is a step, a broken step is an error; the standby takes over as without the fuzz", async () => {
    const r = new Rng(seed ^ 0x57b);
    const prefix = "nut-shutdown/site-a";
    await helper.load(
      [standbyGateNode],
      [
        {
          id: "gate",
          type: "standby-gate",
          step: "backup",
          prefix,
          me: "standby",
          controllers: "primary, standby",
          wait: 30,
          takeover: 0,
          expiry: 24,
          wires: [["out"], ["claims"]],
        },
        { id: "out", type: "helper" },
        { id: "claims", type: "helper" },
      ],
    );
    const w = fuzzWatch("gate");
    const got = collect(helper.getNode("out")) as Msg[];
    const claims = collect(helper.getNode("claims")) as Msg[];
    const word = (payload: unknown): Msg => ({ topic: `${prefix}/controller/primary`, payload, qos: 1, retain: true }) as Msg;
    // What a forger can put on the gate's topics: anything but a word or a claim in their exact shape.
    const forged = (): Msg => {
      for (;;) {
        const topic = r.pick([`${prefix}/step/backup`, `${prefix}/controller/primary`, `${prefix}/controller/standby`]);
        const payload = r.chance(0.5)
          ? junkValue(r, 2)
          : JSON.stringify({ outage: O1, tier: { name: "backup" }, hosts: [junkString(r)], command: junkString(r) });
        const m = noise(r, { topic, payload, qos: 1, retain: r.chance(0.5) } as Msg);
        m.topic = topic;
        if (r.chance(0.3)) m.outage = O1; // as if the broker could carry an outage: still never a step
        const text = typeof payload === "string" ? payload.trim() : null;
        if (topic.includes("/controller/") && (text === "online" || text === "offline")) continue;
        if (topic.endsWith("/step/backup") && m.outage === undefined && parseClaim(payload) !== null) continue;
        return m;
      }
    };
    const brokenStep = (): Msg => {
      const o = r.pick([() => undefined, () => notRecord(r), () => ({ id: notText(r), since: O1.since }), () => ({ id: "x".repeat(201), since: O1.since })])();
      const m = noise(r, { outage: o, payload: junkValue(r, 1) } as Msg);
      if (typeof m.topic === "string" && m.topic.startsWith(`${prefix}/`)) delete m.topic;
      return restoredKind(m) ? noise(r, { outage: 7 } as Msg) : m;
    };
    await fuzzAll(w, got, between, forged, "standby, no word of the primary");
    await w.feed(word("offline"));
    await fuzzAll(w, got, between, forged, "active");
    await fuzzAll(w, got, between, brokenStep, "active, broken steps");
    should(claims).have.length(0, "nothing claimed by a forged or broken message");
    // (a claimed step is finished once its claim is back: it is not fed like the others)
    helper.getNode("gate").receive({ outage: O1, summary: "backup" });
    await waitUntil("the claim", () => claims.length === 1);
    should(claims.map((c) => c.payload)).eql([{ controller: "standby", step: "backup", outage: O1.id, at: (claims[0]?.payload as { at: number })?.at }]);
    // its own claim back from the broker: the step goes on, once
    const echo = { topic: `${prefix}/step/backup`, payload: JSON.stringify(claims[0].payload) } as Msg;
    helper.getNode("gate").receive(echo);
    await waitUntil("the step released", () => got.length === 1);
    should(got.map((m) => m.summary)).eql(["backup"]);
  });

  it("nut-ups-in: any message is a poll now (documented): each one is finished with one reading, and the readings stay right", async () => {
    const r = new Rng(seed ^ 0x9e);
    const sim: NutSim = await startNutSim();
    try {
      sim.addUps("ups1", { "battery.charge": 100, "battery.runtime": 2700, "ups.load": 20, "ups.status": "OL" });
      await helper.load(
        [nutServerNode, nutUpsInNode],
        [
          { id: "srv", type: "nut-server", host: "127.0.0.1", port: sim.port, usetls: false, tls: "", login: "", interval: 5, timeout: 2 },
          {
            id: "in",
            type: "nut-ups-in",
            server: "srv",
            mode: "one",
            ups: "ups1",
            interval: 3600,
            alertInterval: 3600,
            output: "poll",
            vars: false,
            nocomm: 60,
            wires: [["out"]],
          },
          { id: "out", type: "helper" },
        ],
      );
      const got = collect(helper.getNode("out")) as Array<Msg & { payload: { status: string; charge: number } }>;
      await waitUntil("the first reading", () => got.length >= 1, 10000);
      const w = fuzzWatch("in");
      const n = 2 * between;
      for (let i = 0; i < n; i++) {
        const msg: Msg = {};
        for (const key of r.some(["payload", "topic", "_msgid", "reset", "action", "ups", "server", "interval", "vars", "req"], r.int(0, 4)))
          msg[key] = junkValue(r, 2);
        if (typeof msg._msgid !== "string") delete msg._msgid;
        const sent = got.length;
        await w.feed(msg);
        const label = `#${i}: ${show(msg)} (${replay(seed)})`;
        should(got.length).equal(sent + 1, `${label}: ${got.length - sent} readings; errors: ${JSON.stringify(w.errors)}`);
        const last = got[got.length - 1];
        should(last.topic).equal(`ups1@127.0.0.1:${sim.port}`, label);
        should(last.payload.status).equal("OL", label);
        should(w.errors).eql([], label);
      }
      sim.setStatus("ups1", "OB DISCHRG");
      sim.setVar("ups1", "battery.charge", 77);
      await w.feed({ payload: "poll" } as Msg);
      should([got[got.length - 1].payload.status, got[got.length - 1].payload.charge]).eql(["OB DISCHRG", 77]);
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("nut-command: a message that chooses, and a reset in any spelling, never sends a command; a plain message sends exactly one", async () => {
    const r = new Rng(seed ^ 0xc0d);
    const sim: NutSim = await loadCommandOnSim("shutdown.return");
    try {
      const got = collect(helper.getNode("out")) as Array<Msg & { payload: NutCommandResult }>;
      const w = fuzzWatch("cmd");
      const sentCommands = () => sim.commands.filter((c) => c.startsWith("INSTCMD")).length;
      const n = 2 * between;
      for (let i = 0; i < n; i++) {
        const msg: Msg = {};
        for (const key of r.some(["payload", "topic", "outage", "summary", "tier", "_extra"], r.int(0, 3))) msg[key] = junkValue(r, 2);
        // never a go: it chooses (at the top, or in an object payload), or says power is back
        const how = r.int(0, 2);
        const chosen = r.pick([...CHOOSING_PROPERTIES]);
        if (how === 0) msg[chosen] = junkValue(r, 1) ?? 0;
        else if (how === 1)
          msg.payload = {
            ...(typeof msg.payload === "object" && msg.payload !== null && !Array.isArray(msg.payload) ? msg.payload : {}),
            [chosen]: junkValue(r, 1) ?? "",
          };
        else msg.reset = r.pick([true, "true", 1, 0, "", {}, "yes", "no"]);
        await w.feed(msg);
        const label = `#${i}: ${show(msg)} (${replay(seed)})`;
        if (how < 2) should(w.errorsFor(msg).length).be.aboveOrEqual(1, `${label}: a message that chooses must be refused`);
        should(got).have.length(0, label);
        should(sentCommands()).equal(0, label);
      }
      await w.feed({ payload: "go" } as Msg);
      should(got.map((m) => m.payload.result)).eql(["SUCCESS"]);
      should(sentCommands()).equal(1);
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("the editor endpoints (List UPSes, list commands, Fetch fingerprints, command preview): generated requests get a 2xx or 4xx/502 JSON answer, never a 500", async () => {
    const r = new Rng(seed ^ 0xed);
    const sim = await startNutSim();
    const closed = await freePort(); // nothing listens there
    const srv = await countingServer();
    try {
      sim.addUps("ups1", { "ups.status": "OL" });
      await helper.load(
        [nutServerNode, nutUpsInNode, sshHostNode, sshShutdownNode],
        [
          { id: "srv", type: "nut-server", host: "127.0.0.1", port: sim.port, usetls: false, tls: "", login: "", interval: 5, timeout: 2 },
          {
            id: "in",
            type: "nut-ups-in",
            server: "srv",
            mode: "one",
            ups: "ups1",
            interval: 3600,
            alertInterval: 3600,
            output: "change",
            vars: false,
            nocomm: 60,
            wires: [[]],
          },
          {
            id: "h1",
            type: "ssh-host",
            name: "h",
            address: "127.0.0.1",
            port: srv.port,
            username: "nut",
            keyFile: "",
            fingerprints: FP,
            acceptAnyHostKey: false,
          },
          {
            id: "n1",
            type: "ssh-shutdown",
            name: "",
            hosts: ["h1"],
            preset: "linux",
            delay: 2,
            message: "m",
            action: "simulate",
            allowed: [],
            connectTimeout: 1,
            commandTimeout: 1,
            deadline: 1,
            wires: [[]],
          },
        ],
        { h1: { password: "pw" } },
      );
      // Hosts: loopback, or not a host name at all (a character no name has): nothing else may be looked up.
      const host = (): unknown =>
        r.pick([
          () => r.pick(["127.0.0.1", "::1", "localhost", "127.0.0.2"]),
          // a character no host name has, inside (a space at either end would be trimmed away, leaving a name)
          () => `${r.text(r.int(1, 10), "abc.:")}${r.pick([" ", "/", "@", "?", "#", "%", "é", "\u0000", "!", "*", "\\"])}${r.text(r.int(1, 10), "abc")}`,
          () => "a".repeat(254),
          () => r.pick(["", "-rf", "--proxy=x"]).replace(/^(?=[^-]|$)/, " "),
          () => {
            // any JSON value but text (a number would be an address to the resolver: 0.424 is 0.0.1.168)
            for (;;) {
              const v = jsonJunk(r);
              if (typeof v !== "string") return v;
            }
          },
        ])();
      const port = (): unknown => r.pick([sim.port, srv.port, closed, 0, -1, 65536, "3493x", jsonJunk(r), String(sim.port)]);
      // Not the NUT simulator for SSH: ssh2 would wait its 5 s for a banner.
      const sshPort = (): unknown => r.pick([srv.port, closed, 0, -1, 65536, "22x", jsonJunk(r), String(srv.port)]);
      const id = (): unknown => r.pick(["srv", "h1", "n1", "in", "nope", undefined, jsonJunk(r)]);
      const statuses = new Map<number, number>();
      const n = 2 * between;
      for (let i = 0; i < n; i++) {
        const which = r.int(0, 3);
        let res;
        if (which === 0 || which === 3) {
          const body = r.chance(0.1)
            ? jsonJunk(r)
            : {
                id: id(),
                host: host(),
                port: port(),
                usetls: r.pick([false, "true", true, jsonJunk(r)]),
                tls: r.pick(["", "nope", jsonJunk(r)]),
                ...(which === 3 ? { ups: r.pick(["ups1", "nosuch", "", "ups 1", jsonJunk(r)]) } : {}),
              };
          res = await helper
            .request()
            .post(which === 0 ? "/nut-server/list-ups" : "/nut-server/list-commands")
            .send(toJsonBody(body));
        } else if (which === 1) {
          const body = r.chance(0.1) ? jsonJunk(r) : { id: id(), address: host(), port: sshPort() };
          res = await helper.request().post("/ssh-host/fingerprints").send(toJsonBody(body));
        } else {
          const q: Record<string, string> = {};
          const keys = [
            "preset",
            "delay",
            "message",
            "username",
            "customShutdown",
            "customCancel",
            "customCheck",
            "guests",
            "guestTag",
            "guestProjects",
            "guestTimeout",
            "guestForce",
          ];
          for (const k of r.some(keys, r.int(0, keys.length))) q[k] = junkString(r).slice(0, 200); // a whole query of more than 16 kB is refused by Node.js itself (431)
          res = await helper.request().get("/ssh-shutdown/preview").query(q);
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const label = `request #${i} (${["list-ups", "fingerprints", "preview", "list-commands"][which]}): ${res.status} ${res.text.slice(0, 200)} (${replay(seed)})`;
        should([200, 400, 404, 429, 502].includes(res.status)).be.true(label);
        should(res.body).have.type("object", `${label}: not a JSON answer`);
        should.exist(res.body, `${label}: not a JSON answer`);
        should(Object.keys(res.body).length).be.above(0, `${label}: not a JSON answer`);
        should(res.text.length).be.below(64 * 1024, `${label}: an answer of ${res.text.length} characters`);
      }
      should(statuses.get(400) ?? 0).be.above(0, `a mix of answers: ${JSON.stringify([...statuses])}`);
      should(statuses.get(200) ?? 0).be.above(0, `a mix of answers: ${JSON.stringify([...statuses])}`);
    } finally {
      await helper.unload();
      await srv.close();
      await sim.close();
    }
  });
});

/** A value that is not a text, nor nothing: an action no node knows. */
function notActionValue(r: Rng): unknown {
  for (;;) {
    const v = junkValue(r, 1);
    if (v !== undefined && v !== null && v !== "" && !(typeof v === "string" && ["shutdown", "cancel", "check", "simulate"].includes(v))) return v;
  }
}

/** A value that is neither a record nor a list of text: what a list field never is. */
function notRecordOrArray(r: Rng): unknown {
  for (;;) {
    const v = junkValue(r, 1);
    if (!Array.isArray(v)) return v;
  }
}

/** A JSON value of any shape (what an HTTP client can send). */
function jsonJunk(r: Rng): unknown {
  for (;;) {
    const v = junkValue(r, 1);
    try {
      const text = JSON.stringify(v);
      if (text !== undefined && text.length < 100_000) return JSON.parse(text) as unknown;
    } catch {
      // BigInt, circular: not JSON
    }
  }
}

/** supertest sends objects as JSON; anything else goes wrapped so the request is still made. */
function toJsonBody(v: unknown): object {
  return typeof v === "object" && v !== null ? v : { value: v };
}

/** A message in a line, for failure texts. */
function show(msg: Msg): string {
  const parts = Object.entries(msg)
    .filter(([k]) => k !== "_msgid")
    .map(([k, v]) => {
      let s: string;
      try {
        s = typeof v === "bigint" ? `${v}n` : typeof v === "symbol" || typeof v === "function" ? String(v) : (JSON.stringify(v) ?? String(v));
      } catch {
        s = Object.prototype.toString.call(v);
      }
      return `${k}=${s.length > 80 ? s.slice(0, 80) + "…" : s}`;
    });
  return `{${parts.join(", ")}}`;
}
