/**
 * How the GitHub client fails: a `Failure` tagged `github`. Like the Clarifai client's (../clarifai/errors.ts) it
 * holds no secret by construction: never a token, a JWT, the private key, a request or response
 * body (GitHub's `message` text is not copied either) or a URL (paths name repositories and
 * secrets, which are not secret, but a URL is where a pasted token would sit).
 *
 * Runtime-neutral.
 */
import { Failure } from "../failure.ts";

const GITHUB_ERROR_KINDS = [
  "not_found",
  "unauthorized",
  "forbidden",
  "invalid",
  "rate_limited",
  "unavailable",
  "timeout",
  "network",
  "unexpected",
  "unexpected_redirect",
  "not_configured",
] as const;
export type GithubErrorKind = (typeof GITHUB_ERROR_KINDS)[number];

/** Worth retrying with backoff: throttling, GitHub's 5xx, timeouts and the network. */
const RETRYABLE: ReadonlySet<GithubErrorKind> = new Set(["rate_limited", "unavailable", "timeout", "network"]);

const PHRASES: Record<GithubErrorKind, string> = {
  not_found: "not found, or not visible to rekey's GitHub credentials",
  unauthorized: "GitHub refused rekey's credentials",
  forbidden: "rekey's GitHub credentials lack the permission",
  invalid: "GitHub refused the request as invalid",
  rate_limited: "rate limited",
  unavailable: "GitHub is unavailable",
  timeout: "no answer in time",
  network: "network error",
  unexpected: "unexpected response",
  unexpected_redirect: "answered with a redirect, which is never followed",
  not_configured: "no GitHub credentials are configured",
};

/** A failed GitHub call. */
export type GithubFailure = Failure<"github">;

/**
 * A failed GitHub call: a `Failure` tagged `github` (../failure.ts). Its `code` is
 * `github_<kind>` (`unexpected_redirect` is a contract code of its own, issue 14); retryable
 * exactly for throttling, GitHub's 5xx, timeouts and the network.
 */
export function githubFailure(
  kind: GithubErrorKind,
  /** What rekey was doing, e.g. `get_alert`. */
  operation: string,
  httpStatus?: number,
): GithubFailure {
  return new Failure(
    "github",
    kind === "unexpected_redirect" ? kind : `github_${kind}`,
    `Cannot ${operation.replace(/_/g, " ")} at GitHub: ${PHRASES[kind]}${httpStatus ? ` (HTTP ${httpStatus})` : ""}`,
    RETRYABLE.has(kind),
    { kind, operation, ...(httpStatus !== undefined ? { httpStatus } : {}) },
  );
}

/** The kind of a non-2xx answer. A 403 or 429 that says it is a rate limit is throttling, not a refusal. */
export function kindOfStatus(status: number, headers: Headers): GithubErrorKind {
  if (status === 429) return "rate_limited";
  if (status === 403 && (headers.get("x-ratelimit-remaining") === "0" || headers.has("retry-after"))) {
    return "rate_limited";
  }
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 400 || status === 409 || status === 422) return "invalid";
  if (status >= 500) return "unavailable";
  return "unexpected";
}
