/**
 * The editor side of ssh-host and ssh-shutdown in real Chromium against a
 * real Node-RED with this package installed (from dist/: run `npm run build`
 * first; `npm test` does): the host list, the command preview, the fetch
 * fingerprints button against a real sshd, pinning, saving and deploying.
 */
import should from "../harness/should";
import { chromiumPath, openEditor, type Editor } from "../../tools/browser";
import { deploy, dialogDone, openDialog, openTray } from "../harness/editor-page";
import { requireComponent } from "../harness/system";
import { removeUserDir, startNodeRed, type NodeRedProcess } from "../harness/node-red";
import { SSH_LAB_INSTALL, SshLab, sshLabMissing } from "../harness/ssh-lab";

interface FlowNode {
  id: string;
  type: string;
  [k: string]: unknown;
}

describe("ssh nodes in the editor (Chromium + Node-RED + sshd)", function () {
  this.timeout(90000);
  let lab: SshLab;
  let red: NodeRedProcess | undefined;
  let editor: Editor | undefined;
  let base: string;

  before(async function () {
    requireComponent(this, "OpenSSH sshd as root", sshLabMissing(), SSH_LAB_INSTALL);
    requireComponent(this, "Chromium", chromiumPath ? null : "/usr/bin/chromium", "apt-get install -y chromium");
    lab = await SshLab.start({ hosts: [{ name: "h1", rsa: true }] });
    // a persistent default store: ssh-shutdown has no memory-store warning to give
    red = await startNodeRed({ persistentContext: true });
    base = red.url;
  });

  after(async () => {
    await editor?.close();
    if (red) {
      await red.stop();
      removeUserDir(red.userDir);
    }
    await lab?.stop();
  });

  async function flows(): Promise<FlowNode[]> {
    const r = await fetch(base + "/flows", { headers: { "Node-RED-API-Version": "v1" } });
    return (await r.json()) as FlowNode[];
  }

  it("edits the host list, previews the exact commands, fetches and pins the fingerprint, deploys", async () => {
    const h = lab.host("h1");
    const deployed = await fetch(base + "/flows", {
      method: "POST",
      headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify([
        { id: "t1", type: "tab", label: "Flow 1" },
        {
          id: "hst",
          type: "ssh-host",
          name: "backup",
          address: h.address,
          port: h.port,
          username: "nutshutdown",
          keyFile: "",
          fingerprints: "",
          acceptAnyHostKey: false,
        },
        {
          id: "sd",
          type: "ssh-shutdown",
          z: "t1",
          name: "",
          hosts: ["hst"],
          preset: "linux",
          delay: 2,
          message: "Power failure",
          action: "shutdown",
          allowed: ["shutdown", "cancel", "check", "simulate"],
          connectTimeout: 10,
          commandTimeout: 30,
          deadline: 60,
          store: "",
          x: 300,
          y: 200,
          wires: [[]],
        },
      ]),
    });
    should(deployed.status).equal(204);
    editor = await openEditor(base);
    const { page, pageErrors: errors } = editor;
    await page.locator('.red-ui-palette-node[data-palette-type="ssh-shutdown"]').waitFor();
    const icon = await page.locator('.red-ui-palette-node[data-palette-type="ssh-shutdown"] .red-ui-palette-icon').getAttribute("style");
    should(icon ?? "").match(/ssh-shutdown\.svg/);

    await openDialog(page, "sd");
    const preview = page.locator("#ssh-shutdown-preview");
    await page.waitForFunction(() => /sudoers/.test(document.querySelector("#ssh-shutdown-preview")?.textContent ?? ""));
    const text = await preview.innerText();
    should(text.includes("sudo -n /sbin/shutdown -h +2 'Power failure'")).be.true(text);
    should(text.includes("nutshutdown ALL=(root) NOPASSWD: /sbin/shutdown")).be.true("sudoers line for the host's user");
    should(await page.locator("#node-input-hosts-container select").count()).equal(1);
    should(await page.locator("#node-input-hosts-container select option:checked").innerText()).equal("backup");

    await page.locator("#node-input-preset").selectOption("synology");
    await page.waitForFunction(() => /\/sbin\/poweroff/.test(document.querySelector("#ssh-shutdown-preview")?.textContent ?? ""));
    should(await page.locator(".ssh-shutdown-delay-row").isVisible()).be.false("no delay for a preset that cannot wait");
    await page.locator("#node-input-preset").selectOption("linux");
    await page.locator(".ssh-shutdown-allowed[value=shutdown]").uncheck();
    // the host's phase, beside it in its row (a node saved before phases existed shows 1)
    const phase = page.locator("#node-input-hosts-container .ssh-shutdown-phase");
    should(await phase.inputValue()).equal("1");
    await phase.fill("2");
    await page.locator("#node-input-healthEvery").fill("24");

    // the row's pencil opens the ssh-host; fetch its fingerprints from the real sshd and pin the ed25519 one
    await openTray(page, () => page.locator("#node-input-hosts-container button").first().click());
    await page.locator("#node-config-input-address").waitFor();
    await page.locator("#ssh-host-fetch").click();
    const result = page.locator("#ssh-host-fetch-result");
    const fps = { "ssh-ed25519": h.fingerprints.ed25519, "ssh-rsa": h.fingerprints.rsa ?? "" };
    await result.getByText(fps["ssh-rsa"]).waitFor();
    // each fingerprint whole and inside the visible tray (the dialog asks to compare it with ssh-keygen -lf),
    // in a row of its own with its key type and a Pin button large enough to hit
    const visible = await page.locator(".red-ui-tray-body-wrapper").last().boundingBox();
    should.exist(visible, "the ssh-host tray is shown");
    for (const [type, fp] of Object.entries(fps)) {
      const shown = result.getByText(fp);
      await shown.scrollIntoViewIfNeeded();
      const box = await shown.boundingBox();
      should.exist(box, `${type} fingerprint shown`);
      const tray = await page.locator(".red-ui-tray-body-wrapper").last().boundingBox();
      should.exist(tray, `${type}: ${JSON.stringify(box)} cut off by the tray ${JSON.stringify(tray)}`);
      should(box.x).be.aboveOrEqual(tray.x, `${type}: ${JSON.stringify(box)} cut off by the tray ${JSON.stringify(tray)}`);
      should(box.x + box.width).be.belowOrEqual(tray.x + tray.width + 0.5, `${type}: ${JSON.stringify(box)} cut off by the tray ${JSON.stringify(tray)}`);
      const [scroll, client] = await shown.evaluate((el) => {
        const e = el as unknown as { scrollWidth: number; clientWidth: number };
        return [e.scrollWidth, e.clientWidth];
      });
      should(scroll).be.belowOrEqual(client, `${type}: the text overflows its box (${scroll} > ${client})`);
      const row = shown.locator("xpath=ancestor::*[.//button][1]");
      should(await row.locator("button").count()).equal(1, `${type}: one button in its row`);
      should(((await row.innerText()).match(/SHA256:/g) ?? []).length).equal(1, `${type}: one key per row`);
      should((await row.innerText()).includes(type)).be.true(`${type}: the row names the key type`);
      const button = await row.locator("button").boundingBox();
      should.exist(button, `${type}: Pin button of ${JSON.stringify(button)} is too small to hit`);
      should(button.width).be.aboveOrEqual(44, `${type}: Pin button of ${JSON.stringify(button)} is too small to hit`);
      should(button.height).be.aboveOrEqual(24, `${type}: Pin button of ${JSON.stringify(button)} is too small to hit`);
    }
    // pin the ed25519 key with a real click at the middle of its button
    const pin = result.getByText(fps["ssh-ed25519"]).locator("xpath=ancestor::*[.//button][1]").locator("button");
    const at = await pin.boundingBox();
    should.exist(at);
    await page.mouse.click(at.x + at.width / 2, at.y + at.height / 2);
    should(await page.locator("#node-config-input-fingerprints").inputValue()).equal(`ssh-ed25519 ${fps["ssh-ed25519"]}`);
    await page.locator("#node-config-input-acceptAnyHostKey").check();
    should(await page.locator("#ssh-host-insecure-tip").isVisible()).be.true("the insecure option shows its warning");
    await page.locator("#node-config-input-acceptAnyHostKey").uncheck();
    await dialogDone(page, "#node-config-dialog-ok");
    await dialogDone(page);
    await deploy(page);

    const saved = await flows();
    const host = saved.find((n) => n.id === "hst");
    const sd = saved.find((n) => n.id === "sd");
    should(host?.fingerprints).equal(`ssh-ed25519 ${h.fingerprints.ed25519}`);
    should(sd?.hosts).eql(["hst"]);
    should(sd?.allowed).eql(["cancel", "check", "simulate"]);
    // a node saved before these options existed: valid as it was (the deploy above), the runtime's defaults shown and saved
    should([sd?.phases, sd?.healthEvery, sd?.keepAlive, sd?.keepFor, sd?.phaseDeadline]).eql([[2], "24", true, "60", "120"]);
    for (const n of saved) for (const secret of ["privateKey", "passphrase", "password"]) should(secret in n).be.false();
    should(errors).eql([]);
  });
});
