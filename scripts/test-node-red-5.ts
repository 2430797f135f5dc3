/**
 * The Node-RED 5 part of `npm test` (alone: `npm run build && npm run
 * test:node-red-5`). Node-RED 5 needs Node.js 22.9 or later, so the suites
 * that face Node-RED (the node tests through node-red-node-test-helper, the
 * bundled examples, the real-process test, the end-to-end outage, the two
 * controllers and the sites over MQTT, and the
 * editor) run again, with mocha started by each Node.js of RUNS and
 * TEST_NODE_RED=node-red-5 (see test/harness/runtime.ts). Arguments, when
 * given, replace the suites of every run.
 *
 * The Node.js binaries come from the npm registry's `node` package (its
 * preinstall script fetches the platform's `node-<os>-<cpu>` package), each
 * installed once into .cache/node/<version>/, outside the project's
 * dependencies: as a dependency its `node` bin would shadow the project's
 * Node.js in every npm script. A binary that cannot be installed fails the
 * run in CI and is skipped loudly elsewhere (as test/harness/system.ts does).
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join, relative, resolve } from "node:path";
import { skipMissing } from "../test/harness/system";

const SUITES = [
  "test/nodes/**/*.test.ts",
  "test/e2e/examples.test.ts",
  "test/e2e/node-red-process.test.ts",
  "test/e2e/statuses-fr.test.ts",
  "test/e2e/outage-end-to-end.test.ts",
  "test/e2e/last-step-and-way-back.test.ts",
  "test/e2e/standby-controllers.test.ts",
  "test/e2e/sites-over-mqtt.test.ts",
  "test/e2e/context-store-corruption.test.ts",
  "test/fuzz/node-inputs.test.ts",
];
/**
 * The Node.js of each Node-RED 5 run (exact, so the README can say what was
 * tested) and its suites. The editor test (Node-RED 5's editor in Chromium)
 * and the dashboard test (example 05's page in Chromium) run once: what they
 * check runs in the browser.
 */
const RUNS = [
  { node: "22.23.3", suites: [...SUITES, "test/e2e/editor.test.ts", "test/e2e/dashboard.test.ts"] },
  { node: "24.9.0", suites: SUITES },
];

const root = resolve(__dirname, "..");
const cacheDir = join(root, ".cache", "node");

function run(cmd: string, args: string[], opts: SpawnSyncOptions): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024, ...opts });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`.trim();
  return { ok: r.status === 0, out };
}

/** The binary of `version` in the cache when it is there and says it is that version, else null. */
function cached(version: string): string | null {
  const bin = join(cacheDir, version, "node_modules", ".bin", "node");
  return existsSync(bin) && run(bin, ["--version"], {}).out === `v${version}` ? bin : null;
}

/**
 * The binary of `version`, installed into the cache when it is not there yet
 * (in a fresh folder, moved into place only once complete), or why not.
 */
function ensureNode(version: string): { bin: string; how: string } | { missing: string } {
  const have = cached(version);
  if (have) return { bin: have, how: "cached" };
  console.log(`node-red-5: installing Node.js ${version} (npm package node@${version}) into ${relative(root, cacheDir)}/${version}`);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, `.install-${version}-`));
  chmodSync(tmp, 0o755);
  try {
    // Reviewed: the preinstall of `node` only runs `npm install node-<os>-<cpu>@<version>` and links its binary.
    writeFileSync(join(tmp, "package.json"), JSON.stringify({ name: "node-binary", private: true, allowScripts: { node: true } }, null, 2));
    // The npm of the shell, as if typed there: not the npm_* settings of the `npm test` that started us, nor the
    // npm 10 that node-red 4 puts into node_modules/.bin (first on an npm script's PATH; it ignores allowScripts).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    env.PATH = (env.PATH ?? "")
      .split(delimiter)
      .filter((p) => !/[/\\]node_modules[/\\]\.bin$|node-gyp-bin$/.test(p))
      .join(delimiter);
    const r = run("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", "--no-save", `node@${version}`], { cwd: tmp, env });
    if (!r.ok) return { missing: `npm install node@${version} failed: ${r.out.split("\n").slice(-5).join(" / ")}` };
    rmSync(join(cacheDir, version), { recursive: true, force: true });
    renameSync(tmp, join(cacheDir, version));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const bin = cached(version);
  return bin ? { bin, how: "installed" } : { missing: `npm install node@${version} gave no node_modules/.bin/node answering v${version}` };
}

function seconds(since: bigint): string {
  return `${(Number(process.hrtime.bigint() - since) / 1e9).toFixed(1)} s`;
}

function main(): number {
  const only = process.argv.slice(2);
  const mocha = join(root, "node_modules", "mocha", "bin", "mocha.js");
  let failed = 0;
  for (const { node: version, suites: all } of RUNS) {
    const suites = only.length ? only : all;
    let t = process.hrtime.bigint();
    const node = ensureNode(version);
    if ("missing" in node) {
      const what = `Node.js ${version} for the Node-RED 5 tests`;
      const install = `npm install --prefix ${relative(root, cacheDir)}/${version} node@${version} (from the npm registry)`;
      try {
        skipMissing(what, node.missing, install);
      } catch (e) {
        console.error(`node-red-5: ${(e as Error).message}`);
        failed++;
      }
      continue;
    }
    console.log(`node-red-5: Node.js ${version} ${node.how} in ${seconds(t)}; mocha ${suites.join(" ")}`);
    t = process.hrtime.bigint();
    const r = spawnSync(node.bin, [mocha, ...suites], { cwd: root, stdio: "inherit", env: { ...process.env, TEST_NODE_RED: "node-red-5" } });
    console.log(`node-red-5: Node.js ${version}: mocha ${r.status === 0 ? "passed" : `FAILED (${r.status ?? r.signal})`} in ${seconds(t)}`);
    if (r.status !== 0) failed++;
  }
  return failed ? 1 : 0;
}

process.exitCode = main();
