/**
 * Errors as values, for code paths where failure is an expected outcome (signature checks,
 * decryption, upstream calls) rather than a bug. Modelled on workers-oauth-provider's `Result`.
 *
 * Runtime-neutral: web APIs only, no Workers or Deno runtime APIs.
 */
export type Result<T, E extends ErrorValue = ErrorValue> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E extends ErrorValue>(error: E): Result<never, E> => ({ ok: false, error });

/**
 * The one shape of an expected failure carried in a `Result`: a stable snake_case `code` a caller
 * can branch on, and a `message` written by rekey that never holds a secret value. A shape may add
 * fields that say more (a validation's `issues`, the id of the record that is already there), and
 * a `Failure` (core/failure.ts) is one too: a Clarifai call's `Result` carries the failure itself.
 */
export interface ErrorValue<C extends string = string> {
  readonly code: C;
  readonly message: string;
}
