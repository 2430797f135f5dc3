/**
 * battery-tier-switch ("battery tiers"): sends the power state to one output
 * per tier reached (charge, runtime, time on battery, LB, critical, depletion
 * rate), never while the power is on, and a "power restored" message on its
 * last output when the outage ends. The decisions are in
 * core/decide/tiers.ts; this file wires them to Node-RED, with a timer for
 * time-on-battery tiers that come due without a message.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { OutageIdentity, PowerState } from "../core/contract";
import {
  type TierConfig,
  type TierRule,
  type TierStep,
  checkTierConfig,
  checkTierInput,
  DEFAULT_TIERS,
  dueMessage,
  initialTiers,
  nextTierDeadline,
  restoredMessage,
  tierInput,
  tierMessage,
  tierStatus,
  tierReset,
  tierTick,
} from "../core/decide/tiers";
import { isRecord } from "../core/check";
import { restoredKind } from "../core/decide/restored";
import { flag, numberOr, optionalNumber } from "../core/config";
import { timerDelay } from "../core/moment";
import { now } from "./lib/clock";
import { copyMessage } from "./lib/copy-message";
import { inputError, refuseMisconfigured } from "./lib/errors";
import { statusShower } from "./lib/status";

type Amount = number | string | null | undefined;

interface TierDef {
  name: string;
  charge?: Amount;
  runtime?: Amount;
  onBatteryFor?: Amount;
  lowBattery?: boolean;
  critical?: boolean;
  rate?: Amount;
  window?: Amount;
  grace?: Amount;
}

interface TierSwitchDef extends NodeDef {
  tiers?: TierDef[];
  mode: TierConfig["mode"];
  staleCounts: boolean;
  fsdAll?: boolean;
}

/** A tier as the editor saved it: each amount optional (an empty field is "not set"). */
function toRule(t: TierDef): TierRule {
  const rate = optionalNumber(t.rate);
  return {
    name: String(t.name ?? ""),
    charge: optionalNumber(t.charge),
    runtime: optionalNumber(t.runtime),
    onBatteryFor: optionalNumber(t.onBatteryFor),
    lowBattery: flag(t.lowBattery, false),
    critical: flag(t.critical, false),
    depletion: rate == null ? null : { rate, windowS: numberOr(t.window, 60), graceS: numberOr(t.grace, 60) },
  };
}

export = function (RED: NodeAPI) {
  function BatteryTierSwitchNode(this: Node, def: TierSwitchDef) {
    RED.nodes.createNode(this, def);
    run(this, def);
  }

  function run(node: Node, def: TierSwitchDef) {
    const config: TierConfig = {
      tiers: def.tiers ? def.tiers.map(toRule) : DEFAULT_TIERS,
      mode: def.mode === "first" ? "first" : "while",
      staleCounts: flag(def.staleCounts, false),
      fsdAll: flag(def.fsdAll, true),
    };
    const problems = checkTierConfig(config);
    if (problems.length) {
      refuseMisconfigured(RED, node, problems);
      return;
    }
    const show = statusShower(RED, node);
    const restoredPort = config.tiers.length;
    let state = initialTiers(now().mono);
    let timer: NodeJS.Timeout | null = null;

    function status() {
      show(tierStatus(config, state));
    }

    /**
     * Applies a step and sends its messages: one send per tier, in tier order
     * (tiers reached at once leave in that order), then "power restored".
     */
    function apply(step: TierStep, msg: NodeMessage, send: (out: Array<NodeMessage | null>) => void): void {
      state = step.state;
      const on = (port: number, m: NodeMessage) => send(Array.from({ length: restoredPort + 1 }, (_, i) => (i === port ? m : null)));
      // The state has moved on: whatever the message holds, what it decided goes out.
      const copy = (): NodeMessage & Record<string, unknown> => {
        const { copy: m, dropped } = copyMessage(RED, msg);
        if (dropped.length) node.warn(RED._("battery-tier-switch.warn.not-copied", { properties: dropped.join(", ") }));
        return m;
      };
      for (const e of step.emits) on(e.index, Object.assign(copy(), tierMessage(e)));
      if (step.restored) on(restoredPort, Object.assign(copy(), restoredMessage(step.restored)));
      status();
      schedule();
    }

    /** Time-based tiers (time on battery) come due without a message. */
    function schedule() {
      if (timer) clearTimeout(timer);
      timer = null;
      const at = nextTierDeadline(config, state);
      if (at == null) return;
      timer = setTimeout(
        () => {
          timer = null;
          const fired = now().mono;
          const step = tierTick(config, state, fired);
          apply(step, dueMessage(step.state, fired) as NodeMessage, (out) => node.send(out));
        },
        timerDelay(at, now().mono),
      );
    }

    status();

    node.on("input", (msg: NodeMessageInFlow, send, done) => {
      const m = msg as NodeMessageInFlow & { outage?: unknown; summary?: unknown; reset?: unknown };
      const summary = typeof m.summary === "string" ? m.summary : null;
      // "power restored" in any other form than an OUTAGE_END power state: never a tier
      if (restoredKind(m) && !(isRecord(m.payload) && m.payload.event === "OUTAGE_END" && !checkTierInput(m.payload, m.outage))) {
        apply(tierReset(now().mono, summary), msg, send);
        done();
        return;
      }
      const problem = checkTierInput(m.payload, m.outage);
      if (problem) {
        done(inputError(RED, node, problem));
        return;
      }
      const step = tierInput(config, state, { payload: m.payload as PowerState, outage: m.outage as OutageIdentity | null, summary }, now().mono);
      apply(step, msg, send);
      done();
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      if (timer) clearTimeout(timer);
      timer = null;
      done();
    });
  }
  RED.nodes.registerType("battery-tier-switch", BatteryTierSwitchNode);
};
