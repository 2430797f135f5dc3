/**
 * The wake-hosts node without an SSH server: simulated hosts (no packet),
 * a host without a MAC address, results of other hosts, reset, a result
 * that never wakes, bad messages, and the stable time on a mocked clock.
 * Packets to a real host and the SSH check are in
 * test/integration/wake-hosts.test.ts.
 */
import should from "../harness/should";
import type { NodeMessage } from "node-red";
import type { WakeResult } from "../../core/contract";
import sshHostNode from "../../nodes/ssh-host";
import wakeHostsNode from "../../nodes/wake-hosts";
import { outage, power } from "../harness/decide-fixtures";
import { clock } from "../harness/decide-node-helper";
import { sshHostDef } from "../harness/ssh-target";
import { type LanListener, udpListener } from "../harness/lan";
import { type Watch, callsOf, helper, settle, watch } from "../harness/red-helper";

const O1 = outage("outage-20261205T140000Z-ab12", Date.UTC(2026, 11, 5, 14, 0, 0));

/** An ssh-shutdown result message for ssh-host `hostId`. */
const result = (hostId: string, action = "shutdown", ok = true): object => ({
  payload: { host: hostId, hostId, address: "127.0.0.1", port: 22, action, command: "c", ok, error: ok ? null : "x" },
  outage: O1,
  topic: hostId,
});

describe("wake-hosts node (no SSH server needed)", () => {
  let udp: LanListener;
  let port: number;
  beforeEach(async () => {
    // the default context store, whatever an earlier test file set (the status says what the store keeps)
    helper.settings({});
    udp = await udpListener();
    port = udp.port;
  });
  afterEach(async () => {
    clock.stop();
    await helper.unload();
    await udp.close();
  });

  const host = (id: string, name: string, mac: string): object => sshHostDef(id, name, { port: 1, mac });

  async function load(over: Record<string, unknown> = {}, hosts: object[] = [host("h1", "nas", "02:00:5e:00:00:01"), host("h2", "storage", "")]) {
    await helper.load(
      [sshHostNode, wakeHostsNode],
      [
        ...hosts,
        {
          id: "wake",
          type: "wake-hosts",
          name: "",
          hosts: ["h1", "h2"],
          minCharge: 50,
          stable: 0,
          broadcast: "127.0.0.1",
          wolPort: port,
          repeat: 1,
          deadline: 2,
          store: "",
          wires: [["out"]],
          ...over,
        },
        { id: "out", type: "helper" },
      ],
    );
    return watch("wake", "out");
  }
  const events = (w: Watch): string[] => w.messages.map((m) => `${(m.payload as WakeResult).host} ${(m.payload as WakeResult).event}`);

  it("a simulated shutdown is woken in simulation: WAKING then SIMULATED, marked simulated, no packet; then forgotten", async () => {
    const w = await load();
    await w.receive(result("h1", "simulate"));
    should(w.lastStatus()).equal("nas to wake · waiting for a power state · memory only, lost on redeploy");
    await w.receive({ payload: power({ onBattery: false, charge: 90 }) });
    should(events(w)).eql(["nas WAKING", "nas SIMULATED"]);
    for (const m of w.messages) {
      should(m.payload).containEql({ simulated: true, packets: 0, mac: "02:00:5e:00:00:01", hostId: "h1" });
      should((m as NodeMessage & { outage: unknown }).outage).eql(O1);
    }
    should(w.messages[0].summary).equal("nas: simulate, would wake 02:00:5e:00:00:01 (to 127.0.0.1:" + port + "; no packet sent)");
    await settle();
    should(udp.got.length).equal(0, "nothing sent");
    should(w.lastStatus()).equal("nas: waking simulated · memory only, lost on redeploy");
    await w.receive({ payload: power({ onBattery: false, charge: 95 }) });
    should(w.messages).have.length(2, "forgotten after SIMULATED");
  });

  it("a host without a MAC address: a warning at deploy, then FAILED naming the field (message and node.error), no packet", async () => {
    const w = await load();
    const n = helper.getNode("wake");
    should(callsOf(n, n.warn).map((c) => String(c.args[0]))).eql(['ssh-host storage has no MAC address: fill "MAC address" in its dialog to wake it']);
    await w.receive(result("h2"));
    await w.receive({ payload: power({ onBattery: false, charge: 90 }) });
    should(events(w)).eql(["storage FAILED"]);
    should(w.messages[0].summary).equal('storage: cannot wake: ssh-host storage has no MAC address: fill "MAC address" in its dialog to wake it');
    const err = await w.next("errors", (e) => e.text.startsWith("storage: cannot wake"));
    should((err.msg?.payload as WakeResult).event).equal("FAILED");
    should(w.lastStatus()).equal("cannot wake: storage · memory only, lost on redeploy");
    should(udp.got.length).equal(0);
  });

  it("results of hosts not in the list, failed shutdowns and checks are not recorded; the status counts the other hosts", async () => {
    const w = await load();
    await w.receive(result("h9"));
    await w.receive(result("h1", "shutdown", false));
    await w.receive(result("h1", "check"));
    should(w.lastStatus()).equal("nothing to wake · ignored results of other hosts: 1 · memory only, lost on redeploy");
    await w.receive({ payload: power({ onBattery: false, charge: 90 }) });
    should(w.messages).have.length(0);
    should(w.errorTexts()).eql([]);
  });

  it("a result never wakes, even with power back and stable; the next power state does", async () => {
    const w = await load();
    await w.receive({ payload: power({ onBattery: false, charge: 90 }) });
    await w.receive(result("h1", "simulate"));
    await settle();
    should(w.messages).have.length(0);
    await w.receive({ payload: power({ onBattery: false, charge: 90 }) });
    should(events(w)).eql(["nas WAKING", "nas SIMULATED"]);
  });

  it("msg.reset forgets the recorded hosts", async () => {
    const w = await load();
    await w.receive(result("h1", "simulate"));
    await w.receive({ reset: true, payload: power({ onBattery: true }) });
    should(w.lastStatus()).equal("nothing to wake · memory only, lost on redeploy");
    await w.receive({ payload: power({ onBattery: false, charge: 90 }) });
    should(w.messages).have.length(0);
  });

  it("charge below the threshold or unknown holds the wake, and the status says so", async () => {
    const w = await load();
    await w.receive(result("h1", "simulate"));
    await w.receive({ payload: power({ onBattery: false, charge: 34 }) });
    should(w.lastStatus()).equal("nas to wake · charge 34 % < 50 % · memory only, lost on redeploy");
    await w.receive({ payload: power({ onBattery: false, charge: null }) });
    should(w.lastStatus()).equal("nas to wake · charge unknown (needs 50 %) · memory only, lost on redeploy");
    should(w.messages).have.length(0);
    await w.receive({ payload: power({ onBattery: false, charge: 50 }) });
    should(events(w)).eql(["nas WAKING", "nas SIMULATED"]);
  });

  it("the stable time runs on the monotonic clock: nothing before it, the wake when it is reached, without another message", async () => {
    clock.start(Date.UTC(2026, 11, 5, 15, 0, 0));
    const w = await load({ stable: 300 });
    await w.receive(result("h1", "simulate"));
    await w.receive({ payload: power({ onBattery: false, charge: 90 }) });
    should(w.lastStatus()).equal("nas to wake · mains stable 0/5 min · memory only, lost on redeploy");
    clock.stepWall(3_600_000); // NTP steps the wall clock: the stable time does not move
    await settle();
    should(w.messages).have.length(0);
    await w.step("the status moves on", () => clock.tick(150_000));
    should(w.lastStatus()).equal("nas to wake · mains stable 2/5 min · memory only, lost on redeploy");
    clock.tick(149_999);
    await settle();
    should(w.messages).have.length(0);
    clock.tick(1);
    await w.next("messages", (m) => (m.payload as WakeResult).event === "SIMULATED");
    should(events(w)).eql(["nas WAKING", "nas SIMULATED"]);
  });

  it("power lost during the stable time starts it over", async () => {
    clock.start(Date.UTC(2026, 11, 5, 15, 0, 0));
    const w = await load({ stable: 300 });
    await w.receive(result("h1", "simulate"));
    await w.receive({ payload: power({ onBattery: false, charge: 90 }) });
    clock.tick(299_000);
    await w.receive({ payload: power({ onBattery: true, charge: 89 }) });
    should(w.lastStatus()).equal("nas to wake · on battery · memory only, lost on redeploy");
    await w.receive({ payload: power({ onBattery: false, charge: 89 }) });
    clock.tick(299_000);
    await settle();
    should(w.messages).have.length(0);
    clock.tick(1000);
    await w.next("messages", (m) => (m.payload as WakeResult).event === "SIMULATED");
  });

  it("a message it cannot use is an error for Catch, saying what is wrong; nothing changes", async () => {
    const w = await load();
    const n = helper.getNode("wake");
    const failed: string[] = [];
    for (const msg of [{ payload: 73 }, { payload: { action: "shutdown", ok: true, hostId: 5 } }, { payload: { ...power(), charge: "73" } }]) {
      const before = w.completed.length;
      n.receive(msg as NodeMessage);
      await w.next("completed", () => true, 5000, before);
    }
    await settle();
    for (const c of callsOf(n, n.error)) failed.push(String((c.args[0] as Error)?.message ?? c.args[0]));
    should(failed).eql([
      "Message ignored: msg.payload must be a result of ssh-shutdown or a power state of ups-aggregate (got 73)",
      "Message ignored: msg.payload.hostId must be the id of an ssh-host, as ssh-shutdown sets it (got 5)",
      'Message ignored: msg.payload.charge must be a number or null (got string "73")',
    ]);
    should(w.messages).have.length(0);
  });
});
