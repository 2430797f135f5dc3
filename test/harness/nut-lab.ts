/**
 * A real upsd serving simulated UPSes (dummy-ups), from a temp dir, on a
 * free loopback port: for tests and benchmarks.
 *
 *   const lab = await startNutLab({ upses: 2 });       // ups1, ups2 on lab.port
 *   await lab.setVar("ups1", "ups.status", "OB DISCHRG"); // resolves once upsd serves it
 *   await lab.stop();
 *
 * Facts it relies on (Debian 12, NUT 2.8.0): /sbin/upsd is a wrapper gated by
 * nut.conf, so the binaries in /lib/nut are called directly; everything lives
 * under NUT_CONFPATH / NUT_STATEPATH / NUT_ALTPIDPATH in the temp dir; as root
 * the daemons need `-u root`; `-F` keeps them in the foreground so the PID we
 * hold is the daemon's. Ready = every UPS serves battery.charge and a status
 * other than WAIT. SET VAR is answered before the driver applies it, so
 * setVar waits until upsd serves the new value. The .dev file stays the
 * source of truth (a restarted driver reads it again); dummy-ups notices a
 * rewrite only when the mtime's second changes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LineBuffer, formatCommand, tokenize } from "../../core/nut/protocol";
import { findExecutable, freePort, portOpen } from "./system";
import { waitUntil } from "./wait";

const BIN_DIRS = ["/lib/nut", "/usr/lib/nut", "/usr/libexec/nut", "/usr/local/ups/bin", "/usr/local/ups/sbin"];
const binary = (name: string) => findExecutable(BIN_DIRS.map((d) => join(d, name)));

/** The users of every lab's upsd.users. */
export const NUT_LAB_USERS = {
  /** upsmon primary, SET and FSD rights. */
  admin: { username: "admin", password: "adminpass" },
  /** upsmon secondary: may LOGIN, nothing else. */
  monitor: { username: "monuser", password: "monpass" },
  /** No rights: reads, and LOGIN is refused. */
  viewer: { username: "viewer", password: "viewerpass" },
  /** upsmon primary that may not set FSD: its shutdown leaves upsd as it was (the differential test). */
  primaryNoFsd: { username: "upsmonprimary", password: "primarypass" },
};

/** What the lab lacks on this machine (for requireComponent), or null. */
export function nutLabMissing(): string | null {
  const missing = ["upsd", "dummy-ups"].filter((b) => !binary(b));
  return missing.length ? `NUT binaries ${missing.join(", ")} not found in ${BIN_DIRS.join(", ")}` : null;
}
export const NUT_LAB_INSTALL = "apt-get install -y nut-server nut-client";

export interface NutLabOptions {
  /** How many UPSes (ups1, ups2, …) or their names. Default 2. */
  upses?: number | string[];
  /** upsd MAXAGE in s: data older than this is DATA-STALE. Default 15 (NUT's). */
  maxAge?: number;
  /** dummy-ups pollinterval in s. Default 2 (NUT's). */
  driverPollInterval?: number;
  /** Variables every UPS starts with (added to / overriding the defaults). */
  vars?: Record<string, string | number>;
  startTimeoutMs?: number;
}

const DEFAULT_VARS: Record<string, string | number> = {
  "battery.charge": 100,
  "battery.charge.low": 20,
  "battery.runtime": 2700,
  "battery.runtime.low": 300,
  "battery.voltage": "13.6",
  "device.mfr": "NUT Lab",
  "device.model": "Dummy 1500",
  "device.type": "ups",
  "input.voltage": "230.0",
  "output.voltage": "230.0",
  "ups.load": 25,
  "ups.mfr": "NUT Lab",
  "ups.model": "Dummy 1500",
  "ups.status": "OL",
};

/** Every daemon any lab started, so a crashing test run does not leave them behind. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) {
    try {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

interface Daemon {
  child: ChildProcess;
  exited: Promise<void>;
}

export class NutLab {
  readonly host = "127.0.0.1";
  private upsd: Daemon | null = null;
  private drivers = new Map<string, Daemon>();
  /** Drivers frozen by pauseDriver (upsd cannot be served by them). */
  private paused = new Set<string>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly asRoot = process.getuid?.() === 0;

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly upses: string[],
    private readonly startTimeoutMs: number,
  ) {
    this.env = { ...process.env, NUT_CONFPATH: join(dir, "etc"), NUT_STATEPATH: join(dir, "state"), NUT_ALTPIDPATH: join(dir, "run") };
  }

  /** PID of the running upsd (for measuring what it costs), null when stopped. */
  get upsdPid(): number | null {
    return this.upsd?.child.pid ?? null;
  }

  /** `ups@127.0.0.1:port` */
  name(ups: string): string {
    return `${ups}@${this.host}:${this.port}`;
  }

  /** Set a variable (added to the .dev file when new); resolves when upsd serves the value. */
  async setVar(ups: string, name: string, value: string | number, timeoutMs = 8000): Promise<void> {
    const want = String(value);
    if (!/^[A-Za-z0-9_.]+$/.test(name)) throw new Error(`nut-lab: bad variable name ${name}`);
    // measured: dummy-ups mangles '"', '\' and drops lines with '#' in .dev files
    if (/[\n"\\#]/.test(want)) throw new Error(`nut-lab: value may not contain newline, '"', '\\' or '#'`);
    this.writeDev(ups, name, want);
    const replies = await this.session([
      ["USERNAME", NUT_LAB_USERS.admin.username],
      ["PASSWORD", NUT_LAB_USERS.admin.password],
      ["SET", "VAR", ups, name, want],
    ]);
    const setReply = replies[2];
    if (!/^(OK|ERR VAR-NOT-SUPPORTED|ERR DRIVER-NOT-CONNECTED|ERR DATA-STALE)/.test(setReply)) {
      throw new Error(`nut-lab: SET VAR ${ups} ${name} answered "${setReply}"`);
    }
    if (/DRIVER-NOT-CONNECTED|DATA-STALE/.test(setReply)) return; // the driver reads the file when it runs again
    await waitUntil(
      `nut-lab: ${ups} ${name} = "${want}"`,
      async () => {
        const got = await this.getVar(ups, name);
        return (name === "ups.status" ? got?.replace(/^FSD /, "") : got) === want;
      },
      { timeoutMs, everyMs: 50 },
    );
  }

  /**
   * Write a variable into the .dev file only: the driver takes it when it
   * reads the file again (a frozen or stopped driver once it runs, within its
   * pollinterval). For changes while upsd or the driver cannot take SET VAR.
   */
  writeVar(ups: string, name: string, value: string | number): void {
    if (!/^[A-Za-z0-9_.]+$/.test(name)) throw new Error(`nut-lab: bad variable name ${name}`);
    const want = String(value);
    if (/[\n"\\#]/.test(want)) throw new Error(`nut-lab: value may not contain newline, '"', '\\' or '#'`);
    this.writeDev(ups, name, want);
  }

  /** Whether upsd runs, and which drivers run unfrozen (what setVar needs). */
  get upsdRunning(): boolean {
    return this.upsd !== null;
  }

  /** What the driver of `ups` printed so far (its last 2000 characters). */
  driverLog(ups: string): string {
    return this.log(`driver-${ups}`);
  }

  driverServing(ups: string): boolean {
    return this.drivers.has(ups) && !this.paused.has(ups);
  }

  /** The driver runs (maybe frozen). */
  driverRunning(ups: string): boolean {
    return this.drivers.has(ups);
  }

  /** Set the forced-shutdown flag (as upsmon primary would): status becomes "FSD …" until upsd restarts. */
  async setFsd(ups: string): Promise<void> {
    const replies = await this.session([
      ["USERNAME", NUT_LAB_USERS.admin.username],
      ["PASSWORD", NUT_LAB_USERS.admin.password],
      ["FSD", ups],
    ]);
    if (replies[2] !== "OK FSD-SET") throw new Error(`nut-lab: FSD ${ups} answered "${replies[2]}"`);
  }

  /** What upsd serves for a variable: the value, or `ERR …`, or null when the connection failed. */
  async getVar(ups: string, name: string): Promise<string | null> {
    const [line] = await this.session([["GET", "VAR", ups, name]]).catch(() => [undefined]);
    if (line === undefined) return null;
    const t = tokenize(line);
    return t[0] === "VAR" ? (t[3] ?? "") : line;
  }

  /** SIGTERM one driver and wait until it is gone (upsd then answers DRIVER-NOT-CONNECTED). */
  async stopDriver(ups: string): Promise<void> {
    const d = this.drivers.get(ups);
    if (d) await stopDaemon(d);
    this.drivers.delete(ups);
    this.paused.delete(ups);
  }

  /** Start a stopped driver and wait until upsd serves it again (when upsd runs). */
  async startDriver(ups: string): Promise<void> {
    if (this.drivers.has(ups)) throw new Error(`nut-lab: driver ${ups} already running`);
    this.launchDriver(ups);
    await this.waitDriverSockets([ups]);
    if (this.upsd) await this.waitServed([ups]);
  }

  /** Freeze a driver (SIGSTOP): upsd serves cached values, then DATA-STALE after MAXAGE. */
  pauseDriver(ups: string): void {
    this.drivers.get(ups)?.child.kill("SIGSTOP");
    if (this.drivers.has(ups)) this.paused.add(ups);
  }

  resumeDriver(ups: string): void {
    this.drivers.get(ups)?.child.kill("SIGCONT");
    this.paused.delete(ups);
  }

  /** Stop upsd (clients see EOF) and wait until the port is free. */
  async stopUpsd(): Promise<void> {
    if (this.upsd) await stopDaemon(this.upsd);
    this.upsd = null;
    await waitUntil(`nut-lab: port ${this.port} released`, async () => !(await portOpen(this.port)), { timeoutMs: 5000, everyMs: 50 });
  }

  /** Start upsd and wait until every running (unfrozen) driver's UPS is served. */
  async startUpsd(): Promise<void> {
    const bin = binary("upsd");
    if (!bin) throw new Error(nutLabMissing() ?? "upsd missing");
    this.upsd = this.launch(bin, [], "upsd");
    await this.waitServed([...this.drivers.keys()].filter((u) => !this.paused.has(u)));
  }

  /** Back to normal after a fault test: drivers resumed or restarted, upsd running, everything served. */
  async ensureRunning(): Promise<void> {
    for (const u of this.upses) {
      const d = this.drivers.get(u);
      if (d && d.child.exitCode === null && d.child.signalCode === null) this.resumeDriver(u);
      else {
        this.drivers.delete(u);
        this.launchDriver(u);
        await this.waitDriverSockets([u]);
      }
    }
    if (!this.upsd || this.upsd.child.exitCode !== null || this.upsd.child.signalCode !== null) {
      this.upsd = null;
      await this.startUpsd();
    } else {
      await this.waitServed(this.upses);
    }
  }

  async stop(): Promise<void> {
    const all = [this.upsd, ...this.drivers.values()].filter((d): d is Daemon => d !== null);
    this.upsd = null;
    this.drivers.clear();
    await Promise.all(all.map(stopDaemon));
    await rm(this.dir, { recursive: true, force: true });
  }

  // ---- inside ---------------------------------------------------------------------------------

  /** Write the config files and start the drivers, then upsd. */
  async start(opts: NutLabOptions): Promise<void> {
    const etc = join(this.dir, "etc");
    for (const d of ["etc", "state", "run", "log"]) mkdirSync(join(this.dir, d), { recursive: true });
    chmodSync(join(this.dir, "state"), 0o700);
    const ups = this.upses.map((u) => `[${u}]\n  driver = dummy-ups\n  port = ${join(etc, u + ".dev")}\n  desc = "NUT lab ${u}"\n`).join("");
    writeFileSync(join(etc, "ups.conf"), `pollinterval = ${opts.driverPollInterval ?? 2}\n${ups}`);
    writeFileSync(join(etc, "upsd.conf"), `LISTEN ${this.host} ${this.port}\nMAXAGE ${opts.maxAge ?? 15}\n`);
    const { admin, monitor, viewer, primaryNoFsd } = NUT_LAB_USERS;
    writeFileSync(
      join(etc, "upsd.users"),
      `[${admin.username}]\n  password = ${admin.password}\n  actions = SET FSD\n  instcmds = ALL\n  upsmon primary\n` +
        `[${monitor.username}]\n  password = ${monitor.password}\n  upsmon secondary\n` +
        `[${viewer.username}]\n  password = ${viewer.password}\n` +
        `[${primaryNoFsd.username}]\n  password = ${primaryNoFsd.password}\n  actions = LOGIN MASTER\n`,
    );
    for (const u of this.upses) {
      const vars = { ...DEFAULT_VARS, "device.serial": `LAB-${u}`, ...opts.vars };
      writeFileSync(
        join(etc, `${u}.dev`),
        Object.entries(vars)
          .map(([k, v]) => `${k}: ${v}\n`)
          .join(""),
      );
    }
    for (const f of ["ups.conf", "upsd.conf", "upsd.users", ...this.upses.map((u) => `${u}.dev`)]) chmodSync(join(etc, f), 0o640);
    for (const u of this.upses) this.launchDriver(u);
    await this.waitDriverSockets(this.upses);
    await this.startUpsd();
  }

  private launch(bin: string, args: string[], log: string): Daemon {
    const fd = openSync(join(this.dir, "log", `${log}.log`), "a");
    const child = spawn(bin, [...args, ...(this.asRoot ? ["-u", "root"] : []), "-F"], {
      env: this.env,
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    running.add(child);
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => {
        running.delete(child);
        resolve();
      });
      child.once("error", () => resolve());
    });
    return { child, exited };
  }

  private launchDriver(ups: string): void {
    const bin = binary("dummy-ups");
    if (!bin) throw new Error(nutLabMissing() ?? "dummy-ups missing");
    // a SIGTERMed driver leaves its socket behind
    rmSocket(join(this.dir, "state", `dummy-ups-${ups}`));
    this.drivers.set(ups, this.launch(bin, ["-a", ups], `driver-${ups}`));
  }

  private async waitDriverSockets(upses: string[]): Promise<void> {
    await waitUntil(
      `nut-lab: driver sockets of ${upses.join(", ")}`,
      async () => {
        for (const u of upses) {
          if (this.drivers.get(u)?.child.exitCode !== null) throw new Error(`nut-lab: driver ${u} exited: ${this.log(`driver-${u}`)}`);
          if (!existsSync(join(this.dir, "state", `dummy-ups-${u}`))) return false;
        }
        return true;
      },
      { timeoutMs: this.startTimeoutMs, everyMs: 50 },
    );
  }

  /** Ready = every UPS serves battery.charge and a status other than WAIT. */
  private async waitServed(upses: string[]): Promise<void> {
    await waitUntil(
      `nut-lab: upsd serving ${upses.join(", ") || "(no UPS)"}`,
      async () => {
        if (this.upsd?.child.exitCode !== null) throw new Error(`nut-lab: upsd exited: ${this.log("upsd")}`);
        if (upses.length === 0) return portOpen(this.port);
        for (const u of upses) {
          const status = await this.getVar(u, "ups.status");
          if (status === null || status.startsWith("ERR") || status === "WAIT") return false;
          const charge = await this.getVar(u, "battery.charge");
          if (charge === null || charge.startsWith("ERR")) return false;
        }
        return true;
      },
      { timeoutMs: this.startTimeoutMs, everyMs: 50 },
    );
  }

  private writeDev(ups: string, name: string, value: string): void {
    const file = join(this.dir, "etc", `${ups}.dev`);
    if (!existsSync(file)) throw new Error(`nut-lab: unknown UPS ${ups}`);
    const lines = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l && l.split(":")[0] !== name);
    // quoted, so repeated spaces and ':' survive (dummy-ups re-joins unquoted words)
    lines.push(`${name}: "${value}"`);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, lines.join("\n") + "\n", { mode: 0o640 });
    // dummy-ups only compares whole seconds of the mtime: make it strictly newer
    const prev = Math.floor(statSync(file).mtimeMs / 1000);
    const next = Math.max(prev + 1, Math.floor(Date.now() / 1000));
    utimesSync(tmp, next, next);
    renameSync(tmp, file);
  }

  /** One short connection: send the commands, return one reply line per command. */
  private session(commands: string[][]): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      const socket = connect(this.port, this.host);
      const lines = new LineBuffer();
      const got: string[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`nut-lab: no reply from upsd on ${this.port} to ${commands.map((c) => c[0]).join(", ")}`));
      }, 3000);
      socket.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on("data", (chunk: Buffer) => {
        got.push(...lines.push(chunk).lines);
        if (got.length >= commands.length) {
          clearTimeout(timer);
          socket.end("LOGOUT\n");
          resolve(got.slice(0, commands.length));
        }
      });
      socket.write(commands.map((c) => formatCommand(c)).join(""));
    });
  }

  private log(name: string): string {
    try {
      return readFileSync(join(this.dir, "log", `${name}.log`), "utf8").slice(-2000);
    } catch {
      return "(no log)";
    }
  }
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill("SIGCONT"); // a paused driver cannot act on TERM
  d.child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const killed = await Promise.race([d.exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 5000)))]);
  clearTimeout(timer); // else it holds the caller's process open for 5 s
  if (killed) {
    d.child.kill("SIGKILL");
    await d.exited;
  }
}

function rmSocket(path: string): void {
  try {
    if (existsSync(path)) rmSync(path);
  } catch {
    // not ours to worry about: the driver will complain in its log
  }
}

/** Start a lab on a free loopback port. Call `stop()` in `after`. */
export async function startNutLab(opts: NutLabOptions = {}): Promise<NutLab> {
  const missing = nutLabMissing();
  if (missing) throw new Error(`${missing} (${NUT_LAB_INSTALL})`);
  const names = Array.isArray(opts.upses) ? opts.upses : Array.from({ length: opts.upses ?? 2 }, (_, i) => `ups${i + 1}`);
  const dir = await mkdtemp(join(tmpdir(), "nut-lab-"));
  const lab = new NutLab(dir, await freePort(), names, opts.startTimeoutMs ?? 20000);
  try {
    await lab.start(opts);
  } catch (err) {
    await lab.stop();
    throw err;
  }
  return lab;
}

/** Several labs (upsd servers) sharing out one set of UPSes, e.g. 200 UPSes over 4 upsd. */
export interface NutLabGroup {
  labs: NutLab[];
  /** Every UPS with the lab that serves it. */
  upses: Array<{ lab: NutLab; ups: string }>;
  stop(): Promise<void>;
}

/**
 * Start `servers` labs one after another (upsd's listen backlog is 16 and a
 * few hundred dummy-ups drivers starting at once load the machine), `upses`
 * UPSes shared out as evenly as possible (ups1..upsK on each). A failed start
 * stops the labs already running.
 */
export async function startNutLabs(opts: NutLabOptions & { upses: number; servers: number }): Promise<NutLabGroup> {
  const labs: NutLab[] = [];
  const stop = async () => {
    await Promise.all(labs.map((l) => l.stop()));
  };
  try {
    for (let i = 0; i < opts.servers; i++) {
      const count = Math.floor(opts.upses / opts.servers) + (i < opts.upses % opts.servers ? 1 : 0);
      if (count > 0) labs.push(await startNutLab({ ...opts, upses: count }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { labs, upses: labs.flatMap((lab) => lab.upses.map((ups) => ({ lab, ups }))), stop };
}
