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
      // the value itself stays out of the message: it may be a password
      throw new NutArgumentError(`cannot send a word with character code ${c} to upsd: only printable ASCII is allowed`);
    }
  }
  if (value === "") return '""';
  return BARE_WORD.test(value) ? value : value.replace(/[ "\\#=]/g, (m) => "\\" + m);
}

/** `value` as one "quoted" word with `\` `"` `#` escaped: how upsd writes values in its replies. */
export function quote(value: string): string {
  return '"' + value.replace(/[\\"#]/g, (m) => "\\" + m) + '"';
}

/** A command line ready to write: words encoded, joined by spaces, newline-terminated. */
export function formatCommand(words: readonly string[]): string {
  return words.map(encodeArg).join(" ") + "\n";
}

/**
 * Splits a byte stream into lines. Lines longer than `maxLineBytes` (a server
 * that is not NUT, or a broken one) are reported instead of buffered forever.
 */
export class LineBuffer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(readonly maxLineBytes = 64 * 1024) {}

  /** The complete lines in `chunk` (and before it), or `overflow` when a line grew too long. */
  push(chunk: Buffer): { lines: string[]; overflow: boolean } {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const part = chunk.subarray(start, nl);
      const bytes = this.pending.length ? Buffer.concat([...this.pending, part]) : part;
      this.pending = [];
      this.pendingBytes = 0;
      if (bytes.length > this.maxLineBytes) return { lines, overflow: true };
      lines.push(bytes.toString("utf8").replace(/\r$/, ""));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxLineBytes) return { lines, overflow: true };
      this.pending.push(Buffer.from(rest));
    }
    return { lines, overflow: false };
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
  "serial", "id", "version", "firmware", "date", "model", "mfr", "name", "desc", "description",
  "status", "alarm", "type", "vendorid", "productid", "macaddr", "part", "contact", "location",
  "port", "bus", "product", "vendor", "chemistry", "sku", "tag", "label",
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
