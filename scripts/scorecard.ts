/**
 * The Flow Library scorecard (`node-red-dev validate`, P01..D03), offline.
 *
 * node-red-dev's own checks (checkpackage, checknodes, checkdeps, in the order
 * its validate command runs them) run here on the package as `npm pack` makes
 * it, unchanged; only their three ways onto the network are answered from
 * local data instead:
 * - axios (P06, P07, P08, N01): the Flow Library catalogue from
 *   test/fixtures/scorecard/catalogue.json (or `--catalogue <file>`, e.g. a
 *   catalogue.json downloaded from catalogue.nodered.org), the npm registry's
 *   `node-red` entry from test/fixtures/scorecard/registry.json;
 * - request, under npm-remote-ls (D02): a registry made of package-lock.json,
 *   i.e. the dependency tree `npm ci` installs;
 * - package-json, under npm-check (D03): the latest versions in registry.json.
 * registry.json was recorded with `npm view <name> dist-tags versions engines`.
 *
 *   npm run scorecard                       the table; exits 1 when a check fails
 *   npx tsx scripts/scorecard.ts --json     the scorecard as node-red-dev writes it (--output)
 *   npx tsx scripts/scorecard.ts --catalogue /tmp/catalogue.json
 *   npx tsx scripts/scorecard.ts --registry other-registry.json
 *
 * Needs `npm run build` first (the package ships dist/).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..");
const fixtures = join(root, "test", "fixtures", "scorecard");
const req = createRequire(__filename);

interface Check {
  test: boolean;
  [k: string]: unknown;
}
type Scorecard = Record<string, Check | { name: string; version: string }>;
type Cli = { log: (m: string) => void; warn: (m: string) => void; error: (e: unknown) => void };
type Checker = (path: string, cli: Cli, scorecard: Scorecard, npmMetadata: false) => Promise<Scorecard>;

/** What each check of node-red-dev 0.1.6 looks at. */
export const CHECKS: Record<string, string> = {
  P01: "a license",
  P03: "a repository or bugs URL",
  P04: "name: node-red-contrib-… or scoped",
  P05: "the node-red keyword",
  P06: "node-red.version satisfied by the current Node-RED",
  P07: "engines.node accepts the Node.js the current Node-RED needs",
  P08: "no similarly named package in the catalogue",
  N01: "node types no other catalogued package registers",
  N02: "an example using every non-config node",
  D01: "at most 6 dependencies",
  D02: "no known-bad package in the dependency tree",
  D03: "dependencies at their latest version",
};

function arg(name: string): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
}

/** Puts `exports` in the require cache at `path`, as if that module had been loaded. */
function stubModule(path: string, exports: unknown): void {
  const m = new Module(path);
  m.filename = path;
  m.loaded = true;
  m.exports = exports;
  req.cache[path] = m;
}

interface Packument {
  name: string;
  versions: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }>;
  "dist-tags": Record<string, string>;
}

/** A registry of what package-lock.json installs: name -> packument (every version the lock holds). */
function lockRegistry(latest: Record<string, string>): Map<string, Packument> {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }>;
  };
  const out = new Map<string, Packument>();
  for (const [path, p] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf("node_modules/");
    if (at < 0 || !p.version) continue;
    const name = path.slice(at + "node_modules/".length);
    const entry = out.get(name) ?? { name, versions: {}, "dist-tags": {} };
    entry.versions[p.version] = { dependencies: p.dependencies, optionalDependencies: p.optionalDependencies };
    out.set(name, entry);
  }
  for (const entry of out.values()) {
    const versions = Object.keys(entry.versions);
    entry["dist-tags"].latest = latest[entry.name] ?? versions[versions.length - 1];
  }
  return out;
}

interface Registry {
  "node-red": unknown;
  latest: Record<string, string>;
}

/** What the offline answers come from, for the run under way. */
let current: { catalogue: unknown; registry: Registry; packuments: Map<string, Packument>; refused: string[]; asked: string[] } | null = null;
let checkers: { checkpackage: Checker; checknodes: Checker; checkdeps: Checker } | null = null;

/** Answers node-red-dev's network calls from `current` (once per process: the libraries keep what they loaded). */
function loadCheckers(): NonNullable<typeof checkers> {
  if (checkers) return checkers;
  const now = () => {
    if (!current) throw new Error("scorecard: no run under way");
    return current;
  };
  const devDir = resolve(req.resolve("node-red-dev/package.json"), "..");
  const fromLibs = createRequire(join(devDir, "src", "libs", "checkpackage.js"));
  // axios: the catalogue and the registry's node-red entry; anything else is refused.
  const axios = fromLibs("axios") as { get: (url: string) => Promise<{ data: unknown }> };
  axios.get = async (url: string) => {
    if (url === "https://catalogue.nodered.org/catalogue.json") return { data: now().catalogue };
    if (url === "https://registry.npmjs.org/node-red") return { data: now().registry["node-red"] };
    now().refused.push(url);
    throw new Error(`scorecard: no network (asked for ${url})`);
  };
  // request, under npm-remote-ls: packuments made of the lock.
  const remoteLs = createRequire(req.resolve("npm-remote-ls/lib/remote-ls.js"));
  stubModule(remoteLs.resolve("request"), {
    get(url: string, _opts: unknown, cb: (err: Error | null, res: { statusCode: number }, body: unknown) => void) {
      const name = decodeURIComponent(url.replace(/^.*?\/\/[^/]+\//, ""));
      const p = now().packuments.get(name);
      if (!p) now().refused.push(url);
      now().asked.push(name);
      setImmediate(() => cb(null, { statusCode: p ? 200 : 404 }, p ?? { error: "not_found" }));
    },
  });
  // package-json, under npm-check: the latest versions recorded.
  const npmCheckIn = createRequire(req.resolve("npm-check/lib/in/get-latest-from-registry.js"));
  stubModule(npmCheckIn.resolve("package-json"), async (name: string) => {
    const p = now().packuments.get(name);
    if (!p) {
      now().refused.push(`package-json ${name}`);
      throw new Error(`scorecard: ${name} is not in package-lock.json`);
    }
    const latest = p["dist-tags"].latest;
    return { name, "dist-tags": { latest }, versions: { ...p.versions, [latest]: {} } };
  });
  // (node-red-dev's libraries open a readline on stdin when loaded: the CLI below exits by itself.)
  checkers = {
    checkpackage: fromLibs("./checkpackage") as Checker,
    checknodes: fromLibs("./checknodes") as Checker,
    checkdeps: fromLibs("./checkdeps") as Checker,
  };
  return checkers;
}

/** The package as `npm pack` makes it, unpacked into a temp dir: `{dir, remove}` (dir/package is the package). */
export function packPackage(): { pkg: string; remove: () => void } {
  const work = mkdtempSync(join(tmpdir(), "scorecard-"));
  // --ignore-scripts: dist/ is built already; prepare would build it again in place while tests may use it.
  const tgz =
    execFileSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", work], { cwd: root, encoding: "utf8" }).trim().split("\n").pop() ?? "";
  execFileSync("tar", ["-xzf", join(work, tgz), "-C", work]);
  return { pkg: join(work, "package"), remove: () => rmSync(work, { recursive: true, force: true }) };
}

export interface ScorecardOptions {
  /** The unpacked package (packPackage); packed here when not given. */
  pkg?: string;
  /** A Flow Library catalogue (catalogue.json). */
  catalogue?: string;
  /** Registry answers, as test/fixtures/scorecard/registry.json. */
  registry?: string;
}

/**
 * Runs node-red-dev's checks as `node-red-dev validate --path <pkg>` does;
 * returns the scorecard, what it printed, what it asked that has no offline
 * answer, the packages D02 walked (`tree`), and `sameName`: catalogued packages of the same name in another
 * scope (what P08 means to find; see docs/development.md, its code cannot find any).
 */
export async function scorecard(
  o: ScorecardOptions = {},
): Promise<{ card: Scorecard; lines: string[]; refused: string[]; sameName: string[]; tree: string[] }> {
  const registry = JSON.parse(readFileSync(o.registry ?? join(fixtures, "registry.json"), "utf8")) as Registry;
  const catalogue = JSON.parse(readFileSync(o.catalogue ?? join(fixtures, "catalogue.json"), "utf8")) as { modules?: Array<{ id: string }> };
  current = { catalogue, registry, packuments: lockRegistry(registry.latest), refused: [], asked: [] };
  const { checkpackage, checknodes, checkdeps } = loadCheckers();
  const lines: string[] = [];
  const cli: Cli = {
    log: (m) => lines.push(String(m)),
    warn: (m) => lines.push(`WARN ${String(m)}`),
    error: (e) => lines.push(`ERROR ${e instanceof Error ? e.message : String(e)}`),
  };
  const packed = o.pkg ? null : packPackage();
  const pkg = o.pkg ?? (packed as { pkg: string }).pkg;
  try {
    const card: Scorecard = {};
    await checkpackage(pkg, cli, card, false);
    await checknodes(pkg, cli, card, false);
    await checkdeps(pkg, cli, card, false);
    // checknodes does not wait for its N02 promise: let it finish.
    for (let i = 0; i < 20 && !card.N02; i++) await new Promise((r) => setImmediate(r));
    const name = (JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { name: string }).name;
    const bare = (id: string) => id.split("/").pop();
    const sameName = (catalogue.modules ?? []).map((m) => m.id).filter((id) => id !== name && bare(id) === bare(name));
    return { card, lines, refused: current.refused, sameName, tree: [...new Set(current.asked)].sort() };
  } finally {
    packed?.remove();
    current = null;
  }
}

async function main(): Promise<number> {
  const { card, lines, refused, sameName } = await scorecard({ catalogue: arg("--catalogue") ?? undefined, registry: arg("--registry") ?? undefined });
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ scorecard: card, log: lines, refused, sameName }));
  } else {
    for (const l of lines) console.log(`  ${l}`);
    console.log("");
    for (const [id, what] of Object.entries(CHECKS)) {
      const c = card[id] as Check | undefined;
      const extra = c
        ? Object.entries(c)
            .filter(([k]) => k !== "test")
            .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
            .join(", ")
        : "";
      console.log(`${c?.test ? "pass" : "FAIL"}  ${id}  ${what}${extra ? `  (${extra})` : ""}`);
    }
    console.log(
      `${sameName.length ? "FAIL" : "pass"}  P08  (as meant) no package of the same name in another scope${sameName.length ? `  (${sameName.join(", ")})` : ""}`,
    );
    if (refused.length) console.log(`refused (not answered offline): ${refused.join(", ")}`);
  }
  const failed = Object.keys(CHECKS).filter((id) => (card[id] as Check | undefined)?.test !== true);
  return failed.length || refused.length || sameName.length ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code), // node-red-dev's readline on stdin would keep the process alive
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
}
