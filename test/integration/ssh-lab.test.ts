/**
 * The ssh-lab harness itself: real sshd hosts on 127.0.x.y whose forced
 * command only records; proves nothing is ever executed.
 */
import should from "../harness/should";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runCommand } from "../../core/ssh/runner";
import type { SshTarget } from "../../core/ssh/runner";
import { requireComponent } from "../harness/system";
import { labTarget } from "../harness/ssh-target";
import { SSH_LAB_INSTALL, SshLab, sshLabMissing } from "../harness/ssh-lab";

const RUN = { connectTimeoutMs: 5000, commandTimeoutMs: 5000, deadlineMs: 5000 };

describe("ssh-lab harness (real sshd on loopback)", function () {
  this.timeout(60000);
  let lab: SshLab;

  before(async function () {
    requireComponent(this, "OpenSSH sshd as root", sshLabMissing(), SSH_LAB_INSTALL);
    lab = await SshLab.start({ hosts: 2 });
  });
  after(async () => {
    const pids = lab ? lab.pids() : [];
    await lab?.stop();
    for (const pid of pids)
      should(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, "utf8") !== "").be.false(`process ${pid} left running`);
  });

  const target = (name: string): SshTarget => labTarget(lab, name);

  it("proved the guard before returning: every host forces the recorder", () => {
    should(existsSync(join(lab.dir, "guard-proven"))).be.true();
    for (const h of lab.hosts()) {
      const cfg = readFileSync(join(lab.dir, "hosts", h.name, "sshd_config"), "utf8");
      should(cfg).match(new RegExp(`^ForceCommand ${lab.dir}/recorder.sh ${h.name} ${lab.dir}$`, "m"));
      should(lab.records(h.name)).eql([], "guard check records are cleared");
    }
  });

  it("records a command and never runs it: `echo hello` answers with the recorder's reply", async () => {
    const o = await runCommand(target("h1"), "echo hello", RUN);
    should(o.ok).be.true();
    should(o.stdout).equal("[sshlab h1] recorded: echo hello\n");
    const [r] = lab.records("h1");
    should(r.command).equal("echo hello");
    should(r.user).equal(lab.user);
    should(r.auth).equal("publickey");
    should(r.exit).equal(0);
  });

  it("keeps odd commands intact in the log (tabs, newlines, backslashes, quotes)", async () => {
    const cmd = "printf 'a\\tb' \"$HOME\"\nsecond line\twith tab \\\\ end";
    await runCommand(target("h2"), cmd, RUN);
    should(lab.records("h2").at(-1)?.command).equal(cmd);
  });

  it("changes a host's behaviour: exit code, reply, then back", async () => {
    lab.behave("h2", { exit: 7, reply: "custom reply\n" });
    const o = await runCommand(target("h2"), "x", RUN);
    should(o.exitCode).equal(7);
    should(o.stdout).equal("custom reply\n");
    should(o.stderr).match(/exit 7 as configured/);
    lab.behave("h2", { exit: 0, reply: null });
    should((await runCommand(target("h2"), "y", RUN)).stdout).equal("[sshlab h2] recorded: y\n");
  });

  it("counts accepted connections per host and on the blackhole", async () => {
    const before = lab.connections("h1");
    await runCommand(target("h1"), "count me", RUN);
    should(lab.connections("h1")).equal(before + 1);
    const bh = lab.blackholeConnections();
    const o = await runCommand({ ...target("h1"), address: lab.blackhole.address }, "x", { ...RUN, connectTimeoutMs: 500, deadlineMs: 500 });
    should(o.error ?? "").match(/no SSH handshake/);
    should(lab.blackholeConnections()).equal(bh + 1);
  });

  it("stops and restarts a host (refused meanwhile), and re-keys it", async () => {
    await lab.stopHost("h2");
    const down = await runCommand(target("h2"), "x", { ...RUN, deadlineMs: 100 });
    should(down.error ?? "").match(/connection refused/);
    await lab.startHost("h2");
    should((await runCommand(target("h2"), "x", RUN)).ok).be.true();
    const old = lab.host("h2").fingerprints.ed25519;
    const now = await lab.rekey("h2");
    should(now.fingerprints.ed25519).not.equal(old);
    should((await runCommand(target("h2"), "x", RUN)).ok).be.true("target() pins the new key");
  });

  it("can be re-opened from its directory by another process", () => {
    const again = SshLab.open(lab.dir);
    should(again.hosts().map((h) => h.name)).eql(["h1", "h2"]);
    should(again.records("h1")).eql(lab.records("h1"));
  });
});

describe("ssh-lab harness: several no-banner addresses, OpenSSH known_hosts", function () {
  this.timeout(60000);
  let lab: SshLab;

  before(async function () {
    requireComponent(this, "OpenSSH sshd as root", sshLabMissing(), SSH_LAB_INSTALL);
    lab = await SshLab.start({ hosts: 1, blackholes: 3 });
  });
  after(async () => {
    await lab?.stop();
  });

  it("serves every blackhole address from one listener: TCP accepted, no SSH banner", async () => {
    const holes = lab.blackholes;
    should(new Set(holes.map((b) => b.address)).size).equal(3);
    should(holes[0].address).equal(lab.blackhole.address);
    should(holes.some((b) => b.address === lab.host("h1").address || b.address === lab.refused.address)).be.false();
    const outcomes = await Promise.all(
      holes.map((b) => runCommand(labTarget(lab, "h1", { address: b.address, port: b.port }), "x", { ...RUN, connectTimeoutMs: 500, deadlineMs: 500 })),
    );
    for (const o of outcomes) should(o.error ?? "").match(/no SSH handshake/);
    should(lab.blackholeConnections()).equal(3);
  });

  it("gives known_hosts lines that OpenSSH accepts with strict host key checking", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ssh-lab-kh-"));
    try {
      writeFileSync(join(dir, "known_hosts"), lab.knownHosts());
      const h = lab.host("h1");
      const { stdout } = await promisify(execFile)("ssh", [
        "-F",
        "/dev/null",
        "-n",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        lab.keyFile("ed25519"),
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        `UserKnownHostsFile=${join(dir, "known_hosts")}`,
        "-o",
        "ConnectTimeout=10",
        "-p",
        String(h.port),
        `${lab.user}@${h.address}`,
        "echo hello",
      ]);
      should(stdout).equal("[sshlab h1] recorded: echo hello\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
