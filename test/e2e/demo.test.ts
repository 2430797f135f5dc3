/**
 * `npm start` (scripts/start.ts), as a user sees it: the editor opens on the
 * progressive example, the simulated outage begins, and the debug sidebar
 * shows the power loss, the backup step passing and its simulated shutdown;
 * the dashboard whose address it prints (example 05) shows that shutdown too.
 */
import should from "../harness/should";
import { chromiumPath, openEditor, type Editor } from "../../tools/browser";
import { startDemo, type DemoProcess } from "../../tools/demo-process";
import { freePort, requireComponent } from "../harness/system";

describe("npm start: the demo against a simulated outage", function () {
  this.timeout(180000);
  let demo: DemoProcess | undefined;
  let editor: Editor | undefined;

  before(function () {
    requireComponent(this, "Chromium", chromiumPath ? null : "/usr/bin/chromium", "apt-get install -y chromium");
  });
  after(async () => {
    await editor?.close();
    await demo?.stop();
  });

  it("shows the plan unfolding in the debug sidebar, and only simulates", async () => {
    // 12 s into the script: the mains goes off at 20 s, the backup step follows ~13 s later.
    demo = await startDemo(await freePort(), 12);
    should(demo.log()).match(/every ssh-shutdown is on 'simulate'/);
    const dashboardUrl = /the dashboard \(example 05\): (http:\/\/127\.0\.0\.1:\d+\/dashboard) /.exec(demo.log())?.[1];
    should(dashboardUrl).equal(`${demo.url}/dashboard`);
    editor = await openEditor(demo.url);
    const page = editor.page;
    await page.evaluate(() => (globalThis as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show("debug"));
    const msg = (text: string) => page.locator(".red-ui-debug-msg", { hasText: text }).first();
    await msg("Power lost").waitFor({ timeout: 60000 });
    await msg("Tier backup reached").waitFor({ timeout: 60000 });
    await msg("backup-server: simulate, would run").waitFor({ timeout: 30000 });
    const texts = (await page.locator(".red-ui-debug-msg").allInnerTexts()).join("\n");
    should(texts).not.match(/storage-server/, "storage must wait for 50 %");
    const dashboard = await editor.ctx.newPage();
    await dashboard.goto(String(dashboardUrl));
    await dashboard.locator(".nrdb-ui-table tbody tr", { hasText: "backup-server: simulate, would run" }).waitFor({ timeout: 30000 });
    should(demo.log()).match(/connected to upsd 127\.0\.0\.1:/);
    should(demo.log()).not.match(/\[error\]/);
    should(editor.pageErrors).eql([]);
  });
});
