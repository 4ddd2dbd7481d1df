/**
 * Plumbing shared by the inbound signature verifiers: the error shape, the replay window and the
 * signed-bytes builder.
 *
 * Runtime-neutral: web APIs only.
 *
 * @module
 */
import { err, ok, type Result } from "../result.ts";

/**
 * Why an inbound request was refused. `reason` is stable; `message` is for logs and never holds a
 * signature, secret or body.
 * - `missing_header`: a required header is absent or empty
 * - `invalid_timestamp`: the timestamp header is not an integer number of seconds
 * - `timestamp_out_of_window`: the timestamp is too far from `now` (replay protection)
 * - `invalid_signature`: the signature is malformed or does not verify
 * - `unknown_key`: the request names a key we do not have (GitHub)
 * - `invalid_key`: our own configured key or secret is unusable (a configuration error)
 */
export interface VerifyError {
  readonly reason:
    | "missing_header"
    | "invalid_timestamp"
    | "timestamp_out_of_window"
    | "invalid_signature"
    | "unknown_key"
    | "invalid_key";
  readonly message: string;
}

/** A header value as `Headers.get` returns it. */
export type HeaderValue = string | null | undefined;

/** The default replay window: 5 minutes both ways, as Slack and the Standard Webhooks libraries use. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function fail(reason: VerifyError["reason"], message: string): Result<never, VerifyError> {
  return err({ reason, message });
}

/**
 * Parses a Unix-seconds timestamp header and checks it is within `toleranceSeconds` of `now`
 * (seconds) in either direction. Only plain digits are accepted: no sign, exponent or fraction.
 */
export function checkTimestamp(
  value: string,
  now: number,
  toleranceSeconds: number,
  source: string,
): Result<number, VerifyError> {
  if (!/^[0-9]{1,15}$/.test(value)) {
    return fail("invalid_timestamp", `Cannot verify ${source} request: timestamp is not an integer`);
  }
  const ts = Number(value);
  // `!(x <= t)` also refuses a NaN `now`, so a bad clock cannot open the window.
  if (!(Math.abs(now - ts) <= toleranceSeconds)) {
    return fail("timestamp_out_of_window", `Cannot verify ${source} request: timestamp is outside the replay window`);
  }
  return ok(ts);
}

const utf8 = new TextEncoder();

/** `prefix` as UTF-8 followed by the raw body bytes, without decoding the body. */
export function signedBytes(prefix: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = utf8.encode(prefix);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** True if a header value is present and not empty. */
export function present(value: HeaderValue): value is string {
  return typeof value === "string" && value.length > 0;
}
