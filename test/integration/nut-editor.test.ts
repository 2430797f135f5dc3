/**
 * The NUT nodes in a real Node-RED (built package, admin authentication)
 * against a real upsd, driven in headless Chromium: the editor endpoints'
 * permission (list-ups, and nut-command's list-commands), the palette entry
 * and icon, the dialog's List UPSes button, the deployed node's status,
 * labels and help in English and French; and
 * nut-command's dialog with List commands (descriptions, types, a value
 * checked against the variable's type).
 */
import should from "../harness/should";
import type { Page } from "playwright-core";
import { chromiumPath, openEditor, type Editor } from "../../tools/browser";
import { deploy, dialogDone, helpShown, openDialog, waitForStatus } from "../harness/editor-page";
import { startNutLab, nutLabMissing, NUT_LAB_INSTALL, type NutLab } from "../harness/nut-lab";
import { packageNotBuilt, removeUserDir, startNodeRed, type NodeRedProcess } from "../harness/node-red";
import { requireComponent } from "../harness/system";

describe("NUT nodes in the Node-RED editor (Chromium)", function () {
  this.timeout(120000);
  let lab: NutLab;
  let nr: NodeRedProcess;
  let adminToken: string;
  const editors: Editor[] = [];

  before(async function () {
    requireComponent(this, "upsd (NUT)", nutLabMissing(), NUT_LAB_INSTALL);
    requireComponent(this, "chromium", chromiumPath ? null : "no chromium binary", "apt-get install -y chromium");
    requireComponent(this, "the built package", packageNotBuilt(), "npm run build");
    lab = await startNutLab({ upses: 2 });
    nr = await startNodeRed({ adminAuth: true });
    adminToken = await nr.token("admin");
  });
  after(async () => {
    await Promise.all(editors.map((e) => e.close()));
    if (nr) {
      await nr.stop();
      removeUserDir(nr.userDir);
    }
    await lab?.stop();
  });

  const listUps = (token: string | null, body: object) =>
    fetch(`${nr.url}/nut-server/list-ups`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it("the List UPSes endpoint needs write permission: anonymous and read-only users get 401, an admin the list", async () => {
    const body = { host: lab.host, port: lab.port };
    should((await listUps(null, body)).status).equal(401);
    should((await listUps(await nr.token("viewer"), body)).status).equal(401);
    const ok = await listUps(adminToken, body);
    should(ok.status).equal(200);
    should(await ok.json()).eql({
      upses: [
        { name: "ups1", description: "NUT lab ups1" },
        { name: "ups2", description: "NUT lab ups2" },
      ],
    });
  });

  it("the list-commands endpoint (nut-command's dialog) needs write permission too, and lists what dummy-ups offers", async () => {
    const post = (token: string | null) =>
      fetch(`${nr.url}/nut-server/list-commands`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ host: lab.host, port: lab.port, ups: "ups1" }),
      });
    should((await post(null)).status).equal(401);
    should((await post(await nr.token("viewer"))).status).equal(401);
    const ok = await post(adminToken);
    should(ok.status).equal(200);
    const body = (await ok.json()) as { commands: unknown[]; variables: Array<{ name: string; type: string; description: string }> };
    should(body.commands).eql([{ name: "load.off", description: "Turn off the load immediately" }]);
    should(body.variables.find((v) => v.name === "battery.charge")).containDeep({ type: "NUMBER", description: "Battery charge (percent of full)" });
  });

  /** A logged-in editor page in the given browser locale, with the two NUT nodes deployed. */
  async function editor(locale: string, extra: object[] = []): Promise<Page> {
    const flows = [
      ...extra,
      { id: "tab1", type: "tab", label: "NUT" },
      { id: "srv1", type: "nut-server", name: "", host: lab.host, port: lab.port, usetls: false, tls: "", login: "", interval: 5, timeout: 5 },
      {
        id: "in1",
        type: "nut-ups-in",
        z: "tab1",
        name: "",
        server: "srv1",
        mode: "one",
        ups: "",
        interval: 1,
        alertInterval: 1,
        output: "change",
        vars: false,
        nocomm: 60,
        x: 200,
        y: 100,
        wires: [[]],
      },
    ];
    const res = await fetch(`${nr.url}/flows`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}`, "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(flows),
    });
    should(res.status).equal(204, `deploy: HTTP ${res.status}`);
    const ed = await openEditor(nr.url, { locale, token: adminToken });
    editors.push(ed);
    const page = ed.page;
    await page.waitForFunction(
      () => {
        const w = window as unknown as { RED?: { nodes?: { getType?(t: string): unknown; node?(id: string): unknown } } };
        return !!w.RED?.nodes?.getType?.("nut-ups-in") && !!w.RED.nodes.node?.("in1");
      },
      null,
      { timeout: 60000 },
    );
    return page;
  }

  it("English editor: palette entry with icon, List UPSes fills the dialog, the deployed node shows 'OL 100% 45 min'", async () => {
    const page = await editor("en-US");
    const pal = page.locator('.red-ui-palette-node[data-palette-type="nut-ups-in"]');
    should(await pal.locator(".red-ui-palette-label").innerText()).equal("nut ups in");
    should((await pal.locator(".red-ui-palette-icon").getAttribute("style")) ?? "").match(/nut-ups\.svg/);

    await openDialog(page, "in1");
    await page.locator(".red-ui-tray #node-input-nut-list-ups").waitFor({ state: "visible" });
    should((await page.locator('.red-ui-tray label[for="node-input-ups"]').innerText()).trim()).equal("UPS");
    should((await page.locator(".red-ui-tray #node-input-nut-list-ups").innerText()).trim()).equal("List UPSes");
    await page.locator(".red-ui-tray #node-input-nut-list-ups").click();
    const result = page.locator(".red-ui-tray #node-input-nut-list-result");
    await result.getByText("ups2").waitFor({ timeout: 15000 });
    should(await result.innerText()).match(/2 UPS found:\s*ups1 — NUT lab ups1\s*ups2 — NUT lab ups2/);
    const ups = page.locator(".red-ui-tray #node-input-ups");
    should(await ups.inputValue()).equal("ups1");
    should(await ups.evaluate((el) => el.classList.contains("input-error"))).be.false("filled: no longer marked invalid");
    // a listed name is a link that fills the field
    await result.locator("a.nut-shutdown-pick", { hasText: "ups2" }).click();
    should(await ups.inputValue()).equal("ups2");
    should(await ups.evaluate((el) => el.classList.contains("input-error"))).be.false();
    await dialogDone(page);
    await deploy(page);

    const status = page.locator('g.red-ui-flow-node-group[id="in1"] .red-ui-flow-node-status-label');
    await waitForStatus(page, "in1", "OL 100% 45 min", { timeoutMs: 20000 });
    should(await status.textContent()).equal("OL 100% 45 min");

    await helpShown(page, "nut-ups-in");
    await page.locator(".red-ui-help").getByText("Reads one UPS, or every UPS").waitFor({ timeout: 10000 });
  });

  it("French editor: the dialog's labels and the help are in French", async () => {
    const page = await editor("fr-FR");
    await openDialog(page, "in1");
    await page.locator(".red-ui-tray #node-input-nut-list-ups").waitFor({ state: "visible" });
    should((await page.locator(".red-ui-tray #node-input-nut-list-ups").innerText()).trim()).equal("Lister les onduleurs");
    should((await page.locator('.red-ui-tray label[for="node-input-ups"]').innerText()).trim()).equal("Onduleur");
    should((await page.locator('.red-ui-tray #node-input-output option[value="events"]').innerText()).trim()).equal(
      "événements seulement (ONBATT, LOWBATT, …)",
    );
    await dialogDone(page, "#node-dialog-cancel");
    await helpShown(page, "nut-ups-in");
    await page.locator(".red-ui-help").getByText("Lit un onduleur, ou tous les onduleurs").waitFor({ timeout: 10000 });
  });

  it("nut-command's dialog: List commands shows the UPS's commands with their description, a variable's description and type, and marks a value the type refuses", async () => {
    const cmd = {
      id: "cmd1",
      type: "nut-command",
      z: "tab1",
      name: "",
      server: "srv1",
      ups: "ups1",
      kind: "instcmd",
      command: "load.off",
      param: "",
      allowOnLine: false,
      trackingTimeout: 30,
      hosts: [],
      margin: 30,
      waitClients: false,
      deadline: 120,
      store: "",
      x: 200,
      y: 200,
      wires: [[]],
    };
    const page = await editor("en-US", [cmd]);
    await openDialog(page, "cmd1");
    const tray = page.locator(".red-ui-tray");
    // load.off leaves the load off: the warning and the tick box are shown
    should(await tray.locator("#node-input-allowOnLine").isVisible()).be.true();
    await tray.locator("#node-input-nut-list-commands").click();
    const info = tray.locator("#node-input-nut-command-info");
    await info.getByText("writable variables").waitFor({ timeout: 15000 });
    should(await info.innerText()).match(/^1 commands, \d+ writable variables\.\s*Turn off the load immediately$/);
    should(await tray.locator("#node-input-command-choices option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).eql(["load.off"]);
    await tray.locator("#node-input-kind").selectOption("setvar");
    // the choices are now the UPS's writable variables
    should(await tray.locator("#node-input-command-choices option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).containEql(
      "battery.charge",
    );
    await tray.locator("#node-input-command").fill("battery.charge");
    await tray.locator("#node-input-command").dispatchEvent("change");
    should(await info.innerText()).match(/^Battery charge \(percent of full\) \(NUMBER, \d+\)$/);
    await tray.locator("#node-input-param").fill("full");
    await tray.locator("#node-input-param").dispatchEvent("change");
    should(await tray.locator("#node-input-nut-param-info .nut-shutdown-error").innerText()).equal("This value is not one the UPS accepts.");
    await tray.locator("#node-input-param").fill("80");
    await tray.locator("#node-input-param").dispatchEvent("change");
    should(await tray.locator("#node-input-nut-param-info .nut-shutdown-error").count()).equal(0);
    await dialogDone(page, "#node-dialog-cancel");
  });
});
