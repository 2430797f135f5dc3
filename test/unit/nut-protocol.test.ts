/**
 * core/nut/protocol.ts: tokenizing and quoting NUT's line protocol, with its
 * bounds.
 */
import should from "../harness/should";
import fc from "fast-check";
import { NutArgumentError } from "../../core/nut/errors";
import { LineBuffer, encodeArg, formatCommand, parseNumber, quote, simpleQuotedValue, toNutValue, tokenize, tokenizeEscaped } from "../../core/nut/protocol";

describe("NUT protocol: tokenize (parseconf rules)", () => {
  it("splits on whitespace and keeps quoted words whole", () => {
    should(tokenize('VAR ups1 device.model "Smart-UPS 1500"')).eql(["VAR", "ups1", "device.model", "Smart-UPS 1500"]);
    should(tokenize("  BEGIN\tLIST   UPS  ")).eql(["BEGIN", "LIST", "UPS"]);
    should(tokenize("")).eql([]);
  });

  it("unescapes backslashes inside and outside quotes", () => {
    should(tokenize('VAR u x "a \\"b\\" \\\\c"')).eql(["VAR", "u", "x", 'a "b" \\c']);
    should(tokenize("embedded\\ space")).eql(["embedded space"]);
    should(tokenize('VAR u x "has \\#hash"')).eql(["VAR", "u", "x", "has #hash"]);
  });

  it("treats # outside quotes as a comment, inside quotes as text", () => {
    should(tokenize('VAR u x "a#b" # comment')).eql(["VAR", "u", "x", "a#b"]);
    should(tokenize("word#rest")).eql(["word"]);
  });

  it("keeps an empty quoted value as an empty word", () => {
    should(tokenize('VAR ups1 ups.id ""')).eql(["VAR", "ups1", "ups.id", ""]);
  });

  it("makes '=' a word of its own outside quotes, as parseconf does", () => {
    should(tokenize('a=b "c=d"')).eql(["a", "=", "b", "c=d"]);
  });

  it("ties off an unterminated quote at the end of the line", () => {
    should(tokenize('VAR u x "open')).eql(["VAR", "u", "x", "open"]);
  });

  it("never throws, whatever the line (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => Array.isArray(tokenize(s))));
  });

  it("the fast path for lines without a backslash reads every line as the character-at-a-time reading does (property)", () => {
    const tricky = fc.constantFrom(" ", "\t", "\r", "\v", '"', "#", "=", "a", "B", ".", "é", "\u0000");
    const unit = fc.oneof(
      tricky,
      fc.string({ unit: "binary", maxLength: 1 }).filter((c) => c !== "\\"),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (line) => {
        should(line).not.containEql("\\");
        should(tokenize(line)).eql(tokenizeEscaped(line));
      }),
      { numRuns: 5000 },
    );
  });
});

describe("NUT protocol: a GET VAR reply read without tokenize", () => {
  const prefix = 'VAR ups1 ups.status "';

  it("gives the value of the usual reply, and null for anything else", () => {
    should(simpleQuotedValue('VAR ups1 ups.status "OL CHRG"', prefix)).equal("OL CHRG");
    should(simpleQuotedValue('VAR ups1 ups.status ""', prefix)).equal("");
    should(simpleQuotedValue('VAR ups1 ups.status "a # = b"', prefix)).equal("a # = b");
    for (const line of [
      'VAR ups1 ups.status "OL \\"CHRG\\""', // escapes: tokenize's
      'VAR ups1 ups.status "OL" ', // something after the value
      'VAR ups1 ups.status "OL" "more"',
      'VAR ups1 ups.status "OL',
      'VAR ups2 ups.status "OL"', // another UPS: the request's check reports it
      "ERR VAR-NOT-SUPPORTED",
      'VAR ups1 ups.status "',
      "",
    ]) {
      should(simpleQuotedValue(line, prefix)).equal(null, line);
    }
  });

  it("whenever it gives a value, tokenize reads the line as the prefix's words and that value (property)", () => {
    const unit = fc.constantFrom(" ", "\t", '"', "\\", "#", "=", "a", "O", "L", ".", "é", "1");
    const tail = fc.string({ unit, maxLength: 20 });
    const line = fc.oneof(
      tail.map((t) => prefix + t),
      fc.tuple(tail, fc.constantFrom('"', '" ', "")).map(([t, end]) => prefix + t + end),
      fc.string({ unit, maxLength: 30 }),
    );
    let simple = 0;
    fc.assert(
      fc.property(line, (l) => {
        const value = simpleQuotedValue(l, prefix);
        if (value === null) return;
        simple++;
        should(tokenize(l)).eql(["VAR", "ups1", "ups.status", value]);
      }),
      { numRuns: 5000 },
    );
    // the property looked at lines it reads, not only at refusals
    should(simple).be.above(100);
  });
});

describe("NUT protocol: encodeArg / formatCommand", () => {
  it("leaves plain names bare", () => {
    should(encodeArg("ups1")).equal("ups1");
    should(encodeArg("battery.charge.low")).equal("battery.charge.low");
    should(formatCommand(["LIST", "VAR", "ups1"])).equal("LIST VAR ups1\n");
  });

  it("escapes specials with backslashes outside quotes (upsd 2.8.0 stalls on a quoted '#')", () => {
    should(encodeArg("a b")).equal("a\\ b");
    should(encodeArg('pa"ss#1\\=')).equal('pa\\"ss\\#1\\\\\\=');
    should(encodeArg("")).equal('""');
  });

  it("refuses control characters, newline and non-ASCII, saying nothing of the value (a password) but what is wrong", () => {
    const said = new Set<string>();
    for (const bad of ["a\nLIST UPS", "tab\there", "é", "\u0000", "pässwörd"]) {
      should(() => encodeArg(bad)).throw(Error, (err: unknown) => {
        said.add((err as Error).message);
        return err instanceof NutArgumentError;
      });
    }
    should([...said]).eql(["cannot send a word holding a control or non-ASCII character to upsd: only printable ASCII is allowed"]);
  });

  it("round-trips: what we encode, parseconf reads back unchanged (property)", () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(fc.array(printable, { minLength: 1, maxLength: 5 }), (words) => {
        should(tokenize(formatCommand(words).slice(0, -1))).eql(words);
      }),
    );
  });

  it("quote() writes values the way upsd does, and tokenize reads them back (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), (v) => {
        should(tokenize(`VAR u x ${quote(v)}`)).eql(["VAR", "u", "x", v]);
      }),
    );
  });
});

describe("NUT protocol: LineBuffer", () => {
  it("reassembles lines split anywhere, also inside a UTF-8 character", () => {
    const lb = new LineBuffer();
    const bytes = Buffer.from('VAR u x "café"\r\nEND LIST VAR u\n', "utf8");
    const got: string[] = [];
    for (let i = 0; i < bytes.length; i++) got.push(...lb.push(bytes.subarray(i, i + 1)).lines);
    should(got).eql(['VAR u x "café"', "END LIST VAR u"]);
  });

  it("reports a line longer than the limit instead of buffering it", () => {
    const lb = new LineBuffer(10);
    should(lb.push(Buffer.from("12345")).overflow).be.false();
    should(lb.push(Buffer.from("678901")).overflow).be.true();
    should(new LineBuffer(10).push(Buffer.from("x".repeat(11) + "\n")).overflow).be.true();
  });

  it("counts the limit in bytes whether the line comes whole or in pieces (found by test/fuzz/nut-reader.test.ts)", () => {
    const line = Buffer.from("éééééé\n", "utf8"); // 6 characters, 12 bytes, then the newline
    should(new LineBuffer(10).push(line)).eql({ lines: [], overflow: true }, "whole");
    const lb = new LineBuffer(10);
    should(lb.push(line.subarray(0, 6)).overflow).be.false();
    should(lb.push(line.subarray(6)).overflow).be.true("in pieces");
    should(new LineBuffer(12).push(line)).eql({ lines: ["éééééé"], overflow: false }, "12 bytes fit a limit of 12");
  });

  it("gives the same lines however the stream is cut (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 10 }), (data, cuts) => {
        const buf = Buffer.from(data);
        const whole = new LineBuffer().push(buf).lines;
        const lb = new LineBuffer();
        const pieces: string[] = [];
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          const end = Math.min(c, buf.length);
          if (end < at) continue;
          pieces.push(...lb.push(buf.subarray(at, end)).lines);
          at = end;
        }
        pieces.push(...lb.push(buf.subarray(at)).lines);
        should(pieces).eql(whole);
      }),
    );
  });
});

describe("NUT protocol: numbers", () => {
  it("parses NUT's decimal format only", () => {
    should(parseNumber("73")).equal(73);
    should(parseNumber("230.0")).equal(230);
    should(parseNumber("-5.5")).equal(-5.5);
    should(parseNumber(" 12 ")).equal(12);
    for (const bad of ["", "n/a", "1e3", "0x10", "1,200.20", "Infinity", "NaN", "12abc"]) should(parseNumber(bad)).equal(null, bad);
  });

  it("turns numeric variables into numbers and keeps identifiers as text", () => {
    should(toNutValue("battery.charge", "73")).equal(73);
    should(toNutValue("battery.charge.low", "20")).equal(20);
    should(toNutValue("input.voltage", "230.0")).equal(230);
    should(toNutValue("ups.status", "OL")).equal("OL");
    should(toNutValue("device.serial", "000123")).equal("000123");
    should(toNutValue("ups.serial", "123456")).equal("123456");
    should(toNutValue("ups.firmware", "01.20")).equal("01.20");
    should(toNutValue("driver.version.internal", "0.15")).equal("0.15");
    should(toNutValue("battery.mfr.date", "2021")).equal("2021");
    should(toNutValue("outlet.1.id", "1")).equal("1");
    should(toNutValue("ups.delay.shutdown", "020")).equal("020");
    should(toNutValue("driver.parameter.pollinterval", "2")).equal(2);
  });
});
