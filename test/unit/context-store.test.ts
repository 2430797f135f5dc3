/**
 * nodes/lib/context-store.ts: which store a node writes to, and what it says
 * when a stored state is lost.
 */
import should from "../harness/should";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contextFile, emptyContextFile, persistentStore, storeKeeps, storeKind } from "../../nodes/lib/context-store";

describe("context store", () => {
  it("tells a store that survives a restart from memory", () => {
    should(persistentStore({}, undefined)).be.false("nothing configured: memory, and Node-RED deletes node context on redeploy");
    should(persistentStore({ contextStorage: { default: { module: "memory" } } }, undefined)).be.false();
    should(persistentStore({ contextStorage: { default: { module: "localfilesystem" } } }, undefined)).be.true();
    should(persistentStore({ contextStorage: { file: { module: "localfilesystem" } } }, undefined)).be.true("first store is the default");
    const both = { contextStorage: { default: "mem", mem: { module: "memory" }, file: { module: "localfilesystem" } } };
    should(persistentStore(both, undefined)).be.false("default is an alias of memory");
    should(persistentStore(both, "file")).be.true();
    should(persistentStore(both, "nope")).be.false();
  });

  it("names what each store keeps; a store settings.js does not list is not counted on", () => {
    const storage = {
      contextStorage: { default: "file", file: { module: "localfilesystem" }, mem: { module: "memory" }, redis: { module: { name: "redis" } } },
    };
    should(storeKind({}, "")).equal("unconfigured");
    should(storeKind(storage, "")).equal("persistent", "default is an alias of file");
    should(storeKind(storage, "mem")).equal("memory");
    should(storeKind(storage, "redis")).equal("custom");
    should(persistentStore(storage, "redis")).be.true("a custom module is trusted to keep its data");
    should(storeKind(storage, "nope")).equal("unknown");
    should(storeKind(storage, "constructor")).equal("unknown", "an Object property is not a store");
    should(storeKind({ contextStorage: { mem: { module: "memory" } } }, "default")).equal("unknown", "no store is named default");
  });

  it("tells how long a store keeps a node's state (the latch's status warns of what a restart or redeploy forgets)", () => {
    should(storeKeeps("unconfigured")).equal("nothing");
    should(storeKeeps("memory")).equal("redeploy");
    should(storeKeeps("unknown")).equal("unknown");
    should(storeKeeps("persistent")).equal("restart");
    should(storeKeeps("custom")).equal("restart");
  });
});

describe("context file of a node (localfilesystem's layout)", () => {
  const file = { contextStorage: { default: { module: "memory" }, file: { module: "localfilesystem", config: { dir: "/data", base: "ctx" } } } };
  it("is <dir>/<base>/<flow>/<node>.json, the subflow template's id inside a subflow, <base>/<node>/flow.json outside any flow", () => {
    should(contextFile(file, "file", { id: "n1", z: "tab1" })).equal("/data/ctx/tab1/n1.json");
    should(contextFile(file, "file", { id: "n1-instance", z: "sf1", _alias: "n1" })).equal("/data/ctx/sf1/n1.json");
    should(contextFile(file, "file", { id: "n1", z: "" })).equal("/data/ctx/n1/flow.json");
  });
  it("defaults: userDir and base 'context'; the default store; null for a store that is not localfilesystem", () => {
    const s = { userDir: "/home/pi/.node-red", contextStorage: { default: "disk", disk: { module: "localfilesystem" }, mem: { module: "memory" } } };
    should(contextFile(s, "", { id: "n1", z: "t" })).equal("/home/pi/.node-red/context/t/n1.json");
    should(contextFile(s, "mem", { id: "n1", z: "t" })).equal(null);
    should(contextFile({ contextStorage: { disk: { module: "localfilesystem" } } }, "", { id: "n1", z: "t" })).equal(null, "no dir, no userDir: not guessed");
    should(contextFile({}, "", { id: "n1", z: "t" })).equal(null);
  });
  it("tells an empty file (what a crash during a write leaves) from a missing one or one with content", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctxfile-"));
    try {
      const s = { contextStorage: { file: { module: "localfilesystem", config: { dir } } } };
      const node = { id: "n1", z: "t" };
      should(emptyContextFile(s, "file", node)).equal(null, "missing: nothing stored yet");
      mkdirSync(join(dir, "context", "t"), { recursive: true });
      writeFileSync(join(dir, "context", "t", "n1.json"), "{}");
      should(emptyContextFile(s, "file", node)).equal(null, "what Node-RED writes for an empty context");
      writeFileSync(join(dir, "context", "t", "n1.json"), "");
      should(emptyContextFile(s, "file", node)).equal(join(dir, "context", "t", "n1.json"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
