/**
 * core/nut/ups-state.ts: a UPS reading turned into the state, events and
 * status nut-ups-in shows.
 */
import should from "../harness/should";
import type { UpsState } from "../../core/contract";
import { NutConnectionError, NutServerError, NutTimeoutError } from "../../core/nut/errors";
import {
  MONITOR_LIMITS,
  alertPolling,
  applyListError,
  applyReadings,
  currentStates,
  failedReading,
  newMonitor,
  readUpses,
  type MonitorOptions,
  type UpsReader,
} from "../../core/nut/monitor";
import { DEFAULT_TIMING } from "../../core/nut/status";
import type { Moment } from "../../core/moment";
import { hasChanged, nodeStatus, summarize, toUpsState, type UpsReading } from "../../core/nut/ups-state";
import type { StatusView } from "../../core/status";
import { shown } from "../harness/catalog";

const server = "nas:3493";
/** Both clocks at `t`. */
const at = (t: number): Moment => ({ mono: t, wall: t });
const vars = (v: Record<string, string>): Array<[string, string]> => Object.entries(v);
const good = (v: Record<string, string>, ups = "ups1"): UpsReading => ({ ups, vars: vars(v), error: null, reachable: true });
const OL = { "ups.status": "OL CHRG", "battery.charge": "100", "battery.runtime": "2700", "ups.load": "25" };
const OB = { "ups.status": "OB DISCHRG", "battery.charge": "73", "battery.runtime": "1260", "ups.load": "30" };

describe("UpsState from a reading", () => {
  it("reads numbers as numbers and the flags of ups.status", () => {
    const { state, problems } = toUpsState(good(OB), server, null, 1000, 0, ["ONBATT"], false);
    should(problems).eql([]);
    should(state).eql({
      ups: "ups1",
      server,
      status: "OB DISCHRG",
      flags: ["OB", "DISCHRG"],
      online: false,
      onBattery: true,
      lowBattery: false,
      charge: 73,
      runtime: 1260,
      load: 30,
      time: 1000,
      age: 0,
      stale: false,
      reachable: true,
      error: null,
      event: "ONBATT",
      events: ["ONBATT"],
    });
    should(JSON.parse(JSON.stringify(state))).eql(state, "plain JSON");
  });

  it("keeps battery.charge and battery.charge.low side by side in vars (a name both leaf and prefix)", () => {
    const { state } = toUpsState(good({ ...OL, "battery.charge.low": "20", "device.serial": "0042" }), server, null, 1, 0, [], true);
    should(state.vars?.["battery.charge"]).equal(100);
    should(state.vars?.["battery.charge.low"]).equal(20);
    should(state.vars?.["device.serial"]).equal("0042");
    should(state.charge).equal(100);
  });

  it("reports a value that should be a number and is not, and leaves it null", () => {
    const { state, problems } = toUpsState(good({ ...OL, "battery.charge": "full" }), server, null, 1, 0, [], false);
    should(state.charge).equal(null);
    should(problems).eql(['ups1: battery.charge is not a number: "full"']);
  });

  it("keeps the last known values when stale, marks them, and never says online", () => {
    const prev = toUpsState(good(OL), server, null, 1000, 0, [], true).state;
    const failed: UpsReading = { ups: "ups1", vars: null, error: { code: "DATA-STALE", message: "stale" }, reachable: true };
    const { state } = toUpsState(failed, server, prev, 9000, 8000, ["COMMBAD"], true);
    should(state.stale).be.true();
    should(state.online).be.false();
    should(state.reachable).be.true();
    should(state.error).equal("DATA-STALE");
    should(state.status).equal("OL CHRG");
    should(state.charge).equal(100);
    should(state.time).equal(1000, "time of the last good read");
    should(state.age).equal(8000, "how old the values are: what the dead time counts from");
    should(state.vars).eql(prev.vars);
  });

  it("keeps OB and LB of the last known state when upsd is unreachable", () => {
    const prev = toUpsState(good({ ...OB, "ups.status": "OB LB" }), server, null, 1000, 0, [], false).state;
    const failed: UpsReading = { ups: "ups1", vars: null, error: { code: "ECONNREFUSED", message: "refused" }, reachable: false };
    const { state } = toUpsState(failed, server, prev, 2000, 1000, [], false);
    should(state.onBattery).be.true();
    should(state.lowBattery).be.true();
    should(state.reachable).be.false();
  });

  it("never read: nulls, stale, not online", () => {
    const failed: UpsReading = { ups: "ups1", vars: null, error: { code: "ECONNREFUSED", message: "refused" }, reachable: false };
    const { state } = toUpsState(failed, server, null, 5, null, [], false);
    should(state.status).equal(null);
    should(state.flags).eql([]);
    should(state.charge).equal(null);
    should(state.stale).be.true();
    should(state.online).be.false();
    should(state.age).equal(null);
  });
});

describe("status text, colours and summary", () => {
  /** As nut-ups-in shows it, in English. */
  const ups = (view: StatusView) => shown("nut-ups-in", view);
  const st = (v: Record<string, string>) => toUpsState(good(v), server, null, 1, 0, [], false).state;
  const cases: Array<[Record<string, string>, string, string, string]> = [
    [OL, "green", "dot", "OL 100% 45 min"],
    [OB, "yellow", "dot", "OB 73% 21 min"],
    [{ ...OB, "ups.status": "OB DISCHRG LB", "battery.charge": "8" }, "red", "dot", "LB 8%"],
    [{ ...OL, "ups.status": "FSD OL" }, "red", "dot", "FSD 100%"],
    [{ ...OL, "ups.status": "OL RB" }, "yellow", "dot", "OL RB 100% 45 min"],
    [{ "ups.status": "OL" }, "green", "dot", "OL"],
  ];
  for (const [v, fill, shape, text] of cases) {
    it(`${v["ups.status"]} -> ${fill} ${shape} "${text}"`, () => should(ups(nodeStatus(st(v)))).eql({ fill, shape, text }));
  }

  it("stale -> red ring with the last known values; unreachable -> grey ring, red when last seen on battery", () => {
    const stale = (prev: UpsState, code: string, reachable: boolean) =>
      toUpsState({ ups: "ups1", vars: null, error: { code, message: code }, reachable }, server, prev, 2, 1, [], false).state;
    should(ups(nodeStatus(stale(st(OL), "DATA-STALE", true)))).eql({ fill: "red", shape: "ring", text: "stale · was OL 100%" });
    should(ups(nodeStatus(stale(st(OL), "ECONNREFUSED", false)))).eql({ fill: "grey", shape: "ring", text: "disconnected · was OL 100%" });
    should(ups(nodeStatus(stale(st(OB), "ECONNREFUSED", false)))).eql({ fill: "red", shape: "ring", text: "disconnected · was OB 73%" });
    should(ups(nodeStatus(stale(st(OL), "UNKNOWN-UPS", true))).text).equal("unknown UPS · was OL 100%");
  });

  it("summarises in one line a person can read", () => {
    const ob = toUpsState(good(OB), server, null, 1, 0, ["ONBATT"], false).state;
    should(summarize("ups1@nas:3493", ob)).equal("ups1@nas:3493 on battery: 73 %, ~21 min (ONBATT)");
    const lost = toUpsState(
      { ups: "ups1", vars: null, error: { code: "ECONNREFUSED", message: "" }, reachable: false },
      server,
      ob,
      2,
      1,
      ["COMMBAD"],
      false,
    ).state;
    should(summarize("ups1@nas:3493", lost)).equal("ups1@nas:3493 upsd unreachable (connection refused); last known on battery 73 %, ~21 min (COMMBAD)");
  });

  it("counts a change in status, levels, staleness or an event, not in other variables", () => {
    const a = toUpsState(good(OL), server, null, 1, 0, [], true).state;
    const b = toUpsState(good({ ...OL, "input.voltage": "231" }), server, a, 2, 0, [], true).state;
    should(hasChanged(a, b)).be.false();
    should(hasChanged(a, { ...b, charge: 99 })).be.true();
    should(hasChanged(a, { ...b, events: ["COMMOK"], event: "COMMOK" })).be.true();
    should(hasChanged(null, b)).be.true();
  });
});

describe("monitor: readings to messages", () => {
  const opts = (output: MonitorOptions["output"]): MonitorOptions => ({ server, output, includeVars: false, timing: DEFAULT_TIMING });

  function feed(output: MonitorOptions["output"], readings: UpsReading[][]) {
    let m = newMonitor(0);
    return readings.map((rs, i) => {
      const r = applyReadings(m, rs, at((i + 1) * 1000), opts(output), false);
      m = r.monitor;
      return r.outputs;
    });
  }

  it("on change: the first reading, then only changes", () => {
    const sent = feed("change", [[good(OL)], [good(OL)], [good(OB)], [good(OB)]]).map((o) => o.filter((x) => x.send).length);
    should(sent).eql([1, 0, 1, 0]);
  });

  it("every poll: all of them; events only: only transitions", () => {
    should(feed("poll", [[good(OL)], [good(OL)]]).map((o) => o.filter((x) => x.send).length)).eql([1, 1]);
    const ev = feed("events", [[good(OL)], [good(OL)], [good(OB)], [good(OB)], [good(OL)]]);
    should(ev.map((o) => o.filter((x) => x.send).map((x) => x.state.event))).eql([[], [], ["ONBATT"], [], ["ONLINE"]]);
  });

  it("forced (input message): sends whatever the mode", () => {
    const m = applyReadings(newMonitor(0), [good(OL)], at(1), opts("events"), true);
    should(m.outputs[0].send).be.true();
  });

  it("tells a new error once, not every poll, and again when it changes", () => {
    const stale: UpsReading = failedReading("ups1", new NutServerError("DATA-STALE", [], "LIST VAR ups1"));
    const gone: UpsReading = failedReading("ups1", new NutServerError("DRIVER-NOT-CONNECTED", [], "LIST VAR ups1"));
    const outs = feed("change", [[good(OL)], [stale], [stale], [gone], [good(OL)], [stale]]);
    should(outs.map((o) => o[0].report !== null)).eql([false, true, false, true, false, true]);
    should(outs[1][0].report ?? "").match(/^ups1@nas:3493: LIST VAR ups1: ERR DATA-STALE/);
  });

  it("keeps each UPS apart (all mode) and polls at the alert rate when one is on battery", () => {
    let m = newMonitor(0);
    m = applyReadings(m, [good(OL, "a"), good(OL, "b")], at(1), opts("change"), false).monitor;
    should(alertPolling(m)).be.false();
    const r = applyReadings(m, [good(OL, "a"), good(OB, "b")], at(2), opts("change"), false);
    should(r.outputs.map((o) => [o.topic, o.send, o.state.event])).eql([
      ["a@nas:3493", false, null],
      ["b@nas:3493", true, "ONBATT"],
    ]);
    should(alertPolling(r.monitor)).be.true();
  });

  it("the same values read again (most polls): the state read now, as toUpsState makes it, no event, nothing to send", () => {
    let m = applyReadings(newMonitor(0), [good(OB)], at(1000), opts("change"), false).monitor;
    for (const t of [2000, 3000]) {
      const r = applyReadings(m, [good(OB)], { mono: t, wall: 50_000 + t }, opts("change"), false);
      m = r.monitor;
      const full = toUpsState(good(OB), server, null, 50_000 + t, 0, [], false).state;
      should(r.outputs[0].state).eql(full);
      should(r.outputs[0]).containEql({ send: false, changed: false, report: null });
      // the dead time counts from this read
      should(currentStates(m)[0]).containEql({ time: 50_000 + t, age: 0, stale: false });
    }
    // a failure after it carries this read's time and counts its age from it
    const stale = applyReadings(
      m,
      [failedReading("ups1", new NutServerError("DATA-STALE", [], "GET VAR"))],
      { mono: 4500, wall: 54_500 },
      opts("change"),
      false,
    );
    should(stale.outputs[0].state).containEql({ time: 53_000, age: 1500, stale: true });
    // then the same values again: COMMOK, sent
    const back = applyReadings(stale.monitor, [good(OB)], at(5000), opts("change"), false);
    should(back.outputs[0].state.events).eql(["COMMOK"]);
    should(back.outputs[0].send).be.true();
  });

  it("the same values read again still repeat REPLBATT (RB) and tell a bad number only once", () => {
    const timing = { ...DEFAULT_TIMING, replbattWarnMs: 2500 };
    const o: MonitorOptions = { server, output: "events", includeVars: false, timing };
    const rb = good({ ...OL, "ups.status": "OL RB", "ups.load": "n/a" });
    let m = newMonitor(0);
    const events: string[][] = [];
    const reports: Array<string | null> = [];
    for (let t = 1000; t <= 5000; t += 1000) {
      const r = applyReadings(m, [rb], at(t), o, false);
      m = r.monitor;
      events.push(r.outputs[0].state.events);
      reports.push(r.outputs[0].report);
    }
    should(events).eql([["REPLBATT"], [], [], ["REPLBATT"], []]);
    should(reports.map((x) => x !== null)).eql([true, false, false, false, false]);
  });

  it("all mode, no UPS known: the server error is told once, then NOCOMM after nocommWarnMs", () => {
    let m = newMonitor(0);
    const err = new NutConnectionError("refused", "ECONNREFUSED");
    const reports: Array<string | null> = [];
    for (const t of [1000, 3000, 61_000, 63_000]) {
      const r = applyListError(m, err, at(t), opts("change"));
      m = r.monitor;
      reports.push(r.report);
    }
    should(reports[0] ?? "").match(/^\*@nas:3493: refused/);
    should(reports[1]).equal(null);
    should(reports[2] ?? "").match(/^\*@nas:3493: NOCOMM/);
    should(reports[3]).equal(null);
  });
});

describe("monitor: reading the server", () => {
  // ups "a" has no battery.runtime; every read of "b" is DATA-STALE
  const A: Record<string, string> = { "ups.status": "OL", "battery.charge": "80", "ups.load": "20", "device.model": "X" };
  const reader = (over: Partial<UpsReader> = {}): UpsReader => ({
    listUps: async () => [
      { name: "a", description: "" },
      { name: "b", description: "" },
    ],
    listVar: async (ups) => (ups === "b" ? Promise.reject(new NutServerError("DATA-STALE")) : Object.entries(A)),
    getVars: async (ups, names) => names.map((n) => (ups === "b" ? new NutServerError("DATA-STALE") : (A[n] ?? new NutServerError("VAR-NOT-SUPPORTED")))),
    ...over,
  });

  it("one UPS, state only: the state's variables; one the UPS does not have (VAR-NOT-SUPPORTED) is left out", async () => {
    const { readings } = await readUpses(reader(), "a", [], false);
    should(readings).eql([
      {
        ups: "a",
        vars: [
          ["ups.status", "OL"],
          ["battery.charge", "80"],
          ["ups.load", "20"],
        ],
        error: null,
        reachable: true,
      },
    ]);
  });

  it("one UPS, every variable: LIST VAR", async () => {
    const { readings } = await readUpses(reader(), "a", [], true);
    should(readings[0].vars).eql(Object.entries(A));
  });

  it("state only: any other error fails the read, ups.status's first", async () => {
    const errs = (byName: Record<string, string>) =>
      reader({ getVars: async (_ups, names) => names.map((n) => (byName[n] ? new NutServerError(byName[n]) : (A[n] ?? "1"))) });
    const one = await readUpses(errs({ "ups.load": "DATA-STALE" }), "a", [], false);
    should([one.readings[0].vars, one.readings[0].error?.code, one.readings[0].reachable]).eql([null, "DATA-STALE", true]);
    const two = await readUpses(errs({ "ups.status": "DRIVER-NOT-CONNECTED", "ups.load": "DATA-STALE" }), "a", [], false);
    should(two.readings[0].error?.code).equal("DRIVER-NOT-CONNECTED");
  });

  for (const allVars of [false, true]) {
    it(`all${allVars ? ", every variable" : ""}: every listed UPS; an ERR means upsd was reachable, a timeout that it was not`, async () => {
      const { readings } = await readUpses(reader(), null, [], allVars);
      should(readings.map((r) => [r.ups, r.error?.code ?? null, r.reachable])).eql([
        ["a", null, true],
        ["b", "DATA-STALE", true],
      ]);
      const timeout = () => Promise.reject(new NutTimeoutError("GET VAR a ups.status", 5));
      const t = await readUpses(reader({ listVar: timeout, getVars: timeout }), "a", [], allVars);
      should(t.readings[0].reachable).be.false();
      should(t.readings[0].error?.code).equal("TIMEOUT");
    });

    it(`ups.status WAIT (upsd has nothing from the driver yet) is no data: stale, reachable, error WAIT${allVars ? " (every variable)" : ""}`, async () => {
      const wait = reader({
        listVar: async () => [["ups.status", "WAIT"]],
        getVars: async (_u, names) => names.map((n) => (n === "ups.status" ? "WAIT" : "1")),
      });
      const { readings } = await readUpses(wait, "a", [], allVars);
      should(readings[0].error?.code).eql("WAIT");
      should(readings[0].vars).equal(null);
      should(readings[0].reachable).be.true();
    });
  }

  it("all: a UPS known before and no longer listed reads as UNKNOWN-UPS", async () => {
    const { readings } = await readUpses(reader(), null, ["a", "b", "old"], false);
    should(readings.map((r) => [r.ups, r.error?.code ?? null])).eql([
      ["a", null],
      ["b", "DATA-STALE"],
      ["old", "UNKNOWN-UPS"],
    ]);
  });

  it("all: LIST UPS failing reports every known UPS, or the list error when none is known", async () => {
    const down = reader({ listUps: () => Promise.reject(new NutConnectionError("refused", "ECONNREFUSED")) });
    const known = await readUpses(down, null, ["a"], false);
    should(known.readings.map((r) => [r.ups, r.error?.code, r.reachable])).eql([["a", "ECONNREFUSED", false]]);
    const none = await readUpses(down, null, [], false);
    should(none.readings).have.length(0);
    should(none.listError?.code).equal("ECONNREFUSED");
  });
});

describe("UpsState.error: a peer's ERR word", () => {
  const failed = (ups: string, code: string): UpsReading => ({ ups, vars: null, error: { code, message: code }, reachable: true });

  it("is a safe code even from a reading built elsewhere; summaries never show Object.prototype's members", () => {
    for (const code of ["constructor", "toString", "hasOwnProperty", "valueOf"]) {
      const { state } = toUpsState(failed("ups1", code), server, null, 1, null, [], false);
      should(state.error).equal(code);
      should(summarize("ups1@nas:3493", state)).equal(`ups1@nas:3493 ${code.toLowerCase()}; nothing read yet`);
    }
    for (const code of ["__proto__", "x".repeat(120000), "two words"]) {
      const { state } = toUpsState(failed("ups1", code), server, null, 1, null, [], false);
      should(state.error).equal("UNKNOWN");
      should(summarize("ups1@nas:3493", state)).equal("ups1@nas:3493 unknown; nothing read yet");
    }
  });
});

describe("monitor: UPS and variable names a peer chooses", () => {
  const opts: MonitorOptions = { server, output: "change", includeVars: false, timing: DEFAULT_TIMING };
  /** Names that are members of Object.prototype, and one that an object would sort first. */
  const TRICKY = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "1"];

  it("UPSes named like Object.prototype's members are UPSes like any other, kept apart, in the order first seen", () => {
    const r1 = applyReadings(
      newMonitor(0),
      TRICKY.map((n) => good(OL, n)),
      at(1),
      opts,
      false,
    );
    should(r1.outputs.map((o) => o.topic)).eql(TRICKY.map((n) => `${n}@${server}`));
    should(r1.outputs.every((o) => o.send && o.state.online)).be.true();
    should(currentStates(r1.monitor).map((s) => s.ups)).eql(TRICKY);
    const r2 = applyReadings(
      r1.monitor,
      TRICKY.map((n) => good(n === "constructor" ? OB : OL, n)),
      at(2),
      opts,
      false,
    );
    should(r2.outputs.filter((o) => o.send).map((o) => [o.state.ups, o.state.events])).eql([["constructor", ["ONBATT"]]]);
    should(alertPolling(r2.monitor)).be.true();
    should(({} as Record<string, unknown>).tracker).equal(undefined, "nothing polluted");
  });

  it("a variable named __proto__ is an own property of vars, in the JSON; the object keeps its prototype", () => {
    const reading: UpsReading = { ups: "ups1", vars: [...vars(OL), ["__proto__", "x"], ["constructor", "7"]], error: null, reachable: true };
    const { state } = toUpsState(reading, server, null, 1, null, [], true);
    const v = state.vars as Record<string, unknown>;
    should(Object.getPrototypeOf(v)).equal(Object.prototype);
    should(Object.keys(v)).eql([...Object.keys(OL), "__proto__", "constructor"]);
    should(Object.getOwnPropertyDescriptor(v, "__proto__")?.value).equal("x");
    should(v.constructor).equal(7);
    should(Object.keys(JSON.parse(JSON.stringify(state)).vars)).eql(Object.keys(v));
  });
});

describe("monitor: what a server can make one node hold", () => {
  const opts = (includeVars = false): MonitorOptions => ({ server, output: "change", includeVars, timing: DEFAULT_TIMING });
  const names = (n: number, prefix = "u") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const small = vars(OL);
  const reader = (list: string[], varsOf: (ups: string) => Array<[string, string]> = () => small): UpsReader => ({
    listUps: async () => list.map((name) => ({ name, description: "" })),
    listVar: async (ups) => varsOf(ups),
    getVars: async (ups, wanted) => wanted.map((w) => varsOf(ups).find(([k]) => k === w)?.[1] ?? new NutServerError("VAR-NOT-SUPPORTED")),
  });
  const big = (share: number): Array<[string, string]> => [
    ["ups.status", "OL"],
    ["x", "v".repeat(Math.floor(MONITOR_LIMITS.maxVarsChars * share))],
  ];

  it(`at most ${MONITOR_LIMITS.maxUpses} UPSes: a longer list, or one that would make more known, fails as PROTOCOL-ERROR`, async () => {
    const max = MONITOR_LIMITS.maxUpses;
    const ok = await readUpses(reader(names(max)), null, [], false);
    should([ok.readings.length, ok.listError]).eql([max, null]);
    const tooMany = await readUpses(reader(names(max + 1)), null, [], false);
    should([tooMany.readings.length, tooMany.listError?.code]).eql([0, "PROTOCOL-ERROR"]);
    should(tooMany.listError?.message).equal(`LIST UPS: ${max + 1} UPSes, more than the ${max} one node reads`);
    // a server renaming its UPSes every poll: the known ones are reported failing, no new one is taken
    const known = names(max);
    const renamed = await readUpses(reader(names(10, "v")), null, known, false);
    should(renamed.readings).have.length(max);
    should(renamed.readings.every((r, i) => r.error?.code === "PROTOCOL-ERROR" && r.ups === known[i])).be.true();
  });

  it("the variables of one poll stop at maxVarsChars: a UPS read beyond fails with PROTOCOL-ERROR, the others are read", async () => {
    const { readings } = await readUpses(
      reader(["a", "b", "c", "d", "e"], (u) => (u === "e" ? small : big(0.3))),
      null,
      [],
      true,
    );
    should(readings.map((r) => r.error?.code ?? "ok")).eql(["ok", "ok", "ok", "PROTOCOL-ERROR", "ok"]);
    should(readings[3].error?.message ?? "").match(/^d: the variables read in one poll exceed \d+ characters$/);
    should(readings[3].vars).equal(null, "dropped as it arrived");
  });

  it("variables kept by stale UPSes from earlier polls go first when the total would pass maxVarsChars", () => {
    const stale = failedReading("a", new NutServerError("DATA-STALE"));
    let m = applyReadings(
      newMonitor(0),
      [good(Object.fromEntries(big(0.6)), "a"), failedReading("b", new NutServerError("DATA-STALE"))],
      at(1),
      opts(true),
      false,
    ).monitor;
    should(currentStates(m)[0].vars?.x).equal(big(0.6)[1][1]);
    // a goes stale (keeps its variables), b brings as many: together over the bound
    m = applyReadings(m, [stale, good(Object.fromEntries(big(0.6)), "b")], at(2), opts(true), false).monitor;
    const [a, b] = currentStates(m);
    should([a.ups, a.stale, a.vars]).eql(["a", true, {}]);
    should(b.vars?.x).equal(big(0.6)[1][1]);
    // within the bound, a stale UPS keeps its last variables
    const kept = applyReadings(applyReadings(newMonitor(0), [good(OL, "a")], at(1), opts(true), false).monitor, [stale], at(2), opts(true), false);
    should(currentStates(kept.monitor)[0].vars).eql({ "ups.status": "OL CHRG", "battery.charge": 100, "battery.runtime": 2700, "ups.load": 25 });
  });
});
