/**
 * A throw-away Eclipse Mosquitto (Debian `mosquitto`) for the tests that
 * send the package's messages over MQTT: its own config and persistence
 * directory in a temp dir, one listener on 127.0.0.1 and a free port,
 * anonymous clients allowed (a test broker; docs/sites.md shows the
 * secure setup), retained messages kept across a restart (persistence,
 * as a real deployment must configure it), stopped by its PID.
 *
 *   const broker = await startBroker();
 *   await broker.restart();   // same port, same retained messages
 *   await broker.stop();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { findExecutable, freePort, portOpen } from "./system";
import { terminate } from "./proc";
import { waitUntil } from "./wait";

export const MOSQUITTO_INSTALL = "apt-get install -y mosquitto";

const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];

/** Why no broker can be started here, or null. */
export function mosquittoMissing(): string | null {
  return findExecutable(MOSQUITTO) ? null : `no mosquitto executable in ${MOSQUITTO.join(", ")}`;
}

export interface Broker {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly url: string;
  /** Everything mosquitto logged so far (all runs). */
  log(): string;
  /** Stops the broker (SIGTERM: it saves its retained messages) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops the broker only: clients lose it until `start`. */
  stopOnly(): Promise<void>;
  start(): Promise<void>;
  /** Stops the broker and removes its directory. */
  stop(): Promise<void>;
}

export async function startBroker(): Promise<Broker> {
  const exe = findExecutable(MOSQUITTO);
  if (!exe) throw new Error(`mosquitto is missing: ${MOSQUITTO_INSTALL}`);
  const dir = mkdtempSync(join(tmpdir(), "nut-shutdown-mqtt-"));
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      // SAFETY: loopback only; anonymous clients are acceptable for a broker no other machine can reach
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      // run as whoever runs the tests (as root, mosquitto would otherwise switch to "mosquitto" and lose its directory)
      `user ${userInfo().username}`,
      "persistence true",
      `persistence_location ${dir}/`,
      "autosave_interval 1",
      "log_dest stdout",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "log_type information",
      "",
    ].join("\n"),
  );
  let out = "";
  let child: ChildProcess | null = null;
  const start = async () => {
    const c = spawn(exe, ["-c", conf], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    c.stdout?.on("data", (b: Buffer) => (out += b.toString()));
    c.stderr?.on("data", (b: Buffer) => (out += b.toString()));
    child = c;
    await waitUntil("mosquitto to listen", async () => c.exitCode === null && (await portOpen(port)), { timeoutMs: 10_000 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${out}`);
    });
  };
  const stopOnly = async () => {
    const pid = child?.pid;
    child = null;
    if (pid) await terminate([pid], 5000);
  };
  await start();
  return {
    host: "127.0.0.1",
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log: () => out,
    start,
    stopOnly,
    restart: async () => {
      await stopOnly();
      await start();
    },
    stop: async () => {
      await stopOnly();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
