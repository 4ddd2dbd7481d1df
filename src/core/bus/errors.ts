/**
 * A handler fails on purpose with `handlerFailure`: "this will never work" (unknown notification
 * target, malformed reference; `retryable: false`, so the event goes to the dead letters at once)
 * or "not yet" (a rotation still running; retryable, so the queue redelivers it with backoff).
 * Whatever else a handler throws is classified by core/failure.ts `toFailure`.
 *
 * Runtime-neutral.
 */
import { Failure } from "../failure.ts";

/** @param code stable snake_case, e.g. `unknown_target` */
export function handlerFailure(code: string, message: string, opts: { retryable: boolean }): Failure<"handler"> {
  return new Failure("handler", code, message, opts.retryable, {});
}
