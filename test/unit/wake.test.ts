/**
 * The wake-hosts core as plain functions: MAC formats and the magic packet
 * (core/wake/mac.ts), the configuration, what a message is, the decision
 * table (threshold, stable time, power lost again, restart, reset,
 * simulate, unknown host) and the status (core/wake/wake.ts), the messages
 * (core/wake/result.ts), and the packet-and-check loop with a fake socket
 * and sinon's fake timers (core/wake/wol.ts).
 */
import should from "../harness/should";
import sinon from "sinon";
import { MAGIC_PACKET_BYTES, magicPacket, parseMac } from "../../core/wake/mac";
import {
  type RecordedHost,
  type WakeConfig,
  type WakeInput,
  type WakeShown,
  type WakeState,
  WAKE_LIMITS,
  initialWake,
  parseSavedWake,
  readWakeConfig,
  readWakeMessage,
  savedWake,
  wakeStatus,
  wakeStep,
} from "../../core/wake/wake";
import { summarizeWake, wakeMessage, wakeResult } from "../../core/wake/result";
import { type Probe, type UdpSender, wakeHost } from "../../core/wake/wol";
import { shown } from "../harness/catalog";
import { outage, power } from "../harness/decide-fixtures";

const T0 = Date.UTC(2026, 11, 5, 14, 0, 0);
const O1 = outage("outage-20261205T140000Z-ab12", T0);
const MIN = 60_000;

describe("wake-hosts core", () => {
  describe("MAC addresses", () => {
    it("reads the three usual forms in any case, with spaces around, as aa:bb:cc:dd:ee:ff", () => {
      for (const typed of ["AA:BB:CC:0d:0e:0f", "aa-bb-cc-0D-0E-0F", "aabb.cc0d.0e0f", "  aa:bb:cc:0d:0e:0f \n"]) {
        should(parseMac(typed)).equal("aa:bb:cc:0d:0e:0f", typed);
      }
    });

    it("refuses anything else: mixed separators, bare hex, short, long, non-hex, not text", () => {
      for (const typed of [
        "aa:bb-cc:dd:ee:ff",
        "aabbccddeeff",
        "aa:bb:cc:dd:ee",
        "aa:bb:cc:dd:ee:ff:00",
        "gg:bb:cc:dd:ee:ff",
        "aabb.ccdd.eef",
        "",
        "a:b:c:d:e:f",
      ]) {
        should(parseMac(typed)).equal(null, typed);
      }
      for (const x of [null, undefined, 12, {}, ["aa:bb:cc:dd:ee:ff"]]) should(parseMac(x)).equal(null);
    });

    it("the magic packet is 6 × 0xFF then the MAC 16 times (102 bytes)", () => {
      const p = magicPacket("01-23-45-67-89-AB");
      should(p.length).equal(MAGIC_PACKET_BYTES);
      should([...p.subarray(0, 6)]).eql([255, 255, 255, 255, 255, 255]);
      for (let i = 0; i < 16; i++) should([...p.subarray(6 + i * 6, 12 + i * 6)]).eql([0x01, 0x23, 0x45, 0x67, 0x89, 0xab], `copy ${i}`);
      should(p.toString("hex")).equal("ff".repeat(6) + "0123456789ab".repeat(16));
      should(() => magicPacket("not a mac")).throw(/not a MAC address/);
    });
  });

  describe("configuration", () => {
    it("defaults: 50 %, 5 min stable, 255.255.255.255:9, a packet every 10 s for 10 min", () => {
      const { config, problems } = readWakeConfig({ hosts: ["h1", "h1", "h2"] });
      should(problems).eql([]);
      should(config).eql({
        hosts: ["h1", "h2"],
        minCharge: 50,
        stableMs: 300_000,
        broadcast: "255.255.255.255",
        wolPort: 9,
        repeatMs: 10_000,
        deadlineMs: 600_000,
      });
    });

    it("names each problem: no host, numbers out of range, a broadcast address that is not IPv4", () => {
      const { problems } = readWakeConfig({ hosts: [], minCharge: 101, stable: -1, wolPort: 70000, repeat: 0, deadline: "x", broadcast: "ff02::1" });
      should(problems.map((p) => p.key + (p.params?.name ? ` ${p.params.name}` : ""))).eql([
        "no-hosts",
        "bad-broadcast",
        "bad-number minCharge",
        "bad-number stable",
        "bad-number wolPort",
        "bad-number repeat",
        "bad-number deadline",
      ]);
      should(readWakeConfig({ hosts: Array.from({ length: 65 }, (_, i) => `h${i}`) }).problems.map((p) => p.key)).eql(["too-many-hosts"]);
    });
  });

  describe("messages", () => {
    const result = (over: object = {}) => ({ payload: { host: "nas", hostId: "h1", action: "shutdown", ok: true, ...over }, outage: O1 });

    it("a result of ssh-shutdown, a power state of ups-aggregate, a reset", () => {
      should(readWakeMessage(result(), T0)).eql({ input: { kind: "result", hostId: "h1", action: "shutdown", ok: true, outage: O1, at: T0 } });
      should(readWakeMessage({ payload: power({ onBattery: true, charge: 40 }) }, T0)).eql({
        input: { kind: "power", onBattery: true, critical: false, charge: 40 },
      });
      for (const reset of [true, "yes", 1, 0, ""]) should(readWakeMessage({ reset, payload: power() }, T0)).eql({ input: { kind: "reset" } });
    });

    it("a result that carries msg.reset (ssh-shutdown's cancel of a reset) is a result: it forgets its host only", () => {
      should(readWakeMessage({ ...result({ action: "cancel" }), reset: true }, T0)).eql({
        input: { kind: "result", hostId: "h1", action: "cancel", ok: true, outage: O1, at: T0 },
      });
      should(readWakeMessage({ reset: true, payload: { action: "cancel" } }, T0)).eql({ input: { kind: "reset" } }); // not a result: no ok
    });

    it("an ended outage without a power state is nothing to do; OUTAGE_END is a power state", () => {
      should(readWakeMessage({ payload: "x", outage: { ...O1, ended: T0 } }, T0)).eql({ nothing: true });
      should(readWakeMessage({ payload: power({ event: "OUTAGE_END" }) }, T0)).eql({
        input: { kind: "power", onBattery: false, critical: false, charge: 100 },
      });
    });

    it("refuses what it cannot use, saying why: no hostId, a long one, a bad outage, a broken power state, anything else", () => {
      const error = (msg: object) => {
        const r = readWakeMessage(msg, T0);
        return "error" in r ? r.error : null;
      };
      should(error(result({ hostId: undefined }))).match(/^msg\.payload\.hostId must be the id of an ssh-host/);
      should(error(result({ hostId: "x".repeat(WAKE_LIMITS.idLength + 1) }))).match(/^msg\.payload\.hostId/);
      should(error(result({ action: "reboot" }))).match(/^msg\.payload\.action must be one of/);
      should(error(result({ ok: "true" }))).match(/^msg\.payload\.ok must be true or false/);
      should(error({ ...result(), outage: { id: "x".repeat(WAKE_LIMITS.idLength + 1), since: T0 } })).match(/^msg\.outage must be an outage identity/);
      should(error({ payload: power({ charge: -1 }) })).match(/^msg\.payload\.charge must not be negative/);
      should(error({ payload: { ...power(), onBattery: "no" } })).match(/^msg\.payload\.onBattery must be true or false/);
      should(error({ payload: 73 })).equal("msg.payload must be a result of ssh-shutdown or a power state of ups-aggregate (got 73)");
      should(readWakeMessage({ ...result(), outage: undefined }, T0)).eql({
        input: { kind: "result", hostId: "h1", action: "shutdown", ok: true, outage: null, at: T0 },
      });
    });
  });

  describe("decisions", () => {
    const config: WakeConfig = readWakeConfig({ hosts: ["h1", "h2"], minCharge: 50, stable: 300 }).config;

    /** A node's worth of state, fed inputs at monotonic times. */
    function node(start: WakeState = initialWake()) {
      let state = start;
      const woken: string[] = [];
      let stops = 0;
      return {
        get state() {
          return state;
        },
        woken,
        get stops() {
          return stops;
        },
        feed(input: WakeInput, now: number) {
          const s = wakeStep(config, state, input, now);
          state = s.state;
          woken.push(...s.wake.map((h) => h.id));
          if (s.stop) stops++;
          return s;
        },
      };
    }
    const shutdown = (hostId: string, action = "shutdown", ok = true): WakeInput => ({
      kind: "result",
      hostId,
      action: action as "shutdown",
      ok,
      outage: O1,
      at: T0,
    });
    const back = (charge: number | null = 80): WakeInput => ({ kind: "power", onBattery: false, critical: false, charge });
    const out: WakeInput = { kind: "power", onBattery: true, critical: false, charge: 60 };

    it("wakes the hosts shut down once power is back, charged to the threshold and stable for the time set", () => {
      const n = node();
      n.feed(out, 0);
      should(n.feed(shutdown("h1"), 1000)).containEql({ save: true, note: "recorded", wake: [] });
      n.feed(shutdown("h2"), 2000);
      const first = n.feed(back(), 10 * MIN);
      should(first.checkAt).equal(15 * MIN, "looks again when the stable time is reached");
      should(n.feed({ kind: "tick" }, 15 * MIN - 1).wake).eql([]);
      const due = n.feed({ kind: "tick" }, 15 * MIN);
      should(due.wake.map((h) => h.id)).eql(["h1", "h2"]);
      should(due.save).be.true("stored before waking");
      should(due.checkAt).equal(null);
      should(n.state.hosts.map((h) => h.waking)).eql([true, true]);
      should(n.feed(back(), 16 * MIN).wake).eql([], "never twice");
      n.feed({ kind: "ended", hostId: "h1" }, 17 * MIN);
      should(n.state.hosts.map((h) => h.id)).eql(["h2"]);
    });

    it("a result never wakes, even when every condition already holds", () => {
      const n = node();
      n.feed(back(), 0);
      n.feed({ kind: "tick" }, 10 * MIN);
      const s = n.feed(shutdown("h1"), 11 * MIN);
      should(s.wake).eql([]);
      should(n.feed(back(), 11 * MIN + 1).wake.map((h) => h.id)).eql(["h1"], "the next power state does");
    });

    it("charge below the threshold, or unknown, holds the wake until a power state reaches it", () => {
      const n = node();
      n.feed(shutdown("h1"), 0);
      n.feed(back(34), 0);
      should(n.feed({ kind: "tick" }, 5 * MIN).wake).eql([]);
      should(n.feed(back(null), 6 * MIN).wake).eql([], "null charge: not reached");
      should(n.feed(back(49.9), 7 * MIN).wake).eql([]);
      should(n.feed(back(50), 8 * MIN).wake.map((h) => h.id)).eql(["h1"], "at the threshold");
    });

    it("power lost again resets the stable time and stops the waking; the hosts stay recorded", () => {
      const n = node();
      n.feed(shutdown("h1"), 0);
      n.feed(back(), 0);
      n.feed({ kind: "tick" }, 5 * MIN);
      should(n.woken).eql(["h1"]);
      const lost = n.feed(out, 6 * MIN);
      should(lost).containEql({ stop: true, save: true, checkAt: null });
      should(n.state.hosts.map((h) => [h.id, h.waking])).eql([["h1", false]]);
      should(n.feed(back(), 7 * MIN).checkAt).equal(12 * MIN, "stable time counts from the return");
      should(n.feed({ kind: "tick" }, 11 * MIN).wake).eql([]);
      n.feed(out, 11 * MIN + 1); // a flicker
      should(n.feed(back(), 11 * MIN + 2).checkAt).equal(16 * MIN + 2);
      should(n.feed({ kind: "tick" }, 16 * MIN + 2).wake.map((h) => h.id)).eql(["h1"]);
      should(n.woken).eql(["h1", "h1"]);
    });

    it("critical power is not power back", () => {
      const n = node();
      n.feed(shutdown("h1"), 0);
      should(n.feed({ kind: "power", onBattery: false, critical: true, charge: 90 }, 0).checkAt).equal(null);
      should(n.feed({ kind: "tick" }, 60 * MIN).wake).eql([]);
    });

    it("after a restart: the stored hosts, none waking, and the stable time counting from the first power state", () => {
      const n = node();
      n.feed(shutdown("h1"), 0);
      n.feed(shutdown("h2", "simulate"), 0);
      n.feed(back(), 0);
      n.feed({ kind: "tick" }, 5 * MIN);
      const stored = JSON.parse(JSON.stringify(savedWake(n.state))) as unknown;
      const again = parseSavedWake(stored, config);
      should(again?.hosts.map((h) => [h.id, h.simulated, h.waking])).eql([
        ["h1", false, false],
        ["h2", true, false],
      ]);
      should(again?.power).equal(null);
      const m = node(again!);
      // a monotonic clock that started over (another boot) changes nothing: the time counts from here
      should(m.feed({ kind: "tick" }, 100).wake).eql([]);
      should(m.feed(back(), 100).checkAt).equal(100 + 5 * MIN);
      should(m.feed({ kind: "tick" }, 100 + 5 * MIN).wake.map((h) => h.id)).eql(["h1", "h2"]);
    });

    it("reads back only hosts still configured, with a valid outage, once each; anything else is not a stored state", () => {
      const h = (id: string, over: object = {}) => ({ id, outage: O1, simulated: false, at: T0, waking: true, ...over });
      const back = parseSavedWake({ hosts: [h("h1"), h("h1"), h("gone"), h("h2", { outage: { id: 5 } }), "x"] }, config);
      should(back?.hosts).eql([{ id: "h1", outage: O1, simulated: false, at: T0, waking: false }]);
      for (const x of [null, [], {}, { hosts: {} }, "x"]) should(parseSavedWake(x, config)).equal(null);
    });

    it("reset forgets every host and stops wakings in progress", () => {
      const n = node();
      n.feed(shutdown("h1"), 0);
      n.feed(back(), 0);
      n.feed({ kind: "tick" }, 5 * MIN);
      const r = n.feed({ kind: "reset" }, 6 * MIN);
      should(r).containEql({ stop: true, save: true, note: "cleared" });
      should(n.state.hosts).eql([]);
      should(n.feed(back(), 7 * MIN).wake).eql([]);
    });

    it("simulate records the host as simulated; a rehearsal never hides a real shutdown, a real one replaces a rehearsal", () => {
      const n = node();
      n.feed(shutdown("h1", "simulate"), 0);
      should(n.state.hosts.map((h) => h.simulated)).eql([true]);
      n.feed(shutdown("h1"), 1);
      should(n.state.hosts.map((h) => h.simulated)).eql([false]);
      should(n.feed(shutdown("h1", "simulate"), 2)).containEql({ save: false });
      should(n.state.hosts.map((h) => h.simulated)).eql([false]);
    });

    it("a result for a host being woken keeps its waking: never a second one for the same host", () => {
      const n = node();
      n.feed(shutdown("h1"), 0);
      n.feed(back(), 0);
      n.feed({ kind: "tick" }, 5 * MIN);
      n.feed(shutdown("h1"), 6 * MIN);
      should(n.state.hosts.map((h) => h.waking)).eql([true]);
      should(n.feed(back(), 7 * MIN).wake).eql([]);
      should(n.woken).eql(["h1"]);
    });

    it("a result of a host not in the list, a failed shutdown, a check are not recorded; a cancel in time forgets", () => {
      const n = node();
      should(n.feed(shutdown("h9"), 0)).containEql({ note: "other-host", save: false });
      should(n.feed(shutdown("h1", "shutdown", false), 0)).containEql({ note: "not-down", save: false });
      should(n.feed(shutdown("h1", "check"), 0)).containEql({ note: "not-down" });
      should(n.feed(shutdown("h1", "prepare"), 0)).containEql({ note: "not-down" }); // a pre-flight shuts nothing down
      should(n.state.hosts).eql([]);
      n.feed(shutdown("h1"), 0);
      should(n.feed(shutdown("h1", "cancel"), 0)).containEql({ note: "cancelled", save: true });
      should(n.state.hosts).eql([]);
    });
  });

  describe("status", () => {
    const config = readWakeConfig({ hosts: ["h1", "h2"] }).config;
    const names = (id: string) => ({ h1: "nas", h2: "storage" })[id] ?? id;
    const extra = (over: Partial<WakeShown> = {}): WakeShown => ({
      waking: [],
      last: null,
      otherHosts: 0,
      names,
      store: { problem: null, keeps: "restart" },
      ...over,
    });
    const host = (id: string, waking = false): RecordedHost => ({ id, outage: O1, simulated: false, at: T0, waking });
    const state = (hosts: RecordedHost[], p: WakeState["power"], backSince: number | null = null): WakeState => ({ hosts, power: p, backSince });
    const say = (s: WakeState, now: number, over: Partial<WakeShown> = {}) => shown("wake-hosts", wakeStatus(config, s, now, extra(over)));
    const two = [host("h1"), host("h2")];

    it("says what the hosts wait for", () => {
      should(say(state([], null), 0)).eql({ fill: "grey", shape: "ring", text: "nothing to wake" });
      should(say(state(two, null), 0).text).equal("2 hosts to wake · waiting for a power state");
      should(say(state([host("h1")], { onBattery: true, critical: false, charge: 40 }), 0).text).equal("nas to wake · on battery");
      should(say(state(two, { onBattery: false, critical: false, charge: 80 }, 0), 2 * MIN + 5000)).eql({
        fill: "yellow",
        shape: "ring",
        text: "2 hosts to wake · mains stable 2/5 min",
      });
      should(say(state(two, { onBattery: false, critical: false, charge: 34 }, 0), 6 * MIN).text).equal("2 hosts to wake · charge 34 % < 50 %");
      should(say(state(two, { onBattery: false, critical: false, charge: null }, 0), 6 * MIN).text).equal("2 hosts to wake · charge unknown (needs 50 %)");
      should(say(state(two, { onBattery: false, critical: true, charge: 90 }), 0).text).equal("2 hosts to wake · power critical");
    });

    it("while waking, and after: up, no answer, results of other hosts, the store", () => {
      should(say(state([host("h1", true), host("h2", true)], null), 0, { waking: ["nas", "storage"] })).eql({
        fill: "blue",
        shape: "dot",
        text: "waking 2 hosts",
      });
      should(say(state([], null), 0, { last: { host: "storage", event: "UP" } })).eql({ fill: "green", shape: "dot", text: "storage up" });
      should(say(state([], null), 0, { last: { host: "nas", event: "NO_ANSWER" } })).eql({ fill: "red", shape: "ring", text: "no answer: nas" });
      should(say(state([], null), 0, { otherHosts: 3, store: { problem: null, keeps: "redeploy" } }).text).equal(
        "nothing to wake · ignored results of other hosts: 3 · memory only",
      );
      should(say(state([], null), 0, { store: { problem: "lost", keeps: "restart" } })).eql({
        fill: "red",
        shape: "ring",
        text: "nothing to wake · stored hosts lost",
      });
    });

    it("in French", () => {
      const s = state(two, { onBattery: false, critical: false, charge: 34 }, 0);
      should(shown("wake-hosts", wakeStatus(config, s, 6 * MIN, extra()), "fr").text).equal("2 hôtes à réveiller · charge 34 % < 50 %");
    });
  });

  describe("messages out", () => {
    const target = { id: "h1", name: "nas", address: "192.0.2.10", port: 22, mac: "aa:bb:cc:dd:ee:ff" };
    const to = { broadcast: "255.255.255.255", wolPort: 9 };

    it("a WakeResult is plain JSON with the host's id, MAC, packets and duration; one line says it", () => {
      const r = wakeResult(target, to, "UP", { simulated: false, packets: 7, duration: 70_400 }, T0);
      should(r).eql({
        host: "nas",
        hostId: "h1",
        address: "192.0.2.10",
        port: 22,
        mac: "aa:bb:cc:dd:ee:ff",
        broadcast: "255.255.255.255",
        wolPort: 9,
        event: "UP",
        simulated: false,
        packets: 7,
        duration: 70_400,
        error: null,
        time: T0,
      });
      should(JSON.parse(JSON.stringify(r))).eql(r);
      should(wakeMessage(r, O1)).eql({ payload: r, topic: "nas", summary: "nas: up, SSH answers on 192.0.2.10:22 (7 packets, 1 min)", outage: O1 });
      should(wakeMessage(r, null)).not.have.property("outage");
      should(wakeMessage(r, O1).outage).not.equal(O1, "a copy: a later node changing it changes nothing kept");
    });

    it("summaries of every event", () => {
      const line = (event: Parameters<typeof wakeResult>[2], more: Parameters<typeof wakeResult>[3]) => summarizeWake(wakeResult(target, to, event, more, T0));
      should(line("WAKING", { simulated: false, packets: 1 })).equal("nas: waking aa:bb:cc:dd:ee:ff (to 255.255.255.255:9)");
      should(line("WAKING", { simulated: true })).equal("nas: simulate, would wake aa:bb:cc:dd:ee:ff (to 255.255.255.255:9; no packet sent)");
      should(line("NO_ANSWER", { simulated: false, packets: 60, duration: 600_000, error: "send ENETUNREACH" })).equal(
        "nas: NO ANSWER on 192.0.2.10:22 after 10 min (60 packets; last send failed: send ENETUNREACH)",
      );
      should(line("STOPPED", { simulated: false, packets: 1, duration: 4000, error: "power lost again" })).equal(
        "nas: waking stopped (1 packet, 4 s): power lost again",
      );
      should(line("SIMULATED", { simulated: true })).equal("nas: simulated waking done (no packet sent)");
      should(line("FAILED", { simulated: false, error: "no MAC\naddress" })).equal("nas: cannot wake: no MAC address");
    });
  });

  describe("the packet-and-check loop (fake socket, fake timers)", () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: T0 });
    });
    afterEach(() => clock.restore());

    /** A socket that records what it sends (or fails the first `failures` sends). */
    function fakeSender(failures = 0) {
      const sent: Array<{ at: number; bytes: string; port: number; address: string }> = [];
      let opened = 0;
      let closed = 0;
      let fail = failures;
      const open = async (): Promise<UdpSender> => {
        opened++;
        return {
          send: async (packet, port, address) => {
            if (fail-- > 0) throw new Error("send ENETUNREACH 255.255.255.255:9");
            sent.push({ at: Date.now() - T0, bytes: packet.toString("hex"), port, address });
          },
          close: () => void closed++,
        };
      };
      return { open, sent, opened: () => opened, closed: () => closed };
    }
    const run = (signal: AbortSignal, over: object = {}) => ({
      mac: "aa:bb:cc:dd:ee:ff",
      broadcast: "192.168.1.255",
      wolPort: 9,
      address: "192.168.1.20",
      sshPort: 22,
      repeatMs: 10_000,
      deadlineMs: 60_000,
      probeTimeoutMs: 3000,
      signal,
      ...over,
    });
    const now = () => Date.now() - T0;
    /** Lets the loop's promises settle, then moves the fake time on. */
    async function advance(ms: number) {
      for (let i = 0; i < 20; i++) await Promise.resolve();
      await clock.tickAsync(ms);
    }

    it("a packet every repeat until the SSH check answers; the packet goes first", async () => {
      const s = fakeSender();
      const checks: number[] = [];
      const probe: Probe = async () => {
        checks.push(now());
        return checks.length >= 3;
      };
      const done = wakeHost(run(new AbortController().signal), { openSender: s.open, probe, now });
      await advance(30_000);
      const outcome = await done;
      should(outcome).eql({ up: true, stopped: false, packets: 3, durationMs: 20_000, error: null });
      should(s.sent.map((p) => p.at)).eql([0, 10_000, 20_000]);
      should(checks).eql([0, 10_000, 20_000]);
      should(s.sent[0]).containEql({ port: 9, address: "192.168.1.255", bytes: "ff".repeat(6) + "aabbccddeeff".repeat(16) });
      should(s.closed()).equal(1, "its socket is closed");
    });

    it("no answer until the deadline: NO_ANSWER with the packets sent", async () => {
      const s = fakeSender();
      const timeouts: number[] = [];
      const probe: Probe = async (_a, _p, timeoutMs) => {
        timeouts.push(timeoutMs);
        return false;
      };
      const done = wakeHost(run(new AbortController().signal, { deadlineMs: 25_000 }), { openSender: s.open, probe, now });
      await advance(40_000);
      should(await done).eql({ up: false, stopped: false, packets: 3, durationMs: 25_000, error: null });
      should(timeouts).eql([3000, 3000, 3000], "a check never waits past the deadline either");
    });

    it("a send that fails is tried again with a new socket at the next repeat; the outcome keeps the last error", async () => {
      const s = fakeSender(2);
      const seen: Array<[number, string | null]> = [];
      const done = wakeHost(run(new AbortController().signal, { deadlineMs: 25_000, onPacket: (n: number, e: string | null) => seen.push([n, e]) }), {
        openSender: s.open,
        probe: async () => false,
        now,
      });
      await advance(40_000);
      should(seen).eql([
        [0, "send ENETUNREACH 255.255.255.255:9"],
        [0, "send ENETUNREACH 255.255.255.255:9"],
        [1, null],
      ]);
      should((await done).packets).equal(1);
      should(s.opened()).equal(3);
    });

    it("an abort stops at once: no further packet, the outcome says stopped", async () => {
      const s = fakeSender();
      const controller = new AbortController();
      const done = wakeHost(run(controller.signal), { openSender: s.open, probe: async () => false, now });
      await advance(12_000);
      controller.abort();
      const outcome = await done;
      should(outcome).containEql({ up: false, stopped: true, packets: 2 });
      await advance(60_000);
      should(s.sent).have.length(2);
    });
  });
});
