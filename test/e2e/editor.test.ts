/**
 * Every node type of the package in the real Node-RED editor, in headless
 * Chromium, in English and in French: palette entry (category, label, icon
 * actually served), edit dialog (defaults as documented, every label from the
 * right locale file, no English left in French, bad values marked invalid,
 * Done), Deploy (GET /flows holds what was typed), help sidebar, and Import ▸
 * Examples with the progressive example imported through the dialog and
 * deployed. The dialogs' shared code (resources/) as Node-RED serves it, and
 * each dialog opened first in a fresh editor.
 *
 * One node-red process for the file and one browser per language (2 cores).
 * The tests of a language block run in order on one editor page: the dialog
 * tests build the flow that the deploy test then deploys.
 *
 * Not repeated here (test/integration/nut-editor.test.ts, ssh-editor.test.ts):
 * the List UPSes and fetch-fingerprints buttons against a real upsd / sshd,
 * the command preview, and no secret in the saved flow.
 */
import should from "../harness/should";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { chromiumPath, openEditor, type Editor } from "../../tools/browser";
import { exampleFiles, loadExample, type FlowNode } from "../../tools/example-flow";
import {
  closeDialogs,
  deploy,
  dialogDone,
  dropFromPalette,
  fields,
  helpShown,
  marked,
  openDialog,
  openTray,
  shownStatus,
  tray,
  typeInto,
  validity,
  waitForStatus,
  type EditorWindow,
  type RedNode,
} from "../harness/editor-page";
import { removeUserDir, repoRoot, startNodeRed, type NodeRedProcess } from "../harness/node-red";
import { runtimeLabel, targetRuntime } from "../harness/runtime";
import { aggregateNodeDef } from "../harness/decide-fixtures";
import { freePort, requireComponent } from "../harness/system";

const MODULE = "node-red-contrib-nut-shutdown";
/** The editor code every dialog shares, as a node's HTML asks for it (relative to the editor). */
const SHARED = `resources/${MODULE}/nut-shutdown-editor.js`;
const CATEGORY = "ups shutdown";
type Lang = "en-US" | "fr";

/** The nodes of the palette, with the label a user reads in each language. */
const PALETTE = [
  { type: "nut-ups-in", icon: "nut-ups.svg", label: { "en-US": "nut ups in", fr: "onduleur nut" } },
  { type: "ups-aggregate", icon: "aggregate.svg", label: { "en-US": "ups aggregate", fr: "agrégat onduleurs" } },
  { type: "battery-tier-switch", icon: "tiers.svg", label: { "en-US": "battery tiers", fr: "paliers batterie" } },
  { type: "outage-latch", icon: "latch.svg", label: { "en-US": "once per outage", fr: "une fois par coupure" } },
  { type: "ssh-shutdown", icon: "ssh-shutdown.svg", label: { "en-US": "ssh shutdown", fr: "arrêt ssh" } },
  { type: "wake-hosts", icon: "wake.svg", label: { "en-US": "wake when power returns", fr: "réveil au retour du courant" } },
  { type: "nut-command", icon: "nut-command.svg", label: { "en-US": "ups command", fr: "commande onduleur" } },
  { type: "standby-gate", icon: "standby.svg", label: { "en-US": "active controller only", fr: "contrôleur actif seulement" } },
];
/** Config nodes: Node-RED lists them in the Configuration nodes sidebar, never in the palette. */
const CONFIG_TYPES = ["nut-server", "ssh-host"];
const ALL_TYPES = [...PALETTE.map((p) => p.type), ...CONFIG_TYPES];

const squash = (s: string) => s.replace(/\s+/g, " ").trim();
const stripTags = (html: string) => squash(html.replace(/<[^>]*>/g, ""));

/** Every text of a locale catalog (nested JSON) as a pattern of the whole text shown; "__name__" stands for any value. */
function textPatterns(catalog: unknown): RegExp[] {
  const out: RegExp[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string")
      out.push(
        new RegExp(
          `^${stripTags(v)
            .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
            .replace(/__\w+__/g, ".+")}$`,
        ),
      );
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(catalog);
  return out;
}

/** A text of the package's locale files ("nut-server.label.host"), or undefined. */
function localeText(lang: Lang, key: string): string | undefined {
  const ns = key.split(".")[0];
  let v: unknown = JSON.parse(readFileSync(join(repoRoot, "locales", lang, `${ns}.json`), "utf8"));
  for (const part of key.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
  return typeof v === "string" ? v : undefined;
}

/** The help's summary sentence: the first paragraph of locales/<lang>/<type>.html. */
function helpSummary(lang: Lang, type: string): string {
  const html = readFileSync(join(repoRoot, "locales", lang, `${type}.html`), "utf8");
  const p = /<p>([\s\S]*?)<\/p>/.exec(html);
  should.exist(p, `no summary paragraph in locales/${lang}/${type}.html`);
  return stripTags(p[1]);
}

async function flowsOnServer(url: string): Promise<FlowNode[]> {
  const res = await fetch(`${url}/flows`, { headers: { "Node-RED-API-Version": "v1" } });
  should(res.status).equal(200);
  return (await res.json()) as FlowNode[];
}

/** True when nothing accepts connections on 127.0.0.1:port. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

/** A well-formed pinned fingerprint (of no real key). */
const FINGERPRINT = `ssh-ed25519 SHA256:${createHash("sha256").update("editor e2e").digest("base64").replace(/=+$/, "")}`;

describe(`the editor of ${runtimeLabel()} in Chromium: every node of the package, in English and in French`, function () {
  this.timeout(60000);
  let nr: NodeRedProcess;
  /** A loopback port where nothing listens: the deployed nodes point there. */
  let closedPort: number;

  before(async function () {
    requireComponent(this, "chromium", chromiumPath ? null : "no chromium binary", "apt-get install -y chromium");
    nr = await startNodeRed({ port: await freePort() });
    closedPort = await freePort();
  });
  after(async () => {
    if (nr) {
      await nr.stop();
      removeUserDir(nr.userDir);
    }
  });

  /** Opens the editor in `lang` and records every notification it shows (they fade out). */
  async function open(lang: Lang): Promise<Editor> {
    const ed = await openEditor(nr.url, { locale: lang });
    await ed.page.evaluate(() => {
      const w = window as unknown as EditorWindow;
      w.e2eNotes = [];
      const notify = w.RED.notify;
      w.RED.notify = function (this: unknown, ...args: unknown[]) {
        const opts = args[1];
        const type = typeof opts === "string" ? opts : ((opts as { type?: string } | undefined)?.type ?? "");
        const msg = args[0] as { text?: () => string } | string;
        w.e2eNotes.push({ text: typeof msg === "string" ? msg : String(msg?.text?.() ?? msg), type });
        return notify.apply(this, args);
      };
    });
    return ed;
  }

  /** Every label, placeholder and tip of the top dialog that names a key of the package, checked against locales/<lang>. */
  async function checkDialogTexts(page: Page, lang: Lang): Promise<{ checked: number; differFromEnglish: number }> {
    const found = await page.evaluate(() => {
      const $ = (window as unknown as EditorWindow).$;
      const out: Array<{ spec: string; text: string; attrs: Record<string, string> }> = [];
      $(".red-ui-tray")
        .last()
        .find("[data-i18n]")
        .map((_i, e) => {
          const el = $(e);
          out.push({
            spec: el.attr("data-i18n") ?? "",
            text: el.text(),
            attrs: { placeholder: el.attr("placeholder") ?? "", title: el.attr("title") ?? "" },
          });
          return null;
        });
      return out;
    });
    const problems: string[] = [];
    let checked = 0;
    let differFromEnglish = 0;
    for (const f of found) {
      for (const one of f.spec.split(";")) {
        // "[placeholder]node-red-contrib-nut-shutdown/nut-server:nut-server.label.host": the editor prefixes the node set.
        const m = /^(?:\[(\w+)\])?(?:([^:]+):)?(.+)$/.exec(one.trim());
        if (!m) continue;
        const [, attr, ns, key] = m;
        // Only the package's own strings: core ones (node-red:common.label.name, editor.*) are Node-RED's.
        if (!ns?.startsWith(`${MODULE}/`)) continue;
        const expected = localeText(lang, key);
        if (expected === undefined) {
          problems.push(`${key}: no text in locales/${lang}`);
          continue;
        }
        const shown = attr === "placeholder" || attr === "title" ? f.attrs[attr] : f.text;
        if (squash(shown) !== stripTags(expected)) problems.push(`${key}: shows "${squash(shown)}", locales/${lang} has "${stripTags(expected)}"`);
        checked++;
        if (lang !== "en-US" && stripTags(expected) !== stripTags(localeText("en-US", key) ?? "")) differFromEnglish++;
      }
    }
    should(problems).eql([], `dialog texts in ${lang}`);
    should(checked).be.above(0, "the dialog shows no text of the package");
    return { checked, differFromEnglish };
  }

  /**
   * The texts of the top dialog's form that no data-i18n attribute translates: written in
   * the template or built by the dialog's code. Code samples are left out, and so is data
   * in a list: a config node's label, a context store's name.
   */
  async function untranslatedTexts(page: Page): Promise<string[]> {
    return page.evaluate(() => {
      const R = (window as unknown as EditorWindow).RED;
      const trays = document.querySelectorAll("#red-ui-editor-stack > .red-ui-tray");
      const form = trays[trays.length - 1]?.querySelector("form#dialog-form, form#node-config-dialog-edit-form");
      const out: string[] = [];
      if (!form) return out;
      const walker = document.createTreeWalker(form, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const text = (n.textContent ?? "").replace(/\s+/g, " ").trim();
        const parent = n.parentElement;
        if (!text || !parent || parent.closest("[data-i18n], code, script, style, textarea")) continue;
        const option = parent.closest("option");
        if (option && (R.nodes.node(option.value) || option.value === text)) continue;
        out.push(text);
      }
      return out;
    });
  }

  /** The colour Node-RED's theme gives `variable` (e.g. --red-ui-text-color-error), as the browser computes colours. */
  async function themeColour(page: Page, variable: string): Promise<string> {
    return page.evaluate((v) => {
      const probe = document.createElement("span");
      probe.style.color = `var(${v})`;
      document.body.appendChild(probe);
      const colour = getComputedStyle(probe).color;
      probe.remove();
      return colour;
    }, variable);
  }

  /** The text colour of an element of the top dialog. */
  async function colourOf(page: Page, selector: string): Promise<string> {
    return tray(page)
      .locator(selector)
      .first()
      .evaluate((e) => getComputedStyle(e).color);
  }

  /**
   * The dialogs' shared code as Node-RED at `url` serves it, as each node's editor file asks for
   * it, and as the editor in `page` runs it: once per node file, defined once.
   */
  async function checkSharedCode(url: string, page: Page): Promise<void> {
    const res = await fetch(`${url}/${SHARED}`);
    should(res.status).equal(200, `${SHARED} is served`);
    should(res.headers.get("content-type") ?? "").match(/^(application|text)\/javascript/);
    should(await res.text()).equal(readFileSync(join(repoRoot, "resources", "nut-shutdown-editor.js"), "utf8"));
    should((await fetch(`${url}/resources/${MODULE}/../package.json`)).status).equal(404, "nothing outside resources/");

    // What the editor gets: each node set's HTML, in its own section, asks for it.
    const nodesHtml = await (await fetch(`${url}/nodes`, { headers: { accept: "text/html" } })).text();
    const sections = nodesHtml.split(/(?=<!-- --- \[red-module:)/).filter((x) => x.startsWith(`<!-- --- [red-module:${MODULE}/`));
    should(sections.map((x) => /^<!-- --- \[red-module:[^/]+\/([^\]]+)\]/.exec(x)?.[1]).sort()).eql([...ALL_TYPES].sort());
    for (const x of sections) should(x.includes(`<script src="${SHARED}"></script>`)).be.true(`${x.slice(0, 80)}… does not load ${SHARED}`);

    // In the page: run once per node file, defined once (one stylesheet), the same object for every dialog.
    const inPage = await page.evaluate((src) => {
      const w = window as unknown as EditorWindow;
      const api = w.NutShutdownEditor;
      return {
        runs: document.querySelectorAll(`script[src$="${src}"]`).length,
        stylesheets: document.querySelectorAll("style#nut-shutdown-editor-style").length,
        api: api ? Object.keys(api).sort() : null,
        frozen: !!api && Object.isFrozen(api),
      };
    }, SHARED);
    should(inPage).eql({
      runs: ALL_TYPES.length,
      stylesheets: 1,
      api: [
        "bindListUps",
        "fillStores",
        "fitsVariable",
        "hostList",
        "hostsDefault",
        "listCommands",
        "listUps",
        "pickedServer",
        "resizeList",
        "showDefaults",
        "showList",
        "turnsLoadOff",
        "validate",
      ],
      frozen: true,
    });
  }

  /**
   * One valid node of each type, deployed before the French editor and the fresh
   * editors open. Some properties are left out, as in a flow from an older version
   * (ups-aggregate's upsmon rules, battery-tier-switch's fsdAll, outage-latch's forwardReset).
   */
  const flow = () => [
    { id: "fr-tab", type: "tab", label: "fr" },
    { id: "fr-srv", type: "nut-server", name: "", host: "127.0.0.1", port: closedPort, usetls: false, tls: "", login: "", interval: 5, timeout: 5 },
    {
      id: "fr-in",
      type: "nut-ups-in",
      z: "fr-tab",
      name: "",
      server: "fr-srv",
      mode: "one",
      ups: "ups1",
      interval: "",
      alertInterval: 2,
      output: "change",
      vars: false,
      nocomm: 60,
      x: 150,
      y: 80,
      wires: [[]],
    },
    aggregateNodeDef([], { id: "fr-agg", z: "fr-tab", x: 350, y: 80, wires: [["fr-tiers"]] }),
    {
      id: "fr-tiers",
      type: "battery-tier-switch",
      z: "fr-tab",
      name: "",
      tiers: [{ name: "backup", charge: 90 }],
      mode: "while",
      staleCounts: false,
      outputs: 2,
      x: 550,
      y: 80,
      wires: [["fr-latch"], []],
    },
    { id: "fr-latch", type: "outage-latch", z: "fr-tab", name: "", key: "outage", store: "", x: 350, y: 180, wires: [["fr-sd"]] },
    {
      id: "fr-host",
      type: "ssh-host",
      name: "",
      address: "127.0.0.1",
      port: closedPort,
      username: "nut",
      keyFile: "",
      fingerprints: FINGERPRINT,
      acceptAnyHostKey: false,
      mac: "02:00:5e:00:00:01",
    },
    {
      id: "fr-sd",
      type: "ssh-shutdown",
      z: "fr-tab",
      name: "",
      hosts: ["fr-host"],
      preset: "linux",
      delay: 1,
      message: "",
      customShutdown: "",
      customCancel: "",
      customCheck: "",
      action: "simulate",
      allowed: ["simulate"],
      connectTimeout: 10,
      commandTimeout: 30,
      deadline: 60,
      store: "",
      x: 550,
      y: 180,
      wires: [["fr-wake"]],
    },
    {
      id: "fr-wake",
      type: "wake-hosts",
      z: "fr-tab",
      name: "",
      hosts: ["fr-host"],
      minCharge: 50,
      stable: 300,
      broadcast: "255.255.255.255",
      wolPort: 9,
      repeat: 10,
      deadline: 600,
      store: "",
      x: 750,
      y: 180,
      wires: [[]],
    },
    {
      id: "fr-cmd",
      type: "nut-command",
      z: "fr-tab",
      name: "",
      server: "fr-srv",
      ups: "ups1",
      kind: "instcmd",
      command: "shutdown.return",
      param: "",
      allowOnLine: false,
      trackingTimeout: 30,
      hosts: ["fr-host"],
      margin: 30,
      waitClients: false,
      deadline: 120,
      store: "",
      x: 750,
      y: 240,
      wires: [[]],
    },
    {
      id: "fr-gate",
      type: "standby-gate",
      z: "fr-tab",
      name: "",
      step: "backup",
      prefix: "nut-shutdown/site-a",
      me: "primary",
      controllers: "primary, standby",
      wait: 10,
      expiry: 24,
      x: 750,
      y: 300,
      wires: [[], []],
    },
  ];

  /** Replaces the flows of the running Node-RED (a full deploy through the admin API). */
  async function deployFlow(nodes: unknown[]): Promise<void> {
    const res = await fetch(`${nr.url}/flows`, {
      method: "POST",
      headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(nodes),
    });
    should(res.status).equal(204, await res.text());
  }

  // ---- helpers acting on an editor page ------------------------------------------------------

  /** Deploys (see editor-page's deploy), then expects one notification, a success. */
  async function deployNotified(page: Page): Promise<void> {
    const from = await page.evaluate(() => (window as unknown as EditorWindow).e2eNotes.length);
    await deploy(page);
    await page.waitForFunction((n) => (window as unknown as EditorWindow).e2eNotes.length > n, from);
    const notes = await page.evaluate((n) => (window as unknown as EditorWindow).e2eNotes.slice(n), from);
    should(notes.map((x) => x.type)).eql(["success"], `notifications after deploy: ${JSON.stringify(notes)}`);
  }

  async function errorNotes(page: Page): Promise<Array<{ text: string; type: string }>> {
    return page.evaluate(() => (window as unknown as EditorWindow).e2eNotes.filter((n) => n.type === "error" || n.type === "warning"));
  }

  /**
   * What each dialog does with the shared code: a value its validator marks (`invalid`: field,
   * value), and in `check` the defaults, the store picker, List UPSes, the theme colours.
   */
  const FIRST: Array<{ type: string; id: string; invalid?: [string, string]; check: (page: Page) => Promise<void> }> = [
    {
      type: "ssh-shutdown",
      id: "fr-sd",
      invalid: ["#node-input-connectTimeout", "0"],
      check: async (page) => {
        should(await tray(page).locator("#node-input-store option:checked").innerText()).equal("default store (memory)");
      },
    },
    {
      type: "ssh-host",
      id: "fr-host",
      invalid: ["#node-config-input-port", "0"],
      check: async (page) => {
        await page.locator("#node-config-input-acceptAnyHostKey").check();
        should(await colourOf(page, 'label[for="node-config-input-acceptAnyHostKey"]')).equal(await themeColour(page, "--red-ui-text-color-error"));
        should(await colourOf(page, "#ssh-host-insecure-tip")).equal(await themeColour(page, "--red-ui-text-color-error"));
      },
    },
    {
      type: "nut-server",
      id: "fr-srv",
      invalid: ["#node-config-input-port", "70000"],
      check: async () => {},
    },
    {
      type: "nut-ups-in",
      id: "fr-in",
      invalid: ["#node-input-interval", "0.1"],
      check: async (page) => {
        // nothing listens on the server's port: List UPSes says so, in the theme's error colour
        await tray(page).locator("#node-input-nut-list-ups").click();
        const error = tray(page).locator("#node-input-nut-list-result .nut-shutdown-error");
        await error.waitFor({ timeout: 15000 });
        should(await error.innerText()).match(new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
        should(await colourOf(page, "#node-input-nut-list-result .nut-shutdown-error")).equal(await themeColour(page, "--red-ui-text-color-error"));
      },
    },
    {
      type: "ups-aggregate",
      id: "fr-agg",
      invalid: ["#node-input-confirm", "-1"],
      check: async (page) => {
        // the flow has no upsmon rules (an older version's): the runtime's defaults are shown
        should(
          await fields(page, [
            "#node-input-offDuration",
            "#node-input-oblbDuration",
            "#node-input-overDuration",
            "#node-input-alarmCritical",
            "#node-input-calOnBattery",
          ]),
        ).eql({
          "#node-input-offDuration": "30",
          "#node-input-oblbDuration": "0",
          "#node-input-overDuration": "-1",
          "#node-input-alarmCritical": true,
          "#node-input-calOnBattery": false,
        });
        should(await tray(page).locator("#node-input-store option:checked").innerText()).equal("default store (memory)");
      },
    },
    {
      type: "battery-tier-switch",
      id: "fr-tiers",
      check: async (page) => {
        // the flow has no fsdAll (an older version's): the runtime's default is shown
        should(await fields(page, ["#node-input-fsdAll"])).eql({ "#node-input-fsdAll": true });
        should(await tray(page).locator("#node-input-tiers-container > li .tier-charge").first().inputValue()).equal("90");
      },
    },
    {
      type: "wake-hosts",
      id: "fr-wake",
      invalid: ["#node-input-broadcast", "256.0.0.1"],
      check: async (page) => {
        should(await tray(page).locator("#node-input-hosts-container select").first().inputValue()).equal("fr-host");
        should(await tray(page).locator("#node-input-store option:checked").innerText()).equal("default store (memory)");
      },
    },
    {
      type: "nut-command",
      id: "fr-cmd",
      invalid: ["#node-input-deadline", "-1"],
      check: async (page) => {
        // shutdown.return: no load-off warning, the note on what it does; load.off: the warning and its tick box
        should(await tray(page).locator(".nut-command-load-off").first().isVisible()).be.false();
        should(await tray(page).locator(".nut-command-return").isVisible()).be.true();
        await typeInto(page, "#node-input-command", "load.off");
        should(await tray(page).locator(".nut-command-load-off").first().isVisible()).be.true();
        should(await tray(page).locator("#node-input-allowOnLine").isVisible()).be.true();
        // the awaited host is picked
        should(
          await tray(page)
            .locator("#node-input-nut-command-hosts")
            .evaluate((e) => Array.from((e as HTMLSelectElement).selectedOptions).map((o) => o.value)),
        ).eql(["fr-host"]);
      },
    },
    {
      type: "standby-gate",
      id: "fr-gate",
      invalid: ["#node-input-step", "back up"],
      check: async (page) => {
        should(await fields(page, ["#node-input-me", "#node-input-controllers", "#node-input-wait"])).eql({
          "#node-input-me": "primary",
          "#node-input-controllers": "primary, standby",
          "#node-input-wait": "10",
        });
      },
    },
    {
      type: "outage-latch",
      id: "fr-latch",
      check: async (page) => {
        // the flow has no forwardReset (an older version's): the runtime's default is shown
        should(await fields(page, ["#node-input-forwardReset"])).eql({ "#node-input-forwardReset": true });
        should(await tray(page).locator("#node-input-store option:checked").innerText()).equal("default store (memory)");
      },
    },
  ];

  /** Opens the dialog of `id` (a config node's from the editor's own entry point, as its sidebar does). */
  async function openFirst(page: Page, type: string, id: string): Promise<void> {
    if (CONFIG_TYPES.includes(type)) {
      await openTray(page, () => page.evaluate(([t, i]) => (window as unknown as EditorWindow).RED.editor.editConfig("", t, i), [type, id] as const));
    } else {
      await openDialog(page, id);
    }
  }

  /** Opens `f`'s dialog, checks its texts and what it does with the shared code, and cancels it. */
  async function checkDialogWorks(page: Page, f: (typeof FIRST)[number]): Promise<void> {
    await openFirst(page, f.type, f.id);
    await checkDialogTexts(page, "en-US");
    if (f.invalid) {
      const [field, value] = f.invalid;
      should(await marked(page, field)).be.false(`${field} as loaded`);
      await typeInto(page, field, value);
      should(await marked(page, field)).be.true(`${value} in ${field} is marked invalid`);
    }
    await f.check(page);
    await dialogDone(page, CONFIG_TYPES.includes(f.type) ? "#node-config-dialog-cancel" : "#node-dialog-cancel");
  }

  // ---- the tests -------------------------------------------------------------------------------

  function paletteTests(lang: Lang, ed: () => Editor): void {
    it(`the editor runs in ${lang}`, async () => {
      should(await ed().page.evaluate(() => (window as unknown as EditorWindow).RED.i18n.lang())).equal(lang);
    });

    it(`the ${PALETTE.length} nodes are in the palette under "${CATEGORY}", with their ${lang} label and their own icon, served as SVG; the two config nodes are config nodes of the package`, async () => {
      const { page } = ed();
      should(squash(await page.locator("#red-ui-palette-header-ups_shutdown").innerText())).equal(CATEGORY);
      const inCategory = await page
        .locator("#red-ui-palette-container-ups_shutdown .red-ui-palette-node")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-palette-type")));
      should([...inCategory].sort()).eql(PALETTE.map((p) => p.type).sort());
      for (const p of PALETTE) {
        const node = page.locator(`#red-ui-palette-container-ups_shutdown .red-ui-palette-node[data-palette-type="${p.type}"]`);
        should(squash(await node.locator(".red-ui-palette-label").innerText())).equal(p.label[lang], `${p.type} label`);
        const iconUrl = await node.locator(".red-ui-palette-icon-container").getAttribute("data-palette-icon");
        should(iconUrl).equal(`icons/${MODULE}/${p.icon}`, `${p.type} icon`);
        should(((await node.locator(".red-ui-palette-icon").getAttribute("style")) ?? "").includes(iconUrl!)).be.true(`${p.type} icon drawn`);
        const res = await fetch(`${nr.url}/${iconUrl}`);
        should(res.status).equal(200, `${iconUrl} is served`);
        should(res.headers.get("content-type") ?? "").match(/^image\/svg\+xml/);
        should(await res.text()).match(/^(<\?xml[^>]*>\s*)?<svg[\s>]/);
      }
      const configs = await page.evaluate((types) => {
        const R = (window as unknown as EditorWindow).RED;
        return types.map((t) => ({ category: R.nodes.getType(t)?.category, module: R.nodes.getType(t)?.set.module }));
      }, CONFIG_TYPES);
      should(configs).eql(CONFIG_TYPES.map(() => ({ category: "config", module: MODULE })));
      should(await page.locator('.red-ui-palette-node[data-palette-type="nut-server"], .red-ui-palette-node[data-palette-type="ssh-host"]').count()).equal(0);
    });

    it(`the help sidebar shows each node's help in ${lang}: its title and its summary sentence`, async () => {
      for (const type of ALL_TYPES) {
        const shown = await helpShown(ed().page, type);
        const palette = PALETTE.find((p) => p.type === type);
        should(squash(shown.title)).equal(palette ? palette.label[lang] : type, `${type} help title`);
        should(squash(shown.summary)).equal(helpSummary(lang, type), `${type} help summary`);
      }
    });
  }

  describe("in English (en-US)", () => {
    let ed: Editor;
    let page: Page;
    /** Nodes made by the dialog tests, deployed by the deploy test. */
    const made: Record<string, string> = {};

    before(async () => {
      ed = await open("en-US");
      page = ed.page;
    });
    after(async () => {
      await ed?.close();
    });
    afterEach(async function () {
      // A failed dialog test leaves its dialog open: close it so the next test starts clean.
      if (this.currentTest?.state === "failed") await closeDialogs(page);
      should(ed.pageErrors).eql([], "uncaught errors in the editor page");
    });

    paletteTests("en-US", () => ed);

    it("the dialogs' shared code is served by Node-RED at resources/<package>/, every node's editor file loads it, and the editor defines it once", async () => {
      await checkSharedCode(nr.url, page);
    });

    it("battery-tier-switch dragged from the palette: the 90/50/20/10 tiers, a 150 % threshold marked invalid, fixed, Done", async () => {
      const id = await dropFromPalette(page, "battery-tier-switch", 0);
      should(await validity(page, id)).eql({ valid: true, errors: [], triangle: false });
      await openDialog(page, id);
      await checkDialogTexts(page, "en-US");
      should(await fields(page, ["#node-input-name", "#node-input-mode", "#node-input-staleCounts"])).eql({
        "#node-input-name": "",
        "#node-input-mode": "while",
        "#node-input-staleCounts": false,
      });
      // Each tier row as {field: value}, from its inputs (class "tier-<field>").
      const tiers = await tray(page)
        .locator("#node-input-tiers-container > li")
        .evaluateAll((rows) =>
          rows.map((r) => {
            const row: Record<string, string | boolean> = {};
            r.querySelectorAll("input").forEach((i) => {
              row[i.className.replace(/^tier-/, "")] = i.type === "checkbox" ? i.checked : i.value;
            });
            return row;
          }),
        );
      const tier = (name: string, charge: string, critical = false) => ({
        name,
        charge,
        runtime: "",
        onBatteryFor: "",
        lowBattery: false,
        critical,
        rate: "",
        window: "",
        grace: "",
      });
      should(tiers).eql([tier("backup", "90"), tier("storage", "50"), tier("production", "20"), tier("everything", "10", true)]);

      await tray(page).locator("#node-input-tiers-container > li .tier-charge").first().fill("150");
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: false, errors: ["tiers"], triangle: true });

      await openDialog(page, id);
      await tray(page).locator("#node-input-tiers-container > li .tier-charge").first().fill("95");
      await typeInto(page, "#node-input-name", "e2e tiers");
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: true, errors: [], triangle: false });
      made.tiers = id;
    });

    it("ups-aggregate: documented defaults, a duplicate UPS topic and a negative time marked invalid, fixed, Done", async () => {
      const id = await dropFromPalette(page, "ups-aggregate", 1);
      should(await validity(page, id)).eql({ valid: true, errors: [], triangle: false });
      await openDialog(page, id);
      await checkDialogTexts(page, "en-US");
      should(
        await fields(page, [
          "#node-input-name",
          "#node-input-policy",
          "#node-input-feedsOut",
          "#node-input-minSupplies",
          "#node-input-confirm",
          "#node-input-restore",
          "#node-input-staleRule",
          "#node-input-deadtime",
          "#node-input-silent",
          "#node-input-emit",
          "#node-input-store",
        ]),
      ).eql({
        "#node-input-name": "",
        "#node-input-policy": "weakest",
        "#node-input-feedsOut": "0",
        "#node-input-minSupplies": "1",
        "#node-input-confirm": "5",
        "#node-input-restore": "30",
        "#node-input-staleRule": "deadtime",
        "#node-input-deadtime": "30",
        "#node-input-silent": "0",
        "#node-input-emit": "change",
        "#node-input-store": "",
      });
      should(await tray(page).locator("#node-input-sources-container > li").count()).equal(0, "no UPS listed by default");

      const add = tray(page).locator(".node-input-sources-container-row .red-ui-editableList-addButton");
      await add.click();
      await add.click();
      const topics = tray(page).locator("#node-input-sources-container .ups-aggregate-topic");
      await topics.nth(0).fill("ups1@127.0.0.1:3493");
      await topics.nth(1).fill("ups1@127.0.0.1:3493");
      await typeInto(page, "#node-input-confirm", "-1");
      should(await marked(page, "#node-input-confirm")).be.true("a negative confirm time is marked in the dialog");
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: false, errors: ["confirm", "sources"], triangle: true });

      await openDialog(page, id);
      await tray(page).locator("#node-input-sources-container .ups-aggregate-topic").nth(1).fill("ups2@127.0.0.1:3493");
      await typeInto(page, "#node-input-confirm", "10");
      should(await marked(page, "#node-input-confirm")).be.false();
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: true, errors: [], triangle: false });
      made.aggregate = id;
    });

    it("outage-latch (once per outage): documented defaults, nothing typed can be invalid (lists and a checkbox), Done", async () => {
      const id = await dropFromPalette(page, "outage-latch", 2);
      await openDialog(page, id);
      await checkDialogTexts(page, "en-US");
      should(await fields(page, ["#node-input-name", "#node-input-key", "#node-input-store", "#node-input-forwardReset"])).eql({
        "#node-input-name": "",
        "#node-input-key": "outage",
        "#node-input-store": "",
        "#node-input-forwardReset": true,
      });
      should(await tray(page).locator("#node-input-store option:checked").innerText()).match(/^default store/);
      await tray(page).locator("#node-input-key").selectOption("topic");
      await typeInto(page, "#node-input-name", "e2e latch");
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: true, errors: [], triangle: false });
      made.latch = id;
    });

    it("nut-ups-in with a new nut-server (the + button): both dialogs show their defaults; an empty UPS name, an empty host and port 70000 are marked invalid; fixed, Done", async () => {
      const id = await dropFromPalette(page, "nut-ups-in", 3);
      should(await validity(page, id)).eql({ valid: false, errors: ["server", "ups"], triangle: true }, "no server, no UPS yet");
      await openDialog(page, id);
      await checkDialogTexts(page, "en-US");
      should(
        await fields(page, [
          "#node-input-mode",
          "#node-input-ups",
          "#node-input-interval",
          "#node-input-alertInterval",
          "#node-input-output",
          "#node-input-nocomm",
          "#node-input-vars",
          "#node-input-name",
        ]),
      ).eql({
        "#node-input-mode": "one",
        "#node-input-ups": "",
        "#node-input-interval": "",
        "#node-input-alertInterval": "2",
        "#node-input-output": "change",
        "#node-input-nocomm": "60",
        "#node-input-vars": false,
        "#node-input-name": "",
      });
      should(await marked(page, "#node-input-ups")).be.true("the empty UPS name is marked");

      await openTray(page, () => tray(page).locator("#node-input-btn-server-add").click());
      await checkDialogTexts(page, "en-US");
      should(
        await fields(page, [
          "#node-config-input-host",
          "#node-config-input-port",
          "#node-config-input-username",
          "#node-config-input-password",
          "#node-config-input-login",
          "#node-config-input-usetls",
          "#node-config-input-interval",
          "#node-config-input-timeout",
          "#node-config-input-name",
        ]),
      ).eql({
        "#node-config-input-host": "127.0.0.1",
        "#node-config-input-port": "3493",
        "#node-config-input-username": "",
        "#node-config-input-password": "",
        "#node-config-input-login": "",
        "#node-config-input-usetls": false,
        "#node-config-input-interval": "5",
        "#node-config-input-timeout": "5",
        "#node-config-input-name": "",
      });
      should(await tray(page).locator("#node-config-row-tls").isVisible()).be.false("TLS row hidden while STARTTLS is off");
      await typeInto(page, "#node-config-input-host", "");
      should(await marked(page, "#node-config-input-host")).be.true("the empty host is marked");
      await typeInto(page, "#node-config-input-port", "70000");
      should(await marked(page, "#node-config-input-port")).be.true("a port above 65535 is marked");
      await dialogDone(page, "#node-config-dialog-ok");
      const server = String((await fields(page, ["#node-input-server"]))["#node-input-server"]);
      should(await validity(page, server)).eql({ valid: false, errors: ["host", "port"], triangle: true });

      await typeInto(page, "#node-input-ups", "ups1");
      should(await marked(page, "#node-input-ups")).be.false();
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: false, errors: ["server"], triangle: true }, "a node whose server is invalid is invalid");

      await openDialog(page, id);
      await openTray(page, () => tray(page).locator("#node-input-btn-server-edit").click());
      await typeInto(page, "#node-config-input-host", "127.0.0.1");
      await typeInto(page, "#node-config-input-port", String(closedPort));
      should(await marked(page, "#node-config-input-port")).be.false();
      await dialogDone(page, "#node-config-dialog-ok");
      await dialogDone(page);
      should(await validity(page, server)).eql({ valid: true, errors: [], triangle: false });
      should(await validity(page, id)).eql({ valid: true, errors: [], triangle: false });
      made.upsIn = id;
      made.server = server;
    });

    it("ssh-shutdown with a new ssh-host (the row's pencil): defaults; no host, no address, port 0 and a bad fingerprint are marked invalid; fixed, Done", async () => {
      const id = await dropFromPalette(page, "ssh-shutdown", 4);
      should(await validity(page, id)).eql({ valid: false, errors: ["hosts"], triangle: true }, "no host yet");
      await openDialog(page, id);
      await checkDialogTexts(page, "en-US");
      should(
        await fields(page, [
          "#node-input-name",
          "#node-input-preset",
          "#node-input-delay",
          "#node-input-message",
          "#node-input-action",
          "#node-input-connectTimeout",
          "#node-input-commandTimeout",
          "#node-input-deadline",
          "#node-input-store",
        ]),
      ).eql({
        "#node-input-name": "",
        "#node-input-preset": "linux",
        "#node-input-delay": "1",
        "#node-input-message": "",
        "#node-input-action": "shutdown",
        "#node-input-connectTimeout": "10",
        "#node-input-commandTimeout": "30",
        "#node-input-deadline": "60",
        "#node-input-store": "",
      });
      const allowed = await tray(page)
        .locator(".ssh-shutdown-allowed:checked")
        .evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
      should(allowed).eql(["shutdown", "cancel", "check", "simulate", "prepare"], "every action allowed by default");
      should(await fields(page, ["#node-input-phaseDeadline", "#node-input-keepAlive", "#node-input-keepFor", "#node-input-healthEvery"])).eql({
        "#node-input-phaseDeadline": "120",
        "#node-input-keepAlive": true,
        "#node-input-keepFor": "60",
        "#node-input-healthEvery": "0",
      });
      should(await tray(page).locator("#node-input-hosts-container > li").count()).equal(0, "no host by default");
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: false, errors: ["hosts"], triangle: true }, "Done with no host: still invalid");

      await openDialog(page, id);
      await tray(page).locator(".node-input-hosts-container-row .red-ui-editableList-addButton").click();
      const row = tray(page).locator("#node-input-hosts-container > li").first();
      should(await row.locator("select").inputValue()).equal("_ADD_");
      await openTray(page, () => row.locator("button").click());
      await checkDialogTexts(page, "en-US");
      should(
        await fields(page, [
          "#node-config-input-name",
          "#node-config-input-address",
          "#node-config-input-port",
          "#node-config-input-username",
          "#node-config-input-privateKey",
          "#node-config-input-keyFile",
          "#node-config-input-passphrase",
          "#node-config-input-password",
          "#node-config-input-fingerprints",
          "#node-config-input-acceptAnyHostKey",
        ]),
      ).eql({
        "#node-config-input-name": "",
        "#node-config-input-address": "",
        "#node-config-input-port": "22",
        "#node-config-input-username": "",
        "#node-config-input-privateKey": "",
        "#node-config-input-keyFile": "",
        "#node-config-input-passphrase": "",
        "#node-config-input-password": "",
        "#node-config-input-fingerprints": "",
        "#node-config-input-acceptAnyHostKey": false,
      });
      should(await tray(page).locator("#ssh-host-nopin-tip").isVisible()).be.true("nothing pinned: the warning shows");
      should(await marked(page, "#node-config-input-address")).be.true("the empty address is marked");
      await typeInto(page, "#node-config-input-address", "127.0.0.1");
      await typeInto(page, "#node-config-input-port", "0");
      await typeInto(page, "#node-config-input-username", "nut");
      await typeInto(page, "#node-config-input-fingerprints", "the host key I saw yesterday");
      should(await marked(page, "#node-config-input-address")).be.false();
      should(await marked(page, "#node-config-input-port")).be.true("port 0 is marked");
      should(await marked(page, "#node-config-input-fingerprints")).be.true("a fingerprint that is not SHA256:… is marked");
      await dialogDone(page, "#node-config-dialog-ok");
      const host = await row.locator("select").inputValue();
      should(host).not.equal("_ADD_", "the new ssh-host is selected in the row");
      should(await validity(page, host)).eql({ valid: false, errors: ["fingerprints", "port"], triangle: true });

      await openTray(page, () => row.locator("button").click());
      await typeInto(page, "#node-config-input-port", String(closedPort));
      should(await marked(page, "#node-config-input-port")).be.false();
      await typeInto(page, "#node-config-input-fingerprints", FINGERPRINT);
      should(await marked(page, "#node-config-input-fingerprints")).be.false();
      should(await tray(page).locator("#ssh-host-nopin-tip").isVisible()).be.false("pinned: no warning");
      await dialogDone(page, "#node-config-dialog-ok");
      should(await validity(page, host)).eql({ valid: true, errors: [], triangle: false });

      // Guests first: Docker shows its project list and timeout only; a bad project name is marked; the preview shows each step
      const visible = (sel: string): Promise<boolean> => tray(page).locator(sel).locator("xpath=ancestor::div[contains(@class,'form-row')]").isVisible();
      should(await visible("#node-input-guestProjects")).be.false("no guests by default: their options are hidden");
      await tray(page).locator("#node-input-guests").selectOption("docker");
      await typeInto(page, "#node-input-guestProjects", "web Media");
      should(await marked(page, "#node-input-guestProjects")).be.true("Compose project names are lowercase");
      await typeInto(page, "#node-input-guestProjects", "web db");
      should(await marked(page, "#node-input-guestProjects")).be.false();
      should(await visible("#node-input-guestTimeout")).be.true();
      should(await visible("#node-input-guestTag")).be.false("a tag is for Proxmox");
      should(await visible("#node-input-guestForce")).be.false("docker compose down has its own stop timeout");
      await page.waitForFunction(() => document.querySelectorAll("#ssh-shutdown-preview b").length === 9);
      const preview = await tray(page)
        .locator("#ssh-shutdown-preview > div")
        .evaluateAll((rows) => rows.map((r) => r.textContent ?? ""));
      should(preview.slice(0, 3)).eql([
        "before (docker compose down web, up to 150 s): sudo -n /usr/bin/docker compose -p web down --timeout 120",
        "before (docker compose down db, up to 150 s): sudo -n /usr/bin/docker compose -p db down --timeout 120",
        "shutdown: sudo -n /sbin/shutdown -h +1 'UPS power failure: this host is shutting down'",
      ]);
      should(preview.at(-1)).equal(
        "sudoers (guests): nut ALL=(root) NOPASSWD: /usr/bin/docker compose -p web down --timeout 120, /usr/bin/docker compose -p db down --timeout 120",
      );
      await tray(page).locator("#node-input-guests").selectOption("none");
      await typeInto(page, "#node-input-guestProjects", "");

      await tray(page).locator("#node-input-action").selectOption("simulate");
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: true, errors: [], triangle: false });
      made.shutdown = id;
      made.host = host;
    });

    it("wake-hosts (wake when power returns): documented defaults; no host and a broadcast that is not IPv4 marked invalid; the ssh-host's MAC validated; fixed, Done", async () => {
      should.exist(made.host, "after the ssh-shutdown test, which made the ssh-host");
      const id = await dropFromPalette(page, "wake-hosts", 5);
      should(await validity(page, id)).eql({ valid: false, errors: ["hosts"], triangle: true }, "no host yet");
      await openDialog(page, id);
      await checkDialogTexts(page, "en-US");
      should(
        await fields(page, [
          "#node-input-name",
          "#node-input-minCharge",
          "#node-input-stable",
          "#node-input-broadcast",
          "#node-input-wolPort",
          "#node-input-repeat",
          "#node-input-deadline",
          "#node-input-store",
        ]),
      ).eql({
        "#node-input-name": "",
        "#node-input-minCharge": "50",
        "#node-input-stable": "300",
        "#node-input-broadcast": "255.255.255.255",
        "#node-input-wolPort": "9",
        "#node-input-repeat": "10",
        "#node-input-deadline": "600",
        "#node-input-store": "",
      });
      should(await tray(page).locator("#node-input-hosts-container > li").count()).equal(0, "no host by default");
      await typeInto(page, "#node-input-broadcast", "192.168.1.256");
      should(await marked(page, "#node-input-broadcast")).be.true("not an IPv4 address");
      await typeInto(page, "#node-input-broadcast", "192.168.1.255");
      should(await marked(page, "#node-input-broadcast")).be.false();
      await tray(page).locator(".node-input-hosts-container-row .red-ui-editableList-addButton").click();
      const row = tray(page).locator("#node-input-hosts-container > li").first();
      await row.locator("select").selectOption(made.host);
      await openTray(page, () => row.locator("button").click());
      should(await fields(page, ["#node-config-input-mac"])).eql({ "#node-config-input-mac": "" });
      should(await marked(page, "#node-config-input-mac")).be.false("no MAC is allowed (it is optional)");
      await typeInto(page, "#node-config-input-mac", "aa:bb:cc:dd:ee");
      should(await marked(page, "#node-config-input-mac")).be.true("five bytes are not a MAC");
      await typeInto(page, "#node-config-input-mac", "AA-BB-CC-DD-EE-0F");
      should(await marked(page, "#node-config-input-mac")).be.false();
      await dialogDone(page, "#node-config-dialog-ok");
      await dialogDone(page);
      should(await validity(page, id)).eql({ valid: true, errors: [], triangle: false });
      made.wake = id;
    });

    it("Deploy: the editor is clean, one success notification, and GET /flows holds what was typed", async () => {
      should(Object.keys(made).sort()).eql(["aggregate", "host", "latch", "server", "shutdown", "tiers", "upsIn", "wake"], "every dialog test ran");
      await deployNotified(page);
      const flows = await flowsOnServer(nr.url);
      const byId = (id: string) => {
        const n = flows.find((x) => x.id === id);
        should.exist(n, `${id} deployed`);
        return n;
      };
      const tiers = byId(made.tiers);
      should(tiers.name).equal("e2e tiers");
      should(tiers.tiers).eql([
        { name: "backup", charge: 95 },
        { name: "storage", charge: 50 },
        { name: "production", charge: 20 },
        { name: "everything", charge: 10, critical: true },
      ]);
      const aggregate = byId(made.aggregate);
      should(aggregate.sources).eql([
        { topic: "ups1@127.0.0.1:3493", power: 1 },
        { topic: "ups2@127.0.0.1:3493", power: 1 },
      ]);
      should(String(aggregate.confirm)).equal("10");
      should([byId(made.latch).name, byId(made.latch).key]).eql(["e2e latch", "topic"]);
      should([byId(made.upsIn).ups, byId(made.upsIn).server]).eql(["ups1", made.server]);
      should([byId(made.server).host, String(byId(made.server).port)]).eql(["127.0.0.1", String(closedPort)]);
      should([byId(made.shutdown).hosts, byId(made.shutdown).action]).eql([[made.host], "simulate"]);
      const host = byId(made.host);
      should([host.address, String(host.port), host.username, host.fingerprints, host.mac]).eql([
        "127.0.0.1",
        String(closedPort),
        "nut",
        FINGERPRINT,
        "AA-BB-CC-DD-EE-0F",
      ]);
      should([byId(made.wake).hosts, byId(made.wake).broadcast, String(byId(made.wake).minCharge)]).eql([[made.host], "192.168.1.255", "50"]);
      should(await errorNotes(page)).eql([]);
    });

    it("Import ▸ Examples lists the eight examples of the package; the progressive one, imported through the dialog and deployed: no error, no invalid or unknown node, every node shows its status", async () => {
      const notesFrom = await page.evaluate(() => (window as unknown as EditorWindow).e2eNotes.length);
      await page.evaluate(() => (window as unknown as EditorWindow).RED.actions.invoke("core:show-examples-import-dialog"));
      const browser = page.locator(".red-ui-clipboard-dialog-tab-library:visible");
      const expected = exampleFiles().map((f) => f.replace(/\.json$/, ""));
      // The package's folder, expanded (clicked again if a refresh of the tree swallowed the click).
      const folder = page.locator(
        `.red-ui-clipboard-dialog-tab-library:visible li:has(> .red-ui-editableList-item-content > .red-ui-treeList-label .red-ui-treeList-label-text:text-is("${MODULE}"))`,
      );
      const items = folder.locator("ol .red-ui-treeList-label-text");
      for (let attempt = 1; ; attempt++) {
        const open = await folder.locator("> .red-ui-editableList-item-content").evaluate((e) => e.classList.contains("expanded"));
        if (!open) await folder.locator(".red-ui-treeList-label-text").first().click();
        if (
          await items
            .nth(expected.length - 1)
            .waitFor({ timeout: 5000 })
            .then(
              () => true,
              () => false,
            )
        )
          break;
        should(attempt).be.below(3, `the examples of ${MODULE} do not show in the dialog: ${await browser.innerText()}`);
      }
      const listed = await items.allInnerTexts();
      should(listed).eql(expected);
      should(listed).have.length(8);

      const progressive = expected.find((e) => e.startsWith("01"));
      should(progressive).be.ok();
      await browser.locator(".red-ui-treeList-label-text", { hasText: progressive }).click();
      await page.locator("#red-ui-clipboard-dialog-ok:not(.ui-state-disabled)").click();
      await page.locator("#red-ui-clipboard-dialog-ok").waitFor({ state: "hidden" });

      // The example's nodes, found by name in the tab it brought.
      const example = loadExample("01");
      const tabLabel = String(example.find((n) => n.type === "tab")?.label);
      await page.waitForFunction((label) => {
        let found = false;
        (window as unknown as EditorWindow).RED.nodes.eachWorkspace((w) => {
          if (w.label === label) found = true;
        });
        return found;
      }, tabLabel);
      const imported = await page.evaluate((label) => {
        const R = (window as unknown as EditorWindow).RED;
        let tab = "";
        R.nodes.eachWorkspace((w) => {
          if (w.label === label) tab = w.id;
        });
        const nodes: Array<{ id: string; type: string; name: string; valid: boolean | undefined }> = [];
        R.nodes.eachNode((n) => {
          if (n.z === tab) nodes.push({ id: n.id, type: n.type, name: String(n.name ?? ""), valid: n.valid });
        });
        R.nodes.eachConfig((n) => nodes.push({ id: n.id, type: n.type, name: String(n.name ?? ""), valid: n.valid }));
        return { tab, nodes };
      }, tabLabel);
      // Show the imported flow, as a user clicks its tab.
      await page.locator(`#red-ui-workspace-tabs #red-ui-tab-${imported.tab} a`).click();
      await page.waitForFunction((tab) => (window as unknown as EditorWindow).RED.workspaces.active() === tab, imported.tab);
      const mine = imported.nodes.filter((n) => example.some((e) => e.type === n.type && String(e.name ?? "") === n.name));
      // (the editor keeps junctions apart from nodes)
      should(mine.length).equal(example.filter((n) => n.type !== "tab" && n.type !== "junction").length, "every node of the example is in the editor");
      should(imported.nodes.filter((n) => n.type === "unknown")).eql([], "no unknown node type");

      await deployNotified(page);
      const after = await page.evaluate(() => {
        const R = (window as unknown as EditorWindow).RED;
        const all: RedNode[] = [];
        R.nodes.eachNode((n) => {
          all.push(n);
        });
        R.nodes.eachConfig((n) => {
          all.push(n);
        });
        return all.filter((n) => n.type === "unknown" || n.valid === false).map((n) => `${n.type} ${n.id}`);
      });
      should(after).eql([], "no invalid or unknown node after deploy");

      // Statuses once the flow has settled: the NUT server of the example (127.0.0.1:3493) is
      // not there, so both UPSes are unreachable and nothing else has happened.
      const nutRefused = await refused(3493);
      const statusOf: Record<string, RegExp> = {
        // "disconnected (ECONNREFUSED)" until the first reading fails, then "disconnected".
        "nut-ups-in": nutRefused ? /^disconnected( \(ECONNREFUSED\))?$/ : /\S/,
        // Both UPSes report "server unreachable": no data, both stale.
        "ups-aggregate": nutRefused ? /^no data · stale 2$/ : /\S/,
        // No UPS can tell: the tier switch says so instead of guessing "on line power".
        "battery-tier-switch": nutRefused ? /^no data · stale 2$/ : /\S/,
        "outage-latch": /^armed · memory only, lost on redeploy$/,
        "wake-hosts": /^nothing to wake · memory only, lost on redeploy$/,
      };
      const onCanvas = mine.filter((n) => !CONFIG_TYPES.includes(n.type));
      for (const n of onCanvas.filter((x) => statusOf[x.type])) {
        const want = statusOf[n.type];
        await waitForStatus(page, n.id, want, { what: `${n.type} "${n.name}"` });
      }
      // The rest (ssh-shutdown: nothing has run; nut-command: disabled; the core nodes) show none.
      for (const n of onCanvas.filter((x) => !statusOf[x.type])) {
        should(await shownStatus(page, n.id)).equal("", `${n.type} "${n.name}" status`);
      }
      const notes = await page.evaluate((from) => (window as unknown as EditorWindow).e2eNotes.slice(from), notesFrom);
      should(notes.filter((x) => x.type === "error" || x.type === "warning")).eql([], "no error notification");
    });
  });

  describe("in French (fr)", () => {
    let ed: Editor;
    let page: Page;
    before(async () => {
      await deployFlow(flow());
      ed = await open("fr");
      page = ed.page;
      await page.waitForFunction(() => !!(window as unknown as EditorWindow).RED.nodes.node("fr-sd"));
    });
    after(async () => {
      await ed?.close();
    });
    afterEach(async function () {
      if (this.currentTest?.state === "failed") await closeDialogs(page);
      should(ed.pageErrors).eql([], "uncaught errors in the editor page");
    });

    paletteTests("fr", () => ed);

    it("the French palette labels differ from the English ones exactly where the fr locale has its own", () => {
      for (const p of PALETTE) {
        const own = localeText("fr", `${p.type}.paletteLabel`) !== undefined;
        should(p.label.fr !== p.label["en-US"]).equal(own, `${p.type}: "${p.label.fr}"`);
      }
    });

    /** Opens each dialog of the flow in turn (a config node's from its user's), runs `check(type)` on it, and cancels it. */
    async function eachDialog(check: (type: string) => Promise<void>): Promise<void> {
      for (const id of ["fr-in", "fr-agg", "fr-tiers", "fr-latch", "fr-sd", "fr-wake", "fr-cmd", "fr-gate"]) {
        const type = String(flow().find((n) => n.id === id)?.type);
        await openDialog(page, id);
        await check(type);
        if (type === "nut-ups-in") {
          await openTray(page, () => tray(page).locator("#node-input-btn-server-edit").click());
          await check("nut-server");
          await dialogDone(page, "#node-config-dialog-cancel");
        }
        if (type === "ssh-shutdown") {
          await openTray(page, () => tray(page).locator("#node-input-hosts-container > li button").first().click());
          await check("ssh-host");
          await dialogDone(page, "#node-config-dialog-cancel");
        }
        await dialogDone(page, "#node-dialog-cancel");
      }
    }

    it("every dialog, config dialogs included, shows the fr locale's texts, most of them different from the English ones", async () => {
      const report: Record<string, { checked: number; differFromEnglish: number }> = {};
      await eachDialog(async (type) => {
        report[type] = await checkDialogTexts(page, "fr");
      });
      should(Object.keys(report).sort()).eql([...ALL_TYPES].sort());
      for (const [type, r] of Object.entries(report)) {
        should(r.differFromEnglish).be.aboveOrEqual(r.checked / 2, `${type}: only ${r.differFromEnglish} of ${r.checked} texts differ from English`);
      }
    });

    it("no English is left in a French dialog: every text not translated through data-i18n (units, list rows, results) is one of the fr locale's, Node-RED's own, or data", async () => {
      // Node-RED's own texts (its buttons, "Add new …" of a config list), in either language: not the package's to translate.
      const core: RegExp[] = [];
      for (const ns of ["editor", "node-red"]) {
        for (const lng of ["fr", "en-US"]) {
          const res = await fetch(`${nr.url}/locales/${ns}?lng=${lng}`);
          should(res.status).equal(200, `${ns} catalog in ${lng}`);
          core.push(...textPatterns(await res.json()));
        }
      }
      const stores = await page.evaluate(() => (window as unknown as EditorWindow).RED.settings.context?.stores ?? []);
      const shown: Record<string, string[]> = {};
      const stray: string[] = [];
      await eachDialog(async (type) => {
        if (type === "ssh-shutdown") {
          // the command preview's captions come in a moment
          await page.waitForFunction(() => document.querySelectorAll("#ssh-shutdown-preview b").length === 4);
        }
        const own = textPatterns(JSON.parse(readFileSync(join(repoRoot, "locales", "fr", `${type}.json`), "utf8")));
        const french = (text: string): boolean => {
          if (!/\p{L}/u.test(text) || [...own, ...core].some((p) => p.test(text))) return true;
          // a locale's text followed by a store's name: "stockage par défaut (memory)"
          const m = /^(.+) \(([^()]+)\)$/.exec(text);
          return !!m && stores.includes(m[2]) && french(m[1]);
        };
        shown[type] = await untranslatedTexts(page);
        for (const text of shown[type]) if (!french(text)) stray.push(`${type}: "${text}"`);
        if (type === "battery-tier-switch") {
          // a tier added now gets a French name
          await tray(page).locator(".node-input-tiers-container-row .red-ui-editableList-addButton").click();
          const name = await tray(page).locator("#node-input-tiers-container > li .tier-name").last().inputValue();
          should(name).equal(String(localeText("fr", "battery-tier-switch.label.newTier")).replace("__number__", "2"));
        }
      });
      should(stray).eql([], "English left in the French dialogs");
      // The check saw what the dialogs' code writes: the tier rows' words and units, the preview's captions.
      for (const text of [localeText("fr", "battery-tier-switch.label.when"), localeText("fr", "battery-tier-switch.units.percentPerMinute")]) {
        should(shown["battery-tier-switch"].includes(String(text))).be.true(`"${text}" not among ${JSON.stringify(shown["battery-tier-switch"])}`);
      }
      should(shown["ssh-shutdown"].includes(String(localeText("fr", "ssh-shutdown.preview.sudoers")))).be.true(JSON.stringify(shown["ssh-shutdown"]));
    });

    it("the nodes on the workspace are labelled in French when they have no name", async () => {
      const labels = await page.evaluate(
        (ids) =>
          ids.map((id) =>
            Array.from(document.querySelectorAll(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] text.red-ui-flow-node-label-text`))
              .map((t) => t.textContent)
              .join(" "),
          ),
        ["fr-in", "fr-agg", "fr-tiers", "fr-latch", "fr-sd", "fr-wake"],
      );
      const hosts = String(localeText("fr", "ssh-shutdown.label.default")).replace("__count__", "1");
      should(labels).eql([
        "ups1", // the UPS it reads
        localeText("fr", "ups-aggregate.paletteLabel"),
        localeText("fr", "battery-tier-switch.paletteLabel"),
        localeText("fr", "outage-latch.paletteLabel"),
        `${hosts} [simulate]`,
        String(localeText("fr", "wake-hosts.label.default")).replace("__count__", "1"),
      ]);
    });

    it("a context store saved in a flow but not configured here is kept by the dialogs (not silently replaced by the default)", async () => {
      for (const id of ["fr-sd", "fr-latch", "fr-agg"]) {
        await page.evaluate((nid) => {
          (window as unknown as EditorWindow).RED.nodes.node(nid)!.store = "store-from-another-machine";
        }, id);
        await openDialog(page, id);
        should(await page.locator(".red-ui-tray #node-input-store").inputValue()).equal("store-from-another-machine", id);
        await dialogDone(page);
        should(await page.evaluate((nid) => (window as unknown as EditorWindow).RED.nodes.node(nid)?.store, id)).equal("store-from-another-machine", id);
      }
    });

    it("statuses are in the language Node-RED runs in (here en-US), whatever the browser's", async () => {
      // ups-aggregate says "waiting for UPS states": nothing is wired to it. Node-RED renders it
      // (test/e2e/statuses-fr.test.ts: a French Node-RED), so a Status node gets the same words.
      const want = localeText("en-US", "ups-aggregate.status.waiting");
      should(want).be.ok();
      should(want).not.equal(localeText("fr", "ups-aggregate.status.waiting"));
      await waitForStatus(page, "fr-agg", want!, { what: "ups-aggregate" });
      should(await errorNotes(page)).eql([]);
    });
  });

  /**
   * An editor for the tests of the calling describe block: opened by `openIt` before them,
   * closed after; after each test, the dialogs a failed one left open are closed and the page
   * must have thrown nothing.
   */
  function editorForBlock(openIt: () => Promise<Editor>): { readonly page: Page } {
    let ed: Editor | undefined;
    before(async () => {
      ed = await openIt();
    });
    after(async () => {
      await ed?.close();
    });
    afterEach(async function () {
      if (this.currentTest?.state === "failed" && ed) await closeDialogs(ed.page);
      should(ed?.pageErrors).eql([], "uncaught errors in the editor page");
    });
    return {
      get page(): Page {
        should.exist(ed, "the editor is open");
        return ed.page;
      },
    };
  }

  describe("each dialog opened first, in a fresh editor: the shared code does not depend on which node's file loads first", () => {
    const editor = editorForBlock(async () => {
      await deployFlow(flow());
      return openEditor(nr.url, { locale: "en-US" });
    });

    /** Reloads the editor: a new page, no dialog opened yet. */
    async function fresh(): Promise<Page> {
      const { page } = editor;
      await page.reload({ waitUntil: "domcontentloaded" });
      await page.waitForFunction(
        () => {
          const loading = document.querySelector<HTMLElement>("#red-ui-loading-progress");
          const w = window as unknown as Partial<EditorWindow>;
          return !!w.RED?.nodes?.node("fr-sd") && (!loading || loading.style.display === "none");
        },
        undefined,
        { timeout: 60000 },
      );
      await page.locator("#red-ui-main-container").waitFor({ state: "visible" });
      return page;
    }

    it("covers every node type", () => {
      should(FIRST.map((f) => f.type).sort()).eql([...ALL_TYPES].sort());
    });

    for (const f of FIRST) {
      it(`${f.type}: its dialog opened first works (texts, validators, shared helpers)`, async () => {
        await checkDialogWorks(await fresh(), f);
      });
    }
  });

  // The editor loads a node file's <script src> the same way since Node-RED 1.3 (appendConfig in red.js):
  // shown here on the oldest release the package accepts, in the default run.
  if (targetRuntime === "node-red") {
    describe(`the oldest editor the package supports, ${runtimeLabel("node-red-3")}`, () => {
      let old: NodeRedProcess | undefined;
      const editor = editorForBlock(async () => {
        old = await startNodeRed({ port: await freePort(), runtime: "node-red-3", flows: flow() });
        const ed = await openEditor(old.url, { locale: "en-US" });
        await ed.page.waitForFunction(() => !!(window as unknown as EditorWindow).RED.nodes.node("fr-sd"));
        return ed;
      });
      // (after the editor is closed)
      after(async () => {
        if (old) {
          await old.stop();
          removeUserDir(old.userDir);
        }
      });

      it("ssh-shutdown's dialog, the first opened, works; then nut-ups-in's List UPSes", async () => {
        for (const type of ["ssh-shutdown", "nut-ups-in"]) {
          const f = FIRST.find((x) => x.type === type);
          should.exist(f);
          await checkDialogWorks(editor.page, f);
        }
      });

      it("the dialogs' shared code is served at resources/<package>/, every node's editor file loads it, and the editor defines it once", async () => {
        should.exist(old);
        await checkSharedCode(old.url, editor.page);
      });
    });
  }
});
