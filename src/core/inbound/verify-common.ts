/**
 * Plumbing shared by the inbound signature verifiers: the error shape and the replay window (the
 * signed-bytes builder is core/crypto/encoding.ts's `signedBytes`, which the outbound signer uses too).
 *
 * Runtime-neutral: web APIs only.
 *
 * @module
 */
import { err, type ErrorValue, ok, type Result } from "../result.ts";

/**
 * Why an inbound request was refused. `code` is stable; `message` is for logs and never holds a
 * signature, secret or body.
 * - `missing_header`: a required header is absent or empty
 * - `invalid_timestamp`: the timestamp header is not an integer number of seconds
 * - `timestamp_out_of_window`: the timestamp is too far from `now` (replay protection)
 * - `invalid_signature`: the signature is malformed or does not verify
 * - `unknown_key`: the request names a key we do not have (GitHub)
 * - `invalid_key`: our own configured key or secret is unusable (a configuration error)
 */
export type VerifyError = ErrorValue<
  | "missing_header"
  | "invalid_timestamp"
  | "timestamp_out_of_window"
  | "invalid_signature"
  | "unknown_key"
  | "invalid_key"
>;

/** A header value as `Headers.get` returns it. */
export type HeaderValue = string | null | undefined;

/** The default replay window: 5 minutes both ways, as Slack and the Standard Webhooks libraries use. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function fail(code: VerifyError["code"], message: string): Result<never, VerifyError> {
  return err({ code, message });
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

/** True if a header value is present and not empty. */
export function present(value: HeaderValue): value is string {
  return typeof value === "string" && value.length > 0;
}
