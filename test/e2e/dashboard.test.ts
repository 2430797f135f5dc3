/**
 * Example 05, the progressive plan with a FlowFuse Dashboard 2.0 page, in a
 * real node-red with @flowfuse/node-red-dashboard (a dev dependency: Node-RED
 * finds it in the repository's node_modules), read from the NUT simulator
 * through a simulated outage, its page in headless Chromium: the chart gets
 * the points of every UPS and the tier thresholds, the power state and its
 * summary are shown, the gauge follows the weakest charge, and the table
 * gets one row per shutdown of this outage. On Node-RED 3.1 too (the oldest
 * the package supports) when the run targets 4.1.
 *
 * And without the dashboard (not loaded): the example's name and
 * first comment say which package to install, the editor reports the `ui-…`
 * types unrecognised and asks before deploying, and a deploy waits for them.
 */
import should from "../harness/should";
import { chromiumPath, openDashboard, openEditor, type Editor } from "../../tools/browser";
import { exampleFiles, loadExample, pointAtNut, setOnType, setShutdownAction, type FlowNode } from "../../tools/example-flow";
import { startNutSim, type NutSim } from "../../tools/nut-sim";
import { DASHBOARD_MODULE, deployFlows, removeUserDir, startNodeRed, type NodeRedPackage, type NodeRedProcess } from "../harness/node-red";
import { runtimeInfo, targetRuntime } from "../harness/runtime";
import { requireComponent } from "../harness/system";

const DASHBOARD = DASHBOARD_MODULE;
const UI_TYPES = ["ui-base", "ui-page", "ui-group", "ui-chart", "ui-gauge", "ui-table", "ui-text"];
const THRESHOLDS = ["backup 90 %", "storage 50 %", "production 20 %", "everything 10 %"];

/** The example as the demo runs it: against `sim`, every shutdown simulated, the last step off, wake packets on loopback. */
function dashboardFlow(sim: NutSim): FlowNode[] {
  const flow = pointAtNut(loadExample("05"), sim.host, sim.port);
  setShutdownAction(flow, "simulate", ["simulate"]);
  setOnType(flow, "nut-command", { d: true });
  setOnType(flow, "wake-hosts", { broadcast: "127.0.0.1" });
  return flow;
}

/** The DOM id the dashboard gives the widget of the node named `name`. */
function widget(flow: FlowNode[], type: string, name: string): string {
  const n = flow.find((x) => x.type === type && x.name === name);
  if (!n) throw new Error(`example 05 has no ${type} named "${name}"`);
  return `#nrdb-ui-widget-${n.id}`;
}

function setUps(sim: NutSim, ups: string, status: string, charge: number): void {
  sim.setStatus(ups, status);
  sim.setVar(ups, "battery.charge", charge);
}

const runtimes: NodeRedPackage[] = targetRuntime === "node-red" ? ["node-red", "node-red-3"] : [targetRuntime];

for (const runtime of runtimes) {
  describe(`example 05: the dashboard in a real Node-RED ${runtimeInfo(runtime).version} and Chromium`, function () {
    this.timeout(180000);
    let sim: NutSim;
    let nr: NodeRedProcess | undefined;
    let page: Editor | undefined;

    before(async function () {
      requireComponent(this, "Chromium", chromiumPath ? null : "/usr/bin/chromium", "apt-get install -y chromium");
      sim = await startNutSim({ port: 0 });
      for (const ups of ["ups1", "ups2"]) sim.addUps(ups, { "ups.status": "OL", "battery.charge": 100, "battery.runtime": 1800, "ups.load": 30 }, ups);
    });
    after(async () => {
      await page?.close();
      if (nr) {
        await nr.stop();
        removeUserDir(nr.userDir);
      }
      await sim?.close();
    });

    it("draws the charges and the thresholds, shows the power state, the weakest charge and the shutdowns of this outage", async () => {
      const flow = dashboardFlow(sim);
      nr = await startNodeRed({ runtime, flows: flow, dashboard: true });
      await nr.waitForLog("Started flows", 30000);
      should(nr.log()).match(/Dashboard 2\.0 \(v[\d.]+\) started at \/dashboard/);
      page = await openDashboard(nr.url, "/dashboard");
      const p = page.page;
      const text = (type: string, name: string) => p.locator(`${widget(flow, type, name)} .nrdb-ui-text-value`);
      const gauge = p.locator(`${widget(flow, "ui-gauge", "weakest charge")} .nrdb-ui-gauge-value span`);
      const rows = p.locator(`${widget(flow, "ui-table", "shutdowns of this outage")} tbody tr`);
      // ECharts describes what it draws (series and points) in the chart's aria-label.
      const chart = p.locator(`${widget(flow, "ui-chart", "charge of every UPS")} [aria-label]`);
      const ups1 = `ups1@${sim.host}:${sim.port}`;
      const ups2 = `ups2@${sim.host}:${sim.port}`;

      await text("ui-text", "power").filter({ hasText: "on line power" }).waitFor({ timeout: 30000 });
      await gauge.filter({ hasText: /^100$/ }).waitFor({ timeout: 30000 });

      // Mains off: ups2, the weakest, at 85 % reaches the backup tier (90 %) and only that one.
      setUps(sim, "ups1", "OB DISCHRG", 95);
      setUps(sim, "ups2", "OB DISCHRG", 85);
      await rows.filter({ hasText: "backup-server" }).waitFor({ timeout: 60000 });
      await text("ui-text", "power")
        .filter({ hasText: /^on battery for \d+/ })
        .waitFor({ timeout: 30000 });
      await text("ui-text", "summary")
        .filter({ hasText: `${ups2} at 85 %` })
        .waitFor({ timeout: 30000 });
      await gauge.filter({ hasText: /^85$/ }).waitFor({ timeout: 30000 });
      should(await rows.filter({ hasText: "backup-server" }).innerText()).match(/simulate[\s\S]*backup-server: simulate, would run: sudo -n \/sbin\/shutdown/);

      // ups2 at 45 %: the storage step follows, production (20 %) does not.
      setUps(sim, "ups2", "OB DISCHRG", 45);
      await rows.filter({ hasText: "storage-server" }).waitFor({ timeout: 60000 });
      await gauge.filter({ hasText: /^45$/ }).waitFor({ timeout: 30000 });
      should((await rows.allInnerTexts()).map((r) => r.split(/\s+/).find((w) => w.endsWith("-server")))).eql(["backup-server", "storage-server"]);

      const drawn = (await chart.getAttribute("aria-label")) ?? "";
      for (const series of [ups1, ups2, ...THRESHOLDS]) should(drawn).containEql(`representing ${series}.`);
      // every point of a threshold line is the threshold; ups2's line went through 100, 85 and 45
      for (const t of THRESHOLDS) {
        const points = new RegExp(`representing ${t}\\.The data is as follows: ([^.]*)\\.`).exec(drawn)?.[1] ?? "";
        const ys = points.split(", ").filter((_, i) => i % 2 === 1);
        should(ys.length).be.above(1, `${t}: ${points}`);
        should([...new Set(ys)]).eql([t.split(" ")[1]]);
      }
      const ups2Points = new RegExp(`representing ${ups2.replace(/\./g, "\\.")}\\.The data is as follows: ([^.]*)\\.`).exec(drawn)?.[1] ?? "";
      const ups2Ys = ups2Points.split(", ").filter((_, i) => i % 2 === 1);
      for (const y of ["100", "85", "45"]) should(ups2Ys).containEql(y);

      should(nr.log()).not.match(/\[error\]/);
      should(page.pageErrors).eql([]);
    });
  });
}

describe(`example 05 without the dashboard installed (${runtimeInfo(targetRuntime).version})`, function () {
  this.timeout(120000);
  let nr: NodeRedProcess | undefined;
  let editor: Editor | undefined;

  before(async () => {
    // as for a user without it: the dashboard is not loaded (on the palette's deny list)
    nr = await startNodeRed();
    should((await fetch(`${nr.url}/nodes/${DASHBOARD}`)).status).equal(404);
  });
  after(async () => {
    await editor?.close();
    if (nr) {
      await nr.stop();
      removeUserDir(nr.userDir);
    }
  });

  it("names the package to install in its file name (Import ▸ Examples) and in its first comment", () => {
    should(exampleFiles().find((f) => f.startsWith("05"))).match(/needs @flowfuse node-red-dashboard/);
    const firstComment = loadExample("05").find((n) => n.type === "comment");
    should(firstComment?.name).containEql(`needs ${DASHBOARD}`);
    should(String(firstComment?.info)).containEql(`npm install ${DASHBOARD}`);
    should(String(firstComment?.info)).match(/do not confirm/);
  });

  it("imported in the editor: the ui- types are reported unrecognised, and Deploy asks before going on", async function () {
    requireComponent(this, "Chromium", chromiumPath ? null : "/usr/bin/chromium", "apt-get install -y chromium");
    if (!nr) throw new Error("no Node-RED");
    editor = await openEditor(nr.url);
    const page = editor.page;
    await page.evaluate((flow) => {
      (globalThis as unknown as { RED: { view: { importNodes(f: unknown, o: object): void } } }).RED.view.importNodes(flow, { addFlow: true });
    }, loadExample("05"));
    const note = await page.locator(".red-ui-notification", { hasText: "Imported unrecognised types" }).innerText();
    for (const t of UI_TYPES) should(note).containEql(t);
    should(note).not.match(/nut-|ups-|battery-|outage-|ssh-/);
    // the read-me comment that names the package came in with the rest
    const comments = await page.evaluate(() => {
      const names: string[] = [];
      (globalThis as unknown as { RED: { nodes: { eachNode(cb: (n: { type: string; name?: string }) => void): void } } }).RED.nodes.eachNode((n) => {
        if (n.type === "comment") names.push(String(n.name));
      });
      return names;
    });
    should(comments.filter((c) => c.includes(`needs ${DASHBOARD}`))).have.length(1);
    await page.locator("#red-ui-header-button-deploy").click();
    const confirm = page.locator(".red-ui-notification", { hasText: "unknown node types" });
    await confirm.waitFor();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    should(editor.pageErrors).eql([]);
  });

  it("deployed anyway: Node-RED waits for the missing ui- types (and starts no flow)", async () => {
    if (!nr) throw new Error("no Node-RED");
    const from = await deployFlows(nr, loadExample("05"));
    await nr.waitForLog(/Waiting for missing types to be registered:/, 30000, from);
    const missing = nr.log().slice(from);
    for (const t of UI_TYPES) should(missing).containEql(` - ${t}`);
    should(missing).not.match(/ - (nut-|ups-|battery-|outage-|ssh-)/);
    should(missing).not.match(/Started flows/);
  });
});
