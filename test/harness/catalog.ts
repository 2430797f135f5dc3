/**
 * The package's message catalogs (locales/<lang>/<node>.json) as Node-RED
 * reads them, for tests: a translator with Node-RED's i18next settings
 * (`__name__` parameters, `.` between key parts, `:` before a namespace,
 * en-US as the fallback), so a test sees the text a person would, and a
 * missing key shows as the key itself, as in Node-RED.
 *
 * Namespaces are Node-RED's: a node's `RED._("nut-ups-in.status.x")` looks in
 * `node-red-contrib-nut-shutdown/nut-ups-in`; `node-red:…` in the core nodes' catalog.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { NodeAPI } from "node-red";
import type { StatusView } from "../../core/status";
import { renderText } from "../../nodes/lib/status";
import { targetRuntime } from "./runtime";

const req = createRequire(__filename);
/** i18next as the Node-RED under test has it (3.1 has its own, older one). */
const runtimeReq = createRequire(req.resolve(`${targetRuntime}/package.json`));
const repoRoot = join(__dirname, "..", "..");
const PACKAGE = "node-red-contrib-nut-shutdown";

export const LANGUAGES = ["en-US", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];

export type Params = Record<string, unknown>;
export type Translate = (key: string, params?: Params) => string;

interface I18next {
  init(options: object, callback?: () => void): unknown;
  t(key: string, options?: Params): string;
}

/** The node types that have a catalog: every locales/en-US/<type>.json. */
export const CATALOG_TYPES: readonly string[] = readdirSync(join(repoRoot, "locales", "en-US"))
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.replace(/\.json$/, ""));

/** locales/<lang>/<type>.json, parsed. */
export function catalog(lang: Language, type: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(repoRoot, "locales", lang, `${type}.json`), "utf8")) as Record<string, unknown>;
}

/** The core nodes' catalog (namespace "node-red"), as the runtime under test ships it. */
function coreCatalog(lang: Language): Record<string, unknown> {
  const dir = join(runtimeReq.resolve("@node-red/nodes/package.json"), "..", "locales", lang, "messages.json");
  return JSON.parse(readFileSync(dir, "utf8")) as Record<string, unknown>;
}

const made = new Map<Language, Translate>();

/**
 * `RED._` as a node of this package gets it in a Node-RED running in `lang`.
 * A key without a namespace is looked up in the catalog its first part names
 * (`nut-ups-in.…` in nut-ups-in's), as each node's own RED._ would.
 */
export function translator(lang: Language = "en-US"): Translate {
  const known = made.get(lang);
  if (known) return known;
  const resources: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const l of LANGUAGES) {
    resources[l] = { "node-red": coreCatalog(l) };
    for (const type of CATALOG_TYPES) resources[l][`${PACKAGE}/${type}`] = catalog(l, type);
  }
  const i18n = (runtimeReq("i18next") as { createInstance(): I18next }).createInstance();
  i18n.init({
    resources,
    lng: lang,
    fallbackLng: "en-US",
    ns: Object.keys(resources["en-US"]),
    defaultNS: "node-red",
    keySeparator: ".",
    nsSeparator: ":",
    interpolation: { unescapeSuffix: "HTML", escapeValue: false, prefix: "__", suffix: "__" },
    // synchronous with the resources given (initImmediate up to i18next 23, initAsync from 24)
    initImmediate: false,
    initAsync: false,
    showSupportNotice: false,
  });
  const t: Translate = (key, params) => i18n.t(key.includes(":") ? key : `${PACKAGE}/${key.split(".")[0]}:${key}`, params);
  made.set(lang, t);
  return t;
}

/**
 * A status as node `type` shows it in `lang`: the package's one renderer
 * (nodes/lib/status.ts) with this catalog's RED._.
 */
export function shown(type: string, view: StatusView, lang: Language = "en-US"): { fill: string; shape: string; text: string } {
  return { fill: view.fill, shape: view.shape, text: renderText({ _: translator(lang) } as unknown as NodeAPI, type, view) };
}
