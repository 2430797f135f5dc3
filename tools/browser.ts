/**
 * The Node-RED editor in real headless Chromium (Debian's `chromium`, driven
 * by playwright-core; Playwright never downloads a browser here). Used by the
 * editor tests and by scripts/screenshot.ts.
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

export interface EditorOptions {
  /** Browser language (the editor follows it): "en-US" by default. */
  locale?: string;
  /** An admin API token (see NodeRedProcess.token): the editor opens logged in. */
  token?: string;
  viewport?: { width: number; height: number };
}

/** A fresh browser profile with one page (closed and removed by `close`). */
async function openBrowser(opts: EditorOptions): Promise<Editor> {
  if (!chromiumPath) throw new Error("chromium is not installed (apt-get install -y chromium)");
  const locale = opts.locale ?? "en-US";
  const profile = mkdtempSync(join(tmpdir(), "nut-shutdown-chrome-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    locale,
    viewport: opts.viewport ?? { width: 1500, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--lang=${locale}`,
    ],
  });
  if (opts.token) {
    // Where the editor keeps the tokens it got at login.
    const tokens = JSON.stringify({ access_token: opts.token, expires_in: 604800, token_type: "Bearer" });
    await ctx.addInitScript(
      (t: string) => (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem("auth-tokens", t),
      tokens,
    );
  }
  const close = async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  };
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  return { ctx, page, pageErrors, close };
}

/** Open the editor at `baseUrl` in a fresh browser profile; resolves once the palette and flows are in. */
export async function openEditor(baseUrl: string, opts: EditorOptions = {}): Promise<Editor> {
  const ed = await openBrowser(opts);
  const page = ed.page;
  try {
    await page.goto(baseUrl + "/", { waitUntil: "domcontentloaded" });
    // Runs in the page: typed through globalThis so the test project needs no DOM lib.
    // The loading bar is hidden (not removed) once the palette and the flows are in.
    await page.waitForFunction(
      () => {
        const g = globalThis as unknown as {
          RED?: { nodes?: { getType?: (t: string) => unknown } };
          document: { querySelector(s: string): { style: { display: string } } | null };
        };
        const loading = g.document.querySelector("#red-ui-loading-progress");
        return !!g.RED?.nodes?.getType?.("inject") && (!loading || loading.style.display === "none");
      },
      undefined,
      { timeout: 60000 },
    );
    await page.locator("#red-ui-main-container").waitFor({ state: "visible" });
  } catch (err) {
    await ed.close();
    throw err;
  }
  return ed;
}

/**
 * Open a FlowFuse Dashboard 2.0 page (`baseUrl` + `path`, e.g. "/dashboard")
 * in a fresh browser profile; resolves once its first widget is shown.
 */
export async function openDashboard(baseUrl: string, path: string, opts: EditorOptions = {}): Promise<Editor> {
  const db = await openBrowser(opts);
  try {
    await db.page.goto(baseUrl + path, { waitUntil: "domcontentloaded" });
    await db.page.locator(".nrdb-ui-widget").first().waitFor({ state: "visible", timeout: 60000 });
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
