/**
 * ssh-lab: throw-away OpenSSH sshd "hosts" on loopback addresses for tests
 * and benchmarks of the SSH shutdown code. Needs root (sshd switches to the
 * test user) and /usr/sbin/sshd + ssh-keygen (Debian: openssh-server,
 * openssh-client).
 *
 * SAFETY: every sshd runs with `ForceCommand <lab>/recorder.sh NAME <lab>`
 * (a copy of ssh-lab/recorder.sh). The recorder NEVER executes what the
 * client asked for: it appends the request to log/NAME.log, replies
 * "[sshlab NAME] recorded: <command>" and exits with the host's configured
 * code (after an optional sleep). start()
 * proves the guard on every host (`echo hello` must come back as the
 * recorder's reply) before it returns, and fails otherwise.
 *
 * Each lab: its own temp dir, one free port shared by all its addresses
 * (127.0.40.x by default; other engineers use other ranges), client keys
 * generated per run (ed25519, RSA in PEM format, ECDSA, passphrase-protected
 * ed25519 and RSA, and one key that is not authorised), and fault fixtures:
 * an address where nothing listens (refused) and a TCP listener that never
 * sends an SSH banner (blackhole, ssh-lab/blackhole.js). Everything it
 * starts is stopped by PID.
 *
 * Usable from another process too: lab.json in the lab dir holds the state
 * (SshLab.open(dir)), and a small CLI wraps it:
 *   npx tsx test/harness/ssh-lab.ts start N         (prints the lab dir and hosts as JSON)
 *   npx tsx test/harness/ssh-lab.ts log DIR
 *   npx tsx test/harness/ssh-lab.ts behave DIR NAME exit=3 sleep=30 reply=TEXT|reply-
 *   npx tsx test/harness/ssh-lab.ts stop DIR
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client } from "ssh2";
import { alive, parentOf, processTree, readText, terminate } from "./proc";
import { findExecutable, freePort } from "./system";
import { waitUntil } from "./wait";

const run = promisify(execFile);

export const SSHD = "/usr/sbin/sshd";
export const SSH_KEYGEN = "/usr/bin/ssh-keygen";

/** What is missing for a lab on this machine, or null when it can run. */
export function sshLabMissing(): string | null {
  if (process.getuid?.() !== 0) return "not running as root (sshd must switch to the test user)";
  if (!findExecutable([SSHD])) return `${SSHD} not found`;
  if (!findExecutable([SSH_KEYGEN])) return `${SSH_KEYGEN} not found`;
  return null;
}
export const SSH_LAB_INSTALL = "apt-get install -y openssh-server openssh-client (and run the tests as root)";

export interface HostSpec {
  name: string;
  /** Also serve an RSA host key (2048 bits; slower to generate). */
  rsa?: boolean;
  /** Also serve an ECDSA (nistp256) host key. */
  ecdsa?: boolean;
}

export interface LabOptions {
  /** First three octets of the loopback addresses: host i gets NET.i. */
  net?: string;
  /** Number of hosts (h1..hN) or their specs. Default 1. */
  hosts?: number | (string | HostSpec)[];
  user?: string;
  password?: string;
  passphrase?: string;
  /** Start the no-banner listener (default true). */
  blackhole?: boolean;
  /**
   * How many no-banner addresses (NET.250, NET.249, …), all served by the one
   * blackhole process; default 1 (0 is the same as blackhole: false).
   */
  blackholes?: number;
}

export interface LabHost {
  name: string;
  address: string;
  port: number;
  /** `ssh-keygen -lf` fingerprints of the served host keys, by key type. */
  fingerprints: { ed25519: string; rsa?: string; ecdsa?: string };
  rsa: boolean;
  ecdsa: boolean;
  pid: number;
}

export type ClientKey = "ed25519" | "rsa" | "ecdsa" | "ed25519Pass" | "rsaPass" | "unauthorized";

interface LabState {
  dir: string;
  net: string;
  port: number;
  user: string;
  password: string;
  passphrase: string;
  hosts: LabHost[];
  blackhole: { address: string; port: number; pid: number } | null;
  /** Every no-banner address (the first is `blackhole`); absent in labs saved by older versions. */
  blackholes?: Array<{ address: string; port: number }>;
  refused: { address: string; port: number };
  keys: Record<ClientKey, string>;
}

/** One line of a recorder log. */
export interface Recorded {
  time: number;
  host: string;
  user: string;
  client: string;
  auth: string;
  exit: number;
  command: string;
}

export interface Behaviour {
  exit?: number;
  /** Seconds the recorder waits before it exits (a hung command). */
  sleep?: number;
  /** Text the recorder prints instead of its usual reply; null restores the default. */
  reply?: string | null;
  /** After replying, the recorder kills its sshd session: the connection drops (behaveOn only). */
  drop?: boolean;
}

/** The lab's scripts, read from beside this file when a lab starts (see each file's header). */
const SCRIPTS = join(__dirname, "ssh-lab");
/** The ForceCommand: records the command, never runs it. Copied into each lab (the test user must reach it). */
const RECORDER = join(SCRIPTS, "recorder.sh");
/** The no-banner listener, run by Node.js. */
const BLACKHOLE = join(SCRIPTS, "blackhole.js");

function sshdConfig(lab: LabState, h: LabHost, hostDir: string): string {
  const keys = [`HostKey ${hostDir}/ssh_host_ed25519_key`];
  if (h.ecdsa) keys.push(`HostKey ${hostDir}/ssh_host_ecdsa_key`);
  if (h.rsa) keys.push(`HostKey ${hostDir}/ssh_host_rsa_key`);
  return [
    `# ssh-lab host ${h.name}`,
    `ListenAddress ${h.address}:${h.port}`,
    ...keys,
    `PidFile ${hostDir}/sshd.pid`,
    `AuthorizedKeysFile ${lab.dir}/authorized_keys`,
    "StrictModes no",
    "UsePAM no",
    "PubkeyAuthentication yes",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin no",
    `AllowUsers ${lab.user}`,
    // SAFETY: whatever the client asks for, only the recorder runs.
    `ForceCommand ${lab.dir}/recorder.sh ${h.name} ${lab.dir}`,
    "ExposeAuthInfo yes",
    "DisableForwarding yes",
    "PermitTTY no",
    "PermitUserEnvironment no",
    "PrintMotd no",
    "UseDNS no",
    "MaxStartups 200",
    "LoginGraceTime 30",
    "LogLevel VERBOSE",
    "",
  ].join("\n");
}

function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  for (let p = process.pid; p > 1 && !out.has(p); p = parentOf(p)) out.add(p);
  return out;
}

function getent(user: string): string[] | null {
  try {
    return execFileSync("getent", ["passwd", user], { encoding: "utf8" }).trim().split(":");
  } catch {
    return null;
  }
}

/**
 * The test user: created when missing, with a usable shell and `password`
 * (a fresh useradd leaves the account locked, and with UsePAM no sshd then
 * refuses even keys). The password is only set when it does not already
 * verify, so labs of other engineers using the same user are not disturbed.
 */
function ensureUser(user: string, password: string): { uid: number; gid: number } {
  if (!getent(user)) {
    try {
      execFileSync("useradd", ["-m", "-s", "/bin/sh", user], { stdio: "pipe" });
    } catch (err) {
      if (!getent(user)) throw err; // else: created meanwhile by someone else
    }
  }
  const pw = getent(user) as string[];
  if (/(nologin|false)$/.test(pw[6] ?? "")) execFileSync("usermod", ["-s", "/bin/sh", user]);
  const hash =
    (
      readText("/etc/shadow")
        .split("\n")
        .find((l) => l.startsWith(user + ":")) ?? ""
    ).split(":")[1] ?? "";
  const verifies = (): boolean => {
    try {
      execFileSync("perl", ["-e", "exit(crypt($ARGV[0],$ARGV[1]) eq $ARGV[1] ? 0 : 1)", password, hash]);
      return hash.startsWith("$");
    } catch {
      return false;
    }
  };
  if (!verifies()) {
    for (let i = 0; ; i++) {
      try {
        execFileSync("chpasswd", [], { input: `${user}:${password}\n`, stdio: ["pipe", "pipe", "pipe"] });
        break;
      } catch (err) {
        if (i >= 20) throw err; // /etc/shadow locked by a concurrent chpasswd: retry
        execFileSync("sleep", ["0.1"]);
      }
    }
  }
  return { uid: Number(pw[2]), gid: Number(pw[3]) };
}

async function fingerprintOf(pubFile: string): Promise<string> {
  const { stdout } = await run(SSH_KEYGEN, ["-lf", pubFile]);
  return stdout.split(/\s+/)[1];
}

async function keygen(file: string, type: "ed25519" | "rsa" | "ecdsa", comment: string, extra: string[] = []): Promise<void> {
  const args = ["-q", "-t", type, "-N", "", "-C", comment, "-f", file, ...extra];
  if (type === "rsa") args.push("-b", "2048");
  if (type === "ecdsa") args.push("-b", "256");
  await run(SSH_KEYGEN, args);
}

function hostSpecs(hosts: LabOptions["hosts"]): HostSpec[] {
  if (hosts === undefined) return [{ name: "h1" }];
  if (typeof hosts === "number") return Array.from({ length: hosts }, (_, i) => ({ name: `h${i + 1}` }));
  return hosts.map((h) => (typeof h === "string" ? { name: h } : h));
}

export class SshLab {
  private constructor(private state: LabState) {}

  get dir(): string {
    return this.state.dir;
  }
  get user(): string {
    return this.state.user;
  }
  get password(): string {
    return this.state.password;
  }
  get passphrase(): string {
    return this.state.passphrase;
  }
  get port(): number {
    return this.state.port;
  }
  /** An address of this lab on which nothing listens (connection refused). */
  get refused(): { address: string; port: number } {
    return this.state.refused;
  }
  /** Every no-banner address of this lab (see LabOptions.blackholes). */
  get blackholes(): Array<{ address: string; port: number }> {
    return (this.state.blackholes ?? (this.state.blackhole ? [this.state.blackhole] : [])).map((b) => ({ address: b.address, port: b.port }));
  }

  /**
   * known_hosts lines pinning every host's served keys (`[address]:port
   * type base64`), for OpenSSH clients (benchmark baselines).
   */
  knownHosts(): string {
    return (
      this.state.hosts
        .flatMap((h) =>
          readdirSync(this.hostDir(h.name))
            .filter((f) => /^ssh_host_.*_key\.pub$/.test(f))
            .map(
              (f) =>
                `[${h.address}]:${h.port} ${readText(join(this.hostDir(h.name), f))
                  .trim()
                  .split(/\s+/)
                  .slice(0, 2)
                  .join(" ")}`,
            ),
        )
        .join("\n") + "\n"
    );
  }

  /** A listener that accepts TCP and never sends an SSH banner. */
  get blackhole(): { address: string; port: number; pid: number } {
    if (!this.state.blackhole) throw new Error("ssh-lab: started without a blackhole");
    return this.state.blackhole;
  }

  /** Re-attach to a lab started elsewhere (another process, the CLI). */
  static open(dir: string): SshLab {
    return new SshLab(JSON.parse(readFileSync(join(dir, "lab.json"), "utf8")) as LabState);
  }

  static async start(opts: LabOptions = {}): Promise<SshLab> {
    const missing = sshLabMissing();
    if (missing) throw new Error(`ssh-lab: ${missing}`);
    const specs = hostSpecs(opts.hosts);
    if (specs.length < 1 || specs.length > 240) throw new Error("ssh-lab: 1..240 hosts");
    const blackholes = opts.blackhole === false ? 0 : (opts.blackholes ?? 1);
    if (!Number.isInteger(blackholes) || blackholes < 0 || specs.length + blackholes > 249) {
      throw new Error("ssh-lab: hosts and blackholes must fit in NET.1..NET.250 without overlap");
    }
    // A bind can still collide (the port was only free on 127.0.0.1): retry with another port.
    for (let tries = 1; ; tries++) {
      const lab = await SshLab.create(opts, specs);
      try {
        await lab.startAll(blackholes);
        await lab.proveGuard();
        return lab;
      } catch (err) {
        await lab.stop();
        if (tries >= 3 || !/bind|Address already in use|listening/.test(String(err))) throw err;
      }
    }
  }

  private static async create(opts: LabOptions, specs: HostSpec[]): Promise<SshLab> {
    const net = opts.net ?? "127.0.40";
    const user = opts.user ?? "nuttest";
    const password = opts.password ?? "sshlab-pw";
    const owner = ensureUser(user, password);
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege separation dir
    const dir = mkdtempSync(join(tmpdir(), "ssh-lab-"));
    chmodSync(dir, 0o755); // the test user must reach recorder.sh and the logs
    for (const d of ["hosts", "log", "client", "run"]) mkdirSync(join(dir, d));
    chmodSync(join(dir, "client"), 0o700);
    writeFileSync(join(dir, ".ssh-lab"), "");
    copyFileSync(RECORDER, join(dir, "recorder.sh"));
    chmodSync(join(dir, "recorder.sh"), 0o755);

    const port = await freePort();
    const c = (n: string): string => join(dir, "client", n);
    const passphrase = opts.passphrase ?? "sshlab-passphrase";
    await Promise.all([
      keygen(c("id_ed25519"), "ed25519", "sshlab-ed25519"),
      keygen(c("id_rsa"), "rsa", "sshlab-rsa-pem", ["-m", "PEM"]),
      keygen(c("id_ecdsa"), "ecdsa", "sshlab-ecdsa"),
      run(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", passphrase, "-C", "sshlab-ed25519-pass", "-f", c("id_ed25519_pass")]),
      run(SSH_KEYGEN, ["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", passphrase, "-C", "sshlab-rsa-pass", "-f", c("id_rsa_pass")]),
      keygen(c("id_unauthorized"), "ed25519", "sshlab-unauthorized"),
    ]);
    const authorized = ["id_ed25519", "id_rsa", "id_ecdsa", "id_ed25519_pass", "id_rsa_pass"].map((k) => readFileSync(c(k) + ".pub", "utf8").trim()).join("\n");
    writeFileSync(join(dir, "authorized_keys"), authorized + "\n", { mode: 0o644 });

    const hosts: LabHost[] = specs.map((s, i) => ({
      name: s.name,
      address: `${net}.${i + 1}`,
      port,
      fingerprints: { ed25519: "" },
      rsa: s.rsa === true,
      ecdsa: s.ecdsa === true,
      pid: 0,
    }));
    const state: LabState = {
      dir,
      net,
      port,
      user,
      password,
      passphrase,
      hosts,
      blackhole: null,
      refused: { address: `${net}.251`, port },
      keys: {
        ed25519: c("id_ed25519"),
        rsa: c("id_rsa"),
        ecdsa: c("id_ecdsa"),
        ed25519Pass: c("id_ed25519_pass"),
        rsaPass: c("id_rsa_pass"),
        unauthorized: c("id_unauthorized"),
      },
    };
    const lab = new SshLab(state);
    await Promise.all(hosts.map((h) => lab.makeHost(h, owner)));
    lab.save();
    return lab;
  }

  private hostDir(name: string): string {
    return join(this.state.dir, "hosts", name);
  }

  private async makeHost(h: LabHost, owner: { uid: number; gid: number }): Promise<void> {
    const d = this.hostDir(h.name);
    mkdirSync(d, { mode: 0o755 });
    chmodSync(d, 0o755);
    await this.makeHostKeys(h);
    writeFileSync(join(d, "sshd_config"), sshdConfig(this.state, h, d));
    writeFileSync(join(d, "exit"), "0\n", { mode: 0o644 });
    writeFileSync(join(d, "sleep"), "0\n", { mode: 0o644 });
    const log = join(this.state.dir, "log", `${h.name}.log`);
    writeFileSync(log, "");
    chownSync(log, owner.uid, owner.gid);
  }

  private async makeHostKeys(h: LabHost): Promise<void> {
    const d = this.hostDir(h.name);
    for (const f of readdirSync(d).filter((f) => f.startsWith("ssh_host_"))) rmSync(join(d, f));
    const types: ("ed25519" | "rsa" | "ecdsa")[] = ["ed25519"];
    if (h.rsa) types.push("rsa");
    if (h.ecdsa) types.push("ecdsa");
    await Promise.all(types.map((t) => keygen(join(d, `ssh_host_${t}_key`), t, `sshlab-${h.name}`)));
    h.fingerprints = { ed25519: await fingerprintOf(join(d, "ssh_host_ed25519_key.pub")) };
    if (h.rsa) h.fingerprints.rsa = await fingerprintOf(join(d, "ssh_host_rsa_key.pub"));
    if (h.ecdsa) h.fingerprints.ecdsa = await fingerprintOf(join(d, "ssh_host_ecdsa_key.pub"));
  }

  private save(): void {
    writeFileSync(join(this.state.dir, "lab.json"), JSON.stringify(this.state, null, 2));
  }

  private async startAll(blackholes: number): Promise<void> {
    await Promise.all(this.state.hosts.map((h) => this.spawnSshd(h)));
    if (blackholes > 0) await this.spawnBlackhole(blackholes);
    this.save();
  }

  private async spawnSshd(h: LabHost): Promise<void> {
    const d = this.hostDir(h.name);
    const logFile = join(d, "sshd.log");
    await run(SSHD, ["-t", "-f", join(d, "sshd_config")]);
    const mark = readText(logFile).length;
    const fd = openSync(logFile, "a");
    // Detached, output to a file: the lab must not die with (or hold up) the test process.
    const child = spawn(SSHD, ["-D", "-e", "-f", join(d, "sshd_config")], { detached: true, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    child.unref();
    h.pid = child.pid ?? 0;
    await waitUntil(
      `ssh-lab: sshd ${h.name} on ${h.address}:${h.port}`,
      () => {
        const log = readText(logFile).slice(mark);
        if (/Server listening on/.test(log)) return true;
        if (!alive(h.pid)) throw new Error(`sshd ${h.name} exited: ${log.trim()}`);
        return false;
      },
      { timeoutMs: 10000, everyMs: 20 },
    ).catch((err) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)} | log: ${readText(logFile).slice(mark).trim()}`);
    });
  }

  private async spawnBlackhole(count: number): Promise<void> {
    const addresses = Array.from({ length: count }, (_, i) => `${this.state.net}.${250 - i}`);
    const out = join(this.state.dir, "run", "blackhole.out");
    const fd = openSync(out, "a");
    const child = spawn(process.execPath, [BLACKHOLE, String(this.state.port), join(this.state.dir, "run", "blackhole.log"), ...addresses], {
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    child.unref();
    const pid = child.pid ?? 0;
    await waitUntil(
      "ssh-lab: the blackhole listener",
      () => {
        if (/listening/.test(readText(out))) return true;
        if (!alive(pid)) throw new Error(`blackhole exited: ${readText(out).trim()}`);
        return false;
      },
      { timeoutMs: 10000, everyMs: 20 },
    );
    this.state.blackhole = { address: addresses[0], port: this.state.port, pid };
    this.state.blackholes = addresses.map((address) => ({ address, port: this.state.port }));
  }

  /**
   * SAFETY proof, on every host: the effective sshd configuration forces the
   * recorder, and `echo hello` comes back as the recorder's reply, not "hello".
   */
  private async proveGuard(): Promise<void> {
    const key = readFileSync(this.state.keys.ed25519, "utf8");
    await Promise.all(
      this.state.hosts.map(async (h) => {
        const cfg = join(this.hostDir(h.name), "sshd_config");
        const { stdout: eff } = await run(SSHD, ["-T", "-f", cfg, "-C", `user=${this.state.user},host=x,addr=127.0.0.1`]);
        const want = `forcecommand ${this.state.dir}/recorder.sh ${h.name} ${this.state.dir}`;
        if (!eff.split("\n").includes(want)) throw new Error(`GUARD: ${h.name} has no ForceCommand recorder`);
        const reply = await this.rawExec(h, key, "echo hello");
        const expected = `[sshlab ${h.name}] recorded: echo hello\n`;
        if (reply !== expected) throw new Error(`GUARD CHECK FAILED on ${h.name}: got ${JSON.stringify(reply)}`);
      }),
    );
    this.clearRecords();
    writeFileSync(join(this.state.dir, "guard-proven"), new Date().toISOString() + "\n");
  }

  /** Minimal ssh2 exec with the host's pinned ed25519 key, independent of the code under test. */
  private rawExec(h: LabHost, key: string, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const conn = new Client();
      let out = "";
      const timer = setTimeout(() => {
        conn.destroy();
        reject(new Error(`ssh-lab: guard exec on ${h.name} timed out`));
      }, 10000);
      conn.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      conn.on("ready", () => {
        conn.exec(command, (err, stream) => {
          if (err) {
            clearTimeout(timer);
            conn.end();
            return reject(err);
          }
          stream.on("data", (d: Buffer) => (out += d.toString()));
          stream.stderr.on("data", () => undefined);
          stream.on("close", () => {
            clearTimeout(timer);
            conn.end();
            resolve(out);
          });
        });
      });
      conn.connect({
        host: h.address,
        port: h.port,
        username: this.state.user,
        privateKey: key,
        readyTimeout: 10000,
        algorithms: { serverHostKey: ["ssh-ed25519"] },
        hostVerifier: (blob: Buffer) => "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "") === h.fingerprints.ed25519,
      });
    });
  }

  hosts(): LabHost[] {
    return this.state.hosts.map((h) => ({ ...h, fingerprints: { ...h.fingerprints } }));
  }

  host(name: string): LabHost {
    const h = this.state.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`ssh-lab: no host ${name}`);
    return { ...h, fingerprints: { ...h.fingerprints } };
  }

  keyFile(kind: ClientKey): string {
    return this.state.keys[kind];
  }

  keyText(kind: ClientKey): string {
    return readFileSync(this.state.keys[kind], "utf8");
  }

  /** Change how a host's recorder answers (exit code, sleep, reply text). */
  behave(name: string, b: Behaviour): void {
    const d = this.hostDir(this.host(name).name);
    if (b.exit !== undefined) writeFileSync(join(d, "exit"), `${Math.trunc(b.exit)}\n`);
    if (b.sleep !== undefined) writeFileSync(join(d, "sleep"), `${Math.trunc(b.sleep)}\n`);
    if (b.reply === null) rmSync(join(d, "reply"), { force: true });
    else if (b.reply !== undefined) writeFileSync(join(d, "reply"), b.reply, { mode: 0o644 });
  }

  /** How a host's recorder answers one command only (until clearBehaviours); the host's own behaviour does not apply to it. */
  behaveOn(name: string, command: string, b: Behaviour): void {
    const d = join(this.hostDir(this.host(name).name), "on", createHash("md5").update(command).digest("hex"));
    mkdirSync(d, { recursive: true, mode: 0o755 });
    writeFileSync(join(d, "exit"), `${Math.trunc(b.exit ?? 0)}\n`);
    writeFileSync(join(d, "sleep"), `${Math.trunc(b.sleep ?? 0)}\n`);
    if (typeof b.reply === "string") writeFileSync(join(d, "reply"), b.reply, { mode: 0o644 });
    if (b.drop) writeFileSync(join(d, "drop"), "");
  }

  /** Forget every behaviour set with behaveOn. */
  clearBehaviours(): void {
    for (const h of this.state.hosts) rmSync(join(this.hostDir(h.name), "on"), { recursive: true, force: true });
  }

  /** Every host answers as at start again: exit 0, no sleep, the usual reply, no per-command behaviour (between tests). */
  resetBehaviours(): void {
    for (const h of this.state.hosts) this.behave(h.name, { exit: 0, sleep: 0, reply: null });
    this.clearBehaviours();
  }

  /** Recorded commands, oldest first (all hosts, or one). */
  records(name?: string): Recorded[] {
    const names = name ? [name] : this.state.hosts.map((h) => h.name);
    const out: Recorded[] = [];
    for (const n of names) {
      for (const line of readText(join(this.state.dir, "log", `${n}.log`)).split("\n")) {
        if (!line) continue;
        const [time, host, user, client, auth, exit, ...rest] = line.split("\t");
        const command = rest.join("\t").replace(/\\(\\|t|n|r)/g, (_, c: string) => ({ "\\": "\\", t: "\t", n: "\n", r: "\r" })[c] ?? c);
        out.push({ time: Number(time), host, user, client, auth, exit: Number(exit), command });
      }
    }
    return out.sort((a, b) => a.time - b.time);
  }

  /** Forget every recorded command (e.g. between tests). */
  clearRecords(): void {
    for (const h of this.state.hosts) writeFileSync(join(this.state.dir, "log", `${h.name}.log`), "");
  }

  /** Wait until the records satisfy `test` (polls; fails with what was seen). */
  async waitForRecords(test: (r: Recorded[]) => boolean, timeoutMs = 10000): Promise<Recorded[]> {
    try {
      await waitUntil("ssh-lab: recorded commands", () => test(this.records()), { timeoutMs, everyMs: 20 });
    } catch (err) {
      throw new Error(`${(err as Error).message}; recorded: ${JSON.stringify(this.records())}`);
    }
    return this.records();
  }

  /** TCP connections sshd of `name` accepted so far (from its VERBOSE log). */
  connections(name: string): number {
    return (readText(join(this.hostDir(name), "sshd.log")).match(/Connection from /g) ?? []).length;
  }

  /** TCP connections the blackhole accepted so far (on all its addresses). */
  blackholeConnections(): number {
    return (readText(join(this.state.dir, "run", "blackhole.log")).match(/^accepted /gm) ?? []).length;
  }

  /** Stop one host's sshd (and its sessions): its address then refuses connections. */
  async stopHost(name: string): Promise<void> {
    const h = this.state.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`ssh-lab: no host ${name}`);
    if (h.pid && this.ours(h.pid)) {
      // Freeze the listener before reading its tree: a connection it accepted
      // between the read and its death would outlive the host (its session
      // process is not in the tree read, and sshd does not end it).
      process.kill(h.pid, "SIGSTOP");
      const sessions = processTree([h.pid]).filter((p) => p !== h.pid);
      process.kill(h.pid, "SIGKILL"); // its listening socket closes: connections not yet accepted are refused
      await terminate([h.pid, ...sessions]);
    }
    h.pid = 0;
    this.save();
  }

  /** Start a stopped host again (same address, port and keys). */
  async startHost(name: string): Promise<void> {
    const h = this.state.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`ssh-lab: no host ${name}`);
    if (h.pid && alive(h.pid)) return;
    await this.spawnSshd(h);
    this.save();
  }

  /** Give a host new host keys (a reinstalled server, or a man in the middle) and restart it. */
  async rekey(name: string): Promise<LabHost> {
    const h = this.state.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`ssh-lab: no host ${name}`);
    await this.stopHost(name);
    await this.makeHostKeys(h);
    await this.startHost(name);
    return this.host(name);
  }

  /** The PID still runs a process of this lab (guards against PID reuse). */
  private ours(pid: number): boolean {
    return readText(`/proc/${pid}/cmdline`).includes(this.state.dir);
  }

  /**
   * Processes of this lab: the sshd and blackhole PIDs it started, plus any
   * process whose command line names this lab's (unique) directory: a
   * recorder still sleeping after its session ended is re-parented to PID 1.
   */
  private roots(): number[] {
    const roots = this.state.hosts.map((h) => h.pid);
    if (this.state.blackhole) roots.push(this.state.blackhole.pid);
    const self = selfAndAncestors(); // e.g. `ssh-lab.ts stop DIR` names the dir too
    for (const entry of readdirSync("/proc")) {
      if (/^\d+$/.test(entry) && this.ours(Number(entry))) roots.push(Number(entry));
    }
    return [...new Set(roots)].filter((p) => p > 0 && !self.has(p) && alive(p) && this.ours(p));
  }

  /** PIDs of every process of this lab that still runs (sshd, sessions, recorders, blackhole). */
  pids(): number[] {
    return processTree(this.roots()).filter(alive);
  }

  /** Stop everything this lab started, by PID; remove its directory unless `keep`. */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    await terminate(this.roots());
    for (const h of this.state.hosts) h.pid = 0;
    if (existsSync(join(this.state.dir, ".ssh-lab"))) {
      if (opts.keep) this.save();
      else rmSync(this.state.dir, { recursive: true, force: true });
    }
  }
}

async function cli(argv: string[]): Promise<void> {
  const [cmd, dir, ...rest] = argv;
  if (cmd === "start") {
    const lab = await SshLab.start({ hosts: Number(dir ?? 1) });
    process.stdout.write(JSON.stringify({ dir: lab.dir, hosts: lab.hosts(), refused: lab.refused, blackhole: lab.blackhole }, null, 2) + "\n");
  } else if (cmd === "stop" && dir) {
    await SshLab.open(dir).stop();
  } else if (cmd === "log" && dir) {
    for (const r of SshLab.open(dir).records()) process.stdout.write(`${r.time}\t${r.host}\t${r.auth}\t${r.exit}\t${JSON.stringify(r.command)}\n`);
  } else if (cmd === "behave" && dir && rest[0]) {
    const b: Behaviour = {};
    for (const kv of rest.slice(1)) {
      const [k, v] = kv.split(/=(.*)/s);
      if (k === "exit") b.exit = Number(v);
      else if (k === "sleep") b.sleep = Number(v);
      else if (k === "reply") b.reply = v;
      else if (k === "reply-") b.reply = null;
    }
    SshLab.open(dir).behave(rest[0], b);
  } else {
    process.stderr.write("usage: ssh-lab.ts start N | stop DIR | log DIR | behave DIR NAME exit=N sleep=S reply=TEXT|reply-\n");
    process.exitCode = 2;
  }
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((err) => {
    process.stderr.write(String(err) + "\n");
    process.exitCode = 1;
  });
}
