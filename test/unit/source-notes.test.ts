/**
 * core/decide/source-notes.ts: a source's note is codes with parameters; the
 * English words are made only for the message. Every code, as it reads.
 */
import should from "../harness/should";
import { type Note, noteText } from "../../core/decide/source-notes";

const stale = { code: "stale" } as const;

/** One note of each code (the compiler wants every code here) and how it reads. */
const READS: { [C in Note["code"]]: [Extract<Note, { code: C }>, string] } = {
  "never-reported": [{ code: "never-reported" }, "never reported"],
  silent: [{ code: "silent", seconds: 15 }, "silent for 15 s or more"],
  unreachable: [{ code: "unreachable" }, "server unreachable"],
  stale: [stale, "data stale"],
  "never-reported-lost": [{ code: "never-reported-lost", dead: 30 }, "never reported within the dead time (30 s): counted as lost"],
  "not-counted-never-reported": [{ code: "not-counted-never-reported" }, "never reported: not counted"],
  fsd: [{ code: "fsd" }, "FSD: forced shutdown"],
  "last-over": [{ code: "last-over", why: stale, over: 20 }, "data stale, last seen overloaded (OVER) for 20 s or more: counted as lost"],
  "last-alarm": [{ code: "last-alarm", why: stale }, "data stale, last seen in ALARM: counted as lost"],
  "last-cal": [{ code: "last-cal", why: { code: "unreachable" } }, "server unreachable, last seen calibrating (CAL): counted as lost"],
  "last-bypass": [{ code: "last-bypass", why: stale }, "data stale, last seen on BYPASS: counted as lost"],
  "last-off": [{ code: "last-off", why: stale }, "data stale, last seen OFF: counted as lost"],
  off: [{ code: "off", off: 30 }, "OFF for 30 s or more: counted as a lost feed"],
  "dead-on-battery-oblb": [
    { code: "dead-on-battery-oblb", why: stale, dead: 30, oblb: 10 },
    "data stale beyond the dead time (30 s), last seen on battery: exhausted once low battery has lasted 10 s",
  ],
  "dead-on-battery": [
    { code: "dead-on-battery", why: { code: "unreachable" }, dead: 15 },
    "server unreachable beyond the dead time (15 s), last seen on battery: counted as exhausted",
  ],
  "dead-lost": [{ code: "dead-lost", why: stale, dead: 30 }, "data stale beyond the dead time (30 s): counted as lost"],
  "dead-on-line": [{ code: "dead-on-line", why: stale, dead: 30 }, "data stale beyond the dead time (30 s), last seen on line power: not counted"],
  kept: [{ code: "kept", why: { code: "silent", seconds: 10 }, dead: 30 }, "silent for 10 s or more: last values kept for the dead time (30 s)"],
  calibrating: [{ code: "calibrating" }, "calibrating (CAL): not a power loss"],
  "lb-calibrating": [{ code: "lb-calibrating" }, "low battery while calibrating (CAL): not critical"],
  "lb-not-yet": [{ code: "lb-not-yet", oblb: 10 }, "low battery for less than 10 s: not critical yet"],
  neither: [{ code: "neither", status: "OFF" }, "status OFF: neither OL nor OB, not counted"],
  via: [{ code: "via", topic: "ups1@10.0.0.5:3494" }, "reported as ups1@10.0.0.5:3494: matched by UPS name, update the list"],
  ignored: [{ code: "ignored", why: stale }, "data stale: ignored while other sources report"],
};

describe("source notes: codes, words only in the message", () => {
  for (const [code, [note, words]] of Object.entries(READS)) {
    it(`${code} reads "${words}"`, () => should(noteText([note])).equal(words));
  }

  it("two different notes never read the same", () => {
    const texts = Object.values(READS).map(([note]) => noteText([note]));
    should(new Set(texts).size).equal(texts.length);
  });

  it("clauses are joined with '; '; no clause, no note", () => {
    should(noteText([{ code: "via", topic: "a@b:1" }, { code: "fsd" }])).equal("reported as a@b:1: matched by UPS name, update the list; FSD: forced shutdown");
    should(noteText([])).equal(null);
  });
});
