/**
 * The editor side of ssh-host and ssh-shutdown in real Chromium against a
 * real Node-RED with this package installed (from dist/: run `npm run build`
 * first; `npm test` does): the host list, the command preview, the fetch
 * fingerprints button against a real sshd, pinning, saving and deploying.
 */
import assert from "node:assert/strict";
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
        { id: "hst", type: "ssh-host", name: "backup", address: h.address, port: h.port, username: "nutshutdown", keyFile: "", fingerprints: "", acceptAnyHostKey: false },
        { id: "sd", type: "ssh-shutdown", z: "t1", name: "", hosts: ["hst"], preset: "linux", delay: 2, message: "Power failure", action: "shutdown", allowed: ["shutdown", "cancel", "check", "simulate"], connectTimeout: 10, commandTimeout: 30, deadline: 60, store: "", x: 300, y: 200, wires: [[]] },
      ]),
    });
    assert.equal(deployed.status, 204);
    editor = await openEditor(base);
    const { page, pageErrors: errors } = editor;
    await page.locator('.red-ui-palette-node[data-palette-type="ssh-shutdown"]').waitFor();
    const icon = await page.locator('.red-ui-palette-node[data-palette-type="ssh-shutdown"] .red-ui-palette-icon').getAttribute("style");
    assert.match(icon ?? "", /ssh-shutdown\.svg/);

    await openDialog(page, "sd");
    const preview = page.locator("#ssh-shutdown-preview");
    await page.waitForFunction(() => /sudoers/.test(document.querySelector("#ssh-shutdown-preview")?.textContent ?? ""));
    const text = await preview.innerText();
    assert.ok(text.includes("sudo -n /sbin/shutdown -h +2 'Power failure'"), text);
    assert.ok(text.includes("nutshutdown ALL=(root) NOPASSWD: /sbin/shutdown"), "sudoers line for the host's user");
    assert.equal(await page.locator("#node-input-hosts-container select").count(), 1);
    assert.equal(await page.locator("#node-input-hosts-container select option:checked").innerText(), "backup");

    await page.locator("#node-input-preset").selectOption("synology");
    await page.waitForFunction(() => /\/sbin\/poweroff/.test(document.querySelector("#ssh-shutdown-preview")?.textContent ?? ""));
    assert.equal(await page.locator(".ssh-shutdown-delay-row").isVisible(), false, "no delay for a preset that cannot wait");
    await page.locator("#node-input-preset").selectOption("linux");
    await page.locator(".ssh-shutdown-allowed[value=shutdown]").uncheck();

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
    assert.ok(visible, "the ssh-host tray is shown");
    for (const [type, fp] of Object.entries(fps)) {
      const shown = result.getByText(fp);
      await shown.scrollIntoViewIfNeeded();
      const box = await shown.boundingBox();
      assert.ok(box, `${type} fingerprint shown`);
      const tray = await page.locator(".red-ui-tray-body-wrapper").last().boundingBox();
      assert.ok(tray && box.x >= tray.x && box.x + box.width <= tray.x + tray.width + 0.5, `${type}: ${JSON.stringify(box)} cut off by the tray ${JSON.stringify(tray)}`);
      const [scroll, client] = await shown.evaluate((el) => {
        const e = el as unknown as { scrollWidth: number; clientWidth: number };
        return [e.scrollWidth, e.clientWidth];
      });
      assert.ok(scroll <= client, `${type}: the text overflows its box (${scroll} > ${client})`);
      const row = shown.locator("xpath=ancestor::*[.//button][1]");
      assert.equal(await row.locator("button").count(), 1, `${type}: one button in its row`);
      assert.equal(((await row.innerText()).match(/SHA256:/g) ?? []).length, 1, `${type}: one key per row`);
      assert.ok((await row.innerText()).includes(type), `${type}: the row names the key type`);
      const button = await row.locator("button").boundingBox();
      assert.ok(button && button.width >= 44 && button.height >= 24, `${type}: Pin button of ${JSON.stringify(button)} is too small to hit`);
    }
    // pin the ed25519 key with a real click at the middle of its button
    const pin = result.getByText(fps["ssh-ed25519"]).locator("xpath=ancestor::*[.//button][1]").locator("button");
    const at = await pin.boundingBox();
    assert.ok(at);
    await page.mouse.click(at.x + at.width / 2, at.y + at.height / 2);
    assert.equal(await page.locator("#node-config-input-fingerprints").inputValue(), `ssh-ed25519 ${fps["ssh-ed25519"]}`);
    await page.locator("#node-config-input-acceptAnyHostKey").check();
    assert.equal(await page.locator("#ssh-host-insecure-tip").isVisible(), true, "the insecure option shows its warning");
    await page.locator("#node-config-input-acceptAnyHostKey").uncheck();
    await dialogDone(page, "#node-config-dialog-ok");
    await dialogDone(page);
    await deploy(page);

    const saved = await flows();
    const host = saved.find((n) => n.id === "hst");
    const sd = saved.find((n) => n.id === "sd");
    assert.equal(host?.fingerprints, `ssh-ed25519 ${h.fingerprints.ed25519}`);
    assert.deepEqual(sd?.hosts, ["hst"]);
    assert.deepEqual(sd?.allowed, ["cancel", "check", "simulate"]);
    for (const n of saved) for (const secret of ["privateKey", "passphrase", "password"]) assert.equal(secret in n, false);
    assert.deepEqual(errors, []);
  });
});
