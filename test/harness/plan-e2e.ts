/**
 * The progressive example (examples/01) as the end-to-end tests run it: in a
 * real node-red process, against a nut-lab upsd with ups1 and ups2 and an
 * ssh-lab whose five recording hosts carry the example's ssh-host names.
 * Shared by test/e2e/outage-end-to-end.test.ts and faults-end-to-end.test.ts.
 */
import should from "./should";
import { loadExample, pointAtNut, pointAtSsh, setOnType, setShutdownAction, type FlowNode, type SshTarget } from "../../tools/example-flow";
import { makeUserDir, removeUserDir, startNodeRed, type NodeRedProcess } from "./node-red";
import { NUT_LAB_INSTALL, nutLabMissing, startNutLab, type NutLab } from "./nut-lab";
import { SSH_LAB_INSTALL, SshLab, sshLabMissing, type Recorded } from "./ssh-lab";
import { freePort, requireComponent } from "./system";

/** The example's ssh-host names, one lab host each. */
export const PLAN_HOSTS = ["backup-server", "storage-server", "prod-server-1", "prod-server-2", "hypervisor"] as const;
export type PlanHost = (typeof PLAN_HOSTS)[number];

export interface PlanLabs {
  readonly nut: NutLab;
  readonly ssh: SshLab;
  /**
   * Starts Node-RED with a persistent context store (localfilesystem,
   * flushInterval 1 s) on the same userDir and port every time: the first
   * call with the flows, the next ones restart what it left. The previous
   * process must have been stopped or killed.
   */
  startNodeRed(opts?: { flows?: unknown[]; env?: NodeJS.ProcessEnv }): Promise<NodeRedProcess>;
}

/**
 * In a mocha `describe`: before, the labs (upsd with ups1 and ups2, the
 * five hosts on `net`.1–5; skipped loudly, or failed in CI, when upsd or
 * sshd is missing); after, Node-RED, the labs and the userDir stopped and
 * removed.
 */
export function usePlanLabs(net: string): PlanLabs {
  let nut: NutLab | undefined;
  let ssh: SshLab | undefined;
  let nr: NodeRedProcess | undefined;
  let userDir = "";
  let port = 0;
  before(async function () {
    requireComponent(this, "upsd (Debian nut-server)", nutLabMissing(), NUT_LAB_INSTALL);
    requireComponent(this, "sshd (Debian openssh-server)", sshLabMissing(), SSH_LAB_INSTALL);
    nut = await startNutLab({ upses: 2, driverPollInterval: 1 });
    ssh = await SshLab.start({ net, hosts: [...PLAN_HOSTS], blackhole: false });
  });
  after(async () => {
    await nr?.stop();
    if (userDir) removeUserDir(userDir);
    await ssh?.stop();
    await nut?.stop();
  });
  const must = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error("plan-e2e: the labs are not started (use usePlanLabs inside a describe)");
    return x;
  };
  return {
    get nut() {
      return must(nut);
    },
    get ssh() {
      return must(ssh);
    },
    async startNodeRed(opts = {}) {
      if (!userDir) {
        userDir = makeUserDir();
        port = await freePort();
      }
      nr = await startNodeRed({ port, userDir, flows: opts.flows, env: opts.env, persistentContext: true });
      return nr;
    },
  };
}

/**
 * The Linux and Proxmox presets delay by +10 min here (so they can be
 * cancelled); Synology powers off at once. The pre-flight at power loss asks
 * sudo (`sudo -n -l …`): a check, never a shutdown or a cancel.
 */
export function kind(r: Recorded): "shutdown" | "cancel" | "check" | "other" {
  if (/^sudo -n -l /.test(r.command)) return "check";
  if (/shutdown -c\b/.test(r.command)) return "cancel";
  if (/shutdown -h \+10\b|\/sbin\/poweroff\b/.test(r.command)) return "shutdown";
  return "other";
}

/**
 * The shipped example (the progressive one unless told; 08 is the same plan on two controllers) pointed at the labs, every ssh-shutdown on `shutdown`
 * (delay 10 min, connect timeout 5 s, `deadline` s of retries), polls every
 * second, confirm 2 s, restore 5 s, every debug node also printing to the
 * log, and wake-hosts' packets sent to 127.0.0.1.
 */
export function planFlow(nut: NutLab, ssh: SshLab, deadline = 30, example = "01"): FlowNode[] {
  const targets: Record<string, SshTarget> = {};
  for (const h of PLAN_HOSTS) {
    const host = ssh.host(h);
    targets[h] = {
      address: host.address,
      port: host.port,
      username: ssh.user,
      fingerprints: `ssh-ed25519 ${host.fingerprints.ed25519}`,
      keyFile: ssh.keyFile("ed25519"),
    };
  }
  const flow = pointAtSsh(pointAtNut(loadExample(example), nut.host, nut.port), targets);
  setShutdownAction(flow, "shutdown", ["shutdown", "cancel", "check", "simulate", "prepare"]);
  setOnType(flow, "ssh-shutdown", { delay: 10, connectTimeout: 5, deadline });
  setOnType(flow, "nut-server", { interval: 1 });
  setOnType(flow, "nut-ups-in", { alertInterval: 1 });
  setOnType(flow, "ups-aggregate", { confirm: 2, restore: 5 });
  setOnType(flow, "debug", { console: true });
  // SAFETY: the example wakes hosts on 255.255.255.255; in a test its packets stay on loopback
  setOnType(flow, "wake-hosts", { broadcast: "127.0.0.1" });
  return flow;
}

/** Sets status and charge of both UPSes; resolves when upsd serves them. */
export async function setBoth(nut: NutLab, status: string, charge1: number, charge2: number): Promise<void> {
  await Promise.all([
    nut.setVar("ups1", "battery.charge", charge1).then(() => nut.setVar("ups1", "ups.status", status)),
    nut.setVar("ups2", "battery.charge", charge2).then(() => nut.setVar("ups2", "ups.status", status)),
  ]);
}

/** The recorded shutdowns and cancels so far, as "host:kind" (the pre-flight's checks left out: see `checked`). */
export function recorded(ssh: SshLab): string[] {
  return ssh
    .records()
    .filter((r) => kind(r) !== "check")
    .map((r) => `${r.host}:${kind(r)}`);
}

/** The hosts the pre-flight checked so far, one entry per check command. */
export function checked(ssh: SshLab): string[] {
  return ssh
    .records()
    .filter((r) => kind(r) === "check")
    .map((r) => r.host);
}

/**
 * Waits until as many commands as `want` are recorded (bounded), then
 * compares, in any order (the hosts of one step run in parallel): no fewer,
 * no more, no other.
 */
export async function waitRecorded(ssh: SshLab, want: string[], what: string): Promise<void> {
  await ssh.waitForRecords((rs) => rs.filter((r) => kind(r) !== "check").length >= want.length, 30_000).catch(() => undefined);
  should([...recorded(ssh)].sort()).eql([...want].sort(), `${what}: recorded ${recorded(ssh).join(", ") || "nothing"}`);
}

/** Every recorded command came as the lab's test user and is a shutdown, a cancel or a pre-flight check of the plan, nothing else. */
export function assertOnlyPlanCommands(ssh: SshLab): void {
  for (const r of ssh.records()) {
    should(r.user).equal(ssh.user);
    should(kind(r)).not.equal("other", `unexpected command on ${r.host}: ${r.command}`);
  }
}

/** Deploys the running flows again through the admin API, as the editor's Deploy button does, after `edit` (which may add credentials). */
export async function deployAgain(nr: NodeRedProcess, type: "full" | "nodes", edit: (flows: FlowNode[]) => void = () => undefined): Promise<void> {
  const headers = { "Node-RED-API-Version": "v2", "content-type": "application/json" };
  const current = (await (await fetch(`${nr.url}/flows`, { headers })).json()) as { rev: string; flows: FlowNode[] };
  edit(current.flows);
  const from = nr.log().length;
  const res = await fetch(`${nr.url}/flows`, { method: "POST", headers: { ...headers, "Node-RED-Deployment-Type": type }, body: JSON.stringify(current) });
  should(res.status).equal(200, await res.text());
  await nr.waitForLog(type === "full" ? /Started flows/ : /Started modified nodes/, 30_000, from);
}
