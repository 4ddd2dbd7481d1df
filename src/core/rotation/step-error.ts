/**
 * How a step fails. Transient failures (throttling, 5xx, timeouts, network) are retried with
 * backoff; permanent ones (invalid key, missing scopes, bad request) stop the rotation in `failed`.
 * Messages are written here, never copied from upstream, so no secret can ride along.
 */
import { type AnyFailure, Failure, isFailure } from "../failure.ts";
import type { Result } from "../result.ts";
import type { RotationError, Step } from "./rotation.ts";

/** A step or the engine refusing on purpose: `retryable` when a later attempt may pass. */
export function stepFailure(retryable: boolean, code: string, message: string): Failure<"step"> {
  return new Failure("step", code, message, retryable, {});
}

/**
 * What a failure records on its rotation (`rotation.error`, shown by the API, the dashboard and
 * chat): a Clarifai failure by its operation, kind and Clarifai status; anything not thrown on
 * purpose (a bug, a runtime fault) as `internal_error`, naming only its class.
 */
export function rotationError(f: AnyFailure, step: Step): RotationError {
  if (f.tag === "clarifai") {
    const { operation, kind, clarifaiCode } = f.detail;
    return {
      code: f.code,
      message: `${operation} failed: ${kind}${clarifaiCode ? ` (Clarifai status ${clarifaiCode})` : ""}`,
      step,
      ...(clarifaiCode ? { clarifai_code: clarifaiCode } : {}),
    };
  }
  if (f.tag === "internal") {
    return { code: f.code, message: `Unexpected ${f.detail.errorName} in a rotation step`, step };
  }
  return { code: f.code, message: f.message, step };
}

/** The client returns Results; inside a step an upstream failure is simply thrown to the driver. */
export function unwrap<T>(result: Result<T, Failure>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

export const isNotFound = (error: unknown): boolean =>
  isFailure(error, "clarifai") && error.detail.kind === "not_found";
