import assert from "node:assert/strict";
import {
  NUT_ERROR_MESSAGES,
  NutConnectionError,
  NutError,
  NutServerError,
  isNutErrorCode,
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
