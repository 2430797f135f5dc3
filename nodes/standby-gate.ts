/**
 * standby-gate ("active controller only"): in front of a step's latch, lets
 * the step through only on the active controller, after its claim came back
 * from the MQTT broker. The decisions are in core/decide/standby.ts; this file
 * wires them to Node-RED: the broker's messages come in from a core `mqtt in`
 * node, claims go out on the second output to a core `mqtt out` node, and a
 * timer bounds the wait for the broker.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { type GateConfig, type GateState, checkGateConfig, gateInput, gateStatus, gateTimeout, initialGate, roleOf, roleText } from "../core/decide/standby";
import { now } from "./lib/clock";
import { inputError, refuseMisconfigured } from "./lib/errors";
import { renderText, statusShower } from "./lib/status";

interface StandbyGateDef extends NodeDef {
  prefix: string;
  step: string;
  me: string;
  controllers: string;
  wait: number | string;
  expiry: number | string;
  takeover: number | string;
}

/** Seconds to wait for the broker's confirmation when the field is empty. */
const DEFAULT_WAIT_S = 10;
/** Seconds a controller ahead must be offline before this one takes over, when the field is empty. */
const DEFAULT_TAKEOVER_S = 15;

/** A number field of the dialog, its default when empty. */
const numberOr = (x: number | string | undefined, dflt: number): number => Number(x === "" || x == null ? dflt : x);

export = function (RED: NodeAPI) {
  function StandbyGateNode(this: Node, def: StandbyGateDef) {
    RED.nodes.createNode(this, def);
    run(this, def);
  }

  function run(node: Node, def: StandbyGateDef) {
    const config: GateConfig = {
      prefix: String(def.prefix ?? "").trim(),
      step: String(def.step ?? "").trim(),
      me: String(def.me ?? "").trim(),
      controllers: String(def.controllers ?? "")
        .split(",")
        .map((c) => c.trim())
        .filter((c) => c !== ""),
      expiryS: Math.round(numberOr(def.expiry, 24) * 3600),
      takeoverMs: numberOr(def.takeover, DEFAULT_TAKEOVER_S) * 1000,
    };
    const waitS = numberOr(def.wait, DEFAULT_WAIT_S);
    const problems = checkGateConfig(config);
    if (!Number.isFinite(waitS) || waitS < 1 || waitS > 120) problems.push(`wait for the broker 1 to 120 s (got ${String(def.wait)})`);
    if (problems.length) {
      refuseMisconfigured(RED, node, problems);
      return;
    }
    const show = statusShower(RED, node);
    let state: GateState = initialGate(config);
    /** The step held while its claim is on its way, with how to finish it. */
    let held: { msg: NodeMessageInFlow; send: (m: Array<NodeMessageInFlow | null>) => void; done: (err?: Error) => void } | null = null;
    let timer: NodeJS.Timeout | null = null;

    let roleSaid = "";
    /** Shows the status again when a takeover delay ends (the role changes with no message). */
    let roleTimer: NodeJS.Timeout | null = null;
    const status = () => {
      const mono = now().mono;
      show(gateStatus(config, state, mono));
      // A change of role goes to the log too: that is where an operator looks for when a standby took over.
      const role = roleOf(config, state, mono);
      const said = renderText(RED, node.type, roleText(role));
      if (said !== roleSaid) {
        roleSaid = said;
        node.log(said);
      }
      if (roleTimer) clearTimeout(roleTimer);
      roleTimer = role.until === null ? null : setTimeout(status, Math.max(0, role.until - mono) + 50);
    };
    const settle = (go: boolean, reason: string | null) => {
      if (timer) clearTimeout(timer);
      timer = null;
      const h = held;
      held = null;
      if (!h) return;
      if (reason) node.warn(reason);
      if (go) h.send([h.msg, null]);
      h.done();
    };

    node.on("input", (msg: NodeMessageInFlow, send, done) => {
      const step = gateInput(config, state, msg, now());
      if (step.action === "error") {
        done(inputError(RED, node, step.reason ?? ""));
        return;
      }
      state = step.state;
      const publish = step.publish ? ({ ...step.publish } as unknown as NodeMessageInFlow) : null;
      switch (step.action) {
        case "pass":
          // A reset or "power restored" ends whatever was held: it is not let through after the power came back.
          if (held) settle(false, null);
          send([msg, publish]);
          break;
        case "claim":
          held = { msg, send, done };
          timer = setTimeout(() => {
            const t = gateTimeout(config, state, now().mono);
            state = t.state;
            settle(t.action === "release", t.reason);
            status();
          }, waitS * 1000);
          send([null, publish]);
          status();
          return; // done when the claim comes back or the wait ends
        case "release":
          settle(true, null);
          break;
        case "drop":
          settle(false, null);
          node.log(step.reason ?? "");
          break;
        default:
          if (step.reason) node.log(step.reason);
          if (publish) send([null, publish]);
      }
      status();
      done();
    });

    // The first status once the flow has started: a Status node hears nothing sent while the nodes are being created.
    const first = setImmediate(status);
    node.on("close", (_removed: boolean, done: () => void) => {
      clearImmediate(first);
      if (roleTimer) clearTimeout(roleTimer);
      // A held step is not sent by a node that is stopping.
      settle(false, null);
      done();
    });
  }
  RED.nodes.registerType("standby-gate", StandbyGateNode);
};
