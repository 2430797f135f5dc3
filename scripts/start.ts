/**
 * `npm start`: Node-RED on http://127.0.0.1:1880 with this package installed
 * and the progressive example deployed against a simulated outage: example 05
 * (01 with a dashboard at /dashboard) when @flowfuse/node-red-dashboard is
 * installed (a dev dependency, so in every clone; Node-RED finds it in the
 * repository's node_modules), else example 01.
 *
 * - Two simulated UPSes are served by the in-repo NUT simulator (tools/nut-sim)
 *   and lose power on a script (tools/demo-outage); or, with NUT_HOST (and
 *   NUT_PORT, NUT_UPS="name1,name2"), the example reads a real upsd instead.
 * - Every ssh-shutdown stays on `simulate`: nothing is ever connected to or
 *   shut down. No root and no system package are needed.
 * - Node-RED's own userDir is `.userdir/` in the repository; its flows are
 *   rewritten at every start (edit freely, but a restart of the demo resets them).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { startNutSim, type NutSim } from "../tools/nut-sim";
import { demoReadings, demoStart, demoStep, DEMO_LOW, DEMO_UPSES, type DemoState } from "../tools/demo-outage";
import { loadExample, pointAtNut, setOnType, setShutdownAction } from "../tools/example-flow";

const root = resolve(__dirname, "..");
// DEMO_USERDIR: another userDir (the screenshot script and the demo test use a temporary one).
const userDir = process.env.DEMO_USERDIR ?? join(root, ".userdir");
const port = Number(process.env.PORT ?? 1880);

/** Whether FlowFuse Dashboard 2.0 is installed beside this package (it is a dev dependency). */
function dashboardInstalled(): boolean {
  try {
    require.resolve("@flowfuse/node-red-dashboard/package.json", { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

function portFree(p: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer()
      .once("error", () => res(false))
      .listen(p, "127.0.0.1", () => srv.close(() => res(true)));
  });
}

function writeUserDir(flows: unknown[]): void {
  mkdirSync(join(userDir, "node_modules"), { recursive: true });
  const link = join(userDir, "node_modules", "node-red-contrib-nut-shutdown");
  if (!existsSync(link)) symlinkSync(root, link, "dir");
  writeFileSync(join(userDir, "package.json"), JSON.stringify({ name: "nut-shutdown-demo", private: true }, null, 2));
  writeFileSync(
    join(userDir, "settings.js"),
    `// Written by npm start (scripts/start.ts) for the demo; rewritten at every start.
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: ${port},
    flowFile: "flows.json",
    credentialSecret: "nut-shutdown-demo-only",
    // Persistent context: the once-per-outage latches survive a restart, as they should in production.
    contextStorage: { default: { module: "localfilesystem" }, memory: { module: "memory" } },
    logging: {
        console: { level: "info", metrics: false, audit: false },
        // tells npm start when an editor opens, so the simulated outage begins in front of someone
        demo: { level: "off", audit: true, handler: () => (entry) => { if (entry.event === "comms.open" && process.send) process.send("editor"); } },
    },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
};
`,
  );
  writeFileSync(join(userDir, "flows.json"), JSON.stringify(flows, null, 2));
}

/**
 * Serves the demo UPSes and plays the outage script; its clock runs once
 * `begin()` is called (at once with DEMO_START_AT, else when the first
 * editor opens), until then both UPSes are on line power at 100 %.
 */
function playOutage(sim: NutSim, startAt: number): { begin: () => void; stop: () => void } {
  let state: DemoState = demoStart();
  while (state.t < startAt) state = demoStep(state, 1);
  for (const u of DEMO_UPSES) {
    const r = demoReadings(state)[u.name];
    sim.addUps(
      u.name,
      {
        "ups.status": r.status,
        "battery.charge": r.charge,
        "battery.charge.low": DEMO_LOW,
        "battery.runtime": r.runtime,
        "ups.load": r.load,
        "device.mfr": "nut-sim",
        "device.model": "Demo UPS",
      },
      `demo ${u.name}`,
    );
  }
  let lastOff = false;
  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    state = demoStep(state, 1);
    const readings = demoReadings(state);
    for (const [name, r] of Object.entries(readings)) {
      sim.setStatus(name, r.status);
      sim.setVar(name, "battery.charge", r.charge);
      sim.setVar(name, "battery.runtime", r.runtime);
    }
    const off = readings.ups1.status.startsWith("OB");
    if (off !== lastOff) {
      const what = off ? "mains OFF (UPSes on battery)" : "mains back (UPSes recharging)";
      console.log(
        `[demo] t=${state.t}s ${what}: ${Object.entries(readings)
          .map(([n, r]) => `${n} ${r.charge} %`)
          .join(", ")}`,
      );
      lastOff = off;
    }
  };
  return {
    begin: () => {
      timer ??= setInterval(tick, 1000);
    },
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
}

async function main(): Promise<void> {
  if (!existsSync(join(root, "dist", "nodes", "nut-ups-in.js"))) throw new Error("dist/ is missing: run `npm run build` (npm start does it)");
  if (!(await portFree(port))) throw new Error(`127.0.0.1:${port} is in use: stop what runs there or start with PORT=18800 npm start`);

  let sim: NutSim | null = null;
  let outage: { begin: () => void; stop: () => void } | null = null;
  let nutHost: string;
  let nutPort: number;
  let names: Record<string, string> = {};
  if (process.env.NUT_HOST) {
    nutHost = process.env.NUT_HOST;
    nutPort = Number(process.env.NUT_PORT ?? 3493);
    const [a, b] = (process.env.NUT_UPS ?? "ups1,ups2").split(",").map((s) => s.trim());
    names = { ups1: a, ups2: b ?? a };
    console.log(`[demo] reading the real upsd at ${nutHost}:${nutPort} (UPSes ${names.ups1}, ${names.ups2}); no simulated outage`);
  } else {
    sim = await startNutSim({ port: 0 });
    nutHost = sim.host;
    nutPort = sim.port;
    // DEMO_START_AT=100 starts the script 100 s in, at once (used by the screenshot script and the demo test).
    const startAt = process.env.DEMO_START_AT;
    outage = playOutage(sim, Number(startAt ?? 0));
    if (startAt !== undefined) outage.begin();
    console.log(`[demo] simulated upsd (tools/nut-sim) on ${nutHost}:${nutPort} serving ups1 and ups2`);
    console.log("[demo] outage script, from the moment the first editor opens: mains off at 20 s (ups2 drains fastest:");
    console.log("[demo]   90 % ~33 s, 50 % ~87 s, 20 % ~127 s, 10 % ~140 s), back at 150 s, a 3 s flicker at 200 s (fires");
    console.log("[demo]   nothing), a second outage at 240 s; it repeats every 7 min from full batteries. The debug sidebar");
    console.log("[demo]   shows only what happens while the editor is open; the node statuses show the current state.");
  }

  const dashboard = dashboardInstalled();
  const flow = pointAtNut(loadExample(dashboard ? "05" : "01"), nutHost, nutPort, names);
  // SAFETY, whatever the example ships with: the demo shuts nothing down, cuts no UPS, and its wake packets stay on loopback
  setShutdownAction(flow, "simulate", ["simulate"]);
  setOnType(flow, "nut-command", { d: true });
  setOnType(flow, "wake-hosts", { broadcast: "127.0.0.1" });
  writeUserDir(flow);

  const red = spawn(process.execPath, [join(root, "node_modules", "node-red", "red.js"), "--userDir", userDir], {
    cwd: userDir,
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
  red.on("message", (m) => {
    if (m !== "editor" || !outage) return;
    console.log("[demo] an editor opened: the outage script runs (mains off in 20 s)");
    outage.begin();
    red.removeAllListeners("message");
  });
  console.log(`\n[demo] Node-RED starting: open http://127.0.0.1:${port}/ (the debug sidebar shows the plan unfolding)`);
  if (dashboard)
    console.log(
      `[demo] the dashboard (example 05): http://127.0.0.1:${port}/dashboard (charges, thresholds, power state, shutdowns; the outage begins when the editor opens)`,
    );
  else console.log("[demo] no dashboard: @flowfuse/node-red-dashboard is not installed (npm install), so example 01 runs");
  console.log("[demo] every ssh-shutdown is on 'simulate': nothing is shut down. Stop with Ctrl+C.\n");

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    outage?.stop();
    if (red.exitCode === null) red.kill("SIGINT");
    await new Promise<void>((r) => (red.exitCode !== null ? r() : red.once("exit", () => r())));
    await sim?.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  red.on("exit", (code) => void stop(code ?? 0));
}

main().catch((err: unknown) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
