/**
 * How a step fails. Transient failures (throttling, 5xx, timeouts, network) are retried with
 * backoff; permanent ones (invalid key, missing scopes, bad request) stop the rotation in `failed`.
 * Messages are written here, never copied from upstream, so no secret can ride along.
 */
import { Failure } from "../failure.ts";
import type { Result } from "../result.ts";
export class StepFailure extends Failure {
  override readonly name = "StepFailure";
  readonly tag = "step";
  constructor(
    retryable: boolean,
    code: string,
    message: string,
    readonly clarifaiCode?: number,
  ) {
    super(code, message, retryable);
  }
}

interface UpstreamLike {
  retryable?: unknown;
  kind?: unknown;
  code?: unknown;
  operation?: unknown;
}

/** Turns anything a step threw into a StepFailure. */
export function classify(error: unknown): StepFailure {
  if (error instanceof StepFailure) return error;
  const e = (typeof error === "object" && error !== null ? error : {}) as UpstreamLike;
  if (typeof e.retryable === "boolean" && typeof e.kind === "string") {
    const op = typeof e.operation === "string" ? e.operation : "Clarifai call";
    const code = typeof e.code === "number" ? e.code : undefined;
    return new StepFailure(
      e.retryable,
      // `unexpected_redirect` is a contract code of its own (issue 14): a redirected call, never retried.
      e.kind === "unexpected_redirect" ? "unexpected_redirect" : `clarifai_${e.kind}`,
      `${op} failed: ${e.kind}${code ? ` (Clarifai status ${code})` : ""}`,
      code,
    );
  }
  // Not an upstream error: a bug or a runtime fault. Retrying is the safe default because every
  // step is idempotent; the retry budget bounds it.
  return new StepFailure(true, "internal_error", `Unexpected ${error instanceof Error ? error.name : "error"} in a rotation step`);
}

/** The client returns Results; inside a step an upstream failure is simply thrown to the driver. */
export function unwrap<T>(result: Result<T, unknown>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

export const isNotFound = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as UpstreamLike).kind === "not_found";
