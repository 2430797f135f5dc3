/**
 * The NUT network protocol's text layer (docs/net-protocol.txt), both ways.
 *
 * upsd and its clients split lines with NUT's parseconf state machine
 * (common/parseconf.c): words split on whitespace, "quoted words" keep their
 * spaces, a backslash takes the next character literally (inside and outside
 * quotes), `#` outside quotes starts a comment, and `=` outside quotes is a
 * word of its own. `tokenize` follows the same rules so a reply means to us
 * what it means to upsc; `encodeArg` produces words upsd reads back unchanged.
 */
import { NutArgumentError } from "./errors";

/** Split one line (without its newline) into words, as parseconf does. Never throws. */
export function tokenize(line: string): string[] {
  // Replies with a backslash are rare: they take the careful path. The rest
  // (every LIST VAR item) is cut with slices: no string grows a character at
  // a time, which is most of what reading a poll costs.
  return line.includes("\\") ? tokenizeEscaped(line) : tokenizePlain(line);
}

function isSpace(c: number): boolean {
  // space, \t, \n, \v, \f, \r
  return c === 32 || (c >= 9 && c <= 13);
}

/** tokenize for a line without backslashes. */
function tokenizePlain(line: string): string[] {
  const words: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (isSpace(c)) {
      i++;
    } else if (c === 35 /* # */) {
      break; // comment: the rest of the line is ignored
    } else if (c === 34 /* " */) {
      const close = line.indexOf('"', i + 1);
      // parseconf ties off an unterminated quoted word at the end of the line
      words.push(close < 0 ? line.slice(i + 1) : line.slice(i + 1, close));
      if (close < 0) break;
      i = close + 1;
    } else if (c === 61 /* = */) {
      words.push("=");
      i++;
    } else {
      // a bare word runs to whitespace, '#' or '='; a '"' inside it is an ordinary character
      const start = i++;
      for (; i < n; i++) {
        const d = line.charCodeAt(i);
        if (isSpace(d) || d === 35 || d === 61) break;
      }
      words.push(line.slice(start, i));
    }
  }
  return words;
}

/**
 * tokenize, one character at a time: backslash escapes, inside and outside
 * quotes. Exported so a property test can hold the fast path to it.
 */
export function tokenizeEscaped(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false; // collecting an unquoted word
  let quoted = false; // inside "..."
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === "\\" && i + 1 < line.length) word += line[++i];
      else if (ch === '"') {
        words.push(word);
        word = "";
        quoted = false;
      } else if (ch !== "\\") word += ch;
      continue;
    }
    if (ch === "#") break; // comment: the rest of the line is ignored
    if (ch === " " || ch === "\t" || ch === "\r" || ch === "\n" || ch === "\v" || ch === "\f") {
      if (inWord) {
        words.push(word);
        word = "";
        inWord = false;
      }
    } else if (ch === "\\") {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (ch === '"' && !inWord) {
      quoted = true;
    } else if (ch === "=") {
      if (inWord) words.push(word);
      words.push("=");
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  // parseconf ties off a word (also an unterminated quoted one) at the end of the line
  if (inWord || quoted) words.push(word);
  return words;
}

const BARE_WORD = /^[A-Za-z0-9._:@+/-]+$/;

/**
 * A UPS name as LIST UPS may serve it: one word of printable ASCII, bounded
 * (upsd takes the section names of ups.conf as they are: `__proto__` is one).
 */
export function isUpsName(s: unknown): s is string {
  return typeof s === "string" && /^[\x21-\x7e]{1,128}$/.test(s);
}

/**
 * One argument as upsd must receive it: bare when it is a plain name, else
 * with every special character (space `"` `\` `#` `=`) backslash-escaped,
 * outside quotes. Measured on upsd 2.8.0: a quoted word holding `#` (even
 * as `\#`) gets no reply at all and stalls the connection, while `a\#b`
 * works. Throws NutArgumentError for characters upsd would silently drop
 * (control characters, newline, non-ASCII): sending them would change the
 * word or desynchronise the replies.
 */
export function encodeArg(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      // nothing of the value reaches the message, not even the offending character: it may be a password
      throw new NutArgumentError("cannot send a word holding a control or non-ASCII character to upsd: only printable ASCII is allowed");
    }
  }
  if (value === "") return '""';
  return BARE_WORD.test(value) ? value : value.replace(/[ "\\#=]/g, (m) => "\\" + m);
}

/** `value` as one "quoted" word with `\` `"` `#` escaped: how upsd writes values in its replies. */
export function quote(value: string): string {
  return '"' + value.replace(/[\\"#]/g, (m) => "\\" + m) + '"';
}

/**
 * The value of a reply line `prefix` + `"value"` when the line is that
 * simple, else null (then tokenize decides). `prefix` is bare words and
 * single spaces ending with the opening quote (`VAR ups1 ups.status "`);
 * the value may hold no quote or backslash and the closing quote ends the
 * line. What tokenize would give as the last word, without cutting the
 * line into words: a poll reads every UPS's GET VAR replies this way.
 */
export function simpleQuotedValue(line: string, prefix: string): string | null {
  const end = line.length - 1;
  if (end < prefix.length || line.charCodeAt(end) !== 34 || !line.startsWith(prefix)) return null;
  if (line.indexOf('"', prefix.length) !== end || line.indexOf("\\", prefix.length) >= 0) return null;
  return line.slice(prefix.length, end);
}

/** A command line ready to write: words encoded, joined by spaces, newline-terminated. */
export function formatCommand(words: readonly string[]): string {
  return words.map(encodeArg).join(" ") + "\n";
}

/**
 * Splits a byte stream into lines. A line that grows longer than
 * `maxLineBytes` before its newline (a server that is not NUT, or a broken
 * one) is reported instead of buffered forever; a complete line is held to
 * the same bound, also in bytes.
 */
export class LineBuffer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(readonly maxLineBytes = 64 * 1024) {}

  /** The complete lines in `chunk` (and before it), or `overflow` when a line grew too long. */
  push(chunk: Buffer): { lines: string[]; overflow: boolean } {
    const lastNl = chunk.lastIndexOf(0x0a);
    if (lastNl < 0) return { lines: [], overflow: this.keep(chunk) };
    let head = chunk.subarray(0, lastNl);
    if (this.pending.length) {
      head = Buffer.concat([...this.pending, head]);
      this.pending = [];
      this.pendingBytes = 0;
    }
    // One decoding for every line of the chunk: a newline byte is never part
    // of a UTF-8 sequence, so splitting the text is splitting the bytes.
    const lines = head.toString("utf8").split("\n");
    // The bound is in bytes, as for an unfinished line: the same line passes or
    // not whatever the TCP chunks were (characters would let a line of
    // multi-byte characters through whole and refuse it in pieces).
    let start = 0;
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i];
      // A line of n characters has at least n bytes and at most 3n (a UTF-16 unit is at most 3 UTF-8 bytes).
      if (line.length > this.maxLineBytes) return { lines: lines.slice(0, i), overflow: true };
      const end = i === lines.length - 1 ? head.length : head.indexOf(0x0a, start);
      if (line.length * 3 > this.maxLineBytes && end - start > this.maxLineBytes) return { lines: lines.slice(0, i), overflow: true };
      start = end + 1;
      if (line.charCodeAt(line.length - 1) === 13) line = lines[i] = line.slice(0, -1);
    }
    const overflow = lastNl + 1 < chunk.length ? this.keep(chunk.subarray(lastNl + 1)) : false;
    return { lines, overflow };
  }

  /** Keep the start of an unfinished line; true when it is already too long. */
  private keep(part: Buffer): boolean {
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.maxLineBytes) return true;
    this.pending.push(Buffer.from(part));
    return false;
  }

  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/**
 * NUT's numeric format (docs/net-protocol.txt, GET TYPE): decimal, dot as
 * separator, no exponent, no hex, no thousands separator.
 */
const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)$/;

/** A NUT value as a number, or null when it is not one ("", "n/a", "1e3", "0x10"). */
export function parseNumber(raw: string): number | null {
  const s = raw.trim();
  if (!DECIMAL.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/**
 * Name parts that mark identifiers and text, even when their value looks
 * numeric (a serial "000123", a firmware "01.20", an outlet id "1").
 */
const TEXT_PARTS = new Set([
  "serial",
  "id",
  "version",
  "firmware",
  "date",
  "model",
  "mfr",
  "name",
  "desc",
  "description",
  "status",
  "alarm",
  "type",
  "vendorid",
  "productid",
  "macaddr",
  "part",
  "contact",
  "location",
  "port",
  "bus",
  "product",
  "vendor",
  "chemistry",
  "sku",
  "tag",
  "label",
]);

/**
 * The value to publish for variable `name`: a number when NUT means a number
 * (`battery.charge` "73" -> 73, `input.voltage` "230.0" -> 230), else the
 * string as upsd sent it. Identifiers stay strings: names with a text part
 * (`device.serial`, `ups.firmware`, `battery.mfr.date`) and values with a
 * leading zero ("0463", "020").
 */
export function toNutValue(name: string, raw: string): string | number {
  if (name.split(".").some((p) => TEXT_PARTS.has(p))) return raw;
  if (/^[-+]?0\d/.test(raw)) return raw;
  const n = parseNumber(raw);
  return n === null ? raw : n;
}
