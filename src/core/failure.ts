/**
 * The one failure vocabulary. Every error rekey throws on purpose is a `Failure`: a stable
 * snake_case `code`, a `retryable` flag (the only spelling of "may pass if run again"), a `tag`
 * naming what failed, and the few facts of that kind (`detail`). Each tag has one constructor,
 * beside the code that raises it:
 *
 * | tag        | constructor                                  | raised by                              |
 * | ---------- | -------------------------------------------- | -------------------------------------- |
 * | `refused`  | `refused()` (src/http/on-error.ts)           | routes, config, the HTTP layer         |
 * | `step`     | `stepFailure()` (rotation/step-error.ts)     | rotation steps and the engine          |
 * | `clarifai` | `clarifaiFailure()` (clarifai/errors.ts)     | the Clarifai client                    |
 * | `github`   | `githubFailure()` (github/errors.ts)         | the GitHub client                      |
 * | `handler`  | `handlerFailure()` (bus/errors.ts)           | bus handlers                           |
 * | `delivery` | `deliveryFailure()` (notify/post-json.ts)    | outbound POSTs                         |
 * | `internal` | `toFailure()` (here)                         | anything not thrown on purpose         |
 *
 * `toFailure` is the one place that reads an unknown thrown value; it tells failures apart by
 * class, never by duck-typing fields, so an arbitrary object (or an upstream error that happens to
 * carry `code`/`retryable`) cannot pose as a permanent failure. How a failure is answered over
 * HTTP is src/http/on-error.ts's alone; the bus and the rotation record read it through their own
 * views (core/bus/bus.ts `busFailure`, core/rotation/step-error.ts `rotationError`).
 *
 * Messages are written by rekey, never copied from upstream, so no secret can ride along. A
 * `Failure` is also an `ErrorValue` (core/result.ts): a Clarifai call's `Result` carries one.
 *
 * Runtime-neutral.
 */
import type { ClarifaiErrorKind } from "./clarifai/errors.ts";
import type { GithubErrorKind } from "./github/errors.ts";
import type { ErrorValue } from "./result.ts";

/** The facts each kind of failure carries besides its code, message and retryability. */
export interface FailureDetails {
  /** Bad input or state; `extra` joins the JSON envelope (e.g. validation `issues`), never a value. */
  refused: { extra?: Record<string, unknown> | undefined };
  step: Record<never, never>;
  clarifai: {
    kind: ClarifaiErrorKind;
    /** Clarifai's RPC name, e.g. `DeleteKey`. */
    operation: string;
    httpStatus?: number | undefined;
    /** Clarifai's numeric `status.code`. */
    clarifaiCode?: number | undefined;
    reqId?: string | undefined;
    /** Clarifai's `status.description`, already redacted. */
    description?: string | undefined;
  };
  github: {
    kind: GithubErrorKind;
    /** What rekey was doing, e.g. `get_alert`. */
    operation: string;
    httpStatus?: number | undefined;
  };
  handler: Record<never, never>;
  delivery: Record<never, never>;
  /** `errorName`: the thrown value's class name (`TypeError`), `error` for a non-Error. */
  internal: { errorName: string };
}

export type FailureTag = keyof FailureDetails;

export class Failure<T extends FailureTag = FailureTag> extends Error implements ErrorValue {
  override readonly name = "Failure";
  constructor(
    readonly tag: T,
    /** Stable snake_case, e.g. `unknown_target`. */
    readonly code: string,
    message: string,
    /** True when the same work may pass on a later attempt (throttling, 5xx, network, a lock). */
    readonly retryable: boolean,
    readonly detail: FailureDetails[T],
  ) {
    super(message);
  }

  /** Safe to serialise: every field is written by rekey and holds no secret; no stack. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      tag: this.tag,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...this.detail,
    };
  }
}

/** A failure of any one tag: checking `tag` narrows `detail`. */
export type AnyFailure = { [T in FailureTag]: Failure<T> }[FailureTag];

export const isFailure = <T extends FailureTag>(error: unknown, tag: T): error is Failure<T> =>
  error instanceof Failure && error.tag === tag;

/**
 * The one classifier: what a thrown value is, as a Failure. A `Failure` is itself; anything else
 * (a bug, a runtime fault) is `internal` and retryable, because every handler and every step is
 * idempotent, so running it again is safe. Its message is the thrown message clipped, for tests
 * and debugging: the queue consumer logs codes only, and HTTP answers it with a generic 500.
 */
export function toFailure(error: unknown): AnyFailure {
  if (error instanceof Failure) return error as AnyFailure;
  const message = error instanceof Error
    ? error.message.slice(0, 200)
    : typeof error === "string"
    ? "(thrown string)"
    : "";
  const errorName = error instanceof Error ? error.name : "error";
  return new Failure("internal", "internal_error", message, true, { errorName });
}
