/**
 * Regenerates docs/example-flow.png: the progressive example deployed by the
 * `npm start` demo as its simulated outage unfolds (the backup and storage
 * steps have passed), with the debug sidebar showing the plan; and
 * docs/dashboard.png: the demo's dashboard (example 05) at the same moment.
 * Takes ~1.5 min: the editor must be open before the steps fire (the sidebar
 * shows only what happens while it is connected).
 *
 *   npm run build && npx tsx scripts/screenshot.ts
 */
import { join, resolve } from "node:path";
import { openEditor } from "../tools/browser";
import { startDemo } from "../tools/demo-process";
import { freePort } from "../test/harness/system";

const docs = join(resolve(__dirname, ".."), "docs");
const out = join(docs, "example-flow.png");
const dashboardOut = join(docs, "dashboard.png");

async function main(): Promise<void> {
  const demo = await startDemo(await freePort(), 12);
  try {
    const ed = await openEditor(demo.url, { viewport: { width: 2240, height: 980 } });
    try {
      const page = ed.page;
      await page.evaluate(() => {
        const RED = (globalThis as unknown as { RED: { sidebar: { show(id: string): void }; menu: { setSelected(id: string, on: boolean): void } } }).RED;
        RED.sidebar.show("debug");
        RED.menu.setSelected("menu-item-palette", false); // more room for the flow
      });
      // The storage step and its (simulated) result are in the sidebar: the plan has visibly moved.
      await page.locator(".red-ui-debug-msg", { hasText: "storage-server: simulate" }).first().waitFor({ timeout: 150000 });
      await page.waitForTimeout(1500);
      await page.screenshot({ path: out });
      console.log(`wrote ${out}`);
      const db = await ed.ctx.newPage();
      await db.setViewportSize({ width: 1400, height: 900 });
      await db.goto(`${demo.url}/dashboard`);
      await db.locator(".nrdb-ui-table tbody tr", { hasText: "storage-server" }).waitFor({ timeout: 60000 });
      await db.waitForTimeout(1500); // the chart's animation
      await db.screenshot({ path: dashboardOut, fullPage: true });
      console.log(`wrote ${dashboardOut}`);
    } finally {
      await ed.close();
    }
  } finally {
    await demo.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
