/**
 * Typed errors of the NUT client.
 *
 * `NutServerError` carries one `ERR <code>` line of docs/net-protocol.txt;
 * the other classes are failures on our side of the wire (socket, timeout,
 * a reply that is not NUT, an argument that cannot be sent).
 */

/** Every error code of docs/net-protocol.txt ("Error responses" and TRACKING). */
export const NUT_ERROR_MESSAGES = {
  "ACCESS-DENIED": "access denied: wrong username or password, or the user lacks the right in upsd.users",
  "UNKNOWN-UPS": "unknown UPS: no such name in the server's ups.conf",
  "VAR-NOT-SUPPORTED": "variable not supported by this UPS (or its driver is still starting)",
  "CMD-NOT-SUPPORTED": "instant command not supported by this UPS",
  "INVALID-ARGUMENT": "invalid argument",
  "INSTCMD-FAILED": "upsd could not deliver the instant command to the driver",
  "SET-FAILED": "upsd could not deliver the SET request to the driver",
  READONLY: "variable is read-only",
  "TOO-LONG": "value too long",
  "FEATURE-NOT-SUPPORTED": "upsd was built without TLS support (STARTTLS unavailable)",
  "FEATURE-NOT-CONFIGURED": "upsd has no TLS certificate configured (STARTTLS unavailable; see CERTFILE/CERTPATH in upsd.conf)",
  "ALREADY-SSL-MODE": "TLS is already active on this connection",
  "DRIVER-NOT-CONNECTED": "the UPS driver is not connected to upsd (driver not running?)",
  "DATA-STALE": "data stale: the driver gives no fresh data (UPS communication lost?)",
  "ALREADY-LOGGED-IN": "already logged in on this connection (one LOGIN per connection)",
  "INVALID-PASSWORD": "invalid password",
  "ALREADY-SET-PASSWORD": "password already set on this connection",
  "INVALID-USERNAME": "invalid username",
  "ALREADY-SET-USERNAME": "username already set on this connection",
  "USERNAME-REQUIRED": "a username is required for this command",
  "PASSWORD-REQUIRED": "a password is required for this command",
  "UNKNOWN-COMMAND": "upsd does not know this command (server too old?)",
  "INVALID-VALUE": "invalid value",
  UNKNOWN: "command failed (unknown error)",
  FAILED: "command failed",
} as const;

export type NutErrorCode = keyof typeof NUT_ERROR_MESSAGES;

export function isNutErrorCode(code: string): code is NutErrorCode {
  return Object.prototype.hasOwnProperty.call(NUT_ERROR_MESSAGES, code);
}

/** The longest error code kept (NUT's longest, FEATURE-NOT-CONFIGURED, has 22 characters). */
export const MAX_CODE_LENGTH = 32;

const SAFE_CODE = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_-]{0,${MAX_CODE_LENGTH - 1}}$`);

/**
 * An error code as it may be shown and sent on (UpsState.error, node
 * status, summaries): at most MAX_CODE_LENGTH letters, digits, `-` and `_`.
 * Anything else (an ERR word is whatever the peer wrote) becomes "UNKNOWN",
 * as NUT's own client library reads an ERR it does not know.
 */
export function safeCode(code: string): string {
  return SAFE_CODE.test(code) ? code : "UNKNOWN";
}

/** A bounded, printable excerpt of what a peer sent (for error texts). */
export function excerpt(text: string, max = 60): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
  return clean.length > max ? clean.slice(0, max) + "…" : clean;
}

/** Base class: `code` is what goes into UpsState.error (a NUT code or a socket code), always a safeCode(). */
export class NutError extends Error {
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.name = new.target.name;
    this.code = safeCode(code);
  }
}

/**
 * `ERR <code> [extra]` from upsd. An unknown code made of safe characters
 * is kept (a newer upsd may have more) with a generic message; any other
 * word becomes "UNKNOWN". The message quotes the peer's words only as
 * bounded excerpts.
 */
export class NutServerError extends NutError {
  constructor(
    code: string,
    readonly extra: string[] = [],
    readonly command = "",
  ) {
    const what = isNutErrorCode(code) ? NUT_ERROR_MESSAGES[code] : "error reported by upsd";
    const shown = safeCode(code) === code ? code : `"${excerpt(code, 40)}"`;
    super(`${command ? command + ": " : ""}ERR ${shown}${extra.length ? " " + excerpt(extra.join(" "), 80) : ""} (${what})`, code);
  }
}

/**
 * The code to show where only fixed texts may go (the editor's admin
 * endpoint): a NUT code of docs/net-protocol.txt for what upsd answered
 * (an undocumented ERR word is "UNKNOWN"), else the code our side gave
 * (socket, timeout, protocol, TLS).
 */
export function fixedCode(err: NutError): string {
  if (err instanceof NutServerError) return isNutErrorCode(err.code) ? err.code : "UNKNOWN";
  return err.code;
}

/** The socket failed or closed: `code` is the socket's code (ECONNREFUSED, ETIMEDOUT, …) or CLOSED. */
export class NutConnectionError extends NutError {
  constructor(message: string, code = "CLOSED") {
    super(message, code);
  }
}

/** No reply within the request timeout (upsd sometimes never answers). */
export class NutTimeoutError extends NutError {
  constructor(command: string, ms: number) {
    super(`${command}: no reply from upsd within ${ms} ms`, "TIMEOUT");
  }
}

/** A reply that does not follow the protocol (garbage, wrong list, line too long, not a NUT server). */
export class NutProtocolError extends NutError {
  constructor(message: string) {
    super(message, "PROTOCOL-ERROR");
  }
}

/** An argument we refuse to send because upsd could not parse it back (control characters, newline). */
export class NutArgumentError extends NutError {
  constructor(message: string) {
    super(message, "INVALID-ARGUMENT");
  }
}

/** A TLS problem: STARTTLS refused, handshake or certificate verification failed. */
export class NutTlsError extends NutError {
  constructor(message: string, code = "TLS-FAILED") {
    super(message, code);
  }
}

/** Anything thrown, as a NutError (socket errors keep their `code`). */
export function toNutError(err: unknown): NutError {
  if (err instanceof NutError) return err;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return new NutConnectionError(err.message, typeof code === "string" ? code : "ERROR");
  }
  return new NutConnectionError(String(err), "ERROR");
}
