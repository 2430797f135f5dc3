import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { type LatchConfig, initialLatch, latchInput, latchStatus, parseSavedLatch } from "../core/decide/latch";
import { type StoreProblem, loadStored, saveContext, storeKind, storeProblemMessage, storeWarning } from "./lib/context-store";
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
    /** What was stored could not be had back at start: shown until a state is stored again. */
    let lost: StoreProblem | null = null;
    const queue = serialQueue((err) => node.error(`${RED._("outage-latch.errors.internal")}: ${String(err)}`));

    function status() {
      const s = latchStatus(state);
      if (storeFailed) node.status({ fill: "red", shape: "ring", text: `${s.text} · store error` });
      else if (lost) node.status({ fill: "red", shape: "ring", text: `${s.text} · stored state lost` });
      else node.status({ fill: s.passed ? "green" : "grey", shape: s.passed ? "dot" : "ring", text: `${s.text}${warning}` });
    }

    // Read the stored state before the first message is looked at (the queue keeps that order).
    queue(async () => {
      const { value, problem } = await loadStored(node, RED.settings, KEY, store, parseSavedLatch);
      state = value ?? initialLatch();
      if (problem) {
        // Lost or unreadable: start armed, and say so. Letting a message through twice is safer than never.
        lost = problem;
        storeFailed = problem.kind === "unreadable";
        const text = problem.kind === "unreadable" ? `${RED._("outage-latch.errors.load")}: ${problem.error}` : RED._(`outage-latch.errors.store-${problem.kind}`, problem.kind === "empty-file" ? { file: problem.file } : {});
        node.error(text, storeProblemMessage(node, store, KEY, problem));
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
