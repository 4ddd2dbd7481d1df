/**
 * The one place a failure becomes an HTTP answer: `{"error":{"code","message",...}}` with the
 * status this file's table gives its code, for the JSON API here and the dashboard's HTML error
 * page (src/ui/routes.ts). Anywhere below a route, a request is refused by throwing `refused(code,
 * message)`; core code returns its refusals as `Result`s (registration, a sink's pre-flight) or
 * codes (a refused rotation, core/rotation/refusals.ts) and the route throws them on.
 *
 * `message` is shown to the caller: it must never hold a secret value, a token or upstream text
 * that could (Clarifai's `details` can echo input). `extra` joins the envelope (validation
 * `issues`, the `credential_id` already registered) and obeys the same rule.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { Failure, toFailure } from "../core/failure.ts";
import type { RegisterRefusal } from "../core/credentials/register.ts";
import type { BeginRefusal } from "../core/rotation/refusals.ts";
import type { ConfigProblemCode } from "../config-check.ts";

/** Every code a request is refused with, and its status. */
const HTTP_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_response_url: 400,
  unsupported_interaction: 400,
  unauthorized: 401,
  access_required: 401,
  invalid_signature: 401,
  invalid_timestamp: 401,
  stale_timestamp: 401,
  replayed: 401,
  session_required: 401,
  session_expired: 401,
  cross_site_request: 403,
  csrf_invalid: 403,
  credential_not_found: 404,
  rotation_not_found: 404,
  rotation_running: 409,
  credential_revoked: 409,
  value_superseded: 409,
  conflict: 409,
  already_registered: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  misdirected_request: 421,
  value_required: 422,
  secret_id_required: 422,
  manager_required: 422,
  manager_not_found: 422,
  manager_unreadable: 422,
  manager_insufficient_scopes: 422,
  invalid_credential: 422,
  upstream_rejected: 422,
  not_found_upstream: 422,
  value_mismatch: 422,
  app_mismatch: 422,
  sink_not_found: 422,
  sink_unauthorized: 422,
  // A GitHub Actions secret sink on a deployment without GitHub credentials: the request asks for
  // what this deployment cannot do (422), where a missing Cloudflare token is `not_configured`.
  github_not_configured: 422,
  not_configured: 503,
  config_invalid: 503,
  dev_secrets_refused: 503,
  upstream_unavailable: 503,
  github_unavailable: 503,
  alert_too_large: 503,
  access_keys_unavailable: 503,
  // GitHub refused rekey's call for a webhook's alert (e.g. the App lacks a permission).
  github_refused: 502,
} as const satisfies
  & Record<string, ContentfulStatusCode>
  & Record<BeginRefusal | RegisterRefusal | ConfigProblemCode, ContentfulStatusCode>;

export type RefusalCode = keyof typeof HTTP_STATUS;

/** A refused request: answered with `code`'s status from the table above. */
export function refused(code: RefusalCode, message: string, extra?: Record<string, unknown>): Failure<"refused"> {
  // Retryable as any non-permanent failure was before: a bus handler that hit one may pass later.
  return new Failure("refused", code, message, true, extra ? { extra } : {});
}

export interface ErrorDescription {
  status: ContentfulStatusCode;
  code: string;
  message: string;
  /** A refusal's extra fields (e.g. validation issues), for the JSON envelope. */
  extra?: Record<string, unknown>;
}

/**
 * What a thrown error becomes. A refusal is answered with its status; anything else becomes a
 * generic 500 that says nothing about the cause: an exception message may carry upstream text, so
 * only its kind is logged (here, once), with the method and the route's pattern: never the request
 * path, which may hold a pasted token, nor any body.
 */
export function describeError(error: Error, c: Context): ErrorDescription {
  const f = toFailure(error);
  if (f.tag === "refused") {
    return {
      status: HTTP_STATUS[f.code as RefusalCode] ?? 500,
      code: f.code,
      message: f.message,
      ...(f.detail.extra ? { extra: f.detail.extra } : {}),
    };
  }
  if (error instanceof HTTPException) {
    // Hono's own middleware (e.g. a malformed request it refuses) throws these.
    const status = error.status;
    const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "bad_request";
    return { status, code, message: status === 413 ? "Request body is too large" : "Request refused" };
  }
  console.error(
    JSON.stringify({
      level: "error",
      msg: "unhandled error",
      // A failure's tag and code are rekey's own words; anything else is named by its class only.
      error: f.tag === "internal" ? f.detail.errorName : `${f.tag}:${f.code}`,
      method: c.req.method,
      route: c.req.routePath,
    }),
  );
  return { status: 500, code: "internal_error", message: "Internal error" };
}

/** Maps every thrown error to the `{"error":{"code","message"}}` envelope. */
export function onError(error: Error, c: Context): Response {
  const { status, code, message, extra } = describeError(error, c);
  return c.json({ error: { code, message, ...extra } }, status);
}

export function notFound(c: Context): Response {
  // The path is not echoed: a client that put a token in it (a mistyped URL) would get it back
  // in the body, and from there into proxies' and clients' logs.
  return c.json({ error: { code: "not_found", message: `No route for ${c.req.method} on this path` } }, 404);
}
