import assert from "node:assert/strict";
import {
  MAX_CODE_LENGTH,
  NUT_ERROR_MESSAGES,
  NutConnectionError,
  NutError,
  NutProtocolError,
  NutServerError,
  NutTimeoutError,
  fixedCode,
  isNutErrorCode,
  safeCode,
  toNutError,
} from "../../core/nut/errors";

/** Every code of docs/net-protocol.txt, "Error responses" and the TRACKING replies. */
const PROTOCOL_CODES = [
  "ACCESS-DENIED", "UNKNOWN-UPS", "VAR-NOT-SUPPORTED", "CMD-NOT-SUPPORTED", "INVALID-ARGUMENT",
  "INSTCMD-FAILED", "SET-FAILED", "READONLY", "TOO-LONG", "FEATURE-NOT-SUPPORTED",
  "FEATURE-NOT-CONFIGURED", "ALREADY-SSL-MODE", "DRIVER-NOT-CONNECTED", "DATA-STALE",
  "ALREADY-LOGGED-IN", "INVALID-PASSWORD", "ALREADY-SET-PASSWORD", "INVALID-USERNAME",
  "ALREADY-SET-USERNAME", "USERNAME-REQUIRED", "PASSWORD-REQUIRED", "UNKNOWN-COMMAND",
  "INVALID-VALUE", "UNKNOWN", "FAILED",
];

describe("NUT errors", () => {
  it("maps every ERR code of the protocol to a typed error with its own explanation", () => {
    assert.deepEqual(Object.keys(NUT_ERROR_MESSAGES).sort(), [...PROTOCOL_CODES].sort());
    for (const code of PROTOCOL_CODES) {
      const err = new NutServerError(code, [], `GET VAR ups1 ups.status`);
      assert.ok(isNutErrorCode(code));
      assert.ok(err instanceof NutError);
      assert.equal(err.code, code);
      assert.equal(err.name, "NutServerError");
      assert.match(err.message, new RegExp(`^GET VAR ups1 ups.status: ERR ${code} \\(.+\\)$`));
    }
  });

  it("keeps an unknown code and its extra words", () => {
    const err = new NutServerError("NEW-THING", ["x", "y"]);
    assert.equal(err.code, "NEW-THING");
    assert.match(err.message, /ERR NEW-THING x y \(error reported by upsd\)/);
  });

  it("keeps a socket error's code", () => {
    const sock = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const err = toNutError(sock);
    assert.ok(err instanceof NutConnectionError);
    assert.equal(err.code, "ECONNREFUSED");
    assert.equal(toNutError("weird").code, "ERROR");
  });
});

describe("NUT errors: a peer's words as codes", () => {
  it("safeCode keeps a bounded word of letters, digits, - and _; anything else is UNKNOWN", () => {
    for (const ok of ["DATA-STALE", "ECONNREFUSED", "ERR_SOCKET_BAD_PORT", "NEW-THING", "constructor", "X".repeat(MAX_CODE_LENGTH)]) {
      assert.equal(safeCode(ok), ok);
    }
    for (const bad of ["", "X".repeat(MAX_CODE_LENGTH + 1), "__proto__", "-x", "a b", "<script>", "DATA-STALE\n", "é", "x".repeat(65000)]) {
      assert.equal(safeCode(bad), "UNKNOWN", JSON.stringify(bad.slice(0, 20)));
    }
    assert.ok(PROTOCOL_CODES.every((c) => safeCode(c) === c), "every NUT code is kept");
  });

  it("every NutError's code is a safe code, whoever built it; a server error's text quotes only excerpts", () => {
    assert.equal(new NutError("m", "a\u0000b").code, "UNKNOWN");
    assert.equal(new NutConnectionError("m", "x".repeat(100)).code, "UNKNOWN");
    const huge = new NutServerError("W".repeat(65000), ["free", "text".repeat(20000)], "LIST UPS");
    assert.equal(huge.code, "UNKNOWN");
    assert.ok(huge.message.length < 250, `${huge.message.length} characters`);
    assert.match(huge.message, /^LIST UPS: ERR "W{40}…" free text[tex]*… \(error reported by upsd\)$/);
    const ctl = new NutServerError("A\u001b[31mB", []);
    assert.equal(ctl.code, "UNKNOWN");
    assert.ok(!ctl.message.includes("\u001b"));
  });

  it("fixedCode (for the editor): NUT's codes, UNKNOWN for any other ERR word, our own codes as they are", () => {
    assert.equal(fixedCode(new NutServerError("DATA-STALE")), "DATA-STALE");
    assert.equal(fixedCode(new NutServerError("NEW-THING")), "UNKNOWN");
    assert.equal(fixedCode(new NutServerError("constructor")), "UNKNOWN");
    assert.equal(fixedCode(new NutProtocolError("x")), "PROTOCOL-ERROR");
    assert.equal(fixedCode(new NutTimeoutError("LIST UPS", 5)), "TIMEOUT");
    assert.equal(fixedCode(new NutConnectionError("x", "ECONNREFUSED")), "ECONNREFUSED");
  });
});
