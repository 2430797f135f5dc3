import assert from "node:assert/strict";
import { persistentStore, storeKind, storeWarning } from "../../nodes/lib/context-store";

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

  it("warns in the status about what a restart or redeploy forgets", () => {
    assert.equal(storeWarning("unconfigured"), " · memory only, lost on redeploy");
    assert.equal(storeWarning("memory"), " · memory only");
    assert.equal(storeWarning("unknown"), " · unknown context store");
    assert.equal(storeWarning("persistent"), "");
    assert.equal(storeWarning("custom"), "");
  });
});
