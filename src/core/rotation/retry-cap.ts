/**
 * The engine's cap on retryable failures. A step that keeps failing retryably (Clarifai 5xx or
 * 429, timeouts, a sink that will not take a write) leaves its rotation running and backing off
 * (drive.ts `persistOutcome`), and the cron sweep resumes it every 15 minutes
 * (core/sweep/rules.ts). Without a bound that rotation would stay `running` for ever, holding its
 * credential's one rotation slot, with nobody told: the silent, half-finished rotation. Past the
 * cap the failure counts as permanent: the rotation is rolled back and settles `failed` with
 * `retries_exhausted`, announced as any permanent failure is.
 *
 * Both bounds must be passed, the count and the age:
 * - `RETRY_CAP_ATTEMPTS` failed drives in a row at the current step (`attempts`, reset by each step
 *   that succeeds). One trigger alone makes up to 7 (its fast path, then the queue's delivery and
 *   5 redeliveries over about 5 minutes, wrangler.toml `max_retries`), and each sweep's resume up
 *   to 6 more, so the count alone would give up within the first half hour of an outage.
 * - `RETRY_CAP_AGE_MS` since the rotation began (`created_at`): what actually leaves room for a
 *   Clarifai outage of about an hour, with four more sweep resumes (an hour) after it before the
 *   rotation is given up. The rotation's start stands for its first failure: no step waits (a grace
 *   period is owed on the credential, not held by the rotation), so steps take seconds and a
 *   rotation that fails at all fails within moments of its start. One whose earlier step failed
 *   for a while and then passed still needs `RETRY_CAP_ATTEMPTS` new failures at the next step.
 * A driver that dies mid-step (rather than fail) counts no attempt and is not capped here; the
 * dead letter's age bound (core/subscribers/dead-work.ts) is what reports it.
 *
 * Only a rotation that replaces a value nobody needs dead is capped: not a compromise and not a
 * revocation (`mode: "revoke"`). Giving those up would mean a rollback, and a rollback puts the
 * old value back: a leaked value live again in the sinks (a secret's own value even rewritten at
 * Clarifai), or a value someone asked to be revoked left working with nothing owed. They keep
 * being resumed until Clarifai answers, and the dead letter's age bound says loudly that they are
 * stuck. A routine rotation an alert escalates is a compromise from then on, and so uncapped.
 *
 * Runtime-neutral.
 */
import type { AnyFailure, Failure } from "../failure.ts";
import type { Rotation } from "./rotation.ts";
import { rotationError, stepFailure } from "./step-error.ts";

/** The failure code of a rotation given up at the cap (`rotation.error.code`, `rotation.failed`'s `error_code`). */
export const RETRIES_EXHAUSTED = "retries_exhausted";
/** What chat and Slack add to a `rotation.failed` with that code: what happened, in a sentence. */
export const RETRIES_EXHAUSTED_HINT = "It kept failing transiently until the retry cap gave up on it.";
export const RETRY_CAP_ATTEMPTS = 10;
export const RETRY_CAP_AGE_MS = 2 * 3_600_000;

/** Whether `r`, having now failed `attempts` drives in a row at its step, is past the cap at `now`. */
export const retriesExhausted = (
  r: Pick<Rotation, "created_at" | "reason" | "mode">,
  attempts: number,
  now: number,
): boolean =>
  r.reason !== "compromise" && r.mode === "rotate" && attempts >= RETRY_CAP_ATTEMPTS &&
  now - Date.parse(r.created_at) >= RETRY_CAP_AGE_MS;

/**
 * The permanent failure the cap turns `last` into. Its message keeps the last underlying failure's
 * code and the message the rotation would have recorded for it (written by rekey, never copied
 * from upstream: ./step-error.ts), so an operator reading `rotation.error` sees why it kept failing.
 */
export function retriesExhaustedFailure(last: AnyFailure, r: Rotation, attempts: number): Failure<"step"> {
  const why = rotationError(last, r.step);
  return stepFailure(
    false,
    RETRIES_EXHAUSTED,
    `Gave up on step "${r.step}" after ${attempts} failed attempts in a row; the last: ${why.code}: ${why.message}`,
  );
}
