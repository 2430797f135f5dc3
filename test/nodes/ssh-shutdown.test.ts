/**
 * The ssh-shutdown node without an SSH server: what a message may ask,
 * refusals, simulate, statuses.
 */
import should from "../harness/should";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Server, Socket } from "node:net";
import type { ShutdownResult } from "../../core/contract";
import sshHostNode from "../../nodes/ssh-host";
import sshShutdownNode from "../../nodes/ssh-shutdown";
import { freePort } from "../harness/system";
import { fileStores } from "../harness/decide-node-helper";
import { callsOf, collect, helper, loadContextStores, settle, statusTexts, waitForCalls } from "../harness/red-helper";

const FP = "SHA256:0wqZLw85RM2xD+3XcEgBRMeaIagvbANVbgufXmhjbHY";

/** A TCP listener that only counts connections: proves that nothing connected. */
async function countingServer(): Promise<{ server: Server; port: number; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const socks = new Set<Socket>();
  const server = createServer((s) => {
    n++;
    socks.add(s);
    s.on("error", () => undefined);
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    server,
    port,
    count: () => n,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function flow(port: number, node: Record<string, unknown> = {}): object[] {
  const host = (id: string, name: string, username = "nut"): object => ({
    id,
    type: "ssh-host",
    name,
    address: "127.0.0.1",
    port,
    username,
    keyFile: "",
    fingerprints: FP,
    acceptAnyHostKey: false,
  });
  return [
    host("h1", "backup-server"),
    host("h2", "nas", "root"),
    {
      id: "n1",
      type: "ssh-shutdown",
      name: "",
      hosts: ["h1", "h2"],
      preset: "linux",
      delay: 2,
      message: "Power failure",
      action: "shutdown",
      allowed: ["shutdown", "cancel", "check", "simulate"],
      connectTimeout: 1,
      commandTimeout: 1,
      deadline: 1,
      wires: [["out"]],
      ...node,
    },
    { id: "out", type: "helper" },
  ];
}

const CREDS = { h1: { password: "pw-for-backup" }, h2: { password: "pw-for-nas" } };

describe("ssh-shutdown node (no SSH server needed)", () => {
  let srv: Awaited<ReturnType<typeof countingServer>>;
  beforeEach(async () => {
    srv = await countingServer();
  });
  afterEach(async () => {
    await helper.unload();
    await srv.close();
  });

  it("simulate: one result per host with the command that would run, no connection at all", async () => {
    await helper.load([sshHostNode, sshShutdownNode], flow(srv.port), CREDS);
    const n1 = helper.getNode("n1");
    const got = collect(helper.getNode("out"));
    const outage = { id: "outage-1", since: 1 };
    const tier = { index: 0, name: "backup", reason: "charge 88 % ≤ 90 %" };
    n1.receive({ action: "simulate", payload: { charge: 88 }, outage, tier });
    await waitForCalls(helper.getNode("out"), "input", 2);
    should(got).have.length(2);
    const [a, b] = got;
    should(a.topic).equal("backup-server");
    should(a.outage).eql(outage);
    should(a.tier).eql(tier);
    const pa = a.payload as ShutdownResult;
    should(pa.action).equal("simulate");
    should(pa.ok).be.true();
    should(pa.attempts).equal(0);
    should(pa.command).equal("sudo -n /sbin/shutdown -h +2 'Power failure'");
    should([pa.hostId, (b.payload as ShutdownResult).hostId]).eql(["h1", "h2"], "each result names its ssh-host by id (wake-hosts keys on it)");
    should(a.summary).equal("backup-server: simulate, would run: sudo -n /sbin/shutdown -h +2 'Power failure'");
    should((b.payload as ShutdownResult).command).equal("/sbin/shutdown -h +2 'Power failure'", "root: no sudo");
    should(srv.count()).equal(0, "no TCP connection");
    should(statusTexts(n1).slice(-1)).eql(["simulated 2"]);
  });

  for (const [name, msg] of [
    ["msg.host", { host: "evil.example", action: "simulate" }],
    ["msg.command", { command: "rm -rf /" }],
    ["msg.address", { address: "127.0.0.1" }],
    ["msg.user", { user: "root", action: "check" }],
    ["msg.hosts", { hosts: ["h1"] }],
    ["an unknown action", { action: "reboot" }],
    ["a non-string action", { action: ["shutdown"] }],
  ] as [string, Record<string, unknown>][]) {
    it(`refuses a message with ${name}: an error for Catch, nothing runs`, async () => {
      await helper.load([sshHostNode, sshShutdownNode], flow(srv.port), CREDS);
      const n1 = helper.getNode("n1");
      const got = collect(helper.getNode("out"));
      const errors = waitForCalls(n1, "call:error", 1);
      n1.receive({ payload: 1, ...msg });
      const [call] = await errors;
      const text = String((call.args[0] as Error).message ?? call.args[0]);
      should(text).match(
        /^refused: (msg\.\w+ is not accepted; hosts and commands come only from the node's configuration|msg\.action must be one of shutdown, cancel, check, simulate, prepare \(got .+\))$/,
      );
      should((call.args[1] as { payload?: number }).payload).equal(1, "the refused message goes with the error (Catch)");
      should(got).have.length(0);
      should(srv.count()).equal(0);
      should(statusTexts(n1).slice(-1)).eql(["message refused"]);
    });
  }

  it("refuses an action the operator did not allow for messages", async () => {
    await helper.load([sshHostNode, sshShutdownNode], flow(srv.port, { action: "simulate", allowed: ["cancel"] }), CREDS);
    const n1 = helper.getNode("n1");
    const errors = waitForCalls(n1, "call:error", 1);
    n1.receive({ action: "shutdown" });
    const [call] = await errors;
    should((call.args[0] as Error).message).equal('refused: msg.action "shutdown" is not allowed by this node\'s configuration');
    should(srv.count()).equal(0);
  });

  it("a cancel with nothing pending sends nothing and says so", async () => {
    await helper.load([sshHostNode, sshShutdownNode], flow(srv.port), CREDS);
    const n1 = helper.getNode("n1");
    const got = collect(helper.getNode("out"));
    const status = waitForCalls(n1, "call:status", 1);
    n1.receive({ action: "cancel", reset: true });
    await status;
    should(statusTexts(n1).slice(-1)).eql(["nothing to cancel"]);
    should(got).have.length(0);
    should(srv.count()).equal(0);
  });

  it("a host that refuses connections: a failed result per host, node.error with it, status counts", async () => {
    const port = await freePort(); // nothing listens there
    await helper.load([sshHostNode, sshShutdownNode], flow(port), CREDS);
    const n1 = helper.getNode("n1");
    const got = collect(helper.getNode("out"));
    const errors = waitForCalls(n1, "call:error", 2);
    const outputs = waitForCalls(helper.getNode("out"), "input", 2);
    n1.receive({ payload: "go" });
    const [calls] = await Promise.all([errors, outputs]);
    should(got).have.length(2);
    for (const m of got) {
      const r = m.payload as ShutdownResult;
      should(r.ok).be.false();
      should(r.error ?? "").match(/connection refused by 127\.0\.0\.1:\d+/);
      should(r.attempts).be.aboveOrEqual(1);
    }
    should(String(calls[0].args[0])).match(/: shutdown FAILED: connection refused/);
    should((calls[0].args[1] as { topic?: string }).topic !== undefined).be.true("the result message goes with the error");
    should(statusTexts(n1).slice(-1)).eql(["sent 0/2, 2 failed"]);
  });

  it("a missing ssh-host config gives a failed result naming it", async () => {
    await helper.load([sshHostNode, sshShutdownNode], flow(srv.port, { hosts: ["h1", "ghost"] }), CREDS);
    const got = collect(helper.getNode("out"));
    helper.getNode("n1").receive({ action: "simulate" });
    await waitForCalls(helper.getNode("out"), "input", 2);
    const ghost = got.map((m) => m.payload as ShutdownResult).find((r) => r.host === "ghost");
    should(ghost?.ok).be.false();
    should(ghost?.error).equal("ssh-host config ghost not found (deleted or disabled?)");
  });

  it("a misconfigured node reports at deploy and refuses to run", async () => {
    await helper.load([sshHostNode, sshShutdownNode], flow(srv.port, { hosts: [], connectTimeout: "soon" }), CREDS);
    const n1 = helper.getNode("n1");
    should(callsOf(n1, n1.error).map((c) => c.args[0])).eql(["Invalid configuration: no ssh-host selected; connectTimeout must be a number from 1 to 300"]);
    await settle(1); // let the deploy-time error events pass
    const errors = waitForCalls(n1, "call:error", 1);
    n1.receive({ action: "simulate" });
    should(((await errors)[0].args[0] as Error).message).equal(
      "Invalid configuration, message not handled (nothing was run): no ssh-host selected; connectTimeout must be a number from 1 to 300",
    );
  });

  it("warns at deploy when pending delayed shutdowns would only live in memory", async () => {
    const MEMORY_STORE =
      "ssh-shutdown: pending delayed shutdowns are kept in a memory context: a redeploy of this node or a restart of Node-RED forgets them, and a cancel then finds nothing to cancel. Configure a persistent context store (contextStorage in settings.js) and choose it here.";
    const warnings = async (node: Record<string, unknown>): Promise<unknown[]> => {
      await helper.load([sshHostNode, sshShutdownNode], flow(srv.port, node), CREDS);
      const n1 = helper.getNode("n1");
      const w = callsOf(n1, n1.warn).map((c) => c.args[0]);
      await helper.unload();
      return w;
    };
    should(await warnings({})).eql([MEMORY_STORE]);
    should(await warnings({ preset: "linux-poweroff" })).eql([], "nothing is ever pending");
    should(await warnings({ delay: 0 })).eql([]);
    should(await warnings({ allowed: ["check"] })).eql([], "no cancel possible");
    should(await warnings({ action: "simulate", allowed: ["simulate", "check", "cancel"] })).eql([], "no shutdown possible (the examples)");
    should(await warnings({ action: "simulate", allowed: ["shutdown", "cancel"] })).eql([MEMORY_STORE], "a message may still ask for shutdown");
  });

  describe("with a persistent store", () => {
    const stores = fileStores();
    afterEach(() => stores.removeAll());

    it("an empty context file (a crash while it was written): the pending list is lost, said in red and to a Catch node", async () => {
      const dir = stores.open();
      // Where Node-RED's localfilesystem keeps the context of a node outside any flow tab (as in these tests).
      const file = join(dir, "context", "n1", "flow.json");
      mkdirSync(join(dir, "context", "n1"), { recursive: true });
      writeFileSync(file, "");
      await helper.load([sshHostNode, sshShutdownNode, loadContextStores], flow(srv.port, { store: "file" }), CREDS);
      const n1 = helper.getNode("n1");
      const [call] = await waitForCalls(n1, "call:error", 1);
      should(call.args[0]).equal(
        `ssh-shutdown: the stored list of delayed shutdowns sent is lost: its context file ${file} is empty (Node-RED was stopped while writing it, by a crash or a power cut). A cancel when power returns cannot reach the hosts sent a delayed shutdown before the restart: check them`,
      );
      should(call.args[1]).eql({ topic: "ssh-shutdown/context", payload: { store: "file", key: "sshShutdownPending", problem: "empty-file", file } });
      should(
        callsOf(n1, n1.status)
          .map((c) => c.args[0])
          .slice(-1),
      ).eql([{ fill: "red", shape: "ring", text: "stored shutdowns lost: check the hosts" }]);
      should(srv.count()).equal(0);
    });
  });

  it("the editor preview shows a preset's commands and sudoers line", async () => {
    await helper.load([sshHostNode, sshShutdownNode], flow(srv.port), CREDS);
    const r = await helper.request().get("/ssh-shutdown/preview").query({ preset: "macos", delay: 3, message: "bye $(x)", username: "nut" });
    should(r.status).equal(200);
    const c = r.body as Record<string, unknown>;
    should(c.shutdown).equal("sudo -n /sbin/shutdown -h +3 'bye (x)'");
    should(c.sudoers).equal("nut ALL=(root) NOPASSWD: /sbin/shutdown, /usr/bin/killall shutdown");
    should(c.supportsDelay).be.true();
    // Query values that are objects (a[b]=1) whose toString is no function: text only is read (was a 500, found by fuzzing).
    const odd = await helper.request().get("/ssh-shutdown/preview?preset=custom&customShutdown[toString]=x&delay[valueOf]=1&username[toString]=y");
    should(odd.status).equal(200);
    should(odd.body.shutdown).equal("");
  });

  it("the editor preview shows the guest steps, their checks and sudoers line; an invalid tag is said and never put in a command", async () => {
    await helper.load([sshHostNode, sshShutdownNode], flow(srv.port), CREDS);
    const get = async (q: Record<string, string | number | boolean>): Promise<Record<string, unknown>> => {
      const r = await helper
        .request()
        .get("/ssh-shutdown/preview")
        .query({ preset: "linux", delay: 2, username: "nut", ...q });
      should(r.status).equal(200);
      return r.body as Record<string, unknown>;
    };
    const steps = (c: Record<string, unknown>): { label: string; command: string; timeoutMs: number }[] => c.steps as never;
    const none = await get({});
    should([none.steps, none.checks, none.guestSudoers, none.problems]).eql([[], [], null, []], "no guests by default");
    const d = await get({ guests: "docker", guestProjects: "web db", guestTimeout: 30 });
    should(steps(d).map((s) => [s.label, s.command, s.timeoutMs])).eql([
      ["docker compose down web", "sudo -n /usr/bin/docker compose -p web down --timeout 30", 60_000],
      ["docker compose down db", "sudo -n /usr/bin/docker compose -p db down --timeout 30", 60_000],
    ]);
    should(steps({ steps: d.checks }).map((s) => s.command)).eql([
      "sudo -n -l /usr/bin/docker compose -p web down --timeout 30",
      "sudo -n -l /usr/bin/docker compose -p db down --timeout 30",
    ]);
    should(d.guestSudoers).equal("nut ALL=(root) NOPASSWD: /usr/bin/docker compose -p web down --timeout 30, /usr/bin/docker compose -p db down --timeout 30");
    should(d.sudoers).equal("nut ALL=(root) NOPASSWD: /sbin/shutdown", "the host's own line is unchanged");
    const force = await get({ guests: "libvirt", guestForce: true });
    should(steps(force)[0].command).match(/virsh destroy/);
    should(steps(await get({ guests: "libvirt", guestForce: false }))[0].command).not.match(/destroy/);
    const bad = await get({ guests: "proxmox", guestTag: "prod$(reboot)" });
    should(bad.problems).eql([{ key: "bad-guest-tag", params: { tag: "prod$(reboot)" } }]);
    should([bad.steps, bad.guestSudoers]).eql([[], null]);
  });
});
