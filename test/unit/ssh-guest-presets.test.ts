/**
 * core/ssh/guests.ts: the guest steps that run before a host's shutdown.
 * Each snippet runs in every POSIX shell here against stub programs (the
 * full paths are replaced by shell functions that answer as qm, pct,
 * vim-cmd, virsh and docker do and write down every call): what is shut
 * down, what is left alone, when a hard stop happens, and what the step exits.
 */
import should from "../harness/should";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guestPlan, readGuestConfig } from "../../core/ssh/guests";
import type { GuestConfig, GuestPlan, RawGuestConfig } from "../../core/ssh/guests";
import type { ConfigProblem } from "../../core/config";
import { findExecutable, requireComponent } from "../harness/system";

const SHELLS = ["/bin/sh", "/bin/dash", "/bin/bash", "/bin/busybox"].filter((s) => findExecutable([s]));

const config = (raw: RawGuestConfig): { g: GuestConfig; problems: ConfigProblem[] } => {
  const problems: ConfigProblem[] = [];
  return { g: readGuestConfig(raw, problems), problems };
};
const plan = (raw: RawGuestConfig, user = "nut"): GuestPlan => {
  const { g, problems } = config(raw);
  should(problems).eql([]);
  return guestPlan(g, user);
};

/** Stub programs as shell functions; each call is appended to $LOG as one line. */
const STUBS = String.raw`
log() { printf '%s\n' "$*" >> "$LOG"; }
sudo() { [ "$1" = -n ] || { echo "sudo without -n" >&2; return 9; }; shift; "$@"; }
sleep() { log sleep "$@"; }
qm_() {
  log qm "$@"
  case "$1" in
    list) cat "$DATA/qm.list" ;;
    config) cat "$DATA/qm.$2" 2>/dev/null ;;
    shutdown) [ ! -f "$DATA/qm.$2.stuck" ] ;;
  esac
}
pct_() {
  log pct "$@"
  case "$1" in
    list) [ -f "$DATA/pct.denied" ] && { echo "sudo: a password is required" >&2; return 1; }; cat "$DATA/pct.list" ;;
    config) cat "$DATA/pct.$2" 2>/dev/null ;;
    shutdown) return 0 ;;
  esac
}
vimcmd_() {
  log vim-cmd "$@"
  case "$1" in
    vmsvc/getallvms) cat "$DATA/esxi.list" ;;
    vmsvc/power.getstate) echo "Retrieved runtime info"; cat "$DATA/esxi.$2" ;;
    vmsvc/power.shutdown) [ -f "$DATA/esxi.$2.stuck" ] || echo "Powered off" > "$DATA/esxi.$2" ;;
    vmsvc/power.off) echo "Powered off" > "$DATA/esxi.$2" ;;
  esac
}
virsh_() {
  log virsh "$@"
  case "$1" in
    list) for d in $(cat "$DATA/virsh.on"); do [ -f "$DATA/virsh.$d.off" ] || echo "$d"; done; echo ;;
    shutdown) [ -f "$DATA/virsh.$2.stuck" ] || touch "$DATA/virsh.$2.off" ;;
    destroy) touch "$DATA/virsh.$2.off" ;;
  esac
}
docker_() { log docker "$@"; }
`;

const PATHS: [string, string][] = [
  ["/usr/sbin/qm", "qm_"],
  ["/usr/sbin/pct", "pct_"],
  ["/bin/vim-cmd", "vimcmd_"],
  ["/usr/bin/virsh", "virsh_"],
  ["/usr/bin/docker", "docker_"],
];

interface Ran {
  code: number;
  stderr: string;
  /** The stub calls, in order. */
  calls: string[];
}

describe("ssh guest presets", () => {
  let dir: string;
  before(function () {
    requireComponent(this, "a POSIX shell", SHELLS.length ? null : "/bin/sh", "apt-get install -y dash");
    dir = mkdtempSync(join(tmpdir(), "ssh-guests-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Run a step's command in `sh` with the stubs and the files `data` (name -> content). */
  function run(sh: string, command: string, data: Record<string, string>): Ran {
    const work = mkdtempSync(join(dir, "run-"));
    for (const [name, text] of Object.entries(data)) writeFileSync(join(work, name), text);
    let script = command;
    for (const [path, stub] of PATHS) script = script.split(path).join(stub);
    // SAFETY: a program named by its full path and not replaced above would run for real on this machine
    const unreplaced = /(?:^|[\s"'(;&|`$])(\/(?:usr\/)?s?bin\/[\w.-]+)/.exec(script);
    if (unreplaced) throw new Error(`a guest step names ${unreplaced[1]}, which has no stand-in here: add one to PATHS`);
    const args = sh.endsWith("busybox") ? ["sh", "-c", STUBS + script] : ["-c", STUBS + script];
    const log = join(work, "calls.log");
    writeFileSync(log, "");
    let code = 0;
    let stderr = "";
    try {
      execFileSync(sh, args, { cwd: work, env: { PATH: "/usr/bin:/bin", HOME: work, LOG: log, DATA: work }, stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      const e = err as { status: number | null; stderr: Buffer };
      code = e.status ?? -1;
      stderr = e.stderr.toString("utf8");
    }
    return { code, stderr, calls: readFileSync(log, "utf8").split("\n").filter(Boolean) };
  }

  const QM_LIST = [
    "      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID",
    "       100 web                  running    2048              32.00 1234",
    "       101 build                running    4096              64.00 1235",
    "       102 old                  stopped    1024               8.00 0",
    "",
  ].join("\n");
  const PCT_LIST = [
    "VMID       Status     Lock         Name",
    "200        running                 dns",
    "201        running                 ci",
    "202        stopped                 tmp",
    "",
  ].join("\n");

  describe("Proxmox VE", () => {
    it("shuts down every running VM and container, in parallel, then waits; a stopped guest is left alone", () => {
      const [s] = plan({ guests: "proxmox", guestTimeout: 90 }).steps;
      for (const sh of SHELLS) {
        const r = run(sh, s.command, { "qm.list": QM_LIST, "pct.list": PCT_LIST });
        should(r.code).equal(0, `${sh}: ${r.stderr}`);
        should(r.calls.filter((c) => / shutdown /.test(c)).sort()).eql(
          ["pct shutdown 200 --timeout 90", "pct shutdown 201 --timeout 90", "qm shutdown 100 --timeout 90", "qm shutdown 101 --timeout 90"],
          sh,
        );
        should(r.calls.join("\n")).not.match(/forceStop|config/, "no hard stop unless ticked; no tag, no config read");
      }
    });

    it("with a tag: only guests whose tags hold exactly that tag (any case, any separator)", () => {
      const [s] = plan({ guests: "proxmox", guestTag: "prod" }).steps;
      for (const sh of SHELLS) {
        const r = run(sh, s.command, {
          "qm.list": QM_LIST,
          "pct.list": PCT_LIST,
          "qm.100": "boot: order=scsi0\ntags: db;prod\nname: web\n",
          "qm.101": "tags: production;prod-old\n",
          "pct.200": "hostname: dns\ntags: Prod\n",
          "pct.201": "hostname: ci\n",
        });
        should(r.code).equal(0, `${sh}: ${r.stderr}`);
        should(r.calls.filter((c) => / shutdown /.test(c)).sort()).eql(["pct shutdown 200 --timeout 120", "qm shutdown 100 --timeout 120"], sh);
      }
    });

    it("a guest that does not shut down in time fails the step (the others still go); forceStop only when ticked", () => {
      const soft = plan({ guests: "proxmox" }).steps[0];
      const hard = plan({ guests: "proxmox", guestForce: true }).steps[0];
      should(soft.command).not.match(/forceStop/);
      for (const sh of SHELLS) {
        const r = run(sh, soft.command, { "qm.list": QM_LIST, "pct.list": PCT_LIST, "qm.101.stuck": "" });
        should(r.code).equal(1, sh);
        should(r.stderr).match(/VM 101 did not shut down/);
        should(r.calls).containEql("qm shutdown 100 --timeout 120");
        should(r.calls).containEql("pct shutdown 201 --timeout 120");
        const f = run(sh, hard.command, { "qm.list": QM_LIST, "pct.list": "VMID Status Lock Name\n" });
        should(f.calls.filter((c) => / shutdown /.test(c)).sort()).eql([
          "qm shutdown 100 --timeout 120 --forceStop 1",
          "qm shutdown 101 --timeout 120 --forceStop 1",
        ]);
      }
    });

    it("a listing sudo refuses fails the step without hiding the other kind of guest", () => {
      const [s] = plan({ guests: "proxmox" }).steps;
      for (const sh of SHELLS) {
        const r = run(sh, s.command, { "qm.list": QM_LIST, "pct.denied": "" });
        should(r.code).equal(1, sh);
        should(r.stderr).match(/pct list failed/);
        should(r.calls.filter((c) => / shutdown /.test(c)).sort()).eql(["qm shutdown 100 --timeout 120", "qm shutdown 101 --timeout 120"]);
      }
    });

    it("sudoers names each command (a guest id as *), the check asks sudo about each, root needs neither", () => {
      const p = plan({ guests: "proxmox", guestTag: "prod", guestTimeout: 60 });
      should(p.sudoers).equal(
        "nut ALL=(root) NOPASSWD: /usr/sbin/qm list, /usr/sbin/qm config *, /usr/sbin/qm shutdown * --timeout 60, " +
          "/usr/sbin/pct list, /usr/sbin/pct config *, /usr/sbin/pct shutdown * --timeout 60",
      );
      should(p.checks.map((c) => c.command)).eql([
        "sudo -n -l /usr/sbin/qm list && sudo -n -l /usr/sbin/qm config 100 && sudo -n -l /usr/sbin/qm shutdown 100 --timeout 60 && " +
          "sudo -n -l /usr/sbin/pct list && sudo -n -l /usr/sbin/pct config 100 && sudo -n -l /usr/sbin/pct shutdown 100 --timeout 60",
      ]);
      const r = plan({ guests: "proxmox" }, "root");
      should(r.sudoers).equal(null);
      should(r.steps[0].command).not.match(/sudo/);
      should(r.checks[0].command).equal('test "$(id -u)" = 0 && test -x /usr/sbin/qm && test -x /usr/sbin/pct');
    });

    it("a tag outside Proxmox's character set is a configuration problem and never reaches a command", () => {
      for (const tag of ["$(reboot)", "a b", "-x", "prod;web", "x".repeat(65), "'"]) {
        const { g, problems } = config({ guests: "proxmox", guestTag: tag });
        should(problems.map((p) => p.key)).eql(["bad-guest-tag"], tag);
        should([g.kind, g.tag]).eql(["none", ""], "never widened to every guest");
        should(guestPlan(g, "nut").steps).eql([]);
      }
      should(config({ guests: "proxmox", guestTag: "web_1.a+b-c" }).problems).eql([]);
    });
  });

  describe("ESXi", () => {
    const LIST = [
      "Vmid   Name      File                       Guest OS        Version   Annotation",
      "1      web       [datastore1] web/web.vmx   ubuntu64Guest   vmx-19",
      "2      db        [datastore1] db/db.vmx     ubuntu64Guest   vmx-19",
      "3      off vm    [datastore1] off/off.vmx   otherGuest      vmx-19",
      "",
    ].join("\n");
    const data = (over: Record<string, string> = {}): Record<string, string> => ({
      "esxi.list": LIST,
      "esxi.1": "Powered on\n",
      "esxi.2": "Powered on\n",
      "esxi.3": "Powered off\n",
      ...over,
    });

    it("asks each powered-on VM's guest to shut down, waits until all are off, no sudo, no power.off", () => {
      const p = plan({ guests: "esxi", guestTimeout: 60 }, "root");
      should(p.sudoers).equal(null);
      should(p.checks[0].command).equal('test "$(id -u)" = 0 && test -x /bin/vim-cmd');
      for (const sh of SHELLS) {
        const r = run(sh, p.steps[0].command, data());
        should(r.code).equal(0, `${sh}: ${r.stderr}`);
        should(r.calls.filter((c) => /power\.(shutdown|off)/.test(c))).eql(["vim-cmd vmsvc/power.shutdown 1", "vim-cmd vmsvc/power.shutdown 2"], sh);
      }
    });

    it("a VM still on after the timeout fails the step; it is powered off only when a hard stop is ticked", () => {
      const soft = plan({ guests: "esxi", guestTimeout: 12 }, "root").steps[0];
      const hard = plan({ guests: "esxi", guestTimeout: 12, guestForce: true }, "root").steps[0];
      should(soft.command).not.match(/power\.off/);
      for (const sh of SHELLS) {
        const r = run(sh, soft.command, data({ "esxi.2.stuck": "" }));
        should(r.code).equal(1, sh);
        should(r.stderr).match(/still running after 12 s: 2/);
        should(r.calls.filter((c) => c.startsWith("sleep")).length).equal(3, "waits in 5 s steps up to the timeout, then stops waiting");
        const f = run(sh, hard.command, data({ "esxi.2.stuck": "" }));
        should(f.code).equal(1, sh);
        should(f.calls.filter((c) => /power\.off/.test(c))).eql(["vim-cmd vmsvc/power.off 2"]);
        should(f.stderr).match(/hard stop after 12 s: 2/);
      }
    });
  });

  describe("libvirt", () => {
    const UUIDS = ["0f1e2d3c-0000-4000-8000-000000000001", "0f1e2d3c-0000-4000-8000-000000000002"];

    it("sends virsh shutdown to every running domain, then waits for them with a bounded loop", () => {
      const p = plan({ guests: "libvirt", guestTimeout: 30 });
      should(p.sudoers).equal("nut ALL=(root) NOPASSWD: /usr/bin/virsh list --uuid --state-running, /usr/bin/virsh shutdown *");
      for (const sh of SHELLS) {
        const r = run(sh, p.steps[0].command, { "virsh.on": UUIDS.join("\n") });
        should(r.code).equal(0, `${sh}: ${r.stderr}`);
        should(r.calls.filter((c) => /shutdown|destroy/.test(c))).eql(UUIDS.map((u) => `virsh shutdown ${u}`));
      }
    });

    it("destroys what still runs after the timeout only when a hard stop is ticked", () => {
      const soft = plan({ guests: "libvirt", guestTimeout: 10 }).steps[0];
      const hard = plan({ guests: "libvirt", guestTimeout: 10, guestForce: true });
      should(soft.command).not.match(/destroy/);
      should(hard.sudoers).match(/, \/usr\/bin\/virsh destroy \*$/);
      for (const sh of SHELLS) {
        const stuck = { "virsh.on": UUIDS.join("\n"), [`virsh.${UUIDS[1]}.stuck`]: "" };
        const r = run(sh, soft.command, stuck);
        should(r.code).equal(1, sh);
        should(r.stderr).match(new RegExp(`still running after 10 s: ${UUIDS[1]}`));
        const f = run(sh, hard.steps[0].command, stuck);
        should(f.calls.filter((c) => /destroy/.test(c))).eql([`virsh destroy ${UUIDS[1]}`]);
      }
    });
  });

  describe("Docker Compose", () => {
    it("one step per listed project, in order, each with its own timeout and exact sudoers entry", () => {
      const p = plan({ guests: "docker", guestProjects: "web, db\nmedia", guestTimeout: 20 });
      should(p.steps.map((s) => s.command)).eql([
        "sudo -n /usr/bin/docker compose -p web down --timeout 20",
        "sudo -n /usr/bin/docker compose -p db down --timeout 20",
        "sudo -n /usr/bin/docker compose -p media down --timeout 20",
      ]);
      should(p.steps.map((s) => s.label)).eql(["docker compose down web", "docker compose down db", "docker compose down media"]);
      should(p.steps.every((s) => s.timeoutMs === 50_000)).be.true("the guests' timeout plus a margin");
      should(p.checks.map((c) => c.command)).eql(p.steps.map((s) => s.command.replace("sudo -n ", "sudo -n -l ")));
      should(p.sudoers).equal(
        "nut ALL=(root) NOPASSWD: /usr/bin/docker compose -p web down --timeout 20, /usr/bin/docker compose -p db down --timeout 20, " +
          "/usr/bin/docker compose -p media down --timeout 20",
      );
    });

    it("project names outside Compose's character set, none, or too many are configuration problems", () => {
      should(config({ guests: "docker", guestProjects: "web $(reboot)" }).problems.map((p) => p.key)).eql(["bad-compose-project"]);
      should(config({ guests: "docker", guestProjects: "Web" }).problems.map((p) => p.key)).eql(["bad-compose-project"]);
      should(config({ guests: "docker", guestProjects: " , " }).problems.map((p) => p.key)).eql(["no-compose-projects"]);
      should(config({ guests: "docker", guestProjects: "a b c d e f g h i" }).problems.map((p) => p.key)).eql(["too-many-projects"]);
      const { g } = config({ guests: "docker", guestProjects: "web ;reboot" });
      should(
        guestPlan(g, "nut")
          .steps.map((s) => s.command)
          .join("\n"),
      ).not.match(/reboot/);
    });
  });

  it("no guests: no steps, no checks, no sudoers; a bad kind or timeout is a problem", () => {
    should(plan({})).eql({ steps: [], checks: [], sudoers: null });
    should(config({ guests: "hyperv" }).problems.map((p) => p.key)).eql(["bad-guests"]);
    should(config({ guests: "proxmox", guestTimeout: 0 }).problems.map((p) => p.key)).eql(["bad-number"]);
    should(config({ guests: "proxmox", guestTimeout: 3601 }).problems.map((p) => p.key)).eql(["bad-number"]);
  });
});
