/**
 * The one error class the HTTP layer knows. Thrown anywhere below a route, it becomes
 * `{"error":{"code","message"}}` with its status in `app.onError` (src/http/on-error.ts).
 *
 * `message` is shown to the caller: it must never hold a secret value, a token or upstream text
 * that could (Clarifai's `details` can echo input). Put detail for operators in `logDetail`, which
 * is logged but never sent, and which must obey the same no-secret rule.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}
