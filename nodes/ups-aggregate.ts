/**
 * ups-aggregate: folds the UPS states of several nut-ups-in nodes into one
 * power state (core/contract.ts PowerState) under a policy, and names each
 * outage (msg.outage) from the loss until the power has been back for the
 * restore time. The decisions are in core/decide/aggregate.ts; this file
 * wires them to Node-RED: a timer for the deadlines, the outage identity
 * kept in a context store so a restart continues the same outage, and the
 * status.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { PowerState } from "../core/contract";
import {
  type AggregateConfig,
  type AggregateStep,
  type StaleRule,
  AGGREGATE_DEFAULTS,
  aggregateInput,
  aggregateStatus,
  aggregateTick,
  checkAggregateConfig,
  initialAggregate,
  nextDeadline,
  parseSavedOutage,
  powerMessage,
  savedOutage,
} from "../core/decide/aggregate";
import { flag, numberOr, secondsOr, secondsOrNever } from "../core/config";
import { timerDelay } from "../core/moment";
import { bootId, now } from "./lib/clock";
import { type StoreProblem, loadStored, saveContext, storeProblemMessage } from "./lib/context-store";
import { inputError, refuseMisconfigured } from "./lib/errors";
import { statusShower } from "./lib/status";
import { requestStates } from "./lib/ups-registry";
import { failWith, serialQueue } from "./lib/serial-queue";

type Value = number | string | undefined;

interface UpsAggregateDef extends NodeDef {
  policy: AggregateConfig["policy"];
  sources: Array<{ topic: string; power: number | string }>;
  feedsOut: Value;
  minSupplies: Value;
  confirm: Value;
  restore: Value;
  staleRule: StaleRule;
  deadtime: Value;
  silent: Value;
  emit: AggregateConfig["emit"];
  store: string;
  offDuration?: Value;
  overDuration?: Value;
  alarmCritical?: boolean;
  oblbDuration?: Value;
  calOnBattery?: boolean;
}

/** Context key of the saved outage identity. */
const KEY = "outage";

export = function (RED: NodeAPI) {
  function UpsAggregateNode(this: Node, def: UpsAggregateDef) {
    RED.nodes.createNode(this, def);
    run(this, def);
  }

  function run(node: Node, def: UpsAggregateDef) {
    const d = AGGREGATE_DEFAULTS;
    const config: AggregateConfig = {
      policy: def.policy || d.policy,
      sources: (def.sources ?? []).map((s) => ({ topic: String(s.topic ?? "").trim(), power: numberOr(s.power, 1) })),
      feedsOut: numberOr(def.feedsOut, d.feedsOut),
      minSupplies: numberOr(def.minSupplies, d.minSupplies),
      confirmMs: secondsOr(def.confirm, d.confirmMs),
      restoreMs: secondsOr(def.restore, d.restoreMs),
      staleRule: def.staleRule || d.staleRule,
      deadMs: secondsOr(def.deadtime, d.deadMs),
      silentMs: secondsOr(def.silent, d.silentMs),
      emit: def.emit === "always" ? "always" : "change",
      // The node id keeps two aggregate nodes' outage ids apart.
      idTag: node.id.replace(/[^0-9a-z]/gi, "").slice(-4) || "0000",
      offMs: secondsOrNever(def.offDuration, d.offMs),
      overMs: secondsOrNever(def.overDuration, d.overMs),
      alarmCritical: flag(def.alarmCritical, true),
      oblbMs: secondsOr(def.oblbDuration, d.oblbMs),
      calOnBattery: flag(def.calOnBattery, false),
    };
    const store = def.store || "";
    const boot = bootId();
    const problems = checkAggregateConfig(config);
    if (problems.length) {
      refuseMisconfigured(RED, node, problems);
      return;
    }
    const show = statusShower(RED, node, true);

    let state = initialAggregate(config, now());
    let last: PowerState | null = null;
    let timer: NodeJS.Timeout | null = null;
    let closing = false;
    /** The last topic refused as not listed: added to the status until the next deploy (a wiring to fix). */
    let unknownTopic: string | null = null;
    /** What was stored could not be had back at start (or stored since): shown in red until a save works. */
    let storeProblem: StoreProblem | "save-failed" | null = null;
    const queue = serialQueue((err) => node.error(`${RED._("ups-aggregate.errors.internal")}: ${String(err)}`));

    /** Shows the status; returns whether it counts seconds down (then it is shown again in a second). */
    function status(at: number): boolean {
      const s = aggregateStatus(config, state, last, at, unknownTopic, storeProblem === "save-failed" ? "failed" : storeProblem ? "lost" : null);
      show(s);
      return s.countdown;
    }

    /** One timer: the next deadline of the core, or the next second of a countdown in the status. */
    function schedule(countdown: boolean) {
      if (timer) clearTimeout(timer);
      timer = null;
      if (closing) return;
      const t = now().mono;
      const due = [nextDeadline(config, state), countdown ? t + 1000 : null].filter((x): x is number => x != null);
      if (!due.length) return;
      timer = setTimeout(
        () => {
          timer = null;
          queue(() => commit(aggregateTick(config, state, now()), (m) => node.send(m)));
        },
        timerDelay(Math.min(...due), t),
      );
    }

    /** Takes a step: stores a changed outage identity first, then sends. */
    async function commit(step: AggregateStep, send: (m: NodeMessage) => void) {
      const before = JSON.stringify(savedOutage(state, boot));
      state = step.state;
      const after = savedOutage(state, boot);
      if (JSON.stringify(after) !== before) {
        try {
          await saveContext(node, KEY, after, store);
          storeProblem = null;
        } catch (err) {
          // Sending matters more than remembering: go on, but say a restart may start a new outage.
          storeProblem = "save-failed";
          node.error(`${RED._("ups-aggregate.errors.save")}: ${String(err)}`);
        }
      }
      if (step.output) {
        last = step.output.payload;
        send(powerMessage(step.output, def.name) as NodeMessage);
      }
      schedule(status(state.at));
    }

    queue(async () => {
      const { value, problem } = await loadStored(node, RED.settings, KEY, store, parseSavedOutage);
      state = initialAggregate(config, now(), value, boot);
      if (problem) {
        storeProblem = problem;
        const text =
          problem.kind === "unreadable"
            ? `${RED._("ups-aggregate.errors.load")}: ${problem.error}`
            : RED._(`ups-aggregate.errors.store-${problem.kind}`, problem.kind === "empty-file" ? { file: problem.file } : {});
        node.error(text, storeProblemMessage(node, store, KEY, problem));
      }
      schedule(status(state.at));
      // restarted on its own (a "modified nodes" deploy): the inputs send only changes, so ask them now
      requestStates(config.sources.map((s) => s.topic));
    });

    node.on("input", (msg: NodeMessageInFlow, send, done) => {
      queue(async () => {
        const step = aggregateInput(config, state, msg.topic, msg.payload, now());
        if (step.error) {
          if (step.unknownTopic) {
            unknownTopic = step.unknownTopic;
            status(state.at);
          }
          done(inputError(RED, node, step.error));
          return;
        }
        await commit(step, send);
        done();
      }, failWith(done));
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      if (timer) clearTimeout(timer);
      timer = null;
      // Let queued messages finish (their state is stored) before closing.
      queue(() => done());
    });
  }
  RED.nodes.registerType("ups-aggregate", UpsAggregateNode);
};
