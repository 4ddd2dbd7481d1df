/**
 * The one exponential backoff: the n-th wait (n from 1) is `base`, then twice that, four times…,
 * never more than `max`. Its users choose only the numbers: the bus's redeliveries
 * (core/bus/backoff.ts, seconds), a rotation step's retries within one drive and the cleanup calls
 * of a rollback and a containment (core/rotation/, the engine's `RetryPolicy`, milliseconds), and
 * an owed revocation's next try (core/sweep/rules.ts, minutes).
 *
 * Runtime-neutral.
 */

/** The wait before try `n + 1` after `n` (from 1) failed; a missing or fractional `n` counts as 1 or its floor. */
export function backoffDelay(n: number, base: number, max: number): number {
  const k = Number.isFinite(n) ? Math.max(1, Math.floor(n)) : 1;
  return Math.min(max, base * 2 ** (k - 1));
}
