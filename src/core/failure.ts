/**
 * The one failure vocabulary. Every error rekey throws on purpose is a `Failure`: a stable
 * snake_case `code`, a `retryable` flag (the only spelling of "may pass if run again") and a `tag`
 * naming which layer raised it. `classifyFailure` is the one place that reads an unknown thrown
 * value; it tells failures apart by class, never by duck-typing fields, so an arbitrary object (or
 * an upstream error that happens to carry `code`/`retryable`) cannot pose as a permanent failure.
 *
 * Messages are written by rekey, never copied from upstream, so no secret can ride along.
 *
 * Runtime-neutral.
 */
import { codeSchema } from "./bus/fields.ts";

/** Which layer raised a failure: the HTTP layer, a rotation step, the Clarifai or GitHub client, a bus handler, a delivery. */
export type FailureTag = "http" | "step" | "clarifai" | "github" | "permanent" | "delivery" | "still_running";

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

/** A thrown value as the bus and the logs see it: never more than a code, a flag and a clipped message. */
export interface FailureInfo {
  retryable: boolean;
  /** The failure's code; for anything else its name in snake_case (`type_error`), else `error`. */
  code: string;
  /** For tests and debugging, clipped; the queue consumer logs codes only, never messages. */
  message: string;
}

/**
 * Retryable is the default for what is not a `Failure`: a bug or a runtime fault may well pass on
 * the next delivery, and every handler is idempotent, so running it again is safe.
 */
export function classifyFailure(error: unknown): FailureInfo {
  const message = error instanceof Error
    ? error.message.slice(0, 200)
    : typeof error === "string"
    ? "(thrown string)"
    : "";
  const retryable = error instanceof Failure ? error.retryable : true;
  // The bus has always named a Clarifai client error by its class: `clarifai_error`, and
  // `dead_letter_clarifai_error` in events, a contract; its own code is the rotation's.
  const own = error instanceof Failure && error.tag !== "clarifai" ? error.code : undefined;
  const named = error instanceof Error ? snake(error.name) : "";
  return { retryable, code: isCode(own) ? own : isCode(named) ? named : "error", message };
}

const isCode = (v: unknown): v is string => codeSchema.safeParse(v).success;
const snake = (name: string) => name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
