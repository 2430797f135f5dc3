/**
 * The ssh-host config node: its checks at deploy, the pin warnings, and the
 * editor's fetch-fingerprints endpoint.
 */
import should from "../harness/should";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import type { Server } from "node:net";
import sshHostNode from "../../nodes/ssh-host";
import sshShutdownNode from "../../nodes/ssh-shutdown";
import { freePort } from "../harness/system";
import { translator } from "../harness/catalog";
import { callsOf, helper, loggedText } from "../harness/red-helper";

const FP = "SHA256:0wqZLw85RM2xD+3XcEgBRMeaIagvbANVbgufXmhjbHY";

function host(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "h1",
    type: "ssh-host",
    name: "backup",
    address: "127.0.0.1",
    port: 22,
    username: "nut",
    keyFile: "",
    fingerprints: FP,
    acceptAnyHostKey: false,
    ...over,
  };
}

describe("ssh-host node", () => {
  afterEach(() => helper.unload());

  it("keeps its secrets in credentials: the editor definition has no secret in defaults", () => {
    const html = readFileSync(join(__dirname, "../../nodes/ssh-host.html"), "utf8");
    const defaults = /defaults:\s*\{([\s\S]*?)\n {8}\},\n {8}credentials/.exec(html)?.[1] ?? "";
    const credentials = /credentials:\s*\{([\s\S]*?)\n {8}\}/.exec(html)?.[1] ?? "";
    should(defaults.includes("address")).be.true("defaults parsed");
    for (const secret of ["privateKey", "passphrase", "password"]) {
      should(defaults).not.match(new RegExp(`\\b${secret}\\s*:`), `${secret} must not be in defaults`);
      should(credentials).match(new RegExp(`${secret}:\\s*\\{\\s*type:\\s*"password"`), `${secret} is a password credential`);
    }
  });

  it("deploys quietly with a pin, and exposes its target with the pins and credentials", async () => {
    await helper.load(sshHostNode, [host()], { h1: { password: "s3cret" } });
    const n = helper.getNode("h1") as unknown as { target(): Record<string, unknown>; sshHost: Record<string, unknown> };
    should(n.sshHost).eql({ name: "backup", address: "127.0.0.1", port: 22, username: "nut" });
    const t = n.target();
    should(t.password).equal("s3cret");
    should(t.key).equal(null);
    should(t.pins).eql([{ fingerprint: FP, type: null }]);
    should(callsOf(helper.getNode("h1"), helper.getNode("h1").warn)).have.length(0);
  });

  it("warns at every deploy when any host key is accepted", async () => {
    await helper.load(sshHostNode, [host({ acceptAnyHostKey: true, fingerprints: "" })]);
    const warns = callsOf(helper.getNode("h1"), helper.getNode("h1").warn).map((c) => String(c.args[0]));
    should(warns).eql(["ssh-host backup: INSECURE, any host key is accepted (host key checking is off)"]);
  });

  it("reports lines that are not fingerprints; nothing pinned and no node using it: no warning", async () => {
    await helper.load(sshHostNode, [host({ fingerprints: "MD5:aa:bb\n" })]);
    const n = helper.getNode("h1");
    should(callsOf(n, n.warn).map((c) => c.args[0])).eql([]);
    should(callsOf(n, n.error).map((c) => c.args[0])).eql(["ssh-host backup: not a SHA256 fingerprint, ignored: MD5:aa:bb"]);
  });

  it("a MAC address for Wake-on-LAN in any usual form is read as aa:bb:cc:dd:ee:ff; none is null", async () => {
    for (const [typed, read] of [
      ["AA-BB-CC-DD-EE-0F", "aa:bb:cc:dd:ee:0f"],
      ["aabb.ccdd.ee0f", "aa:bb:cc:dd:ee:0f"],
      [" aa:bb:cc:dd:ee:0f ", "aa:bb:cc:dd:ee:0f"],
      ["", null],
    ] as const) {
      await helper.load(sshHostNode, [host({ mac: typed })]);
      const n = helper.getNode("h1");
      should((n as unknown as { mac: string | null }).mac).equal(read, typed);
      should(callsOf(n, n.error)).have.length(0);
      await helper.unload();
    }
    await helper.load(sshHostNode, [host()]);
    should((helper.getNode("h1") as unknown as { mac: string | null }).mac).equal(null, "a flow without the field");
  });

  it("a MAC address that is not one is an error at deploy naming the host and the forms accepted", async () => {
    await helper.load(sshHostNode, [host({ mac: "aa:bb:cc:dd:ee" })]);
    const n = helper.getNode("h1");
    should(callsOf(n, n.error).map((c) => c.args[0])).eql([
      'ssh-host backup: "aa:bb:cc:dd:ee" is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff): this host cannot be woken',
    ]);
    should((n as unknown as { mac: string | null }).mac).equal(null);
  });

  it("a port that is not one (from a flow edited by hand) is an error at deploy, and nothing connects to another port", async () => {
    await helper.load(sshHostNode, [host({ port: "2x2" })]);
    const n = helper.getNode("h1");
    const said = 'ssh-host backup: the port "2x2" is not a port (1 to 65535): nothing connects to this host';
    should(callsOf(n, n.error).map((c) => c.args[0])).eql([said]);
    should(() => (n as unknown as { target(): unknown }).target()).throw({ message: said });
  });

  describe("nothing pinned: a warning only when a node that connects uses the host, once per deploy", () => {
    const shutdown = (id: string, hosts: string[], over: Record<string, unknown> = {}): Record<string, unknown> => ({
      id,
      type: "ssh-shutdown",
      z: "tab",
      name: "",
      hosts,
      preset: "linux",
      delay: 1,
      action: "shutdown",
      allowed: ["shutdown", "cancel", "check", "simulate"],
      connectTimeout: 1,
      commandTimeout: 1,
      deadline: 1,
      wires: [[]],
      ...over,
    });
    /** The example's shape: on simulate, a message may ask for a check or a cancel, never a shutdown. */
    const rehearsal = { action: "simulate", allowed: ["simulate", "check", "cancel"] };
    const unpinned = (id: string, name: string): Record<string, unknown> => host({ id, name, fingerprints: "" });
    const tab = { id: "tab", type: "tab", label: "t" };
    const noPinWarnings = (): string[] =>
      helper
        .log()
        .getCalls()
        .map((c) => c.args[0])
        .filter((e) => e.type === "ssh-host" && /: no host key fingerprint pinned, every connection will be refused until one is$/.test(String(e.msg)))
        .map((e) => String(e.id));

    it("every node on simulate (the examples: five hosts): no warning at all", async () => {
      const ids = ["h1", "h2", "h3", "h4", "h5"];
      await helper.load(
        [sshHostNode, sshShutdownNode],
        [
          tab,
          ...ids.map((id) => unpinned(id, id)),
          shutdown("a", ["h1"], rehearsal),
          shutdown("b", ["h2", "h3"], rehearsal),
          shutdown("c", ["h4", "h5"], rehearsal),
        ],
      );
      should(noPinWarnings()).eql([]);
    });

    it("a node that can connect: one warning per unpinned host it uses, even when several such nodes use it; pinned hosts and disabled nodes say nothing", async () => {
      await helper.load(
        [sshHostNode, sshShutdownNode],
        [
          tab,
          unpinned("h1", "one"),
          unpinned("h2", "two"),
          host({ id: "h3", name: "pinned" }),
          unpinned("h4", "four"),
          unpinned("h5", "five"),
          shutdown("a", ["h1", "h3"]),
          shutdown("b", ["h1", "h2"], { action: "check" }),
          shutdown("c", ["h4"], rehearsal),
          shutdown("d", ["h5"], { d: true }),
          shutdown("e", ["h4"], { action: "simulate", allowed: ["shutdown"] }),
        ],
      );
      should(noPinWarnings().sort()).eql(["h1", "h2", "h4"]);
    });

    it("a deploy of the changed node only: switching a node from simulate to shutdown warns then; the reverse does not", async () => {
      const flow = (over: Record<string, unknown>): object[] => [tab, unpinned("h1", "one"), shutdown("a", ["h1"], over)];
      await helper.load([sshHostNode, sshShutdownNode], flow(rehearsal));
      should(noPinWarnings()).eql([]);
      await helper.setFlows(flow({}), "nodes"); // only the ssh-shutdown restarts
      should(noPinWarnings()).eql(["h1"]);
      await helper.setFlows(flow(rehearsal), "nodes");
      should(noPinWarnings()).eql(["h1"], "no new warning");
    });
  });

  it("a missing key file is an error at deploy and on use, naming the file, never a secret", async () => {
    await helper.load(sshHostNode, [host({ keyFile: "/nonexistent/id_nut" })], { h1: { passphrase: "pass-phrase-1234", password: "pw-5678" } });
    const n = helper.getNode("h1") as unknown as { target(): unknown };
    should(() => n.target()).throw(/key file \/nonexistent\/id_nut does not exist/);
    const logged = loggedText();
    should(logged.includes("ssh-host backup: key file /nonexistent/id_nut does not exist")).be.true(logged);
    should(logged).not.containEql("pass-phrase-1234");
    should(logged).not.containEql("pw-5678");
  });

  describe("fingerprint endpoint", () => {
    it("refuses a bad address or port, and an unknown id without an address", async () => {
      await helper.load(sshHostNode, [host()]);
      // "-rf": no host name starts with "-" (found by test/fuzz/node-inputs.test.ts: it went to the resolver)
      // A port Number() cannot read (its toString is no function) was a 500 with a stack trace (found by test/fuzz/node-inputs.test.ts).
      const odd = { toString: 1, valueOf: "x" };
      for (const body of [
        { address: "" },
        { address: "a b" },
        { address: "x;rm -rf /" },
        { address: "-rf" },
        { address: "127.0.0.1", port: 0 },
        { address: "127.0.0.1", port: "99999" },
        { address: "127.0.0.1", port: odd },
      ]) {
        const r = await helper.request().post("/ssh-host/fingerprints").send(body);
        should(r.status).equal(400, JSON.stringify(body));
      }
      const r = await helper.request().post("/ssh-host/fingerprints").send({ id: "nope" });
      should(r.status).equal(404);
    });

    it("answers 502 with a code and our own text when nothing listens", async () => {
      await helper.load(sshHostNode, [host()]);
      const port = await freePort();
      const r = await helper.request().post("/ssh-host/fingerprints").send({ address: "127.0.0.1", port });
      should(r.status).equal(502);
      should(r.body).eql({ code: "refused", error: `127.0.0.1:${port} refused the connection (is sshd running, on this port?)` });
    });

    describe("a hostile peer: its words never reach the editor", () => {
      const HOSTILE = "<img src=x onerror=alert(1)> ";
      let server: Server | undefined;
      afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

      /** An unencrypted SSH_MSG_DISCONNECT packet (RFC 4253 6, 11.1). */
      function disconnectPacket(reason: number, text: string): Buffer {
        const d = Buffer.from(text, "utf8");
        const payload = Buffer.alloc(1 + 4 + 4 + d.length + 4);
        payload[0] = 1;
        payload.writeUInt32BE(reason, 1);
        payload.writeUInt32BE(d.length, 5);
        d.copy(payload, 9);
        let pad = 8 - ((5 + payload.length) % 8);
        if (pad < 4) pad += 8;
        const packet = Buffer.alloc(5 + payload.length + pad);
        packet.writeUInt32BE(1 + payload.length + pad, 0);
        packet[4] = pad;
        payload.copy(packet, 5);
        return packet;
      }

      async function peer(onConnect: (s: import("node:net").Socket) => void): Promise<number> {
        server = createServer((s) => {
          s.on("error", () => undefined);
          onConnect(s);
        });
        await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
        const a = server.address();
        return typeof a === "object" && a ? a.port : 0;
      }

      for (const [what, code, talk] of [
        [
          "an SSH server that disconnects with 20 kB of markup",
          "closed",
          (s: import("node:net").Socket) => {
            s.write("SSH-2.0-OpenSSH_9.9\r\n");
            s.once("data", () => s.write(disconnectPacket(2, HOSTILE + "Z".repeat(20_000))));
          },
        ],
        [
          "an HTTP server (100 kB of markup, then a close)",
          "not-ssh",
          (s: import("node:net").Socket) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n" + HOSTILE.repeat(4000)),
        ],
      ] as const) {
        it(`${what}: the answer is a code and a fixed text`, async () => {
          await helper.load(sshHostNode, [host()]);
          const port = await peer(talk);
          const r = await helper.request().post("/ssh-host/fingerprints").send({ address: "127.0.0.1", port });
          should(r.status).equal(502);
          should(r.body).eql({ code, error: translator()(`ssh-host.fetch.err.${code}`, { address: `127.0.0.1:${port}` }) });
          should(r.text.includes("onerror")).be.false(r.text.slice(0, 200));
          should(r.text.includes("ZZZZ")).be.false(r.text.slice(0, 200));
        });
      }
    });
  });
});
