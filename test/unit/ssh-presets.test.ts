import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  DEFAULT_MESSAGE,
  PRESET_IDS,
  PRESETS,
  presetCommands,
  quoteSh,
  safeText,
} from "../../core/ssh/presets";
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
  "\"; touch MARKER; \"",
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
  "%PATH% & calc.exe & \"",
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
  afterEach(() => assert.equal(existsSync(join(dir, "MARKER")), false, "a hostile string ran a command"));

  describe("quoteSh", () => {
    it("round-trips every hostile string through each POSIX shell as ONE argument, running nothing", () => {
      const inputs = HOSTILE.filter((s) => !s.includes("\0"));
      for (const sh of SHELLS) {
        const out = shell(sh, "printf '%s\\0' " + inputs.map(quoteSh).join(" "), dir).toString("utf8");
        assert.deepEqual(out.split("\0").slice(0, -1), inputs, `shell ${sh}`);
      }
    });

    it("round-trips arbitrary strings (property, batched per shell)", () => {
      fc.assert(
        fc.property(fc.array(fc.string({ unit: "binary", maxLength: 40 }).map((s) => s.replace(/\0/g, "")), { minLength: 1, maxLength: 30 }), (strings) => {
          for (const sh of SHELLS) {
            const out = shell(sh, "printf '%s\\0' " + strings.map(quoteSh).join(" "), dir).toString("utf8");
            assert.deepEqual(out.split("\0").slice(0, -1), strings);
          }
        }),
        { numRuns: 60 },
      );
    });

    it("leaves plain words bare and quotes anything a shell could read", () => {
      assert.equal(quoteSh("/sbin/shutdown"), "/sbin/shutdown");
      assert.equal(quoteSh("+5"), "+5");
      assert.equal(quoteSh(""), "''");
      assert.equal(quoteSh("a b"), "'a b'");
      assert.equal(quoteSh("it's"), "'it'\\''s'");
      assert.equal(quoteSh("=ls"), "'=ls'"); // zsh would expand =ls
      assert.equal(quoteSh("~root"), "'~root'");
    });
  });

  describe("safeText", () => {
    it("keeps letters, digits and . , : ; ? ' ( ) _ + = / @ # - only, one line, no leading dash", () => {
      for (const s of HOSTILE) {
        const t = safeText(s);
        assert.match(t, /^[\p{L}\p{M}\p{N} .,:;?'()_+=/@#-]*$/u, JSON.stringify(s));
        assert.doesNotMatch(t, /^[-\s]/);
        assert.ok(t.length <= 200);
      }
      assert.equal(safeText("Panne : l'onduleur (UPS1) est à 20 %"), "Panne : l'onduleur (UPS1) est à 20");
      assert.equal(safeText("--reboot now"), "reboot now");
      assert.equal(safeText("a\nb\tc"), "a b c");
    });

    it("leaves nothing cmd.exe or PowerShell would read inside double quotes", () => {
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
          assert.doesNotMatch(safeText(s), /["%!^&|<>$`\\\r\n\t\0]/);
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
        assert.ok(c.shutdown.length > 0, id);
        assert.equal(c.sudoers !== null, PRESETS[id].usesSudo, `${id} sudoers`);
        if (PRESETS[id].usesSudo) {
          assert.match(c.shutdown, /^sudo -n \//, id);
          assert.match(c.sudoers ?? "", /^nut ALL=\(root\) NOPASSWD: \//, id);
          assert.match(c.check ?? "", /^sudo -n -l \//, id);
        }
        const root = presetCommands(id, params({ username: "root" }));
        assert.doesNotMatch(`${root.shutdown} ${root.cancel} ${root.check}`, /sudo/, id);
        assert.equal(root.sudoers, null, id);
      }
    });

    it("Linux: delayed shutdown -h +N, cancel shutdown -c, check with sudo -n -l", () => {
      const c = presetCommands("linux", params({ message: "Power failure" }));
      assert.equal(c.shutdown, "sudo -n /sbin/shutdown -h +2 'Power failure'");
      assert.equal(c.cancel, "sudo -n /sbin/shutdown -c");
      assert.equal(c.check, "sudo -n -l /sbin/shutdown -h +2 'Power failure' && sudo -n -l /sbin/shutdown -c");
      assert.equal(c.sudoers, "nut ALL=(root) NOPASSWD: /sbin/shutdown");
      assert.equal(c.delayed, true);
      assert.equal(c.delayMs, 120_000);
      const now = presetCommands("linux", params({ delayMinutes: 0 }));
      assert.match(now.shutdown, /-h now /);
      assert.equal(now.delayed, false, "nothing to cancel after an immediate shutdown");
    });

    it("Linux immediate, Synology, TrueNAS and ESXi cannot be cancelled", () => {
      assert.equal(presetCommands("linux-poweroff", params()).shutdown, "sudo -n /bin/systemctl poweroff");
      assert.equal(presetCommands("synology", params()).shutdown, "sudo -n /sbin/poweroff");
      assert.match(presetCommands("esxi", params()).shutdown, /\/sbin\/shutdown\.sh && \/sbin\/poweroff/);
      for (const id of ["linux-poweroff", "synology", "truenas", "esxi"] as PresetId[]) {
        const c = presetCommands(id, params());
        assert.equal(c.cancel, null, id);
        assert.equal(c.delayed, false, id);
      }
    });

    it("Windows: shutdown /s /t seconds /c \"text\", cancel /a where exit 1116 means nothing pending", () => {
      const c = presetCommands("windows", params({ message: "Coupure" }));
      assert.equal(c.shutdown, 'shutdown /s /f /t 120 /c "Coupure"');
      assert.equal(c.cancel, "shutdown /a");
      assert.deepEqual(c.cancelOkExitCodes, [0, 1116]);
      assert.equal(c.sudoers, null);
      const hostile = presetCommands("windows", params({ message: '" & del /q C:\\* & "%COMSPEC%' }));
      const inner = /\/c "(.*)"$/.exec(hostile.shutdown)?.[1] ?? "";
      assert.doesNotMatch(inner, /["%&^|<>!$`]/);
    });

    it("TrueNAS passes the reason as a JSON string, so midclt never reads it as a number or object", () => {
      const c = presetCommands("truenas", params({ message: "42" }));
      assert.equal(c.shutdown, "sudo -n /usr/bin/midclt call system.shutdown '\"42\"'");
    });

    it("macOS cancels by ending the pending shutdown process", () => {
      const c = presetCommands("macos", params());
      assert.equal(c.cancel, "sudo -n /usr/bin/killall shutdown");
      assert.equal(c.sudoers, "nut ALL=(root) NOPASSWD: /sbin/shutdown, /usr/bin/killall shutdown");
    });

    it("custom uses the operator's commands as typed; delayed only with a cancel command and a delay", () => {
      const c = presetCommands("custom", params());
      assert.equal(c.shutdown, "/usr/local/bin/down");
      assert.equal(c.cancel, "/usr/local/bin/undown");
      assert.equal(c.check, "/usr/local/bin/can-down");
      assert.equal(c.delayed, true);
      const noCancel = presetCommands("custom", params({ custom: { shutdown: "x", cancel: " ", check: "" } }));
      assert.equal(noCancel.cancel, null);
      assert.equal(noCancel.check, null, "empty check = connect and authenticate only");
      assert.equal(noCancel.delayed, false);
    });

    it("an empty message becomes the default; the delay is clamped to 0..1440 whole minutes", () => {
      assert.ok(presetCommands("linux", params()).shutdown.endsWith(`'${DEFAULT_MESSAGE}'`));
      assert.match(presetCommands("linux", params({ delayMinutes: 99999 })).shutdown, /-h \+1440 /);
      assert.match(presetCommands("linux", params({ delayMinutes: -5 })).shutdown, /-h now /);
      assert.match(presetCommands("linux", params({ delayMinutes: Number.NaN })).shutdown, /-h now /);
    });

    it("a hostile user name never reaches the sudoers line", () => {
      assert.match(presetCommands("linux", params({ username: "x ALL=(ALL) ALL\nnut" })).sudoers ?? "", /^USER ALL=\(root\)/);
    });

    for (const id of ["linux", "proxmox", "macos", "truenas"] as PresetId[]) {
      it(`${id}: a hostile message stays one argument, as the shell parses it`, () => {
        for (const sh of SHELLS) {
          for (const message of HOSTILE) {
            const c = presetCommands(id, params({ message }));
            const argv = argvOf(sh, c.shutdown, dir);
            const text = safeText(message) || DEFAULT_MESSAGE;
            const last = id === "truenas" ? JSON.stringify(text) : text;
            assert.equal(argv[0], "-n");
            assert.equal(argv[argv.length - 1], last, `${sh}: ${JSON.stringify(message)}`);
            assert.equal(argv.length, 5, `${sh}: ${JSON.stringify(message)} -> ${JSON.stringify(argv)}`);
            // the check command asks sudo about exactly the same argv
            const checked = argvOf(sh, (c.check ?? "").split(" && ")[0], dir);
            assert.deepEqual(checked, ["-n", "-l", ...argv.slice(1)]);
          }
        }
      });
    }
  });
});
