/**
 * How a handler failure is classified. Retryable is the default: a bug or a runtime fault may
 * well pass on the next delivery, and every handler is idempotent, so running it again is safe.
 * A handler says "this will never work" (unknown notification target, malformed reference) by
 * throwing a `PermanentError`, or any error carrying `retryable: false` (the Clarifai client's
 * errors and the rotation engine's StepFailure).
 *
 * Runtime-neutral.
 */
import { Failure as RekeyFailure } from "../failure.ts";
import { codeSchema } from "./fields.ts";

export class PermanentError extends RekeyFailure {
  override readonly name = "PermanentError";
  readonly tag = "permanent";
  /** @param code stable snake_case, e.g. `unknown_target` */
  constructor(code: string, message: string) {
    super(code, message, false);
  }
}

export interface Failure {
  retryable: boolean;
  /** The error's snake_case code when it has one, else its name in snake_case (`type_error`). */
  code: string;
  /** For tests and debugging, clipped; the queue consumer logs codes only, never messages. */
  message: string;
}

export function classifyFailure(error: unknown): Failure {
  const e = (typeof error === "object" && error !== null ? error : {}) as Record<string, unknown>;
  const permanent = e.retryable === false || e.transient === false;
  const named = typeof e.name === "string" ? snake(e.name) : "";
  const code = isCode(e.code) ? e.code : isCode(named) ? named : "error";
  const message = typeof e.message === "string" ? e.message.slice(0, 200) : typeof error === "string" ? "(thrown string)" : "";
  return { retryable: !permanent, code, message };
}

const isCode = (v: unknown): v is string => codeSchema.safeParse(v).success;
const snake = (name: string) => name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
