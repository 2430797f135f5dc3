/**
 * The one error path (nodes/lib/errors.ts, docs/nodes.md "When something is
 * wrong"), node by node: a bad configuration is one node.error at start and
 * a red "configuration error"; then every message that arrives is finished
 * with an error naming the problem, carrying the message (what a Catch node
 * gets), and nothing is sent. A bad message is finished the same way, with
 * what is wrong with it.
 */
import should from "../harness/should";
import type { NodeMessage, NodeStatus } from "node-red";
import tierNode from "../../nodes/battery-tier-switch";
import nutServerNode from "../../nodes/nut-server";
import nutUpsInNode from "../../nodes/nut-ups-in";
import nutCommandNode from "../../nodes/nut-command";
import latchNode from "../../nodes/outage-latch";
import sshHostNode from "../../nodes/ssh-host";
import sshShutdownNode from "../../nodes/ssh-shutdown";
import standbyGateNode from "../../nodes/standby-gate";
import aggregateNode from "../../nodes/ups-aggregate";
import wakeHostsNode from "../../nodes/wake-hosts";
import { callsOf, collect, collectCompleted, errorText, helper, type SpyCall } from "../harness/red-helper";
import { waitUntil } from "../harness/wait";
import { sshHostDef } from "../harness/ssh-target";
import { loadExample } from "../../tools/example-flow";
import { changeRuntimeNode } from "../harness/red-helper";

interface Case {
  type: string;
  modules: unknown[];
  /** The node under test (id "n", wired to "out") and what it needs. */
  flow: object[];
  /** What the configuration problem is, in words. */
  problem: string;
}

const out = { id: "out", type: "helper" };
/** A standby-gate as the active-standby example has it, on the primary. */
const GATE = {
  id: "n",
  type: "standby-gate",
  step: "backup",
  prefix: "nut-shutdown/site-a",
  me: "primary",
  controllers: "primary, standby",
  wait: 10,
  expiry: 24,
  wires: [["out"], []],
};
const MISCONFIGURED: Case[] = [
  {
    type: "nut-ups-in",
    modules: [nutServerNode, nutUpsInNode],
    flow: [
      {
        id: "n",
        type: "nut-ups-in",
        server: "missing",
        mode: "one",
        ups: "ups1",
        interval: 5,
        alertInterval: 2,
        output: "change",
        vars: false,
        nocomm: 60,
        wires: [["out"]],
      },
    ],
    problem: "No NUT server is configured.",
  },
  {
    type: "ups-aggregate",
    modules: [aggregateNode],
    flow: [
      {
        id: "n",
        type: "ups-aggregate",
        policy: "weakest",
        sources: [
          { topic: "ups1@nas:3493", power: 1 },
          { topic: "ups1@nas:3493", power: 1 },
        ],
        emit: "change",
        store: "",
        wires: [["out"]],
      },
    ],
    problem: "source ups1@nas:3493 is listed twice",
  },
  {
    type: "battery-tier-switch",
    modules: [tierNode],
    flow: [{ id: "n", type: "battery-tier-switch", tiers: [{ name: "x" }], mode: "while", outputs: 2, wires: [["out"], []] }],
    problem: "x: no condition set, it would never fire",
  },
  {
    type: "ssh-shutdown",
    modules: [sshHostNode, sshShutdownNode],
    flow: [{ id: "n", type: "ssh-shutdown", hosts: [], preset: "linux", action: "simulate", wires: [["out"]] }],
    problem: "no ssh-host selected",
  },
  {
    type: "wake-hosts",
    modules: [sshHostNode, wakeHostsNode],
    flow: [{ id: "n", type: "wake-hosts", hosts: [], broadcast: "255.255.255.255", wolPort: 9, store: "", wires: [["out"]] }],
    problem: "no ssh-host selected",
  },
  {
    type: "nut-command",
    modules: [nutServerNode, nutCommandNode],
    flow: [{ id: "n", type: "nut-command", server: "srv", ups: "ups1", kind: "instcmd", command: "", wires: [["out"]] }],
    problem: "No NUT server is configured.; no instant command is set",
  },
  {
    type: "standby-gate",
    modules: [standbyGateNode],
    flow: [
      {
        id: "n",
        type: "standby-gate",
        step: "backup",
        prefix: "site/#",
        me: "third",
        controllers: "primary, standby",
        wait: 10,
        expiry: 24,
        wires: [["out"], []],
      },
    ],
    problem:
      'topic prefix must be a topic without wildcards, spaces or a leading or trailing "/" (got "site/#"); this controller ("third") is not in the list of controllers',
  },
];

/** Each node.error of node "n" from now on (the helper tells listeners a turn after the call): its text and the message it carries. */
function errorsOf(): Array<{ text: string; msg: NodeMessage | undefined }> {
  const got: Array<{ text: string; msg: NodeMessage | undefined }> = [];
  helper.getNode("n").on("call:error", (c: SpyCall) => got.push({ text: errorText(c.args[0]), msg: c.args[1] as NodeMessage | undefined }));
  return got;
}

describe("the one error path", () => {
  afterEach(() => helper.unload());

  for (const c of MISCONFIGURED) {
    it(`${c.type}, misconfigured: one error at start, a red status, then every message is an error for Catch, nothing sent`, async () => {
      await helper.load(c.modules, [...c.flow, out]);
      const n = helper.getNode("n");
      should(callsOf(n, n.error).map((call) => errorText(call.args[0]))).eql([`Invalid configuration: ${c.problem}`]);
      should(callsOf(n, n.status).map((call) => call.args[0] as NodeStatus)).eql([{ fill: "red", shape: "ring", text: "configuration error" }]);
      const errors = errorsOf();
      const completed = collectCompleted(n);
      const got = collect(helper.getNode("out"));
      for (const id of ["m1", "m2"]) n.receive({ _msgid: id, payload: 1 });
      // (the error at start reaches listeners a turn late: only those carrying a message count here)
      const carried = () => errors.filter((e) => e.msg !== undefined);
      await waitUntil("both messages finished", () => completed.length === 2 && carried().length === 2);
      for (const [i, e] of carried().entries()) {
        should(e.text).match(
          new RegExp(`^Invalid configuration, message not handled( \\(nothing was (run|sent)\\))?: ${c.problem.replace(/[.()]/g, "\\$&")}$`),
        );
        should(e.msg?._msgid).equal(`m${i + 1}`, "the message goes with the error");
      }
      should(got).have.length(0);
    });
  }

  const BAD_INPUT: Array<{ type: string; modules: unknown[]; flow: object[]; msg: object; problem: RegExp }> = [
    {
      type: "ups-aggregate",
      modules: [aggregateNode],
      flow: [{ id: "n", type: "ups-aggregate", policy: "weakest", sources: [], emit: "change", store: "", wires: [["out"]] }],
      msg: { topic: "ups1@nas:3493", payload: null },
      problem: /^Message ignored: msg\.payload must be a UPS state object \(got null\)$/,
    },
    {
      type: "battery-tier-switch",
      modules: [tierNode],
      flow: [{ id: "n", type: "battery-tier-switch", mode: "while", outputs: 5, wires: [["out"], [], [], [], []] }],
      msg: { payload: "73" },
      problem: /^Message ignored: msg\.payload must be a power state from ups-aggregate \(got string "73"\)$/,
    },
    {
      type: "outage-latch",
      modules: [latchNode],
      flow: [{ id: "n", type: "outage-latch", key: "outage", store: "", wires: [["out"]] }],
      msg: { payload: 1 },
      problem: /^Message ignored: message has no msg\.outage/,
    },
    {
      type: "ssh-shutdown",
      modules: [sshHostNode, sshShutdownNode],
      flow: [
        { id: "h1", type: "ssh-host", name: "web1", address: "127.0.0.1", port: 22, username: "nut", keyFile: "", fingerprints: "", acceptAnyHostKey: false },
        { id: "n", type: "ssh-shutdown", hosts: ["h1"], preset: "linux", action: "simulate", wires: [["out"]] },
      ],
      msg: { command: "rm -rf /" },
      problem: /^refused: msg\.command is not accepted; hosts and commands come only from the node's configuration$/,
    },
    {
      type: "wake-hosts",
      modules: [sshHostNode, wakeHostsNode],
      flow: [sshHostDef("h1", "nas", { mac: "02:00:5e:00:00:01" }), { id: "n", type: "wake-hosts", hosts: ["h1"], store: "", wires: [["out"]] }],
      msg: { payload: { host: "nas", action: "shutdown", ok: true } },
      problem: /^Message ignored: msg\.payload\.hostId must be the id of an ssh-host, as ssh-shutdown sets it \(got nothing\)$/,
    },
    {
      type: "nut-command",
      modules: [nutServerNode, nutCommandNode],
      flow: [
        { id: "srv", type: "nut-server", host: "127.0.0.1", port: 1, usetls: false, login: "" },
        { id: "n", type: "nut-command", server: "srv", ups: "ups1", kind: "fsd", wires: [["out"]] },
      ],
      msg: { payload: { command: "load.off" } },
      problem:
        /^refused: msg\.payload\.command is not accepted; the UPS, the command and its value come only from the node's configuration \(a message can only say go\)$/,
    },
    {
      type: "standby-gate",
      modules: [standbyGateNode],
      flow: [GATE],
      // what a core mqtt in node makes of a forged message on the gate's topics: it carries no outage, it is never a step
      msg: { topic: "nut-shutdown/site-a/step/backup", payload: { controller: "primary", step: "backup" }, qos: 1, retain: false },
      problem: /^Message ignored: not a claim of step backup \(got /,
    },
    {
      type: "standby-gate",
      modules: [standbyGateNode],
      flow: [GATE],
      msg: { topic: "nut-shutdown/site-a/step/backup", outage: { id: "outage-x", since: 1 }, payload: {} },
      problem: /^Message ignored: a message on the controllers' topics \(nut-shutdown\/site-a\/step\/backup\) is never a step: refused$/,
    },
  ];
  for (const c of BAD_INPUT) {
    it(`${c.type}, a bad message: an error saying what is wrong, for Catch, nothing sent`, async () => {
      await helper.load(c.modules, [...c.flow, out]);
      const n = helper.getNode("n");
      const errors = errorsOf();
      const completed = collectCompleted(n);
      const got = collect(helper.getNode("out"));
      n.receive({ _msgid: "bad", ...c.msg });
      await waitUntil("the message finished", () => completed.length === 1 && errors.length === 1);
      should(errors[0].text).match(c.problem);
      should(errors[0].msg?._msgid).equal("bad");
      should(got).have.length(0);
    });
  }

  it("nut-server (a config node, no messages): an interval or timeout that is not seconds above 0 is an error at deploy naming the default used", async () => {
    const server = { id: "s", type: "nut-server", host: "127.0.0.1", port: 3493, usetls: false, login: "", interval: "5x", timeout: -1 };
    await helper.load([nutServerNode], [server]);
    const s = helper.getNode("s");
    should(callsOf(s, s.error).map((c) => c.args[0])).eql([
      'The interval "5x" is not a number of seconds above 0: 5 s is used.',
      'The timeout "-1" is not a number of seconds above 0: 5 s is used.',
    ]);
    should((s as unknown as { interval: number }).interval).equal(5);
  });
});

describe("the notifications example's Catch branch", () => {
  afterEach(() => helper.unload());

  it("turns the error of a misconfigured node into one readable line, without the 'Error: ' of done(err)", async function () {
    const example = loadExample("03");
    const summary = example.find((n) => n.type === "change" && n.name === "summary of the error");
    should.exist(summary);
    const catchNode = example.find((n) => n.type === "catch");
    should.exist(catchNode);
    const flow = [
      { id: "tab", type: "tab" },
      { ...catchNode, z: "tab", wires: [[summary!.id]] },
      { ...summary, z: "tab", wires: [["out"]] },
      // two sources with one topic: a configuration error, reported at every message
      {
        id: "agg",
        type: "ups-aggregate",
        z: "tab",
        name: "power state",
        policy: "weakest",
        sources: [
          { topic: "ups1@nas:3493", power: 1 },
          { topic: "ups1@nas:3493", power: 1 },
        ],
        emit: "change",
        store: "",
        wires: [[]],
      },
      { id: "out", type: "helper", z: "tab" },
    ];
    await helper.load([aggregateNode, changeRuntimeNode], flow);
    const got = collect<NodeMessage & { summary?: string }>(helper.getNode("out"));
    helper.getNode("agg").receive({ topic: "ups1@nas:3493", payload: {} });
    await waitUntil("the summary", () => got.length === 1);
    should(got[0].summary).match(/^Error in power state: Invalid configuration, message not handled: source ups1@nas:3493 is listed twice/);
  });
});
