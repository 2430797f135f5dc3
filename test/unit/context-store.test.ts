import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contextFile, emptyContextFile, persistentStore, storeKeeps, storeKind } from "../../nodes/lib/context-store";

describe("context store", () => {
  it("tells a store that survives a restart from memory", () => {
    assert.equal(persistentStore({}, undefined), false, "nothing configured: memory, and Node-RED deletes node context on redeploy");
    assert.equal(persistentStore({ contextStorage: { default: { module: "memory" } } }, undefined), false);
    assert.equal(persistentStore({ contextStorage: { default: { module: "localfilesystem" } } }, undefined), true);
    assert.equal(persistentStore({ contextStorage: { file: { module: "localfilesystem" } } }, undefined), true, "first store is the default");
    const both = { contextStorage: { default: "mem", mem: { module: "memory" }, file: { module: "localfilesystem" } } };
    assert.equal(persistentStore(both, undefined), false, "default is an alias of memory");
    assert.equal(persistentStore(both, "file"), true);
    assert.equal(persistentStore(both, "nope"), false);
  });

  it("names what each store keeps; a store settings.js does not list is not counted on", () => {
    const storage = { contextStorage: { default: "file", file: { module: "localfilesystem" }, mem: { module: "memory" }, redis: { module: { name: "redis" } } } };
    assert.equal(storeKind({}, ""), "unconfigured");
    assert.equal(storeKind(storage, ""), "persistent", "default is an alias of file");
    assert.equal(storeKind(storage, "mem"), "memory");
    assert.equal(storeKind(storage, "redis"), "custom");
    assert.equal(persistentStore(storage, "redis"), true, "a custom module is trusted to keep its data");
    assert.equal(storeKind(storage, "nope"), "unknown");
    assert.equal(storeKind(storage, "constructor"), "unknown", "an Object property is not a store");
    assert.equal(storeKind({ contextStorage: { mem: { module: "memory" } } }, "default"), "unknown", "no store is named default");
  });

  it("tells how long a store keeps a node's state (the latch's status warns of what a restart or redeploy forgets)", () => {
    assert.equal(storeKeeps("unconfigured"), "nothing");
    assert.equal(storeKeeps("memory"), "redeploy");
    assert.equal(storeKeeps("unknown"), "unknown");
    assert.equal(storeKeeps("persistent"), "restart");
    assert.equal(storeKeeps("custom"), "restart");
  });
});

describe("context file of a node (localfilesystem's layout)", () => {
  const file = { contextStorage: { default: { module: "memory" }, file: { module: "localfilesystem", config: { dir: "/data", base: "ctx" } } } };
  it("is <dir>/<base>/<flow>/<node>.json, the subflow template's id inside a subflow, <base>/<node>/flow.json outside any flow", () => {
    assert.equal(contextFile(file, "file", { id: "n1", z: "tab1" }), "/data/ctx/tab1/n1.json");
    assert.equal(contextFile(file, "file", { id: "n1-instance", z: "sf1", _alias: "n1" }), "/data/ctx/sf1/n1.json");
    assert.equal(contextFile(file, "file", { id: "n1", z: "" }), "/data/ctx/n1/flow.json");
  });
  it("defaults: userDir and base 'context'; the default store; null for a store that is not localfilesystem", () => {
    const s = { userDir: "/home/pi/.node-red", contextStorage: { default: "disk", disk: { module: "localfilesystem" }, mem: { module: "memory" } } };
    assert.equal(contextFile(s, "", { id: "n1", z: "t" }), "/home/pi/.node-red/context/t/n1.json");
    assert.equal(contextFile(s, "mem", { id: "n1", z: "t" }), null);
    assert.equal(contextFile({ contextStorage: { disk: { module: "localfilesystem" } } }, "", { id: "n1", z: "t" }), null, "no dir, no userDir: not guessed");
    assert.equal(contextFile({}, "", { id: "n1", z: "t" }), null);
  });
  it("tells an empty file (what a crash during a write leaves) from a missing one or one with content", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctxfile-"));
    try {
      const s = { contextStorage: { file: { module: "localfilesystem", config: { dir } } } };
      const node = { id: "n1", z: "t" };
      assert.equal(emptyContextFile(s, "file", node), null, "missing: nothing stored yet");
      mkdirSync(join(dir, "context", "t"), { recursive: true });
      writeFileSync(join(dir, "context", "t", "n1.json"), "{}");
      assert.equal(emptyContextFile(s, "file", node), null, "what Node-RED writes for an empty context");
      writeFileSync(join(dir, "context", "t", "n1.json"), "");
      assert.equal(emptyContextFile(s, "file", node), join(dir, "context", "t", "n1.json"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
