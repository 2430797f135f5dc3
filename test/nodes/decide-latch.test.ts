/**
 * The outage-latch node in the real Node-RED runtime: once per outage, reset,
 * persistence across restarts, bad input.
 */
import should from "../harness/should";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NodeMessage } from "node-red";
import latchNode from "../../nodes/outage-latch";
import { outage, power } from "../harness/decide-fixtures";
import { fileStores } from "../harness/decide-node-helper";
import { callsOf, collect, helper, loadContextStores, watch } from "../harness/red-helper";

const O1 = outage("outage-20261125T130200Z-ab12", Date.UTC(2026, 10, 25, 13, 2, 0));
const O2 = outage("outage-20261125T150000Z-ab12", Date.UTC(2026, 10, 25, 15, 0, 0));

function flow(extra: object = {}) {
  return [
    { id: "latch", type: "outage-latch", name: "", key: "outage", store: "", forwardReset: true, wires: [["out"]], ...extra },
    { id: "out", type: "helper" },
  ];
}

type Msg = NodeMessage & { outage?: unknown; reset?: unknown; action?: string };

async function start(extra: object = {}) {
  await helper.load([latchNode, loadContextStores], flow(extra));
  return attach();
}

/** Watches the running latch: what it sends, its statuses and errors; `feed` hands it one message and waits until it is done with it. */
function attach() {
  const latch = helper.getNode("latch");
  const w = watch(latch);
  const got = collect(helper.getNode("out")) as Msg[];
  return { latch, got, errs: w.errorTexts, status: w.statuses, feed: w.receive };
}

describe("outage-latch node", () => {
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
  });

  it("lets the first message of an outage through, blocks the repeats, re-arms on a new outage", async () => {
    const { got, status, feed } = await start();
    await feed({ topic: "backup", payload: power({ onBattery: true }), outage: O1, summary: "first" });
    await feed({ topic: "backup", payload: power({ onBattery: true }), outage: O1, summary: "second" });
    await feed({ topic: "backup", payload: power({ onBattery: true }), outage: O1, summary: "third" });
    should(got.map((m) => m.summary)).eql(["first"]);
    should(status[status.length - 1].text ?? "").match(/^passed \d\d:\d\d · blocked 2 · memory only, lost on redeploy$/);
    await feed({ topic: "backup", outage: O2, summary: "next outage" });
    should(got.map((m) => m.summary)).eql(["first", "next outage"]);
  });

  it("passes the power-restored message on (for ssh-shutdown's cancel) and re-arms; a late message of the ended outage stays blocked", async () => {
    const { got, status, feed } = await start();
    await feed({ outage: O1, summary: "go" });
    await feed({ outage: { ...O1, ended: O1.since + 600_000 }, reset: true, action: "cancel", payload: power({ event: "OUTAGE_END" }) });
    should(got).have.length(2);
    should(got[1].action).equal("cancel");
    should(status[status.length - 1].text).equal("armed · memory only, lost on redeploy");
    await feed({ outage: O1, summary: "late" });
    should(got.length).equal(2, "that outage is over");
    await feed({ outage: O2, summary: "next" });
    should(got[2].summary).equal("next");
  });

  it("swallows reset messages when told to", async () => {
    const { got, feed } = await start({ forwardReset: false });
    await feed({ outage: O1 });
    await feed({ reset: true });
    should(got).have.length(1);
  });

  it("one message per topic with the topic key", async () => {
    const { got, feed } = await start({ key: "topic" });
    for (const topic of ["backup", "storage", "backup", "production", "storage"]) await feed({ topic, outage: O1 });
    should(got.map((m) => m.topic)).eql(["backup", "storage", "production"]);
  });

  it("refuses a message without an outage with an error naming the problem, state intact", async () => {
    const { got, errs, feed } = await start();
    await feed({ outage: O1 });
    await feed({ payload: "hello" });
    await feed({ outage: "x" });
    should(got).have.length(1);
    should(errs()).eql([
      "Message ignored: message has no msg.outage: only messages of an outage (from ups-aggregate or battery-tier-switch) can pass",
      'Message ignored: msg.outage must be an outage identity {id, since} (got string "x")',
    ]);
    await feed({ outage: O1 });
    should(got.length).equal(1, "still latched");
  });

  it("with a context store configured, keeps its state over a redeploy", async () => {
    helper.settings({ contextStorage: { default: { module: "memory" } } });
    const first = await start();
    await first.feed({ outage: O1 });
    should(first.status[first.status.length - 1].text ?? "").match(/· memory only$/);
    await helper.setFlows(flow(), "full");
    const second = attach();
    should(second.latch).not.equal(first.latch, "a new node instance");
    await second.feed({ outage: O1 });
    should(second.got).have.length(0);
  });

  it("with no context store configured, Node-RED drops node context on a redeploy: the status warns", async () => {
    const first = await start();
    await first.feed({ outage: O1 });
    should(first.status[first.status.length - 1].text ?? "").match(/· memory only, lost on redeploy$/);
    await helper.setFlows(flow(), "full");
    const second = attach();
    await second.feed({ outage: O1 });
    should(second.got).have.length(1);
  });

  describe("with a persistent context store (localfilesystem)", () => {
    const stores = fileStores();
    afterEach(() => stores.removeAll());
    const fileStore = stores.open;

    /** Stops Node-RED as the process would (see fileStores) and starts it again on what is on disk. */
    async function restart(dir: string, how: "clean" | "crash", config: object = {}) {
      await stores.restart(dir, how, config);
      return start({ store: "file", key: "topic" });
    }

    it("a restart in mid-outage neither re-sends what passed nor forgets what did not", async () => {
      const dir = fileStore({ flushInterval: 30 });
      const first = await start({ store: "file", key: "topic" });
      await first.feed({ topic: "backup", outage: O1 });
      await first.feed({ topic: "backup", outage: O1 });
      should(first.got).have.length(1);
      should(first.status[first.status.length - 1].text ?? "").not.match(/memory only/);

      const second = await restart(dir, "clean");
      await second.feed({ topic: "backup", outage: O1 });
      should(second.got.length).equal(0, "backup passed before the restart: not sent again");
      should(second.status[second.status.length - 1].text ?? "").match(/^passed .* · blocked 1$/);
      await second.feed({ topic: "storage", outage: O1 });
      should(second.got.map((m) => m.topic)).eql(["storage"]);
      await second.feed({ topic: "backup", outage: O2 });
      should(second.got.length).equal(2, "a new outage re-arms after the restart too");
    });

    it("cache: false writes before sending: even a crash does not re-send", async () => {
      const dir = fileStore({ cache: false });
      const first = await start({ store: "file", key: "topic" });
      // What is on disk at the moment the message arrives downstream.
      const onDisk: string[] = [];
      helper.getNode("out").on("input", () =>
        onDisk.push(
          readdirSync(join(dir, "context"), { recursive: true })
            .map(String)
            .filter((f) => f.endsWith(".json"))
            .map((f) => readFileSync(join(dir, "context", f), "utf8"))
            .join(""),
        ),
      );
      await first.feed({ topic: "backup", outage: O1 });
      should(first.got).have.length(1);
      should(onDisk[0] ?? "").match(/"key": "backup",\s*"at": \d+/, "the pass was on disk before the message left");
      const second = await restart(dir, "crash", { cache: false });
      await second.feed({ topic: "backup", outage: O1 });
      should(second.got).have.length(0);
    });

    it("with the cache, a crash before the flush forgets the last pass: it passes again (a duplicate, never a loss)", async () => {
      const dir = fileStore({ flushInterval: 3600 });
      const first = await start({ store: "file", key: "topic" });
      await first.feed({ topic: "backup", outage: O1 });
      const second = await restart(dir, "crash", { flushInterval: 3600 });
      await second.feed({ topic: "backup", outage: O1 });
      should(second.got).have.length(1);
    });

    // A crash or power cut while Node-RED wrote the file leaves it empty: Node-RED reads that as "nothing stored",
    // with or without its cache, and says nothing. The latch says it, in red and to a Catch node, and still lets through.
    for (const cache of [true, false]) {
      it(`an empty context file (cache: ${cache}): starts armed, red, with an error a Catch node gets; storing again clears it`, async () => {
        const config = cache ? { flushInterval: 30 } : { cache: false };
        const dir = fileStore(config);
        const first = await start({ store: "file", key: "topic" });
        await first.feed({ topic: "backup", outage: O1 });
        const next = await stores.restart(dir, "clean", config);
        const file = stores.overwrite(next, "latch", "");
        const second = await start({ store: "file", key: "topic" });
        await second.feed({ topic: "backup", outage: O1 });
        const [err] = callsOf(second.latch, second.latch.error);
        should(err.args[0]).equal(
          `The stored latch state is lost: its context file ${file} is empty (Node-RED was stopped while writing it, by a crash or a power cut). Starting armed: the next message of an outage passes, even if it passed before the restart`,
        );
        should(err.args[1]).eql({ topic: "outage-latch/context", payload: { store: "file", key: "latch", problem: "empty-file", file } });
        should(second.status[0].fill).equal("red");
        should(second.status[0].text).equal("armed · stored state lost", "never a plain armed");
        should(second.got.length).equal(1, "the state is lost: the message passes again (a duplicate, never a loss)");
        should(second.status[second.status.length - 1].fill).equal("green", "stored again");
        await second.feed({ topic: "backup", outage: O1 });
        should(second.got.length).equal(1, "latched again");
      });
    }

    it("a stored value that is not a latch state: starts armed, red, with an error", async () => {
      const dir = fileStore({ cache: false });
      const first = await start({ store: "file", key: "topic" });
      await first.feed({ topic: "backup", outage: O1 });
      const next = await stores.restart(dir, "clean", { cache: false });
      stores.overwrite(next, "latch", JSON.stringify({ latch: { passed: "backup" } }));
      const second = await start({ store: "file", key: "topic" });
      await second.feed({ topic: "backup", outage: O1 });
      should(second.errs()).eql([
        "The stored latch state is not one this node writes (starting armed): the next message of an outage passes, even if it passed before the restart",
      ]);
      should([second.status[0].fill, second.status[0].text]).eql(["red", "armed · stored state lost"]);
      should(second.got).have.length(1);
    });

    it("cache: false and a file that is not JSON (truncated): starts armed, red while the store cannot be written", async () => {
      const dir = fileStore({ cache: false });
      const first = await start({ store: "file", key: "topic" });
      await first.feed({ topic: "backup", outage: O1 });
      const next = await stores.restart(dir, "clean", { cache: false });
      stores.overwrite(next, "latch", '{\n    "latch": {\n        "outageId": "outage-2026');
      const second = await start({ store: "file", key: "topic" });
      await second.feed({ topic: "backup", outage: O1 });
      should(second.got.length).equal(1, "lets through");
      should(second.errs()[0]).match(/^Could not read the stored latch state \(starting armed\): .*JSON/);
      should(second.errs()[1]).match(
        /^Could not store the latch state \(the message was sent; a restart may let it through again\): .*JSON/,
        "Node-RED reads the file before each write: it stays unwritable until it is deleted",
      );
      should(second.status.map((s) => s.fill)).eql(["red", "red"]);
    });

    it("with the memory store, a restart forgets (and the status said so)", async () => {
      const first = await start({ key: "topic" });
      await first.feed({ topic: "backup", outage: O1 });
      should(first.status[first.status.length - 1].text ?? "").match(/memory only, lost on redeploy$/);
      await helper.unload();
      const second = await start({ key: "topic" });
      await second.feed({ topic: "backup", outage: O1 });
      should(second.got).have.length(1);
    });
  });
});
