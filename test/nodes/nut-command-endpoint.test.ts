/**
 * The editor endpoint POST /nut-server/list-commands (nut-command's dialog)
 * under the rules of List UPSes: the write permission, a typed host/port or
 * the deployed server, no credentials sent, only well-formed names and
 * printable texts from the peer, bounded counts and lengths, one answer
 * within 5 s. The peer here is a scripted raw TCP server, so what it sends
 * can be anything (the real upsd: test/integration/nut-editor.test.ts).
 */
import { createServer, type Server } from "node:net";
import should from "../harness/should";
import nutServerNode from "../../nodes/nut-server";
import { helper, permissionGuarded } from "../harness/red-helper";
import { tokenize } from "../../core/nut/protocol";

/** Replies of the scripted peer: the command line → its reply lines (unlisted: ERR UNKNOWN-COMMAND; null: no reply at all). */
type Script = (line: string) => string[] | null;

describe("nut-server editor endpoint POST /nut-server/list-commands", function () {
  let peer: Server | null = null;
  let received: string[] = [];
  const permissions: string[] = [];

  const guardedServerNode = permissionGuarded(nutServerNode, permissions);

  async function startPeer(script: Script): Promise<number> {
    peer = createServer((s) => {
      s.on("error", () => undefined);
      let buf = "";
      s.on("data", (d: Buffer) => {
        buf += d.toString("latin1");
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          received.push(line.startsWith("PASSWORD") ? "PASSWORD ****" : line);
          if (line === "NETVER") s.write("1.3\n");
          else if (line === "LOGOUT") s.end("OK Goodbye\n");
          else {
            const reply = script(line);
            if (reply) s.write(reply.map((r) => r + "\n").join(""));
          }
        }
      });
    });
    await new Promise<void>((r) => peer!.listen(0, "127.0.0.1", () => r()));
    const addr = peer.address();
    return typeof addr === "object" && addr ? addr.port : 0;
  }

  const post = (body: object) => helper.request().post("/nut-server/list-commands").set("x-test-permission", "nut-server.write").send(body);

  beforeEach(async () => {
    received = [];
    permissions.length = 0;
    await helper.load([guardedServerNode], [{ id: "srv", type: "nut-server", host: "127.0.0.1", port: 3493, usetls: false, tls: "", login: "" }], {
      srv: { username: "admin", password: "stored-secret" },
    });
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((r) => (peer ? peer.close(() => r()) : r()));
    peer = null;
  });

  /** A UPS with two commands and three writable variables of each type, as upsd answers. */
  const ups1: Script = (line) => {
    const t = tokenize(line);
    const key = t.join(" ");
    const table: Record<string, string[]> = {
      "LIST CMD ups1": ["BEGIN LIST CMD ups1", "CMD ups1 shutdown.return", "CMD ups1 load.off", "END LIST CMD ups1"],
      "LIST RW ups1": [
        "BEGIN LIST RW ups1",
        'RW ups1 ups.delay.shutdown "20"',
        'RW ups1 input.transfer.low "100"',
        'RW ups1 ups.id "rack A"',
        "END LIST RW ups1",
      ],
      "GET CMDDESC ups1 shutdown.return": ['CMDDESC ups1 shutdown.return "Turn off the load and return when power is back"'],
      "GET CMDDESC ups1 load.off": ['CMDDESC ups1 load.off "Turn off the load immediately"'],
      "GET DESC ups1 ups.delay.shutdown": ['DESC ups1 ups.delay.shutdown "Interval to wait after shutdown with delay command (seconds)"'],
      "GET TYPE ups1 ups.delay.shutdown": ["TYPE ups1 ups.delay.shutdown RW RANGE"],
      "LIST RANGE ups1 ups.delay.shutdown": [
        "BEGIN LIST RANGE ups1 ups.delay.shutdown",
        'RANGE ups1 ups.delay.shutdown "0" "600"',
        "END LIST RANGE ups1 ups.delay.shutdown",
      ],
      "GET DESC ups1 input.transfer.low": ['DESC ups1 input.transfer.low "Low voltage transfer point"'],
      "GET TYPE ups1 input.transfer.low": ["TYPE ups1 input.transfer.low RW ENUM"],
      "LIST ENUM ups1 input.transfer.low": [
        "BEGIN LIST ENUM ups1 input.transfer.low",
        'ENUM ups1 input.transfer.low "100"',
        'ENUM ups1 input.transfer.low "103"',
        "END LIST ENUM ups1 input.transfer.low",
      ],
      "GET DESC ups1 ups.id": ['DESC ups1 ups.id "UPS system identifier"'],
      "GET TYPE ups1 ups.id": ["TYPE ups1 ups.id RW STRING:8"],
    };
    return Object.hasOwn(table, key) ? table[key] : ["ERR UNKNOWN-COMMAND"];
  };

  it("needs the nut-server.write permission", async () => {
    should(permissions).eql(["nut-server.write", "nut-server.write"]);
    const port = await startPeer(ups1);
    const res = await helper.request().post("/nut-server/list-commands").send({ host: "127.0.0.1", port, ups: "ups1" });
    should(res.status).equal(401);
    should(received).eql([], "nothing was sent for a caller without the permission");
  });

  it("lists commands with descriptions and writable variables with description, type, range / enum / length; no credentials sent", async () => {
    const port = await startPeer(ups1);
    const res = await post({ id: "srv", host: "127.0.0.1", port, ups: "ups1" });
    should(res.status).equal(200);
    should(res.body).eql({
      commands: [
        { name: "shutdown.return", description: "Turn off the load and return when power is back" },
        { name: "load.off", description: "Turn off the load immediately" },
      ],
      variables: [
        {
          name: "ups.delay.shutdown",
          value: "20",
          description: "Interval to wait after shutdown with delay command (seconds)",
          type: "RANGE",
          maxLength: null,
          enum: [],
          ranges: [{ min: "0", max: "600" }],
        },
        {
          name: "input.transfer.low",
          value: "100",
          description: "Low voltage transfer point",
          type: "ENUM",
          maxLength: null,
          enum: ["100", "103"],
          ranges: [],
        },
        { name: "ups.id", value: "rack A", description: "UPS system identifier", type: "STRING", maxLength: 8, enum: [], ranges: [] },
      ],
    });
    should(received.some((l) => /^(USERNAME|PASSWORD)/.test(l))).be.false();
  });

  it("refuses a UPS name that is not NUT's before connecting", async () => {
    const port = await startPeer(ups1);
    for (const ups of ["", "ups 1", "../x", 5, "a".repeat(65)]) {
      const res = await post({ host: "127.0.0.1", port, ups });
      should(res.status).equal(400, JSON.stringify(ups));
      should(res.body.code).equal("INVALID-ARGUMENT");
    }
    should(received).eql([]);
  });

  it("keeps only well-formed names and printable texts, bounded: nothing else the peer wrote is echoed", async () => {
    const many = Array.from({ length: 400 }, (_, i) => `CMD ups1 c${i}`);
    const port = await startPeer((line) => {
      if (line === "LIST CMD ups1") return ["BEGIN LIST CMD ups1", "CMD ups1 bad;name", "CMD ups2 other.ups", ...many, "END LIST CMD ups1"];
      if (line === "LIST RW ups1") return ["BEGIN LIST RW ups1", 'RW ups1 x.y "\u0001bin"', 'RW ups1 ok.var "1"', "END LIST RW ups1"];
      if (line.startsWith("GET CMDDESC ups1 c0")) return [`CMDDESC ups1 c0 "${"d".repeat(500)}"`];
      if (line.startsWith("GET CMDDESC ups1 c1 ")) return ['CMDDESC ups1 c1 "evil\u0007bell"'];
      if (line.startsWith("GET CMDDESC")) return ["ERR CMD-NOT-SUPPORTED"];
      if (line === "GET DESC ups1 ok.var") return ['DESC ups2 ok.var "wrong ups"'];
      if (line === "GET TYPE ups1 ok.var") return ["TYPE ups1 ok.var RW SOMETHING"];
      return ["ERR UNKNOWN-COMMAND"];
    });
    const res = await post({ host: "127.0.0.1", port, ups: "ups1" });
    should(res.status).equal(200);
    const { commands, variables } = res.body as {
      commands: Array<{ name: string; description: string }>;
      variables: Array<{ name: string; description: string }>;
    };
    should(commands).have.length(300);
    should(commands[0]).eql({ name: "c0", description: "d".repeat(200) });
    should(commands[1]).eql({ name: "c1", description: "" });
    should(commands.some((c) => c.name === "bad;name" || c.name === "other.ups")).be.false();
    should(variables.map((v) => [v.name, v.description])).eql([["ok.var", ""]]);
  });

  it("a peer that never finishes is answered within the endpoint's time with a fixed code", async () => {
    const port = await startPeer((line) => (line === "LIST CMD ups1" ? ["BEGIN LIST CMD ups1", "CMD ups1 a"] : null));
    const res = await post({ host: "127.0.0.1", port, ups: "ups1" });
    should(res.status).equal(502);
    should(res.body.code).equal("TIMEOUT");
    should(JSON.stringify(res.body)).not.containEql("CMD ups1");
  });
});
