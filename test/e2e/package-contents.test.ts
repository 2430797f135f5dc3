/**
 * What `npm pack` would publish: everything Node-RED's registry needs beside
 * each node's JS (editor HTML, en-US and fr labels and help, the icon the
 * editor asks for), the editor code the dialogs share (resources/, served by
 * Node-RED from the package root), the examples, and nothing else (no tests,
 * no TypeScript, no build leftovers of deleted sources).
 */
import should from "../harness/should";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "../harness/node-red";
import { exampleFiles } from "../../tools/example-flow";

/**
 * A copy of what git tracks, as a fresh clone has it (no dist/), with this
 * checkout's node_modules: `npm pack` there must build what it publishes.
 */
function cleanCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "nut-shutdown-pack-"));
  const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const f of tracked) {
    if (!existsSync(join(repoRoot, f))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(repoRoot, f), join(dir, f));
  }
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

describe("the published package (npm pack --dry-run in a clean copy, as from a fresh clone)", function () {
  this.timeout(120000);
  let files: Set<string>;
  let nodes: Record<string, string>;
  let copy: string;

  before(() => {
    copy = cleanCopy();
    should(existsSync(join(copy, "dist"))).be.false("a fresh clone has no build");
    // scripts on: "prepare" builds, as for npm publish and an install from a git URL
    const out = execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: copy, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    files = new Set((JSON.parse(out.slice(out.indexOf("["))) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path));
    nodes = (JSON.parse(readFileSync(join(copy, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } })["node-red"].nodes;
  });
  after(() => copy && rmSync(copy, { recursive: true, force: true }));

  it("has, for every node, its JS, editor HTML, labels and help in en-US and fr, and its icon", () => {
    should(Object.keys(nodes)).have.length(10);
    for (const [type, js] of Object.entries(nodes)) {
      const dir = js.slice(0, js.lastIndexOf("/"));
      const want = [js, js.replace(/\.js$/, ".html")];
      for (const lang of ["en-US", "fr"]) want.push(`${dir}/locales/${lang}/${type}.json`, `${dir}/locales/${lang}/${type}.html`);
      const icon = /icon:\s*"([^"]+)"/.exec(readFileSync(join(copy, "nodes", `${type}.html`), "utf8"))?.[1];
      if (icon) want.push(`${dir}/icons/${icon}`);
      else should(type).equal("nut-server", `${type} has no icon`);
      for (const f of want) should(files.has(f)).be.true(`${f} is not in the package`);
    }
  });

  it("has, at the package root, every resource an editor HTML loads (resources/<file>, served as resources/<package>/<file>)", () => {
    const name = (JSON.parse(readFileSync(join(copy, "package.json"), "utf8")) as { name: string }).name;
    let loaded = 0;
    for (const type of Object.keys(nodes)) {
      const html = readFileSync(join(copy, "nodes", `${type}.html`), "utf8");
      const srcs = [...html.matchAll(/<script src="resources\/([^"]+)"><\/script>/g)].map((m) => m[1]);
      should(srcs.length).be.above(0, `${type}.html loads no shared resource`);
      for (const src of srcs) {
        should(src.startsWith(`${name}/`)).be.true(`${type}.html: resources/${src} is not this package's`);
        const file = `resources/${src.slice(name.length + 1)}`;
        should(files.has(file)).be.true(`${file}, loaded by ${type}.html, is not in the package`);
        loaded++;
      }
    }
    should(loaded).equal(Object.keys(nodes).length, "one shared script per node");
  });

  it("has the eight examples, and no tests, TypeScript sources, source maps or stale build output", () => {
    for (const e of exampleFiles()) should(files.has(`examples/${e}`)).be.true(e);
    for (const f of files) {
      should(f).not.match(/^(test|tools|bench|scripts|core|nodes)\//, f);
      should(f).not.match(/\.(ts|map)$/, f);
      const built = /^dist\/(.+)\.js$/.exec(f);
      if (built) should(existsSync(join(copy, `${built[1]}.ts`))).be.true(`${f} has no source (left over from a deleted file)`);
    }
  });

  it("needs only ssh2 to run: FlowFuse Dashboard 2.0, which example 05 uses, stays a dev dependency", () => {
    const pkg = JSON.parse(readFileSync(join(copy, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    should(Object.keys(pkg.dependencies ?? {})).eql(["ssh2"]);
    for (const field of ["peerDependencies", "optionalDependencies", "bundleDependencies", "bundledDependencies"]) should(pkg[field]).be.undefined();
    should(pkg.devDependencies?.["@flowfuse/node-red-dashboard"]).match(/^\^1\./);
  });
});
