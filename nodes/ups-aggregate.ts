import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { PowerState } from "../core/contract";
import {
  type AggregateConfig,
  type AggregateStep,
  type StaleRule,
  AGGREGATE_DEFAULTS,
  aggregateInput,
  aggregateTick,
  checkAggregateConfig,
  initialAggregate,
  nextDeadline,
  parseSavedOutage,
  savedOutage,
} from "../core/decide/aggregate";
import { formatLevels } from "../core/decide/format";
import { loadContext, saveContext } from "./lib/context-store";
import { failWith, serialQueue } from "./lib/serial-queue";

interface UpsAggregateDef extends NodeDef {
  policy: AggregateConfig["policy"];
  sources: Array<{ topic: string; power: number | string }>;
  feedsOut: number | string;
  minSupplies: number | string;
  confirm: number | string;
  restore: number | string;
  staleRule: StaleRule;
  deadtime: number | string;
  silent: number | string;
  emit: AggregateConfig["emit"];
  store: string;
}

/** Context key of the saved outage identity. */
const KEY = "outage";

/** Editor values arrive as strings; empty means the default. */
function num(v: number | string | undefined, fallback: number): number {
  return v === undefined || v === "" ? fallback : Number(v);
}

export = function (RED: NodeAPI) {
  function UpsAggregateNode(this: Node, def: UpsAggregateDef) {
    RED.nodes.createNode(this, def);
    run(this, def);
  }

  function run(node: Node, def: UpsAggregateDef) {
    const d = AGGREGATE_DEFAULTS;
    const config: AggregateConfig = {
      policy: def.policy || d.policy,
      sources: (def.sources ?? []).map((s) => ({ topic: String(s.topic ?? "").trim(), power: num(s.power, 1) })),
      feedsOut: num(def.feedsOut, d.feedsOut),
      minSupplies: num(def.minSupplies, d.minSupplies),
      confirmMs: num(def.confirm, d.confirmMs / 1000) * 1000,
      restoreMs: num(def.restore, d.restoreMs / 1000) * 1000,
      staleRule: def.staleRule || d.staleRule,
      deadMs: num(def.deadtime, d.deadMs / 1000) * 1000,
      silentMs: num(def.silent, d.silentMs / 1000) * 1000,
      emit: def.emit === "always" ? "always" : "change",
      // The node id keeps two aggregate nodes' outage ids apart.
      idTag: node.id.replace(/[^0-9a-z]/gi, "").slice(-4) || "0000",
    };
    const store = def.store || "";
    const problems = checkAggregateConfig(config);
    if (problems.length) {
      node.error(`${RED._("ups-aggregate.errors.config")}: ${problems.join("; ")}`);
      node.status({ fill: "red", shape: "ring", text: "ups-aggregate.status.config" });
      return;
    }

    let state = initialAggregate(config, Date.now());
    let last: PowerState | null = null;
    let timer: NodeJS.Timeout | null = null;
    let closing = false;
    const queue = serialQueue((err) => node.error(`${RED._("ups-aggregate.errors.internal")}: ${String(err)}`));

    function status() {
      if (!last) {
        node.status({ fill: "grey", shape: "ring", text: "ups-aggregate.status.waiting" });
        return;
      }
      const values = formatLevels(last.charge, last.runtime);
      const ref = last.reference ? ` (${last.reference.split("@")[0]})` : "";
      const stale = last.stale.length ? ` · stale ${last.stale.length}` : "";
      if (last.critical) node.status({ fill: "red", shape: "dot", text: `CRITICAL ${values}${ref}${stale}` });
      else if (last.onBattery) node.status({ fill: "yellow", shape: "dot", text: `on battery ${values}${ref}${stale}` });
      else if (state.outage) node.status({ fill: "yellow", shape: "ring", text: `power back, outage open ${values}${stale}` });
      else if (!Object.values(last.sources).some((s) => s.counted)) node.status({ fill: "grey", shape: "ring", text: `no data${stale}` });
      else node.status({ fill: stale ? "yellow" : "green", shape: stale ? "ring" : "dot", text: `on line power ${values}${stale}` });
    }

    function schedule() {
      if (timer) clearTimeout(timer);
      timer = null;
      const at = nextDeadline(config, state);
      if (at == null || closing) return;
      timer = setTimeout(() => {
        timer = null;
        queue(() => commit(aggregateTick(config, state, Date.now()), (m) => node.send(m)));
      }, Math.max(0, at - Date.now()));
    }

    /** Takes a step: stores a changed outage identity first, then sends. */
    async function commit(step: AggregateStep, send: (m: NodeMessage) => void) {
      const before = JSON.stringify(savedOutage(state));
      state = step.state;
      const after = savedOutage(state);
      if (JSON.stringify(after) !== before) {
        try {
          await saveContext(node, KEY, after, store);
        } catch (err) {
          // Sending matters more than remembering: go on, but say a restart may start a new outage.
          node.error(`${RED._("ups-aggregate.errors.save")}: ${String(err)}`);
        }
      }
      if (step.output) {
        last = step.output.payload;
        send({ topic: def.name || "power", payload: step.output.payload, outage: step.output.outage, summary: step.output.summary } as NodeMessage);
      }
      status();
      schedule();
    }

    queue(async () => {
      try {
        const saved = parseSavedOutage(await loadContext(node, KEY, store));
        state = initialAggregate(config, Date.now(), saved);
      } catch (err) {
        node.error(`${RED._("ups-aggregate.errors.load")}: ${String(err)}`);
      }
      status();
      schedule();
    });

    node.on("input", (msg: NodeMessageInFlow, send, done) => {
      queue(async () => {
        const step = aggregateInput(config, state, msg.topic, msg.payload, Date.now());
        if (step.error) {
          node.error(`${RED._("ups-aggregate.errors.bad-input")}: ${step.error}`, msg);
        } else {
          await commit(step, send);
        }
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
