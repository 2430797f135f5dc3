/**
 * The Node-RED editor in real headless Chromium (Debian's `chromium`, driven
 * by playwright-core; Playwright never downloads a browser here).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { findExecutable } from "./system";

export const chromiumPath = findExecutable(["/usr/bin/chromium", "/usr/bin/chromium-browser"]);

export interface Editor {
  ctx: BrowserContext;
  page: Page;
  /** Uncaught errors of the editor page. */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Open the editor at `baseUrl` in a fresh profile with the given browser
 * language; with `token` (see NodeRedProcess.token) already logged in.
 */
export async function openEditor(baseUrl: string, locale = "en-US", token?: string): Promise<Editor> {
  if (!chromiumPath) throw new Error("chromium is not installed (apt-get install -y chromium)");
  const profile = mkdtempSync(join(tmpdir(), "nut-shutdown-chrome-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    locale,
    viewport: { width: 1500, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", `--lang=${locale}`],
  });
  if (token) {
    // Where the editor keeps the tokens it got at login.
    const tokens = JSON.stringify({ access_token: token, expires_in: 604800, token_type: "Bearer" });
    await ctx.addInitScript((t: string) => (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem("auth-tokens", t), tokens);
  }
  const close = async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  };
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  try {
    await page.goto(baseUrl + "/", { waitUntil: "domcontentloaded" });
    // Runs in the page: typed through globalThis so the test project needs no DOM lib.
    // The loading bar is hidden (not removed) once the palette and the flows are in.
    await page.waitForFunction(() => {
      const g = globalThis as unknown as {
        RED?: { nodes?: { getType?: (t: string) => unknown } };
        document: { querySelector(s: string): { style: { display: string } } | null };
      };
      const loading = g.document.querySelector("#red-ui-loading-progress");
      return !!g.RED?.nodes?.getType?.("inject") && (!loading || loading.style.display === "none");
    }, undefined, { timeout: 60000 });
    await page.locator("#red-ui-main-container").waitFor({ state: "visible" });
  } catch (err) {
    await close();
    throw err;
  }
  return { ctx, page, pageErrors, close };
}
