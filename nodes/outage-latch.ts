import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { type LatchConfig, initialLatch, latchInput, latchStatus, parseSavedLatch } from "../core/decide/latch";
import { loadContext, saveContext, storeKind, storeWarning } from "./lib/context-store";
import { failWith, serialQueue } from "./lib/serial-queue";

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
    const warning = storeWarning(storeKind(RED.settings, store));
    let state = initialLatch();
    let storeFailed = false;
    const queue = serialQueue((err) => node.error(`${RED._("outage-latch.errors.internal")}: ${String(err)}`));

    function status() {
      const s = latchStatus(state);
      if (storeFailed) node.status({ fill: "red", shape: "ring", text: `${s.text} · store error` });
      else node.status({ fill: s.passed ? "green" : "grey", shape: s.passed ? "dot" : "ring", text: `${s.text}${warning}` });
    }

    // Read the stored state before the first message is looked at (the queue keeps that order).
    queue(async () => {
      try {
        state = parseSavedLatch(await loadContext(node, KEY, store)) ?? initialLatch();
      } catch (err) {
        // Unreadable: start armed. Letting a message through twice is safer than never.
        storeFailed = true;
        node.error(`${RED._("outage-latch.errors.load")}: ${String(err)}`);
      }
      status();
    });

    node.on("input", (msg: NodeMessageInFlow, send, done) => {
      queue(async () => {
        const step = latchInput(config, state, msg, Date.now());
        if (step.action === "error") {
          node.error(`${RED._("outage-latch.errors.bad-input")}: ${step.reason}`, msg);
          done();
          return;
        }
        state = step.state;
        if (step.save) {
          // Written before the message goes on: a restart after this point will not send it again.
          try {
            await saveContext(node, KEY, state, store);
            storeFailed = false;
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
