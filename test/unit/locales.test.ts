/**
 * The texts the code can show against locales/: every key a module
 * declares (core/status.ts textTable) is in the node's catalog in English
 * and in French with exactly the parameters the module passes, and every
 * status text of a catalog is one a module declares. Likewise the errors of
 * the one error path (nodes/lib/errors.ts) in each node that uses them.
 */
import should from "../harness/should";
import { AGGREGATE_TEXTS } from "../../core/decide/aggregate";
import { COMMAND_TEXTS } from "../../core/nut/command";
import { LATCH_TEXTS } from "../../core/decide/latch";
import { GATE_TEXTS } from "../../core/decide/standby";
import { TIER_TEXTS } from "../../core/decide/tiers";
import { UPS_TEXTS } from "../../core/nut/ups-state";
import { SHUTDOWN_TEXTS } from "../../core/ssh/shutdown";
import type { TextTable } from "../../core/status";
import { WAKE_TEXTS } from "../../core/wake/wake";
import { ERROR_TEXTS } from "../../nodes/lib/errors";
import { NODE_TEXTS } from "../../nodes/lib/status";
import { CATALOG_TYPES, LANGUAGES, catalog, translator } from "../harness/catalog";

/** Which tables each node's status draws on. */
const TABLES: Record<string, TextTable[]> = {
  "nut-ups-in": [UPS_TEXTS.table, NODE_TEXTS.table],
  "ups-aggregate": [AGGREGATE_TEXTS.table, NODE_TEXTS.table],
  "battery-tier-switch": [TIER_TEXTS.table, NODE_TEXTS.table],
  "outage-latch": [LATCH_TEXTS.table],
  "ssh-shutdown": [SHUTDOWN_TEXTS.table, NODE_TEXTS.table],
  "wake-hosts": [WAKE_TEXTS.table, NODE_TEXTS.table],
  "nut-command": [COMMAND_TEXTS.table, NODE_TEXTS.table],
  "standby-gate": [GATE_TEXTS.table, NODE_TEXTS.table],
};

/** The keys of the one error path each node uses: a configuration check, bad input, or both. */
const pick = (...keys: Array<keyof typeof ERROR_TEXTS.table>): TextTable => Object.fromEntries(keys.map((k) => [k, ERROR_TEXTS.table[k]]));
const ERRORS: Record<string, TextTable> = {
  "nut-ups-in": pick("errors.config", "errors.config-input"),
  "ups-aggregate": pick("errors.config", "errors.config-input", "errors.bad-input"),
  "battery-tier-switch": pick("errors.config", "errors.config-input", "errors.bad-input"),
  "outage-latch": pick("errors.bad-input"),
  "ssh-shutdown": pick("errors.config", "errors.config-input"),
  "wake-hosts": pick("errors.config", "errors.config-input", "errors.bad-input"),
  "nut-command": pick("errors.config", "errors.config-input", "errors.bad-input"),
  "standby-gate": pick("errors.config", "errors.config-input", "errors.bad-input"),
};

/** The value at a dotted path of a catalog, or undefined. */
function at(tree: unknown, path: string): unknown {
  let v: unknown = tree;
  for (const part of path.split(".")) v = typeof v === "object" && v !== null && Object.hasOwn(v, part) ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/** The dotted paths of every text below `tree`. */
function leaves(tree: unknown, prefix: string): string[] {
  if (typeof tree !== "object" || tree === null) return [prefix];
  return Object.entries(tree).flatMap(([k, v]) => leaves(v, `${prefix}.${k}`));
}

const placeholders = (text: string): string[] => [...new Set([...text.matchAll(/__(\w+)__/g)].map((m) => m[1]))].sort();

/** What is wrong with `type`'s texts of `tables` in `lang`: a key without a text, or other parameters than the code passes. */
function checkTexts(type: string, tables: TextTable[], lang: (typeof LANGUAGES)[number]): string[] {
  const problems: string[] = [];
  for (const table of tables) {
    for (const [key, params] of Object.entries(table)) {
      let text: unknown;
      if (key.includes(":")) {
        // another catalog (Node-RED's own): its text, as the runtime finds it
        const t = translator(lang)(key);
        text = t === key.split(":")[1] ? undefined : t;
      } else text = at(catalog(lang, type), `${type}.${key}`);
      if (typeof text !== "string" || text === "") {
        problems.push(`${key}: no text`);
        continue;
      }
      const want = [...params].sort();
      if (JSON.stringify(placeholders(text)) !== JSON.stringify(want)) {
        problems.push(`${key}: "${text}" has parameters [${placeholders(text).join(", ")}], the code passes [${want.join(", ")}]`);
      }
    }
  }
  return problems;
}

describe("locales: the texts the code can show", () => {
  for (const [type, tables] of Object.entries(TABLES)) {
    for (const lang of LANGUAGES) {
      it(`${type}, ${lang}: every status key has a text with exactly its parameters`, () => {
        should(checkTexts(type, tables, lang)).eql([]);
      });
      it(`${type}, ${lang}: so has every error of the one error path`, () => {
        should(checkTexts(type, [ERRORS[type]], lang)).eql([]);
      });
    }

    it(`${type}: every status text of its catalogs is one the code can show`, () => {
      const declared = new Set(tables.flatMap((t) => Object.keys(t)).map((k) => `${type}.${k}`));
      for (const lang of LANGUAGES) {
        const texts = leaves(at(catalog(lang, type), `${type}.status`), `${type}.status`);
        should(texts.filter((k) => !declared.has(k))).eql([], lang);
      }
    });
  }

  it("the nodes without a status have no status texts", () => {
    for (const type of CATALOG_TYPES.filter((t) => !Object.hasOwn(TABLES, t))) {
      for (const lang of LANGUAGES) should(at(catalog(lang, type), `${type}.status`)).equal(undefined, `${type} ${lang}`);
    }
  });
});
