/**
 * Redelivery delays, exponential in the delivery attempt (the Queues docs' `base ** attempts`,
 * here `base * 2 ** (attempts - 1)`), capped at Queues' 12-hour maximum `delaySeconds`.
 *
 * With the defaults and `max_retries = 5` a failing event is retried after 10, 20, 40, 80 and
 * 160 s, about 5 minutes in all: long enough to ride out a Clarifai 429 or a short outage, and
 * longer than the ledger's claim lease (./bus.ts), so a delivery whose isolate died mid-handler
 * is taken over before the event runs out of retries.
 *
 * Runtime-neutral.
 */
import { backoffDelay } from "../backoff.ts";

export interface BackoffPolicy {
  baseSeconds: number;
  maxSeconds: number;
}

/** Cloudflare Queues refuse a `delaySeconds` above 12 hours. */
const MAX_DELAY_SECONDS = 43_200;

export const DEFAULT_BACKOFF: BackoffPolicy = { baseSeconds: 10, maxSeconds: MAX_DELAY_SECONDS };

/** Seconds to wait before the next delivery, after delivery number `attempts` (from 1) failed. */
export function retryDelaySeconds(attempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const delay = backoffDelay(attempts, policy.baseSeconds, Math.min(policy.maxSeconds, MAX_DELAY_SECONDS));
  return Math.max(0, Math.round(delay));
}
