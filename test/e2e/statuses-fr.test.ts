/**
 * Statuses in the language Node-RED runs in: a real node-red process with
 * `lang: "fr"` in settings.js, every node of the package deployed against
 * the NUT simulator, and a Status node (all nodes) wired to the log. Each
 * node must say its state in French, as a dashboard or a Status node gets
 * it (NUT's own words, OL/OB/LB, stay as NUT writes them). In the default
 * run on the current 4.x and on 3.1, else on the run's target.
 */
import should from "../harness/should";
import { startNutSim, type NutSim } from "../../tools/nut-sim";
import { removeUserDir, startNodeRed, type NodeRedProcess } from "../harness/node-red";
import { runtimeLabel, targetRuntime, type NodeRedPackage } from "../harness/runtime";

const RUNTIMES: NodeRedPackage[] = targetRuntime === "node-red" ? ["node-red", "node-red-3"] : [targetRuntime];

/** Every node of the package, each in a state whose status has words to translate. */
function flow(host: string, port: number): object[] {
  const z = "t";
  const at = (id: string, type: string, more: object): object => ({ id, type, z, name: "", x: 100, y: 100, wires: [], ...more });
  return [
    { id: z, type: "tab", label: "statuses" },
    // started first, so it sees the statuses the others show as they start
    at("watch", "status", { scope: null, wires: [["say"]] }),
    at("say", "function", {
      func: "msg.payload = `status ${msg.status.source.id}=${msg.status.text}`;\nreturn msg;",
      outputs: 1,
      noerr: 0,
      libs: [],
      wires: [["log"]],
    }),
    at("log", "debug", { active: true, tosidebar: false, console: true, tostatus: false, complete: "payload", targetType: "msg" }),
    { id: "srv", type: "nut-server", name: "", host, port, usetls: false, tls: "", login: "", interval: 1, timeout: 2 },
    at("in-all", "nut-ups-in", { server: "srv", mode: "all", ups: "", interval: "", alertInterval: 1, output: "change", vars: false, nocomm: 60 }),
    at("in-unknown", "nut-ups-in", { server: "srv", mode: "one", ups: "nosuch", interval: "", alertInterval: 1, output: "change", vars: false, nocomm: 60 }),
    at("in1", "nut-ups-in", {
      server: "srv",
      mode: "one",
      ups: "ups1",
      interval: "",
      alertInterval: 1,
      output: "change",
      vars: false,
      nocomm: 60,
      wires: [["agg"]],
    }),
    at("agg", "ups-aggregate", {
      policy: "weakest",
      sources: [{ topic: `ups1@${host}:${port}`, power: 1 }],
      confirm: 0,
      restore: 30,
      staleRule: "deadtime",
      deadtime: 30,
      silent: 0,
      emit: "change",
      store: "",
      wires: [["tiers"]],
    }),
    // a Status node sees what nodes show once the flow runs: these two are sent a message then
    at("stray", "inject", {
      props: [{ p: "payload" }, { p: "topic", vt: "str" }],
      repeat: "",
      once: true,
      onceDelay: 0.5,
      topic: "ups9@nas:3493",
      payload: "{}",
      payloadType: "json",
      wires: [["agg-listed"]],
    }),
    at("agg-listed", "ups-aggregate", {
      policy: "weakest",
      sources: [{ topic: "ups1@nas:3493", power: 1 }],
      confirm: 5,
      restore: 30,
      staleRule: "deadtime",
      deadtime: 30,
      silent: 0,
      emit: "change",
      store: "",
    }),
    at("rearm", "inject", { props: [{ p: "reset", v: "true", vt: "bool" }], repeat: "", once: true, onceDelay: 0.5, wires: [["latch"]] }),
    at("tiers", "battery-tier-switch", { mode: "while", staleCounts: false, wires: [[], [], [], [], []] }),
    at("latch", "outage-latch", { key: "outage", store: "", forwardReset: true }),
    {
      id: "h1",
      type: "ssh-host",
      name: "web1",
      address: "127.0.0.1",
      port: 22,
      username: "nut",
      keyFile: "",
      fingerprints: "",
      acceptAnyHostKey: false,
      mac: "02:00:5e:00:00:01",
    },
    at("go", "inject", { props: [{ p: "payload" }], repeat: "", once: true, onceDelay: 0.5, payload: "", payloadType: "str", wires: [["sd"]] }),
    at("sd", "ssh-shutdown", {
      hosts: ["h1"],
      preset: "linux",
      delay: 1,
      message: "",
      action: "simulate",
      allowed: ["simulate"],
      connectTimeout: 10,
      commandTimeout: 30,
      deadline: 60,
      store: "",
      wires: [["wake"]],
    }),
    // records web1 from sd's simulated result, and waits for a power state
    at("wake", "wake-hosts", { hosts: ["h1"], minCharge: 50, stable: 300, broadcast: "127.0.0.1", wolPort: 9, repeat: 10, deadline: 600, store: "" }),
    // the server has no credentials: the command is not sent, and the status says why
    at("go-cmd", "inject", { props: [{ p: "payload" }], repeat: "", once: true, onceDelay: 0.5, payload: "", payloadType: "str", wires: [["cmd"]] }),
    at("cmd", "nut-command", { server: "srv", ups: "ups1", kind: "instcmd", command: "shutdown.return", param: "", hosts: [], store: "" }),
    // no word of the primary yet (no broker wired): the standby waits
    at("gate", "standby-gate", {
      step: "backup",
      prefix: "nut-shutdown/site-a",
      me: "standby",
      controllers: "primary, standby",
      wait: 10,
      expiry: 24,
      outputs: 2,
    }),
  ];
}

/** What each node must come to show, in French. */
const FRENCH: Array<[string, string]> = [
  ["in-all", "ups1 : OB 95% 20 min (2 onduleurs)"],
  ["in-unknown", "onduleur inconnu"],
  ["agg", "sur batterie 95 % ~20 min (ups1)"],
  ["agg-listed", "topic inconnu ups9@nas:3493"],
  ["tiers", "sur batterie 95 % ~20 min : aucun palier"],
  ["latch", "armé · en mémoire seulement, perdu au redéploiement"],
  ["sd", "simulé 1"],
  ["wake", "web1 à réveiller · en attente d'un état d'alimentation · en mémoire seulement, perdu au redéploiement"],
  ["cmd", "shutdown.return : ÉCHEC NO-CREDENTIALS"],
  ["gate", "en attente : pas de nouvelles de primary"],
];

for (const runtime of RUNTIMES) {
  describe(`statuses in French (settings.js lang "fr"): ${runtimeLabel(runtime)}`, function () {
    this.timeout(90000);
    let nr: NodeRedProcess | undefined;
    let sim: NutSim | undefined;

    before(async () => {
      sim = await startNutSim({ port: 0 });
      sim.addUps("ups1", { "ups.status": "OB DISCHRG", "battery.charge": 95, "battery.runtime": 1200, "ups.load": 30 });
      sim.addUps("ups2", { "ups.status": "OL", "battery.charge": 100, "battery.runtime": 2700, "ups.load": 20 });
      nr = await startNodeRed({ runtime, lang: "fr", flows: flow(sim.host, sim.port) });
    });
    after(async () => {
      if (nr) {
        await nr.stop();
        removeUserDir(nr.userDir);
      }
      await sim?.close();
    });

    for (const [id, text] of FRENCH) {
      it(`${id} says "${text}" (as a Status node gets it)`, async () => {
        await nr?.waitForLog(`status ${id}=${text}\n`, 30000);
      });
    }

    it("no status of the package is an untranslated key or a parameter left over", () => {
      const shown = [...(nr?.log() ?? "").matchAll(/status ([\w-]+)=(.*)\n/g)].map((m) => m[2]);
      should(shown.length).be.aboveOrEqual(FRENCH.length);
      should(shown.filter((t) => /__\w+__|\b[a-z-]+\.status\.|node-red:/.test(t))).eql([]);
    });
  });
}
