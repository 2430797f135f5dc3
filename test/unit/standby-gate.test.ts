/**
 * The standby-gate core (core/decide/standby.ts) as plain functions: who is
 * active, the claim before the step, the first claim wins, the broker that
 * does not answer, and what the broker's messages can never do.
 */
import should from "../harness/should";
import fc from "fast-check";
import {
  type GateConfig,
  type GateState,
  type GateStep,
  checkGateConfig,
  gateInput,
  gateStatus,
  gateTimeout,
  initialGate,
  parseClaim,
  roleOf,
} from "../../core/decide/standby";
import { formatClock } from "../../core/format";
import { shown } from "../harness/catalog";
import { outage } from "../harness/decide-fixtures";

const T0 = Date.UTC(2026, 10, 25, 13, 2, 0);
const O1 = outage("outage-20261125T130200Z-ab12", T0);
/** The claim time as the status shows it (local time). */
const HHMM = formatClock(T0);
const PREFIX = "nut-shutdown/site-a";
const STEP_TOPIC = `${PREFIX}/step/backup`;
const base: GateConfig = { prefix: PREFIX, step: "backup", me: "primary", controllers: ["primary", "standby"], expiryS: 86_400, takeoverMs: 15_000 };

function gate(me = "primary") {
  const config = { ...base, me };
  let state: GateState = initialGate(config);
  /** The monotonic clock, moved by `advance`. */
  let mono = 1_000;
  const run = (s: GateStep) => {
    state = s.state;
    return s;
  };
  return {
    config,
    get state() {
      return state;
    },
    get mono() {
      return mono;
    },
    advance: (ms: number) => (mono += ms),
    feed: (msg: Record<string, unknown>, now = T0) => run(gateInput(config, state, msg, { wall: now, mono })),
    timeout: () => run(gateTimeout(config, state, mono)),
    word: (name: string, payload: unknown) =>
      run(gateInput(config, state, { topic: `${PREFIX}/controller/${name}`, payload, qos: 1, retain: true }, { wall: T0, mono })),
    claim: (controller: string, outageId = "outage-x") =>
      run(
        gateInput(config, state, { topic: STEP_TOPIC, payload: JSON.stringify({ controller, step: "backup", outage: outageId, at: T0 }) }, { wall: T0, mono }),
      ),
  };
}

const stepMsg = { outage: O1, tier: { index: 0, name: "backup" }, payload: { onBattery: true } };

describe("standby-gate core", () => {
  it("the primary claims the step first, and lets it through only when the broker sends its claim back", () => {
    const g = gate("primary");
    const s = g.feed(stepMsg);
    should(s.action).equal("claim");
    should(s.publish).eql({
      topic: STEP_TOPIC,
      payload: { controller: "primary", step: "backup", outage: O1.id, at: T0 },
      retain: true,
      qos: 1,
      messageExpiryInterval: 86_400,
    });
    should(g.feed(stepMsg).action).equal("block", "a repeat while the claim is on its way does not claim twice");
    should(g.claim("primary", O1.id).action).equal("release");
    should(g.feed(stepMsg).action).equal("pass", "its own claim: the latch behind the gate keeps it once");
    should(shown("standby-gate", gateStatus(g.config, g.state, g.mono)).text).equal(`claimed by primary ${HHMM}`);
  });

  it("a standby waits while the primary is online or never heard of, and takes over on the primary's last will", () => {
    const g = gate("standby");
    should(g.feed(stepMsg)).containEql({ action: "block", reason: "standby: primary is not known offline" });
    should(shown("standby-gate", gateStatus(g.config, g.state, g.mono)).text).equal("standby: no word of primary");
    g.word("primary", "online");
    should(g.feed(stepMsg)).containEql({ action: "block", reason: "standby: primary is online" });
    g.word("primary", Buffer.from("offline"));
    // not at once: a broker that stops sends every will, and the births come back within the reconnect time
    should(g.feed(stepMsg)).containEql({ action: "block", reason: "standby: primary is offline for less than the takeover delay" });
    should(shown("standby-gate", gateStatus(g.config, g.state, g.mono)).text).equal("standby: primary offline, taking over soon");
    g.advance(14_999);
    g.word("primary", "offline"); // the retained will again on a reconnect: the delay still counts from the first
    should(roleOf(g.config, g.state, g.mono).active).be.false();
    g.advance(1);
    should(roleOf(g.config, g.state, g.mono).active).be.true();
    should(g.feed(stepMsg).action).equal("claim");
    should(g.claim("standby").action).equal("release");
    // the primary comes back: the step it did not run stays the standby's, and the primary never repeats it
    const p = gate("primary");
    p.claim("standby");
    should(p.feed(stepMsg)).containEql({ action: "block", reason: `step backup already claimed by standby at ${HHMM}` });
  });

  it("a step the primary claimed is never repeated by the standby that takes over", () => {
    const g = gate("standby");
    g.word("primary", "online");
    g.claim("primary");
    g.word("primary", "offline");
    g.advance(15_000);
    should(g.feed(stepMsg).action).equal("block");
    should(g.state.claim?.controller).equal("primary");
  });

  it("two controllers claiming at once: the first claim the broker delivers wins on both", () => {
    const p = gate("primary");
    const s = gate("standby");
    s.word("primary", "offline"); // the standby believes the primary gone; the primary is in fact running
    s.advance(15_000);
    should(p.feed(stepMsg).action).equal("claim");
    should(s.feed(stepMsg).action).equal("claim");
    // the broker delivers the standby's claim first, then the primary's, to both
    should(p.claim("standby").action).equal("drop");
    should(s.claim("standby").action).equal("release");
    should(p.claim("primary").action).equal("update");
    const again = s.claim("primary");
    should(again.action).equal("update");
    should(p.state.claim?.controller).equal("standby");
    should(s.state.claim?.controller).equal("standby");
    // the broker keeps the last claim it got, the primary's: the standby, which ran the step, claims it again
    should(again.publish).eql({
      topic: STEP_TOPIC,
      payload: { controller: "standby", step: "backup", outage: "outage-x", at: T0 },
      retain: true,
      qos: 1,
      messageExpiryInterval: base.expiryS,
    });
    should(p.claim("standby").publish).equal(null, "the loser does not answer it");
    should(s.claim("standby").publish).equal(null, "its own claim back: nothing more");
    should(s.claim("primary").publish).equal(null, "claimed again once: two controllers holding their own claims do not answer each other forever");
    // so the primary, restarted mid-outage, finds the standby's claim and never runs the step it dropped
    const restarted = gate("primary");
    restarted.claim("standby");
    should(restarted.feed(stepMsg)).containEql({ action: "block" });
  });

  it("the broker does not answer: the primary runs the step anyway; a standby, even one that took over, never runs a step the broker did not confirm", () => {
    const p = gate("primary");
    p.feed(stepMsg);
    const t = p.timeout();
    should(t.action).equal("release");
    should(t.reason).match(/did not confirm .* running it anyway/);
    should(shown("standby-gate", gateStatus(p.config, p.state, p.mono)).text).equal("ran without the broker's confirmation");

    const s = gate("standby");
    s.word("primary", "offline");
    s.advance(15_000);
    should(s.feed(stepMsg).action).equal("claim");
    const dropped = s.timeout();
    should(dropped.action).equal("drop", "active, but not the primary: the broker's word is needed");
    should(dropped.reason).match(/not run \(a standby runs a step only on the broker's word\)/);
    should(s.timeout().action).equal("update", "nothing pending any more");
    should(s.feed(stepMsg).action).equal("claim", "tried again at the next reading");
  });

  it("a step run without the broker is claimed as soon as the broker is back (this controller's birth), so a standby taking over later does not repeat it", () => {
    const p = gate("primary");
    const first = p.feed(stepMsg);
    should(p.timeout().action).equal("release");
    // the next readings: the step goes to the latch (which keeps it once), no new claim, no new wait
    should(p.feed(stepMsg)).containEql({ action: "pass", publish: null });
    should(p.word("standby", "online").publish).be.null();
    const back = p.word("primary", "online");
    should(back.publish).eql(first.publish, "the same claim, published again");
    p.claim("primary", O1.id);
    should(p.state.unconfirmed).be.null();
    should(p.word("primary", "online").publish).be.null(); // claimed once is enough
    // meanwhile the standby, which took over after the claim came back, blocks the step
    const s = gate("standby");
    s.word("primary", "offline");
    s.advance(15_000);
    s.claim("primary", O1.id);
    should(s.feed(stepMsg).action).equal("block");
  });

  it("power restored passes on every controller; the active one clears the claim at the broker", () => {
    const p = gate("primary");
    p.feed(stepMsg);
    p.claim("primary");
    const r = p.feed({ payload: { event: "OUTAGE_END" }, outage: { ...O1, ended: T0 + 1 } });
    should(r.action).equal("pass");
    should(r.publish).eql({ topic: STEP_TOPIC, payload: "", retain: true, qos: 1 });
    should(p.state.claim).be.null();
    const s = gate("standby");
    s.word("primary", "online");
    const rs = s.feed({ reset: true });
    should(rs).containEql({ action: "pass", publish: null });
    // the cleared claim echoed back
    should(p.feed({ topic: STEP_TOPIC, payload: "" }).action).equal("update");
    should(p.feed(stepMsg).action).equal("claim", "the next outage claims again");
  });

  it("nothing from the broker is a step: a message on the gate's topics with msg.outage is refused, and a claim or word never passes", () => {
    for (const me of ["primary", "standby"]) {
      const g = gate(me);
      for (const topic of [STEP_TOPIC, `${PREFIX}/controller/primary`, `${PREFIX}/anything`]) {
        should(g.feed({ topic, outage: O1, payload: "online" }).action).equal("error");
      }
      // a message from mqtt in on any other topic has no outage identity: refused as a step
      should(g.feed({ topic: "elsewhere/step/backup", payload: JSON.stringify({ outage: O1, hosts: ["10.0.0.1"], command: "halt" }) }).action).equal("error");
      should(g.word("primary", "maybe").action).equal("error");
      should(g.word("intruder", "offline").action).equal("ignore");
      should(g.feed({ topic: STEP_TOPIC, payload: '{"controller":"primary"}' }).action).equal("error");
    }
  });

  it("property: whatever the broker sends, no message from it is let through as a step", () => {
    const arbPayload = fc.oneof(
      fc.string(),
      fc.constantFrom("online", "offline", ""),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    const arbTopic = fc.oneof(
      fc.constantFrom(STEP_TOPIC, `${PREFIX}/controller/primary`, `${PREFIX}/controller/standby`),
      fc.string().map((s) => `${PREFIX}/${s}`),
    );
    fc.assert(
      fc.property(fc.constantFrom("primary", "standby"), fc.array(fc.tuple(arbTopic, arbPayload), { maxLength: 20 }), (me, msgs) => {
        const g = gate(me);
        for (const [topic, payload] of msgs) {
          const a = g.feed({ topic, payload, qos: 1, retain: true }).action;
          // "release" only ever follows a claim this gate made: never here, no step came in
          if (a === "pass" || a === "release" || a === "claim") return false;
        }
        return true;
      }),
    );
  });

  it("a claim is read only in its own shape, bounded", () => {
    should(parseClaim("")).equal("");
    should(parseClaim('{"controller":"a","step":"b","outage":"o","at":1}')).eql({ controller: "a", step: "b", outage: "o", at: 1 });
    should(parseClaim({ controller: "a", step: "b", outage: "o", at: 1 })).eql({ controller: "a", step: "b", outage: "o", at: 1 });
    should(parseClaim(`{"controller":"a","step":"b","outage":"${"o".repeat(3000)}","at":1}`)).be.null();
    should(parseClaim('{"controller":"a b","step":"b","outage":"o","at":1}')).be.null();
    for (const at of [-1, 8.64e15 + 1, 1e308]) should(parseClaim({ controller: "a", step: "b", outage: "o", at })).equal(null, `at ${at}`);
    should(parseClaim({ controller: "a", step: "b", outage: "o", at: 8.64e15 })?.at).equal(8.64e15);
    should(parseClaim("not json")).be.null();
    should(parseClaim(42)).be.null();
    const circular: Record<string, unknown> = { controller: "a" };
    circular.self = circular;
    should(parseClaim(circular)).be.null();
  });

  it("a configuration it cannot work with is named", () => {
    should(checkGateConfig(base)).eql([]);
    should(checkGateConfig({ ...base, prefix: "a/+/b", controllers: ["primary"], expiryS: 10 })).eql([
      'topic prefix must be a topic without wildcards, spaces or a leading or trailing "/" (got "a/+/b")',
      "list 2 to 8 controllers, in order of priority (got 1)",
      "claims expire after 60 s to 7 days (got 10 s)",
    ]);
    should(checkGateConfig({ ...base, me: "third", controllers: ["primary", "primary"] })).eql([
      "a controller is listed twice",
      'this controller ("third") is not in the list of controllers',
    ]);
  });
});
