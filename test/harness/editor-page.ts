/**
 * Page helpers of the editor tests (test/e2e/editor.test.ts,
 * test/integration/nut-editor.test.ts and ssh-editor.test.ts): acting on a
 * Node-RED editor page in Chromium as a user does (drag from the palette,
 * open a node's dialog, type into a field, Done, Deploy) and reading what it
 * shows (field values, invalid marks, a node's status, the help), each
 * waiting until the editor has finished moving. Open the page with
 * tools/browser.ts.
 */
import should from "./should";
import type { Page } from "playwright-core";

/** What the tests read of the editor's globals (in `page.evaluate`, which runs in the page). */
export interface RedNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  label?: string;
  valid?: boolean;
  [k: string]: unknown;
}
export interface Jq {
  (s: unknown): Jq;
  length: number;
  is(s: string): boolean;
  text(): string;
  val(): unknown;
  attr(name: string): string | undefined;
  find(s: string): Jq;
  first(): Jq;
  last(): Jq;
  parent(): Jq;
  closest(s: string): Jq;
  filter(f: (i: number, e: unknown) => boolean): Jq;
  map<T>(f: (i: number, e: unknown) => T): { get(): T[] };
  prop(name: string): unknown;
  data(key: string): unknown;
}
export interface EditorWindow {
  RED: {
    nodes: {
      node(id: string): RedNode | null;
      dirty(): boolean;
      eachNode(cb: (n: RedNode) => void): void;
      eachConfig(cb: (n: RedNode) => void): void;
      eachWorkspace(cb: (n: RedNode) => void): void;
      getType(t: string): { category: string; set: { module: string } } | null;
    };
    workspaces: { active(): string };
    editor: { editConfig(name: string, type: string, id: string): void };
    settings: { context?: { default: string; stores: string[] } };
    actions: { invoke(name: string): void };
    sidebar: { help: { show(type: string): void } };
    i18n: { lang(): string };
    notify: (...args: unknown[]) => unknown;
  };
  $: Jq;
  e2eNotes: Array<{ text: string; type: string }>;
  /** The dialogs' shared code (resources/nut-shutdown-editor.js). */
  NutShutdownEditor?: Record<string, unknown>;
}

/** The status text the editor shows under a node (translated), "" when none. */
export async function shownStatus(page: Page, id: string): Promise<string> {
  return page.evaluate((nodeId) => {
    const el = document.querySelector(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${nodeId}"] .red-ui-flow-node-status-label`);
    return el?.textContent ?? "";
  }, id);
}

/** The help sidebar for `type`: its title (palette label) and its summary sentence. */
export async function helpShown(page: Page, type: string): Promise<{ title: string; summary: string }> {
  await page.evaluate((t) => (window as unknown as EditorWindow).RED.sidebar.help.show(t), type);
  await page.waitForFunction(() => (window as unknown as EditorWindow).$(".red-ui-help-title").is(":visible"), undefined, { timeout: 10000 });
  return page.evaluate(() => {
    const $ = (window as unknown as EditorWindow).$;
    const title = $(".red-ui-help-title");
    return { title: title.text(), summary: title.parent().find("p").first().text() };
  });
}

/** Drags `type` from the (filtered) palette onto the workspace with real mouse moves; returns the new node's id. */
export async function dropFromPalette(page: Page, type: string, slot: number): Promise<string> {
  const idsOf = () =>
    page.evaluate((t) => {
      const ids: string[] = [];
      (window as unknown as EditorWindow).RED.nodes.eachNode((n) => {
        if (n.type === t) ids.push(n.id);
      });
      return ids;
    }, type);
  const before = await idsOf();
  await page.locator("#red-ui-palette-search input").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.type(type);
  // Only this node left, and the palette's slide animations over (a moving target drops nothing).
  await page.waitForFunction((t) => {
    const $ = (window as unknown as EditorWindow).$;
    const shown = $(".red-ui-palette-node:visible");
    return shown.length === 1 && shown.attr("data-palette-type") === t && $(":animated").length === 0;
  }, type);
  const node = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  await node.scrollIntoViewIfNeeded();
  const from = await node.boundingBox();
  const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
  should.exist(from);
  should.exist(chart);
  const to = { x: chart.x + 160 + 200 * (slot % 3), y: chart.y + 80 + 100 * Math.floor(slot / 3) };
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 15 });
  await page.mouse.move(to.x + 10, to.y + 5, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(
    ([t, n]) => {
      let count = 0;
      (window as unknown as EditorWindow).RED.nodes.eachNode((x) => {
        if (x.type === t) count++;
      });
      return count > n;
    },
    [type, before.length] as const,
  );
  const added = (await idsOf()).filter((id) => !before.includes(id));
  should(added.length).equal(1, `one ${type} dropped`);
  return added[0];
}

export const tray = (page: Page) => page.locator(".red-ui-tray").last();

/** Double-clicks the node on the workspace and waits for its edit dialog. */
export async function openDialog(page: Page, id: string): Promise<void> {
  await openTray(page, () => page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`).dblclick());
}

/**
 * Runs `click` and waits until the edit dialog it opens is built and in place: its buttons
 * show at once, its form only once the node's credentials are loaded, then it slides in
 * (and a dialog opened from a dialog takes the place of its parent in the page).
 */
export async function openTray(page: Page, click: () => Promise<void>): Promise<void> {
  await page.evaluate(() =>
    document.querySelectorAll<HTMLElement>("#red-ui-editor-stack > .red-ui-tray").forEach((t) => {
      t.dataset.e2eSeen = "1";
    }),
  );
  await click();
  await topTrayInPlace(page, true);
}

/** The top dialog has finished sliding in (`fresh`: and it is not one that was open before). */
export async function topTrayInPlace(page: Page, fresh: boolean): Promise<void> {
  await page.waitForFunction((mustBeFresh) => {
    const trays = document.querySelectorAll<HTMLElement>("#red-ui-editor-stack > .red-ui-tray");
    const top = trays[trays.length - 1];
    if (!top) return !mustBeFresh;
    const stack = document.getElementById("red-ui-editor-stack")?.getBoundingClientRect();
    return !(mustBeFresh && top.dataset.e2eSeen) && top.style.right === "0px" && !!stack && Math.abs(top.getBoundingClientRect().right - stack.right) < 1;
  }, fresh);
  await settled(page);
}

/** No jQuery animation running (palette categories and lists slide). */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as EditorWindow).$(":animated").length === 0);
}

/** Clicks Done (or Add / Update / Cancel) and waits for that dialog to close and its parent, if any, to be back. */
export async function dialogDone(page: Page, button = "#node-dialog-ok"): Promise<void> {
  await page.locator(button).click();
  await page.locator(button).waitFor({ state: "detached" });
  await topTrayInPlace(page, false);
}

/** Cancels every open edit dialog, the top one first. */
export async function closeDialogs(page: Page): Promise<void> {
  for (const cancel of ["#node-config-dialog-cancel", "#node-dialog-cancel"]) {
    if (await page.locator(cancel).isVisible()) await dialogDone(page, cancel);
  }
}

/** The values the top dialog shows: checkbox → checked, else the field's value. */
export async function fields(page: Page, selectors: string[]): Promise<Record<string, unknown>> {
  return page.evaluate((sels) => {
    const $ = (window as unknown as EditorWindow).$;
    const t = $(".red-ui-tray").last();
    const out: Record<string, unknown> = {};
    for (const s of sels) {
      const el = t.find(s);
      out[s] = el.length === 0 ? "(missing)" : el.is(":checkbox") ? el.prop("checked") : el.val();
    }
    return out;
  }, selectors);
}

/** Types into a field of the top dialog as a user does (the editor validates on change). */
export async function typeInto(page: Page, selector: string, value: string): Promise<void> {
  const el = tray(page).locator(selector);
  await el.fill(value);
  await el.dispatchEvent("change");
}

/** Whether the top dialog marks the field as invalid (red border). */
export function marked(page: Page, selector: string): Promise<boolean> {
  return tray(page)
    .locator(selector)
    .evaluate((e) => e.classList.contains("input-error"));
}

/** The editor's verdict on a node: valid flag, failing properties, red triangle on the workspace / config sidebar. */
export async function validity(page: Page, id: string): Promise<{ valid: boolean | undefined; errors: string[]; triangle: boolean }> {
  return page.evaluate((nodeId) => {
    const w = window as unknown as EditorWindow;
    const n = w.RED.nodes.node(nodeId);
    const onCanvas = document.querySelector(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${nodeId}"] .red-ui-flow-node-error`);
    // Config nodes: the entry of the Configuration nodes sidebar.
    const entry = w.$(".red-ui-palette-node-config").filter((_i, e) => w.$(e).closest("li").data("data-node-id") === nodeId);
    const triangle = onCanvas ? !onCanvas.classList.contains("hide") : entry.find(".red-ui-flow-node-error").length > 0;
    return { valid: n?.valid, errors: ((n?.validationErrors as string[] | undefined) ?? []).slice().sort(), triangle };
  }, id);
}

/** Deploys with the header button and waits until the editor is clean; fails if a dialog stops the deploy. */
export async function deploy(page: Page): Promise<void> {
  await page.locator("#red-ui-header-button-deploy").click();
  await page.waitForFunction(() => {
    const w = window as unknown as EditorWindow;
    return !w.RED.nodes.dirty() || w.$(".ui-dialog:visible").length > 0;
  });
  const stuck = await page.evaluate(() => {
    const w = window as unknown as EditorWindow;
    return w.RED.nodes.dirty() ? w.$(".ui-dialog:visible").text() : null;
  });
  should(stuck).equal(null, "deploy stopped at a dialog");
}

/**
 * Waits until the status under node `id` matches `want` (the text, or a
 * pattern); fails with what it shows instead, naming the node as `what`.
 */
export async function waitForStatus(page: Page, id: string, want: string | RegExp, opts: { timeoutMs?: number; what?: string } = {}): Promise<void> {
  const pattern = typeof want === "string" ? null : { source: want.source, flags: want.flags };
  await page
    .waitForFunction(
      ([nodeId, text, re]) => {
        const shown =
          document.querySelector(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${nodeId}"] .red-ui-flow-node-status-label`)?.textContent ?? "";
        return re ? new RegExp(re.source, re.flags).test(shown) : shown === text;
      },
      [id, typeof want === "string" ? want : "", pattern] as const,
      { timeout: opts.timeoutMs ?? 15000 },
    )
    .catch(async () => {
      throw new Error(`${opts.what ?? id} shows "${await shownStatus(page, id)}", expected ${typeof want === "string" ? JSON.stringify(want) : String(want)}`);
    });
}
