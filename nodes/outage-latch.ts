/**
 * outage-latch ("once per outage"): lets the first message of an outage
 * through (per outage, or per topic in each outage), blocks the repeats, and
 * re-arms on a "power restored" or reset message. The decisions are in
 * core/decide/latch.ts; this file wires them to Node-RED and keeps what
 * passed in a context store, written before the message goes on, so a
 * restart does not let it through again.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { type LatchConfig, initialLatch, latchInput, latchStatus, parseSavedLatch } from "../core/decide/latch";
import { type StoreProblem, loadStored, reportStoreProblem, saveContext, storeKeeps, storeKind } from "./lib/context-store";
import { failWith, serialQueue } from "./lib/serial-queue";
import { inputError } from "./lib/errors";
import { statusShower } from "./lib/status";

interface OutageLatchDef extends NodeDef {
  key: LatchConfig["key"];
  store: string;
  forwardReset: boolean;
}

/** Context key of the latch state. */
const KEY = "latch";

export = function (RED: NodeAPI) {
  function OutageLatchNode(this: Node, def: OutageLatchDef) {
    RED.nodes.createNode(this, def);
    run(this, def);
  }

  function run(node: Node, def: OutageLatchDef) {
    const config: LatchConfig = { key: def.key === "topic" ? "topic" : "outage" };
    const store = def.store || "";
    const forwardReset = def.forwardReset !== false;
    const keeps = storeKeeps(storeKind(RED.settings, store));
    const show = statusShower(RED, node);
    let state = initialLatch();
    let storeFailed = false;
    /** What was stored could not be had back at start: shown until a state is stored again. */
    let lost: StoreProblem | null = null;
    const queue = serialQueue((err) => node.error(`${RED._("outage-latch.errors.internal")}: ${String(err)}`));

    function status() {
      show(latchStatus(state, { problem: storeFailed ? "failed" : lost ? "lost" : null, keeps }));
    }

    // Read the stored state before the first message is looked at (the queue keeps that order).
    queue(async () => {
      const { value, problem } = await loadStored(node, RED.settings, KEY, store, parseSavedLatch);
      state = value ?? initialLatch();
      if (problem) {
        // Lost or unreadable: start armed, and say so. Letting a message through twice is safer than never.
        lost = problem;
        storeFailed = problem.kind === "unreadable";
        reportStoreProblem(RED, node, store, KEY, problem);
      }
      status();
    });

    node.on("input", (msg: NodeMessageInFlow, send, done) => {
      queue(async () => {
        const step = latchInput(config, state, msg, Date.now());
        if (step.action === "error") {
          done(inputError(RED, node, step.reason ?? ""));
          return;
        }
        state = step.state;
        if (step.save) {
          // Written before the message goes on: a restart after this point will not send it again.
          try {
            await saveContext(node, KEY, state, store);
            storeFailed = false;
            lost = null;
          } catch (err) {
            storeFailed = true;
            node.error(`${RED._("outage-latch.errors.save")}: ${String(err)}`, msg);
          }
        }
        if (step.action === "pass" || (step.action === "reset" && forwardReset)) send(msg);
        status();
        done();
      }, failWith(done));
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      // Finish what is queued (each state is stored before its message goes on).
      queue(() => done());
    });
  }
  RED.nodes.registerType("outage-latch", OutageLatchNode);
};
