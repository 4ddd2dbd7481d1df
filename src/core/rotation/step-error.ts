/**
 * How a step fails. Transient failures (throttling, 5xx, timeouts, network) are retried with
 * backoff; permanent ones (invalid key, missing scopes, bad request) stop the rotation in `failed`.
 * Messages are written here, never copied from upstream, so no secret can ride along.
 */
import { ClarifaiError } from "../clarifai/errors.ts";
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

/** Turns anything a step threw into a StepFailure. */
export function toStepFailure(error: unknown): StepFailure {
  if (error instanceof StepFailure) return error;
  if (error instanceof ClarifaiError) {
    const code = error.clarifaiCode;
    return new StepFailure(
      error.retryable,
      error.code,
      `${error.operation} failed: ${error.kind}${code ? ` (Clarifai status ${code})` : ""}`,
      code,
    );
  }
  // Not an upstream error: a bug or a runtime fault. Retrying is the safe default because every
  // step is idempotent; the retry budget bounds it.
  return new StepFailure(
    true,
    "internal_error",
    `Unexpected ${error instanceof Error ? error.name : "error"} in a rotation step`,
  );
}

/** The client returns Results; inside a step an upstream failure is simply thrown to the driver. */
export function unwrap<T>(result: Result<T, unknown>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

export const isNotFound = (error: unknown): boolean => error instanceof ClarifaiError && error.kind === "not_found";
