/**
 * core/ssh/presets.ts: each system's shutdown and cancel commands and their
 * quoting.
 */
import should from "../harness/should";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { DEFAULT_MESSAGE, PRESET_IDS, PRESETS, presetCommands, quoteSh, safeText } from "../../core/ssh/presets";
import type { PresetId, PresetParams } from "../../core/ssh/presets";
import { findExecutable, requireComponent } from "../harness/system";

const SHELLS = ["/bin/sh", "/bin/bash", "/bin/dash", "/usr/bin/zsh", "/bin/busybox"].filter((s) => findExecutable([s]));

/** Run `script` with a shell; for busybox, through its ash applet. */
function shell(sh: string, script: string, cwd: string): Buffer {
  const args = sh.endsWith("busybox") ? ["sh", "-c", script] : ["-c", script];
  // stdin from /dev/null and a HOME without rc files: bash sources ~/.bashrc when stdin is a socket.
  return execFileSync(sh, args, { cwd, env: { PATH: "/usr/bin:/bin", HOME: cwd }, stdio: ["ignore", "pipe", "pipe"] });
}

/** argv a POSIX shell gives to `sudo` in `command` (sudo is a shell function that prints its args). */
function argvOf(sh: string, command: string, cwd: string): string[] {
  const out = shell(sh, `sudo() { for a in "$@"; do printf '%s\\0' "$a"; done; }; ${command}`, cwd).toString("utf8");
  return out.split("\0").slice(0, -1);
}

const HOSTILE = [
  "$(touch MARKER)",
  "`touch MARKER`",
  "; touch MARKER",
  "&& touch MARKER",
  "| touch MARKER",
  "' ; touch MARKER ; '",
  "'\"'\"'; touch MARKER",
  '"; touch MARKER; "',
  "\n touch MARKER",
  "\r\ntouch MARKER",
  "\\'; touch MARKER #",
  "${IFS}touch${IFS}MARKER",
  "$((1+1)) ~root * ? [a]",
  "> MARKER",
  "< /etc/passwd",
  "-r now",
  "--help",
  "=ls",
  '%PATH% & calc.exe & "',
  "^& ^| ! !x! $env:PATH @(calc)",
  "\u0000nul",
  "é à ü 漢字 🙂",
  "",
  " ",
  "a".repeat(5000),
];

describe("ssh presets", () => {
  let dir: string;
  before(function () {
    requireComponent(this, "a POSIX shell", SHELLS.length ? null : "/bin/sh", "apt-get install -y dash");
    dir = mkdtempSync(join(tmpdir(), "ssh-presets-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => should(existsSync(join(dir, "MARKER"))).be.false("a hostile string ran a command"));

  describe("quoteSh", () => {
    it("round-trips every hostile string through each POSIX shell as ONE argument, running nothing", () => {
      const inputs = HOSTILE.filter((s) => !s.includes("\0"));
      for (const sh of SHELLS) {
        const out = shell(sh, "printf '%s\\0' " + inputs.map(quoteSh).join(" "), dir).toString("utf8");
        should(out.split("\0").slice(0, -1)).eql(inputs, `shell ${sh}`);
      }
    });

    it("round-trips arbitrary strings (property, batched per shell)", () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.string({ unit: "binary", maxLength: 40 }).map((s) => s.replace(/\0/g, "")),
            { minLength: 1, maxLength: 30 },
          ),
          (strings) => {
            for (const sh of SHELLS) {
              const out = shell(sh, "printf '%s\\0' " + strings.map(quoteSh).join(" "), dir).toString("utf8");
              should(out.split("\0").slice(0, -1)).eql(strings);
            }
          },
        ),
        { numRuns: 60 },
      );
    });

    it("leaves plain words bare and quotes anything a shell could read", () => {
      should(quoteSh("/sbin/shutdown")).equal("/sbin/shutdown");
      should(quoteSh("+5")).equal("+5");
      should(quoteSh("")).equal("''");
      should(quoteSh("a b")).equal("'a b'");
      should(quoteSh("it's")).equal("'it'\\''s'");
      should(quoteSh("=ls")).equal("'=ls'"); // zsh would expand =ls
      should(quoteSh("~root")).equal("'~root'");
    });
  });

  describe("safeText", () => {
    it("keeps letters, digits and . , : ; ? ' ( ) _ + = / @ # - only, one line, no leading dash", () => {
      for (const s of HOSTILE) {
        const t = safeText(s);
        should(t).match(/^[\p{L}\p{M}\p{N} .,:;?'()_+=/@#-]*$/u, JSON.stringify(s));
        should(t).not.match(/^[-\s]/);
        should(t.length).be.belowOrEqual(200);
      }
      should(safeText("Panne : l'onduleur (UPS1) est à 20 %")).equal("Panne : l'onduleur (UPS1) est à 20");
      should(safeText("--reboot now")).equal("reboot now");
      should(safeText("a\nb\tc")).equal("a b c");
    });

    it("leaves nothing cmd.exe or PowerShell would read inside double quotes", () => {
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
          should(safeText(s)).not.match(/["%!^&|<>$`\\\r\n\t\0]/);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe("commands", () => {
    const params = (over: Partial<PresetParams> = {}): PresetParams => ({
      delayMinutes: 2,
      message: "",
      username: "nut",
      custom: { shutdown: "/usr/local/bin/down", cancel: "/usr/local/bin/undown", check: "/usr/local/bin/can-down" },
      ...over,
    });

    it("every preset has a shutdown command; sudo presets a sudoers line; root never uses sudo", () => {
      for (const id of PRESET_IDS) {
        const c = presetCommands(id, params());
        should(c.shutdown.length).be.above(0, id);
        should(c.sudoers !== null).equal(PRESETS[id].usesSudo, `${id} sudoers`);
        if (PRESETS[id].usesSudo) {
          should(c.shutdown).match(/^sudo -n \//, id);
          should(c.sudoers ?? "").match(/^nut ALL=\(root\) NOPASSWD: \//, id);
          should(c.check ?? "").match(/^sudo -n -l \//, id);
        }
        const root = presetCommands(id, params({ username: "root" }));
        should(`${root.shutdown} ${root.cancel} ${root.check}`).not.match(/sudo/, id);
        should(root.sudoers).equal(null, id);
      }
    });

    it("Linux: delayed shutdown -h +N, cancel shutdown -c, check with sudo -n -l", () => {
      const c = presetCommands("linux", params({ message: "Power failure" }));
      should(c.shutdown).equal("sudo -n /sbin/shutdown -h +2 'Power failure'");
      should(c.cancel).equal("sudo -n /sbin/shutdown -c");
      should(c.check).equal("sudo -n -l /sbin/shutdown -h +2 'Power failure' && sudo -n -l /sbin/shutdown -c");
      should(c.sudoers).equal("nut ALL=(root) NOPASSWD: /sbin/shutdown");
      should(c.delayed).be.true();
      should(c.delayMs).equal(120_000);
      const now = presetCommands("linux", params({ delayMinutes: 0 }));
      should(now.shutdown).match(/-h now /);
      should(now.delayed).be.false("nothing to cancel after an immediate shutdown");
    });

    it("Linux immediate, Synology, TrueNAS and ESXi cannot be cancelled", () => {
      should(presetCommands("linux-poweroff", params()).shutdown).equal("sudo -n /bin/systemctl poweroff");
      should(presetCommands("synology", params()).shutdown).equal("sudo -n /sbin/poweroff");
      should(presetCommands("esxi", params()).shutdown).match(/\/sbin\/shutdown\.sh && \/sbin\/poweroff/);
      for (const id of ["linux-poweroff", "synology", "truenas", "esxi"] as PresetId[]) {
        const c = presetCommands(id, params());
        should(c.cancel).equal(null, id);
        should(c.delayed).be.false(id);
      }
    });

    it('Windows: shutdown /s /t seconds /c "text", cancel /a where exit 1116 means nothing pending', () => {
      const c = presetCommands("windows", params({ message: "Coupure" }));
      should(c.shutdown).equal('shutdown /s /f /t 120 /c "Coupure"');
      should(c.cancel).equal("shutdown /a");
      should(c.cancelOkExitCodes).eql([0, 1116]);
      should(c.sudoers).equal(null);
      const hostile = presetCommands("windows", params({ message: '" & del /q C:\\* & "%COMSPEC%' }));
      const inner = /\/c "(.*)"$/.exec(hostile.shutdown)?.[1] ?? "";
      should(inner).not.match(/["%&^|<>!$`]/);
    });

    it("TrueNAS passes the reason as a JSON string, so midclt never reads it as a number or object", () => {
      const c = presetCommands("truenas", params({ message: "42" }));
      should(c.shutdown).equal("sudo -n /usr/bin/midclt call system.shutdown '\"42\"'");
    });

    it("macOS cancels by ending the pending shutdown process", () => {
      const c = presetCommands("macos", params());
      should(c.cancel).equal("sudo -n /usr/bin/killall shutdown");
      should(c.sudoers).equal("nut ALL=(root) NOPASSWD: /sbin/shutdown, /usr/bin/killall shutdown");
    });

    it("custom uses the operator's commands as typed; delayed only with a cancel command and a delay", () => {
      const c = presetCommands("custom", params());
      should(c.shutdown).equal("/usr/local/bin/down");
      should(c.cancel).equal("/usr/local/bin/undown");
      should(c.check).equal("/usr/local/bin/can-down");
      should(c.delayed).be.true();
      const noCancel = presetCommands("custom", params({ custom: { shutdown: "x", cancel: " ", check: "" } }));
      should(noCancel.cancel).equal(null);
      should(noCancel.check).equal(null, "empty check = connect and authenticate only");
      should(noCancel.delayed).be.false();
    });

    it("an empty message becomes the default; the delay is clamped to 0..1440 whole minutes", () => {
      should(presetCommands("linux", params()).shutdown.endsWith(`'${DEFAULT_MESSAGE}'`)).be.true();
      should(presetCommands("linux", params({ delayMinutes: 99999 })).shutdown).match(/-h \+1440 /);
      should(presetCommands("linux", params({ delayMinutes: -5 })).shutdown).match(/-h now /);
      should(presetCommands("linux", params({ delayMinutes: Number.NaN })).shutdown).match(/-h now /);
    });

    it("a hostile user name never reaches the sudoers line", () => {
      should(presetCommands("linux", params({ username: "x ALL=(ALL) ALL\nnut" })).sudoers ?? "").match(/^USER ALL=\(root\)/);
    });

    for (const id of ["linux", "proxmox", "macos", "truenas"] as PresetId[]) {
      it(`${id}: a hostile message stays one argument, as the shell parses it`, () => {
        for (const sh of SHELLS) {
          for (const message of HOSTILE) {
            const c = presetCommands(id, params({ message }));
            const argv = argvOf(sh, c.shutdown, dir);
            const text = safeText(message) || DEFAULT_MESSAGE;
            const last = id === "truenas" ? JSON.stringify(text) : text;
            should(argv[0]).equal("-n");
            should(argv[argv.length - 1]).equal(last, `${sh}: ${JSON.stringify(message)}`);
            should(argv.length).equal(5, `${sh}: ${JSON.stringify(message)} -> ${JSON.stringify(argv)}`);
            // the check command asks sudo about exactly the same argv
            const checked = argvOf(sh, (c.check ?? "").split(" && ")[0], dir);
            should(checked).eql(["-n", "-l", ...argv.slice(1)]);
          }
        }
      });
    }
  });
});
