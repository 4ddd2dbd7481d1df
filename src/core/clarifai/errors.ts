/**
 * How the Clarifai client fails (a `Failure` tagged `clarifai`, core/failure.ts), and the table that
 * turns an HTTP status and a Clarifai `status.code` into a `kind` the rotation engine can act on
 * (retry with backoff, or stop and alert).
 *
 * What never goes into an error: the token, a key id (a key id IS a token, reference §2), a secret
 * value, a request body, the request URL (it carries key ids) or the server's `details` text (it may
 * quote the credential back). `description` is kept because it is Clarifai's short status text, but
 * only after every sensitive value of the call has been cut out of it.
 *
 * Runtime-neutral: web APIs only.
 *
 * @module
 */
import { Failure, type FailureDetails } from "../failure.ts";

/** Every way a Clarifai call can fail. */
export const CLARIFAI_ERROR_KINDS = [
  "throttled",
  "server",
  "timeout",
  "network",
  "invalid_key",
  "insufficient_scopes",
  "not_found",
  "bad_request",
  "duplicate",
  "unexpected",
  "unexpected_redirect",
] as const;

export type ClarifaiErrorKind = (typeof CLARIFAI_ERROR_KINDS)[number];

const RETRYABLE: ReadonlySet<ClarifaiErrorKind> = new Set(["throttled", "server", "timeout", "network"]);

const PHRASES: Record<ClarifaiErrorKind, string> = {
  throttled: "request was throttled",
  server: "server error",
  timeout: "request timed out",
  network: "network error",
  invalid_key: "token is invalid or unknown",
  insufficient_scopes: "token lacks the required scopes",
  not_found: "resource does not exist",
  bad_request: "request was refused as malformed",
  duplicate: "resource already exists",
  unexpected: "unexpected response",
  unexpected_redirect: "answered with a redirect, which is never followed",
};

/** What a Clarifai failure says; all but `kind` and `operation` are optional. */
export type ClarifaiFailureInit = FailureDetails["clarifai"] & {
  /** Extra words for the message; must not contain any sensitive value. */
  reason?: string | undefined;
};

/** A failed Clarifai call, as its `Result` carries it. */
export type ClarifaiFailure = Failure<"clarifai">;

/**
 * A failed Clarifai call. Safe to log and to serialise: it holds no secret by construction. Its
 * `code` is the rotation's error code for the kind (`clarifai_insufficient_scopes`;
 * `unexpected_redirect` is a contract code of its own, issue 14); Clarifai's own numeric status
 * is `detail.clarifaiCode`. Retryable exactly for transient failures worth retrying with
 * backoff: throttled, server, timeout, network.
 */
export function clarifaiFailure(init: ClarifaiFailureInit): ClarifaiFailure {
  const { reason: _reason, ...detail } = init;
  return new Failure(
    "clarifai",
    init.kind === "unexpected_redirect" ? "unexpected_redirect" : `clarifai_${init.kind}`,
    formatMessage(init),
    RETRYABLE.has(init.kind),
    detail,
  );
}

function formatMessage(init: ClarifaiFailureInit): string {
  const facts: string[] = [];
  if (init.clarifaiCode !== undefined) facts.push(`code ${init.clarifaiCode}`);
  if (init.httpStatus !== undefined) facts.push(`HTTP ${init.httpStatus}`);
  const what = init.reason ? `${PHRASES[init.kind]}: ${init.reason}` : PHRASES[init.kind];
  return `Cannot call Clarifai "${init.operation}": ${what}${facts.length ? ` (${facts.join(", ")})` : ""}`;
}

// Clarifai status codes (status_code.proto, reference §3.2). The body's code wins over the HTTP
// status because Clarifai's own clients ignore the HTTP status (reference §3.1).
const CODE_KINDS: ReadonlyMap<number, ClarifaiErrorKind> = new Map([
  [10030, "server"], // TRY_AGAIN
  [11001, "invalid_key"], // CONN_TOKEN_INVALID (deprecated)
  [11002, "invalid_key"], // CONN_CREDENTIALS_INVALID
  [11003, "throttled"], // CONN_EXCEED_HOURLY_LIMIT
  [11005, "throttled"], // CONN_THROTTLED
  [11007, "insufficient_scopes"],
  [11008, "invalid_key"], // CONN_KEY_INVALID
  [11009, "invalid_key"], // CONN_KEY_NOT_FOUND
  [11100, "bad_request"], // CONN_BAD_REQUEST_FORMAT
  [11101, "not_found"], // CONN_DOES_NOT_EXIST
  [11102, "bad_request"], // CONN_INVALID_REQUEST
  [40010, "duplicate"], // DATABASE_DUPLICATE_KEY
  [90400, "bad_request"], // BAD_REQUEST (deprecated)
  [90500, "server"], // SERVER_ERROR (deprecated)
]);

/** The kind for a Clarifai status code and HTTP status; either may be missing. */
export function kindOf(httpStatus: number | undefined, code: number | undefined): ClarifaiErrorKind {
  if (code !== undefined) {
    const known = CODE_KINDS.get(code);
    if (known) return known;
    // 98xxx and 99xxx are the INTERNAL_* family.
    if (code >= 98000 && code < 100000) return "server";
  }
  if (httpStatus === undefined) return "unexpected";
  if (httpStatus === 429) return "throttled";
  if (httpStatus >= 500) return "server";
  if (httpStatus === 401) return "invalid_key";
  if (httpStatus === 403) return "insufficient_scopes";
  if (httpStatus === 404) return "not_found";
  if (httpStatus === 409) return "duplicate";
  if (httpStatus === 400) return "bad_request";
  return "unexpected";
}

const MAX_DESCRIPTION = 200;

/**
 * Cuts every sensitive value of the call out of server text. Values shorter than 4 characters are
 * not searched for: they would match innocent words and no real credential is that short.
 */
export function redact(text: string, sensitive: readonly string[]): string {
  let out = text;
  for (const value of sensitive) {
    if (value.length >= 4) out = out.split(value).join("[redacted]");
  }
  return out.length > MAX_DESCRIPTION ? `${out.slice(0, MAX_DESCRIPTION)}…` : out;
}
