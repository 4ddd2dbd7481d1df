/**
 * The one failure vocabulary. Every error rekey throws on purpose is a `Failure`: a stable
 * snake_case `code`, a `retryable` flag (the only spelling of "may pass if run again") and a `tag`
 * naming which layer raised it.
 *
 * Messages are written by rekey, never copied from upstream, so no secret can ride along.
 *
 * Runtime-neutral.
 */
/** Which layer raised a failure: the HTTP layer, a rotation step, a bus handler, a delivery. */
export type FailureTag = "http" | "step" | "permanent" | "delivery" | "still_running";

export abstract class Failure extends Error {
  abstract readonly tag: FailureTag;
  constructor(
    /** Stable snake_case, e.g. `unknown_target`. */
    readonly code: string,
    message: string,
    /** True when the same work may pass on a later attempt (throttling, 5xx, network, a lock). */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}
