/**
 * The wake-hosts node in the real Node-RED runtime: ssh-shutdown's results
 * (against recording sshd hosts of the ssh-lab) and power states in, magic
 * packets out to a UDP socket on loopback, and the "up" check answered by
 * a real sshd started only once the host's first packet has arrived; a
 * host whose sshd never comes ends NO_ANSWER at its deadline; a restart
 * (file context store) keeps the recorded hosts and wakes them.
 */
import should from "../harness/should";
import type { NodeMessage } from "node-red";
import type { WakeResult } from "../../core/contract";
import { magicPacket } from "../../core/wake/mac";
import sshHostNode from "../../nodes/ssh-host";
import sshShutdownNode from "../../nodes/ssh-shutdown";
import wakeHostsNode from "../../nodes/wake-hosts";
import { power } from "../harness/decide-fixtures";
import { fileStores } from "../harness/decide-node-helper";
import { type TestNode, type Watch, helper, loadContextStores, watch } from "../harness/red-helper";
import { SSH_LAB_INSTALL, SshLab, sshLabMissing } from "../harness/ssh-lab";
import { requireComponent } from "../harness/system";
import { waitUntil } from "../harness/wait";
import { type LanListener, udpListener } from "../harness/lan";

const O1 = { id: "outage-20261205T140000Z-ab12", since: Date.UTC(2026, 11, 5, 14, 0, 0) };
const MAC = { nas: "02:00:5e:00:00:01", storage: "02-00-5E-00-00-02" };

const packetOf = (mac: string): string => magicPacket(mac).toString("hex");

describe("wake-hosts node: magic packets on loopback, the up check answered by a real sshd", function () {
  this.timeout(60000);
  let lab: SshLab;
  let udp: LanListener;
  const stores = fileStores();

  before(async function () {
    requireComponent(this, "OpenSSH sshd as root", sshLabMissing(), SSH_LAB_INSTALL);
    lab = await SshLab.start({ net: "127.0.47", hosts: ["nas", "storage"], blackhole: false });
  });
  after(async () => {
    await lab?.stop();
  });
  beforeEach(async () => {
    helper.settings({ contextStorage: undefined });
    udp = await udpListener();
    for (const h of lab.hosts()) await lab.startHost(h.name);
    lab.clearRecords();
  });
  afterEach(async () => {
    await stores.removeAll();
    await udp.close();
  });

  function sshHost(name: keyof typeof MAC): object {
    const h = lab.host(name);
    return {
      id: `host-${name}`,
      type: "ssh-host",
      name,
      address: h.address,
      port: h.port,
      username: lab.user,
      keyFile: lab.keyFile("ed25519"),
      fingerprints: `ssh-ed25519 ${h.fingerprints.ed25519}`,
      acceptAnyHostKey: false,
      mac: MAC[name],
    };
  }

  function flow(wake: Record<string, unknown> = {}): object[] {
    return [
      sshHost("nas"),
      sshHost("storage"),
      {
        id: "sd",
        type: "ssh-shutdown",
        name: "",
        hosts: ["host-nas", "host-storage"],
        preset: "linux",
        delay: 2,
        message: "Power failure",
        action: "shutdown",
        allowed: ["shutdown", "simulate"],
        connectTimeout: 5,
        commandTimeout: 5,
        deadline: 5,
        wires: [["wake"]],
      },
      {
        id: "wake",
        type: "wake-hosts",
        name: "",
        hosts: ["host-nas", "host-storage"],
        minCharge: 50,
        stable: 0,
        broadcast: "127.0.0.1",
        wolPort: udp.port,
        repeat: 1,
        deadline: 10,
        store: "",
        wires: [["out"]],
        ...wake,
      },
      { id: "out", type: "helper" },
    ];
  }

  async function load(wake: Record<string, unknown> = {}): Promise<{ node: TestNode; w: Watch }> {
    await helper.load([sshHostNode, sshShutdownNode, wakeHostsNode, loadContextStores], flow(wake));
    const node = helper.getNode("wake");
    return { node, w: watch(node, "out") };
  }

  const payloads = (w: Watch): WakeResult[] => w.messages.map((m) => (m as NodeMessage & { payload: WakeResult }).payload);
  const events = (w: Watch, host: string): string[] =>
    payloads(w)
      .filter((p) => p.host === host)
      .map((p) => p.event);

  /** The outage: ssh-shutdown shuts both hosts down (recorded by the lab), wake-hosts records them; then the hosts go dark. */
  async function shutDownBoth(w: Watch): Promise<void> {
    helper.getNode("sd").receive({ payload: power({ onBattery: true, charge: 40 }), outage: O1 } as NodeMessage);
    await waitUntil("both hosts recorded", () => w.lastStatus().startsWith("2 hosts to wake"));
    should(lab.records("nas").map((r) => r.command)).eql(["sudo -n /sbin/shutdown -h +2 'Power failure'"]);
    should(lab.records("storage")).have.length(1);
    for (const name of ["nas", "storage"]) await lab.stopHost(name);
  }

  it("wakes each host when power is back: packets until its sshd answers; a host that never answers ends NO_ANSWER without delaying the other", async () => {
    const { w } = await load();
    await shutDownBoth(w);
    should(udp.got).have.length(0, "nothing is sent while power is out");
    await w.receive({ payload: power({ onBattery: false, charge: 80, event: "POWER_BACK" }), outage: O1 });

    // nas's sshd starts only once its first packet has arrived: its "up" follows the packet
    await waitUntil("the first packet for nas", () => udp.got.some((p) => p.hex === packetOf(MAC.nas)));
    await lab.startHost("nas");
    const up = (await w.next("messages", (m) => (m.payload as WakeResult).event === "UP")).payload as WakeResult;
    should(up).containEql({ host: "nas", hostId: "host-nas", mac: MAC.nas, broadcast: "127.0.0.1", wolPort: udp.port, simulated: false, error: null });
    should(up.packets).be.aboveOrEqual(1);
    should(lab.connections("nas")).be.aboveOrEqual(2, "the shutdown, then the up check, reached the real sshd");
    should(events(w, "storage")).eql(["WAKING"], "storage, still dark, is still being woken: it did not hold nas up");

    const noAnswer = (await w.next("messages", (m) => (m.payload as WakeResult).event === "NO_ANSWER", 20000)).payload as WakeResult;
    should(noAnswer).containEql({ host: "storage", hostId: "host-storage", mac: "02:00:5e:00:00:02", simulated: false });
    should(noAnswer.packets).be.aboveOrEqual(2);
    should(udp.got.filter((p) => p.hex === packetOf(MAC.storage)).length).equal(noAnswer.packets, "every packet counted arrived");
    should(events(w, "nas")).eql(["WAKING", "UP"]);
    should(events(w, "storage")).eql(["WAKING", "NO_ANSWER"]);
    for (const m of w.messages) should((m as NodeMessage & { outage: unknown }).outage).eql(O1, "the outage the host was shut down in");
    const waking = payloads(w).find((p) => p.host === "nas" && p.event === "WAKING");
    should(waking?.packets).equal(1, "WAKING goes out with the first packet");

    // NO_ANSWER also goes to node.error with its message, for a Catch node
    const err = await w.next("errors", (e) => e.text.includes("NO ANSWER"));
    should(err.text).match(/^storage: NO ANSWER on 127\.0\.47\.\d+:\d+ after \d+ s \(\d+ packets\)$/);
    should((err.msg?.payload as WakeResult).event).equal("NO_ANSWER");
    await waitUntil("the status says which host did not answer", () => w.lastStatus() === "no answer: storage · memory only, lost on redeploy");

    // both forgotten: power states that follow wake nothing
    const sent = udp.got.length;
    await w.receive({ payload: power({ onBattery: false, charge: 90 }), outage: O1 });
    should(udp.got.length).equal(sent);
  });

  it("power lost again stops the packets (STOPPED), keeps the host and wakes it on the next return", async () => {
    const { w } = await load();
    await shutDownBoth(w);
    await w.receive({ payload: power({ onBattery: false, charge: 80 }) });
    await waitUntil("packets for both", () => udp.got.some((p) => p.hex === packetOf(MAC.nas)) && udp.got.some((p) => p.hex === packetOf(MAC.storage)));
    await w.receive({ payload: power({ onBattery: true, charge: 78, event: "POWER_LOST" }) });
    await waitUntil("both stopped", () => events(w, "nas").includes("STOPPED") && events(w, "storage").includes("STOPPED"));
    const stopped = payloads(w).find((p) => p.event === "STOPPED");
    should(stopped?.error).match(/^power lost again/);
    should(w.lastStatus()).equal("2 hosts to wake · on battery · memory only, lost on redeploy");
    const count = udp.got.length;
    await w.receive({ payload: power({ onBattery: true, charge: 77 }) });
    should(udp.got.length).equal(count, "no packet while power is out");

    await w.receive({ payload: power({ onBattery: false, charge: 80 }) });
    await waitUntil("a new packet for nas", () => udp.got.slice(count).some((p) => p.hex === packetOf(MAC.nas)));
    for (const name of ["nas", "storage"]) await lab.startHost(name);
    await waitUntil("both up", () => events(w, "nas").at(-1) === "UP" && events(w, "storage").at(-1) === "UP");
    should(events(w, "nas")).eql(["WAKING", "STOPPED", "WAKING", "UP"]);
  });

  it("a restart keeps the recorded hosts (file context store) and wakes them when the conditions hold again", async () => {
    const dir = stores.open({ flushInterval: 30 });
    const first = await load({ store: "file" });
    await shutDownBoth(first.w);
    await stores.restart(dir, "clean");

    const second = await load({ store: "file" });
    await waitUntil("the recorded hosts read back", () => second.w.lastStatus() === "2 hosts to wake · waiting for a power state");
    should(udp.got).have.length(0);
    await second.w.receive({ payload: power({ onBattery: false, charge: 80 }) });
    await waitUntil("the first packet for nas", () => udp.got.some((p) => p.hex === packetOf(MAC.nas)));
    for (const name of ["nas", "storage"]) await lab.startHost(name);
    await waitUntil("both up", () => events(second.w, "nas").includes("UP") && events(second.w, "storage").includes("UP"));
    should((second.w.messages[0] as NodeMessage & { outage: unknown }).outage).eql(O1, "the outage read back with the host");
  });
});
