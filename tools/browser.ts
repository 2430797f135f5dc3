/**
 * The Node-RED editor in real headless Chromium (Debian's `chromium`, driven
 * by playwright-core; Playwright never downloads a browser here).
 */
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium, or null when it is not installed. */
export const chromiumPath =
  ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }) ?? null;

export interface Editor {
  ctx: BrowserContext;
  page: Page;
  /** Uncaught errors of the editor page. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Open the editor at `baseUrl` in a fresh profile with the given browser language. */
export async function openEditor(baseUrl: string, locale = "en-US", viewport = { width: 1500, height: 900 }): Promise<Editor> {
  if (!chromiumPath) throw new Error("chromium is not installed (apt-get install -y chromium)");
  const profile = mkdtempSync(join(tmpdir(), "nut-shutdown-chrome-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    locale,
    viewport,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", `--lang=${locale}`],
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(baseUrl + "/", { waitUntil: "domcontentloaded" });
  // Runs in the page: typed through globalThis so the test project needs no DOM lib.
  await page.waitForFunction(() => {
    // The loader's progress element stays in the page, hidden, once the editor is ready.
    const g = globalThis as unknown as {
      RED?: { nodes?: { getType?: (t: string) => unknown } };
      $: (s: string) => { is(state: string): boolean };
    };
    return !!g.RED?.nodes?.getType?.("inject") && !g.$("#red-ui-loading-progress").is(":visible");
  }, undefined, { timeout: 60000 });
  await page.locator("#red-ui-main-container").waitFor({ state: "visible" });
  return {
    ctx, page, pageErrors,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
