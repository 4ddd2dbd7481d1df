/**
 * A handler says "this will never work" (unknown notification target, malformed reference) by
 * throwing a `PermanentError`, or any other `Failure` with `retryable: false` (core/failure.ts,
 * which also classifies whatever a handler throws).
 *
 * Runtime-neutral.
 */
import { Failure } from "../failure.ts";

export class PermanentError extends Failure {
  override readonly name = "PermanentError";
  readonly tag = "permanent";
  /** @param code stable snake_case, e.g. `unknown_target` */
  constructor(code: string, message: string) {
    super(code, message, false);
  }
}
