/**
 * Which Node-RED a test run targets. Every Node-RED the tests use is a dev
 * dependency: "node-red" (4.x), "node-red-3" (3.1, the oldest supported) and
 * "node-red-5" (5.0, which needs Node.js 22.9 or later).
 *
 * A mocha run targets "node-red" unless TEST_NODE_RED names another: the
 * node-red-node-test-helper loads that runtime in the mocha process, and
 * `startNodeRed` starts that one, with the Node.js that runs mocha.
 * scripts/test-node-red-5.ts re-runs the Node-RED-facing suites that way under
 * Node 22 and 24 with TEST_NODE_RED=node-red-5.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const req = createRequire(__filename);

export const NODE_RED_PACKAGES = ["node-red", "node-red-3", "node-red-5"] as const;
export type NodeRedPackage = (typeof NODE_RED_PACKAGES)[number];

/** The Node.js versions `engines.node` of a Node-RED accepts are ">=major[.minor]" in every release used here. */
export function nodeSatisfies(engines: string, version: string): boolean {
  const want = /^>=\s*(\d+)(?:\.(\d+))?/.exec(engines.trim());
  if (!want) throw new Error(`unexpected engines.node "${engines}"`);
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
  const [wantMajor, wantMinor] = [Number(want[1]), Number(want[2] ?? 0)];
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** The version of an installed Node-RED and the Node.js it needs. */
export function runtimeInfo(pkg: NodeRedPackage): { version: string; node: string } {
  const json = JSON.parse(readFileSync(req.resolve(`${pkg}/package.json`), "utf8")) as { version: string; engines: { node: string } };
  return { version: json.version, node: json.engines.node };
}

function target(name: string | undefined): NodeRedPackage {
  if (name === undefined || name === "") return "node-red";
  const pkg = NODE_RED_PACKAGES.find((p) => p === name);
  if (!pkg) throw new Error(`TEST_NODE_RED="${name}": expected one of ${NODE_RED_PACKAGES.join(", ")}`);
  const { version, node } = runtimeInfo(pkg);
  if (!nodeSatisfies(node, process.version)) {
    throw new Error(
      `TEST_NODE_RED=${pkg}: Node-RED ${version} needs Node.js ${node}, this is ${process.version} (npm run test:node-red-5 runs it under Node 22 and 24)`,
    );
  }
  return pkg;
}

/** The Node-RED this run targets (TEST_NODE_RED, "node-red" by default). */
export const targetRuntime: NodeRedPackage = target(process.env.TEST_NODE_RED);

/** "Node-RED 5.0.7 on Node.js v22.23.3": what a suite runs on, for its title. */
export function runtimeLabel(pkg: NodeRedPackage = targetRuntime): string {
  return `Node-RED ${runtimeInfo(pkg).version} on Node.js ${process.version}`;
}
