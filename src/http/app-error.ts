/**
 * The one error class the HTTP layer knows. Thrown anywhere below a route, it becomes
 * `{"error":{"code","message"}}` with its status in `app.onError` (src/http/on-error.ts).
 *
 * `message` is shown to the caller: it must never hold a secret value, a token or upstream text
 * that could (Clarifai's `details` can echo input). Put detail for operators in `logDetail`, which
 * is logged but never sent, and which must obey the same no-secret rule.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { Failure } from "../core/failure.ts";

export class AppError extends Failure {
  override readonly name = "AppError";
  readonly tag = "http";
  constructor(
    readonly status: ContentfulStatusCode,
    code: string,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    // Retryable as any non-permanent failure was before: a bus handler that hit one may pass later.
    super(code, message, true);
  }
}
