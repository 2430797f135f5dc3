import assert from "node:assert/strict";
import fc from "fast-check";
import { NutArgumentError } from "../../core/nut/errors";
import { LineBuffer, encodeArg, formatCommand, parseNumber, quote, toNutValue, tokenize, tokenizeEscaped } from "../../core/nut/protocol";

describe("NUT protocol: tokenize (parseconf rules)", () => {
  it("splits on whitespace and keeps quoted words whole", () => {
    assert.deepEqual(tokenize('VAR ups1 device.model "Smart-UPS 1500"'), ["VAR", "ups1", "device.model", "Smart-UPS 1500"]);
    assert.deepEqual(tokenize("  BEGIN\tLIST   UPS  "), ["BEGIN", "LIST", "UPS"]);
    assert.deepEqual(tokenize(""), []);
  });

  it("unescapes backslashes inside and outside quotes", () => {
    assert.deepEqual(tokenize('VAR u x "a \\"b\\" \\\\c"'), ["VAR", "u", "x", 'a "b" \\c']);
    assert.deepEqual(tokenize("embedded\\ space"), ["embedded space"]);
    assert.deepEqual(tokenize('VAR u x "has \\#hash"'), ["VAR", "u", "x", "has #hash"]);
  });

  it("treats # outside quotes as a comment, inside quotes as text", () => {
    assert.deepEqual(tokenize('VAR u x "a#b" # comment'), ["VAR", "u", "x", "a#b"]);
    assert.deepEqual(tokenize("word#rest"), ["word"]);
  });

  it("keeps an empty quoted value as an empty word", () => {
    assert.deepEqual(tokenize('VAR ups1 ups.id ""'), ["VAR", "ups1", "ups.id", ""]);
  });

  it("makes '=' a word of its own outside quotes, as parseconf does", () => {
    assert.deepEqual(tokenize('a=b "c=d"'), ["a", "=", "b", "c=d"]);
  });

  it("ties off an unterminated quote at the end of the line", () => {
    assert.deepEqual(tokenize('VAR u x "open'), ["VAR", "u", "x", "open"]);
  });

  it("never throws, whatever the line (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => Array.isArray(tokenize(s))));
  });

  it("the fast path for lines without a backslash reads every line as the character-at-a-time reading does (property)", () => {
    const tricky = fc.constantFrom(" ", "\t", "\r", "\v", '"', "#", "=", "a", "B", ".", "é", "\u0000");
    const unit = fc.oneof(tricky, fc.string({ unit: "binary", maxLength: 1 }).filter((c) => c !== "\\"));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (line) => {
        assert.ok(!line.includes("\\"));
        assert.deepEqual(tokenize(line), tokenizeEscaped(line));
      }),
      { numRuns: 5000 },
    );
  });
});

describe("NUT protocol: encodeArg / formatCommand", () => {
  it("leaves plain names bare", () => {
    assert.equal(encodeArg("ups1"), "ups1");
    assert.equal(encodeArg("battery.charge.low"), "battery.charge.low");
    assert.equal(formatCommand(["LIST", "VAR", "ups1"]), "LIST VAR ups1\n");
  });

  it("escapes specials with backslashes outside quotes (upsd 2.8.0 stalls on a quoted '#')", () => {
    assert.equal(encodeArg("a b"), "a\\ b");
    assert.equal(encodeArg('pa"ss#1\\='), 'pa\\"ss\\#1\\\\\\=');
    assert.equal(encodeArg(""), '""');
  });

  it("refuses control characters, newline and non-ASCII without echoing the value", () => {
    for (const bad of ["a\nLIST UPS", "tab\there", "é", "\u0000"]) {
      assert.throws(() => encodeArg(bad), (err: unknown) => err instanceof NutArgumentError && !err.message.includes(bad));
    }
  });

  it("round-trips: what we encode, parseconf reads back unchanged (property)", () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(fc.array(printable, { minLength: 1, maxLength: 5 }), (words) => {
        assert.deepEqual(tokenize(formatCommand(words).slice(0, -1)), words);
      }),
    );
  });

  it("quote() writes values the way upsd does, and tokenize reads them back (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), (v) => {
        assert.deepEqual(tokenize(`VAR u x ${quote(v)}`), ["VAR", "u", "x", v]);
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
    assert.deepEqual(got, ['VAR u x "café"', "END LIST VAR u"]);
  });

  it("reports a line longer than the limit instead of buffering it", () => {
    const lb = new LineBuffer(10);
    assert.equal(lb.push(Buffer.from("12345")).overflow, false);
    assert.equal(lb.push(Buffer.from("678901")).overflow, true);
    assert.equal(new LineBuffer(10).push(Buffer.from("x".repeat(11) + "\n")).overflow, true);
  });

  it("counts the limit in bytes whether the line comes whole or in pieces (found by test/fuzz/nut-reader.test.ts)", () => {
    const line = Buffer.from("éééééé\n", "utf8"); // 6 characters, 12 bytes, then the newline
    assert.deepEqual(new LineBuffer(10).push(line), { lines: [], overflow: true }, "whole");
    const lb = new LineBuffer(10);
    assert.equal(lb.push(line.subarray(0, 6)).overflow, false);
    assert.equal(lb.push(line.subarray(6)).overflow, true, "in pieces");
    assert.deepEqual(new LineBuffer(12).push(line), { lines: ["éééééé"], overflow: false }, "12 bytes fit a limit of 12");
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
        assert.deepEqual(pieces, whole);
      }),
    );
  });
});

describe("NUT protocol: numbers", () => {
  it("parses NUT's decimal format only", () => {
    assert.equal(parseNumber("73"), 73);
    assert.equal(parseNumber("230.0"), 230);
    assert.equal(parseNumber("-5.5"), -5.5);
    assert.equal(parseNumber(" 12 "), 12);
    for (const bad of ["", "n/a", "1e3", "0x10", "1,200.20", "Infinity", "NaN", "12abc"]) assert.equal(parseNumber(bad), null, bad);
  });

  it("turns numeric variables into numbers and keeps identifiers as text", () => {
    assert.equal(toNutValue("battery.charge", "73"), 73);
    assert.equal(toNutValue("battery.charge.low", "20"), 20);
    assert.equal(toNutValue("input.voltage", "230.0"), 230);
    assert.equal(toNutValue("ups.status", "OL"), "OL");
    assert.equal(toNutValue("device.serial", "000123"), "000123");
    assert.equal(toNutValue("ups.serial", "123456"), "123456");
    assert.equal(toNutValue("ups.firmware", "01.20"), "01.20");
    assert.equal(toNutValue("driver.version.internal", "0.15"), "0.15");
    assert.equal(toNutValue("battery.mfr.date", "2021"), "2021");
    assert.equal(toNutValue("outlet.1.id", "1"), "1");
    assert.equal(toNutValue("ups.delay.shutdown", "020"), "020");
    assert.equal(toNutValue("driver.parameter.pollinterval", "2"), 2);
  });
});
