/**
 * The NUT reader fuzzed: at least 10^5 generated replies (FUZZ_SCALE=1; `npm
 * run fuzz` runs 25 times as many) served by a fake upsd on 127.0.0.1 to the
 * real NutClient over one long-lived connection, requests pipelined in
 * batches as a poll sends them. Replies are valid (values with every
 * character upsd can quote, \r\n, extra spaces), ERR lines of any word, or
 * broken: garbage lines, random bytes, a reply cut short or with a line too
 * many, lists without END or with the wrong END, lines and lists past the
 * client's bounds, a reply dribbled over many TCP writes, a peer hanging up
 * mid-reply, and (on a client of its own, with a short timeout) no reply.
 *
 * What must hold:
 * - nothing is thrown out of the client (no uncaught exception, no unhandled
 *   rejection), and every request settles: with a value or a NutError whose
 *   code is a bounded word and whose message is bounded;
 * - a request never resolves with a value its own reply did not say (every
 *   request names a UPS no other request names, so a reply read for the
 *   wrong request is never taken for a value), and a valid reply that no
 *   broken reply before it on the wire can have disturbed gives exactly its
 *   value;
 * - the heap after the run (after a full collection) is within a bound of
 *   the heap before it, and the client still reads a plain reply at the end.
 *
 * A failure names its seed; FUZZ_SEED=<seed> replays it.
 */
import should from "../harness/should";
import { createServer, type Server, type Socket } from "node:net";
import { NutClient, type StateChange } from "../../core/nut/client";
import { MAX_CODE_LENGTH, NutError, NutServerError } from "../../core/nut/errors";
import { LineBuffer, quote } from "../../core/nut/protocol";
import { Rng, fuzzScale, fuzzSeed, fuzzSuite, heapAfterGc, replay } from "../harness/fuzz";

/** The client's bounds in this test: small, so that every bound is reached often and cheaply. */
const LIMITS = { maxLineBytes: 1024, maxListItems: 40, maxReplyBytes: 8192 };
/** How the peer delivers a reply. */
type Delivery = "whole" | "split" | "hang-up" | "silent";

interface Planned {
  bytes: Buffer;
  delivery: Delivery;
}

/**
 * What a request may settle with, given its reply:
 * - value: its reply was valid and nothing before it on the wire was broken: exactly this value;
 * - server-error: an ERR line in step: a NutServerError;
 * - error: a broken reply: a NutError, or its own value when the bytes after it happen to complete it (a list
 *   cut short before its last newline, completed by the next reply's first byte);
 * - unknown: the wire was already out of step: a NutError, or (never wrong) its own value.
 */
type Expect = { kind: "value" | "error" | "unknown"; value: unknown } | { kind: "server-error" };

interface Reply {
  text: string;
  /** Whether the wire is still in step after it (it is one complete answer, or a single line to a one-line request). */
  inStep: boolean;
  expect: "value" | "server-error" | "error";
  delivery: Delivery;
}

// Characters upsd can put in a quoted value (no newline; NUT escapes \ " # with a backslash, quote() does the same).
const VALUE_CHARS = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;-_+/=@!?%&*()[]{}<>\t\"'\\#é€😀";

/** A fake upsd: NETVER answers 1.3, every other command gets the reply planned for that exact line. */
interface PlannedPeer {
  port: number;
  plan: Map<string, Planned>;
  served: () => number;
  /** Nothing planned left and no reply still being dribbled out. */
  idle: () => boolean;
  /** Hang up on every client (as upsd restarting would). */
  dropAll: () => void;
  /** Connections accepted so far. */
  accepted: () => number;
  close: () => Promise<void>;
}

async function plannedPeer(): Promise<PlannedPeer> {
  const plan = new Map<string, Planned>();
  const sockets = new Set<Socket>();
  let served = 0;
  const splitting = { n: 0 };
  let accepted = 0;
  const server: Server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.setNoDelay(true);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
    const lines = new LineBuffer(1 << 20);
    s.on("data", (chunk: Buffer) => {
      for (const line of lines.push(chunk).lines) {
        if (line === "NETVER") s.write("1.3\n");
        else if (line === "LOGOUT") s.end("OK Goodbye\n");
        else {
          const p = plan.get(line);
          if (!p) continue; // a request of an earlier batch that arrives late: nothing planned
          plan.delete(line);
          served++;
          deliver(s, p, splitting);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    plan,
    served: () => served,
    idle: () => plan.size === 0 && splitting.n === 0,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function deliver(s: Socket & { queue?: Planned[] }, p: Planned, splitting: { n: number }): void {
  if (p.delivery === "silent" || s.destroyed) return;
  // In order, as upsd writes: a reply dribbled out holds back the ones after it.
  if (s.queue) {
    s.queue.push(p);
    return;
  }
  if (p.delivery === "whole") {
    s.write(p.bytes);
    return;
  }
  if (p.delivery === "hang-up") {
    s.write(p.bytes.subarray(0, Math.floor(p.bytes.length / 2)));
    s.destroy();
    return;
  }
  // split: a few bytes per write, each on a later turn
  const queue: Planned[] = (s.queue = []);
  splitting.n++;
  let at = 0;
  const step = () => {
    if (!s.destroyed && at < p.bytes.length) {
      const n = 1 + ((at * 7) % 13);
      s.write(p.bytes.subarray(at, at + n));
      at += n;
      setImmediate(step);
      return;
    }
    splitting.n--;
    s.queue = undefined;
    for (const next of queue) deliver(s, next, splitting);
  };
  step();
}

/** The reply generators: each knows what its reply means to the request. */
class Replies {
  constructor(private readonly r: Rng) {}

  value(max = 40): string {
    return this.r.text(this.r.int(0, max), VALUE_CHARS);
  }

  private sep(): string {
    return this.r.chance(0.1) ? "  " : " ";
  }

  private eol(): string {
    return this.r.chance(0.15) ? "\r\n" : "\n";
  }

  private errLine(): string {
    const code = this.r.pick([
      "VAR-NOT-SUPPORTED",
      "DATA-STALE",
      "UNKNOWN-UPS",
      "DRIVER-NOT-CONNECTED",
      "ACCESS-DENIED",
      "NEW-CODE_2",
      this.r.text(this.r.int(0, 300), VALUE_CHARS.replace("#", "")),
    ]);
    return `ERR ${code}${this.r.chance(0.3) ? " " + this.value(60).replace(/#/g, "") : ""}`;
  }

  /** A broken answer to any request: what it does to the wire decides `inStep`. */
  private broken(oneLine: boolean, words: string): Reply {
    const r = this.r;
    const err = (text: string, inStep: boolean, delivery: Delivery = "whole"): Reply => ({ text, inStep, expect: "error", delivery });
    switch (r.int(0, 9)) {
      case 0: {
        // one line of garbage: a one-line request takes it as its (wrong) answer, a list request drops the connection
        const line = r.text(r.int(0, 80), VALUE_CHARS.replace(/["\\#]/g, "")).replace(/\s+$/, "");
        return err(`X${line}\n`, oneLine);
      }
      case 1:
        return err(Buffer.from(Array.from({ length: r.int(1, 200) }, () => r.int(0, 255))).toString("latin1"), false);
      case 2:
        return err(`${words.replace(/^(GET|LIST) /, "$1X ")}\n`, oneLine); // echo of the wrong command
      case 3:
        return err(`VAR${this.sep()}${"x".repeat(LIMITS.maxLineBytes + r.int(1, 4000))}\n`, false); // a line past the bound
      case 4:
        return err(`BEGIN ${words}\n`, false); // a list that never ends (the next replies become its items)
      case 5:
        return err(`BEGIN ${words}\nEND ${words} extra\n`, false); // an END that is not this list's
      case 6:
        return err(`ERR DATA-STALE\nERR DATA-STALE\n`, false); // a line too many
      case 7:
        return err(`OK\n`, oneLine); // a reply of another command
      case 8:
        return err(`${r.text(r.int(1, 30), "abc \t")}`, false); // no newline at all: runs into the next reply
      default:
        // a list where one line was due; to a list request, a list of the wrong command
        return err(oneLine ? `BEGIN ${words}\nEND ${words}\n` : `BEGIN LIST RW x\nEND LIST RW x\n`, false);
    }
  }

  /** GET VAR ups name. */
  getVar(ups: string, name: string): Reply & { value: string } {
    const value = this.value();
    const k = this.r.int(0, 199);
    if (k < 170)
      return {
        text: `VAR${this.sep()}${ups} ${name}${this.sep()}${quote(value)}${this.eol()}`,
        inStep: true,
        expect: "value",
        value,
        delivery: this.delivery(),
      };
    if (k < 188) return { text: `${this.errLine()}\n`, inStep: true, expect: "server-error", value, delivery: this.delivery() };
    return { ...this.broken(true, `VAR ${ups} ${name}`), value };
  }

  /** LIST VAR ups. */
  listVar(ups: string): Reply & { value: Array<[string, string]> } {
    const r = this.r;
    const n = r.chance(0.01) ? LIMITS.maxListItems + r.int(1, 20) : r.int(0, 12);
    const value: Array<[string, string]> = Array.from({ length: n }, (_, i) => [
      `v${i}.${r.text(r.int(1, 8), "abcxyz")}`,
      this.value(n > LIMITS.maxListItems ? 4 : 40),
    ]);
    const body = value.map(([k, v]) => `VAR ${ups} ${k}${this.sep()}${quote(v)}${this.eol()}`).join("");
    const text = `BEGIN LIST VAR ${ups}${this.eol()}${body}END LIST VAR ${ups}${this.eol()}`;
    const k = r.int(0, 199);
    if (n > LIMITS.maxListItems || text.length > LIMITS.maxReplyBytes) return { text, inStep: false, expect: "error", value, delivery: "whole" };
    if (k < 170) return { text, inStep: true, expect: "value", value, delivery: this.delivery() };
    if (k < 186) return { text: `${this.errLine()}\n`, inStep: true, expect: "server-error", value, delivery: this.delivery() };
    if (k < 189) return { text: text.slice(0, r.int(1, text.length - 1)), inStep: false, expect: "error", value, delivery: "whole" }; // cut short
    if (k < 192) return { text: text.replace(/\nVAR /, `\nUPS `), inStep: false, expect: "error", value, delivery: "whole" }; // a foreign item word
    return { ...this.broken(false, `LIST VAR ${ups}`), value };
  }

  /** LIST UPS: names and descriptions. */
  listUps(): Reply & { value: Array<{ name: string; description: string }> } {
    const r = this.r;
    const value = Array.from({ length: r.int(0, 8) }, (_, i) => ({ name: `ups${i}${r.text(r.int(0, 6), "abc_-.")}`, description: this.value() }));
    const text = `BEGIN LIST UPS\n${value.map((u) => `UPS ${u.name} ${quote(u.description)}\n`).join("")}END LIST UPS\n`;
    if (r.chance(0.92)) return { text, inStep: true, expect: "value", value, delivery: this.delivery() };
    return { ...this.broken(false, "LIST UPS"), value };
  }

  private delivery(): Delivery {
    return this.r.chance(0.05) ? "split" : "whole";
  }
}

interface Outcome {
  label: string;
  expect: Expect;
  /** The settled value, or the error. */
  result: { ok: true; value: unknown } | { ok: false; error: unknown };
}

/** Checks one outcome against what its reply allowed; returns a problem in words, or null. */
function judge(o: Outcome): string | null {
  const { expect: e, result } = o;
  if (!result.ok) {
    const err = result.error;
    if (!(err instanceof NutError)) return `${o.label}: rejected with a non-NutError ${String(err)}`;
    if (!new RegExp(`^[A-Za-z0-9][A-Za-z0-9_-]{0,${MAX_CODE_LENGTH - 1}}$`).test(err.code))
      return `${o.label}: error code ${JSON.stringify(err.code)} is not a bounded word`;
    if (err.message.length > 400) return `${o.label}: error message of ${err.message.length} characters`;
    if (e.kind === "value") return `${o.label}: a valid reply in step failed: ${err.name} ${err.message}`;
    if (e.kind === "server-error" && !(err instanceof NutServerError)) return `${o.label}: ERR in step gave ${err.name} ${err.message}`;
    return null;
  }
  if (e.kind !== "server-error") {
    try {
      should(result.value).eql(e.value);
      return null;
    } catch {
      return `${o.label}: resolved with ${JSON.stringify(result.value)?.slice(0, 200)}, its reply said ${JSON.stringify(e.value)?.slice(0, 200)}`;
    }
  }
  return `${o.label}: resolved with ${JSON.stringify(result.value)?.slice(0, 200)} where its reply was an ERR`;
}

function settleOf(p: Promise<unknown>): Promise<Outcome["result"]> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Resolves once the client is connected (at once when it is). */
function connected(c: NutClient): Promise<void> {
  if (c.state === "connected") return Promise.resolve();
  return new Promise((resolve) => {
    const on = (s: StateChange) => {
      if (s.state !== "connected") return;
      c.off("state", on);
      resolve();
    };
    c.on("state", on);
  });
}

/** The client reads a plain GET VAR reply (once connected). */
async function readsAgain(client: NutClient, peer: PlannedPeer, status: string): Promise<void> {
  await connected(client);
  peer.plan.set("GET VAR ups1 ups.status", { bytes: Buffer.from(`VAR ups1 ups.status "${status}"\n`), delivery: "whole" });
  should(await client.getVar("ups1", "ups.status")).equal(status);
}

describe("fuzz: the NUT reader (NutClient on loopback) fed generated replies", function () {
  this.timeout(600000);
  const scale = fuzzScale();
  const seed = fuzzSeed();
  const { uncaught } = fuzzSuite();

  it(`>= ${(1e5 * scale).toLocaleString("en")} replies: every request settles, never with a value its reply did not say; heap bounded`, async () => {
    const target = Math.round(1e5 * scale);
    const r = new Rng(seed);
    const gen = new Replies(r);
    const peer = await plannedPeer();
    // Reconnects at once: the hang-ups are ours, the backoff has its own tests (test/unit/nut-client.test.ts).
    const client = new NutClient({ host: "127.0.0.1", port: peer.port, requestTimeoutMs: 5000, reconnectMinMs: 0, reconnectMaxMs: 0, ...LIMITS });
    client.on("state", () => undefined);
    client.on("warning", () => undefined);
    const problems: string[] = [];
    const tally = { replies: 0, requests: 0, values: 0, errors: 0, batches: 0, reconnects: 0, hangUps: 0 };
    client.on("state", (s) => s.state === "connecting" && tally.reconnects++);
    client.start();
    const started = performance.now();
    let heapBefore = 0;
    try {
      await connected(client);
      for (let batch = 0; tally.replies < target; batch++) {
        if (batch === 200) heapBefore = heapAfterGc(); // after the warm-up: compiled code and pools are in place
        await connected(client);
        const work: Array<{ label: string; expect: Expect; result: Promise<Outcome["result"]>; before: boolean }> = [];
        let inStep = true;
        /**
         * Plans one reply for `line`; returns what the request may settle with, and whether it settles on its own
         * (`before`: the wire was in step up to its reply, and its reply is complete).
         */
        const plan = (line: string, reply: Reply, value: unknown): { expect: Expect; before: boolean } => {
          peer.plan.set(line, { bytes: Buffer.from(reply.text, "utf8"), delivery: reply.delivery });
          tally.replies++;
          const expect: Expect = !inStep
            ? { kind: "unknown", value }
            : reply.expect === "server-error"
              ? { kind: "server-error" }
              : { kind: reply.expect, value };
          const before = inStep && reply.inStep;
          if (!reply.inStep) inStep = false;
          return { expect, before };
        };
        const n = r.int(1, 16);
        for (let i = 0; i < n; i++) {
          const ups = `u${batch}x${i}`;
          const kind = r.int(0, 9);
          if (kind < 4) {
            const name = `battery.charge.${i}`;
            const reply = gen.getVar(ups, name);
            const { expect, before } = plan(`GET VAR ${ups} ${name}`, reply, reply.value);
            work.push({ label: `GET VAR ${ups} ${name}`, expect, before, result: settleOf(client.getVar(ups, name)) });
          } else if (kind < 7) {
            const reply = gen.listVar(ups);
            const { expect, before } = plan(`LIST VAR ${ups}`, reply, reply.value);
            work.push({ label: `LIST VAR ${ups}`, expect, before, result: settleOf(client.listVar(ups)) });
          } else if (kind < 8 && !peer.plan.has("LIST UPS")) {
            const reply = gen.listUps();
            const { expect, before } = plan("LIST UPS", reply, reply.value);
            work.push({ label: `LIST UPS (batch ${batch})`, expect, before, result: settleOf(client.listUps()) });
          } else {
            // a poll's getVars: one GET VAR per name, each settling on its own, never rejecting as a whole
            const names = ["ups.status", "battery.charge", "battery.runtime"].slice(0, r.int(1, 3));
            const expects = names.map((name) => {
              const reply = gen.getVar(ups, name);
              return plan(`GET VAR ${ups} ${name}`, reply, reply.value);
            });
            const all = client.getVars(ups, names);
            // getVars settles as a whole: it settles on its own only when each of its replies would
            const before = expects.every((e) => e.before);
            names.forEach((name, j) =>
              work.push({
                label: `getVars ${ups} ${name}`,
                expect: expects[j].expect,
                before,
                result: all.then((vals) => (vals[j] instanceof NutError ? { ok: false as const, error: vals[j] } : { ok: true as const, value: vals[j] })),
              }),
            );
          }
        }
        tally.batches++;
        if (!inStep) {
          // Out of step, a request may wait for the END of a list that never comes (until its timeout), and what is
          // left of the broken reply would run into the next batch. Once what came before the break has settled and
          // the peer has sent all it was asked for, hang up, as a broken upsd would: a new connection starts clean.
          let settled = 0;
          for (const w of work) void w.result.then(() => settled++);
          await Promise.all(work.filter((w) => w.before).map((w) => w.result));
          while (settled < work.length && !peer.idle()) await new Promise((resolve) => setImmediate(resolve));
          for (let turns = 0; settled < work.length && turns < 50; turns++) await new Promise((resolve) => setImmediate(resolve));
          peer.dropAll();
          tally.hangUps++;
          // The next batch goes on a connection made after the hang-up, not on the one going away.
          const before = peer.accepted();
          await new Promise<void>((resolve) => {
            const check = () => {
              if (peer.accepted() <= before || client.state !== "connected") return;
              client.off("state", check);
              resolve();
            };
            client.on("state", check);
          });
        }
        for (const w of work) {
          const result = await w.result;
          tally.requests++;
          if (result.ok) tally.values++;
          else tally.errors++;
          const problem = judge({ label: w.label, expect: w.expect, result });
          if (problem && problems.length < 20) problems.push(problem);
        }
        peer.plan.clear(); // replies of requests that failed before they were written
      }
      await readsAgain(client, peer, "OL"); // still reading, after all that
    } finally {
      await client.close();
      await peer.close();
    }
    const heapAfter = heapAfterGc();
    const seconds = (performance.now() - started) / 1000;
    const grown = (heapAfter - heapBefore) / 2 ** 20;
    console.log(
      `      ${tally.replies} replies (${peer.served()} served), ${tally.requests} requests in ${tally.batches} batches, ` +
        `${tally.values} values, ${tally.errors} errors, ${tally.reconnects} connections (${tally.hangUps} hang-ups), ${seconds.toFixed(1)} s; ` +
        `heap ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB; ${replay(seed)}`,
    );
    should(problems).eql([], replay(seed));
    should(uncaught()).eql([], replay(seed));
    should(tally.replies).be.aboveOrEqual(target);
    should(tally.values).be.above(tally.requests / 3, `a mix of values and errors: ${JSON.stringify(tally)} (${replay(seed)})`);
    should(tally.errors).be.above(tally.requests / 10, `a mix of values and errors: ${JSON.stringify(tally)} (${replay(seed)})`);
    // Bounded: what one run holds does not grow with the number of replies (generous: a leak of 100 bytes a reply would pass 10 MiB at 10^5).
    should(grown).be.below(16, `heap grew by ${grown.toFixed(1)} MiB over ${tally.replies} replies (${replay(seed)})`);
  });

  it("a peer that never answers: every request fails with a timeout, in time, and the client reconnects and reads again", async () => {
    const r = new Rng(seed ^ 0x5eed);
    const peer = await plannedPeer();
    const client = new NutClient({ host: "127.0.0.1", port: peer.port, requestTimeoutMs: 100, reconnectMinMs: 1, reconnectMaxMs: 4, ...LIMITS });
    client.on("state", () => undefined);
    client.start();
    try {
      const rounds = Math.round(20 * scale);
      for (let round = 0; round < rounds; round++) {
        await connected(client);
        const n = r.int(1, 6);
        const started = performance.now();
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) => {
            const ups = `s${round}x${i}`;
            peer.plan.set(`GET VAR ${ups} x`, {
              bytes: Buffer.from(`VAR ${ups} x "1"\n`),
              delivery: i === 0 ? "silent" : r.pick(["whole", "silent", "hang-up"] as const),
            });
            return settleOf(client.getVar(ups, "x"));
          }),
        );
        const ms = performance.now() - started;
        should(results[0].ok).be.false(`the unanswered request failed (${replay(seed)})`);
        should((results[0] as { ok: false; error: unknown }).error).be.instanceOf(NutError, `the unanswered request failed (${replay(seed)})`);
        should(ms).be.below(100 + 2000, `settled within the timeout (+ slack): ${ms.toFixed(0)} ms`);
        for (const res of results) if (!res.ok) should(res.error).be.instanceOf(NutError);
        peer.plan.clear();
      }
      await readsAgain(client, peer, "OB");
    } finally {
      await client.close();
      await peer.close();
    }
    should(uncaught()).eql([]);
  });

  it("the line splitter: any chunking of a byte stream gives the same lines as the whole stream, or reports a line past its bound", () => {
    const r = new Rng(seed ^ 0x11ae);
    const streams = Math.round(20000 * scale);
    for (let n = 0; n < streams; n++) {
      const parts: string[] = [];
      for (let i = r.int(1, 12); i > 0; i--) {
        parts.push(
          r.chance(0.5) ? r.text(r.int(0, 60), VALUE_CHARS) : Buffer.from(Array.from({ length: r.int(0, 40) }, () => r.int(0, 255))).toString("latin1"),
        );
        parts.push(r.pick(["\n", "\r\n", "", "\r"]));
      }
      const bytes = Buffer.from(parts.join(""), r.chance(0.5) ? "utf8" : "latin1");
      const max = r.pick([16, 64, 1024]);
      const whole = new LineBuffer(max).push(bytes);
      const chunked = new LineBuffer(max);
      const lines: string[] = [];
      let overflow = false;
      for (let at = 0; at < bytes.length && !overflow;) {
        const size = r.int(1, 9);
        const res = chunked.push(bytes.subarray(at, at + size));
        lines.push(...res.lines);
        overflow = res.overflow;
        at += size;
      }
      const label = `stream ${n} of ${replay(seed)}`;
      // The same verdict however TCP cut the stream (a UTF-8 sequence cut by a chunk boundary decodes as in the whole),
      // and never a line past the bound handed on (its bytes, so its characters too; bytes that are not UTF-8 decode
      // to U+FFFD, which would re-encode longer).
      should(overflow).equal(whole.overflow, `${label}: a line past the bound, whole ${whole.overflow}, in chunks ${overflow}`);
      should(lines).eql(whole.lines, label);
      for (const l of lines) should(l.length).be.belowOrEqual(max, label);
    }
  });
});
