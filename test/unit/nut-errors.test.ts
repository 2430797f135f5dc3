/**
 * core/nut/errors.ts: NUT's ERR codes and connection failures turned into our
 * codes and texts.
 */
import should from "../harness/should";
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
  "ACCESS-DENIED",
  "UNKNOWN-UPS",
  "VAR-NOT-SUPPORTED",
  "CMD-NOT-SUPPORTED",
  "INVALID-ARGUMENT",
  "INSTCMD-FAILED",
  "SET-FAILED",
  "READONLY",
  "TOO-LONG",
  "FEATURE-NOT-SUPPORTED",
  "FEATURE-NOT-CONFIGURED",
  "ALREADY-SSL-MODE",
  "DRIVER-NOT-CONNECTED",
  "DATA-STALE",
  "ALREADY-LOGGED-IN",
  "INVALID-PASSWORD",
  "ALREADY-SET-PASSWORD",
  "INVALID-USERNAME",
  "ALREADY-SET-USERNAME",
  "USERNAME-REQUIRED",
  "PASSWORD-REQUIRED",
  "UNKNOWN-COMMAND",
  "INVALID-VALUE",
  "UNKNOWN",
  "FAILED",
];

describe("NUT errors", () => {
  it("maps every ERR code of the protocol to a typed error with its own explanation", () => {
    should(Object.keys(NUT_ERROR_MESSAGES).sort()).eql([...PROTOCOL_CODES].sort());
    for (const code of PROTOCOL_CODES) {
      const err = new NutServerError(code, [], `GET VAR ups1 ups.status`);
      should(isNutErrorCode(code)).be.true();
      should(err).be.instanceOf(NutError);
      should(err.code).equal(code);
      should(err.name).equal("NutServerError");
      should(err.message).match(new RegExp(`^GET VAR ups1 ups.status: ERR ${code} \\(.+\\)$`));
    }
  });

  it("keeps an unknown code and its extra words", () => {
    const err = new NutServerError("NEW-THING", ["x", "y"]);
    should(err.code).equal("NEW-THING");
    should(err.message).match(/ERR NEW-THING x y \(error reported by upsd\)/);
  });

  it("keeps a socket error's code", () => {
    const sock = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const err = toNutError(sock);
    should(err).be.instanceOf(NutConnectionError);
    should(err.code).equal("ECONNREFUSED");
    should(toNutError("weird").code).equal("ERROR");
  });
});

describe("NUT errors: a peer's words as codes", () => {
  it("safeCode keeps a bounded word of letters, digits, - and _; anything else is UNKNOWN", () => {
    for (const ok of ["DATA-STALE", "ECONNREFUSED", "ERR_SOCKET_BAD_PORT", "NEW-THING", "constructor", "X".repeat(MAX_CODE_LENGTH)]) {
      should(safeCode(ok)).equal(ok);
    }
    for (const bad of ["", "X".repeat(MAX_CODE_LENGTH + 1), "__proto__", "-x", "a b", "<script>", "DATA-STALE\n", "é", "x".repeat(65000)]) {
      should(safeCode(bad)).equal("UNKNOWN", JSON.stringify(bad.slice(0, 20)));
    }
    should(PROTOCOL_CODES.every((c) => safeCode(c) === c)).be.true("every NUT code is kept");
  });

  it("every NutError's code is a safe code, whoever built it; a server error's text quotes only excerpts", () => {
    should(new NutError("m", "a\u0000b").code).equal("UNKNOWN");
    should(new NutConnectionError("m", "x".repeat(100)).code).equal("UNKNOWN");
    const huge = new NutServerError("W".repeat(65000), ["free", "text".repeat(20000)], "LIST UPS");
    should(huge.code).equal("UNKNOWN");
    should(huge.message.length).be.below(250, `${huge.message.length} characters`);
    should(huge.message).match(/^LIST UPS: ERR "W{40}…" free text[tex]*… \(error reported by upsd\)$/);
    const ctl = new NutServerError("A\u001b[31mB", []);
    should(ctl.code).equal("UNKNOWN");
    should(ctl.message).not.containEql("\u001b");
  });

  it("fixedCode (for the editor): NUT's codes, UNKNOWN for any other ERR word, our own codes as they are", () => {
    should(fixedCode(new NutServerError("DATA-STALE"))).equal("DATA-STALE");
    should(fixedCode(new NutServerError("NEW-THING"))).equal("UNKNOWN");
    should(fixedCode(new NutServerError("constructor"))).equal("UNKNOWN");
    should(fixedCode(new NutProtocolError("x"))).equal("PROTOCOL-ERROR");
    should(fixedCode(new NutTimeoutError("LIST UPS", 5))).equal("TIMEOUT");
    should(fixedCode(new NutConnectionError("x", "ECONNREFUSED"))).equal("ECONNREFUSED");
  });
});
