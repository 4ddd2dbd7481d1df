/**
 * Plays Queues for one message: hands it to the real Worker's queue consumer as one counted
 * invocation, at a chosen delivery attempt, so a test can walk a message through its retries and
 * onto the dead-letter queue without waiting for Queues' backoff.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import worker, { type Env } from "../../src/worker.ts";
import type { CountingEnv } from "./counting-env.ts";

/** Delivers `body` on `queue` as message `m-<queue>-<attempts>`, counted as `<queue>#<attempts>`; returns its acks and retries. */
export async function deliverAttempt(counting: CountingEnv<Env>, queue: string, attempts: number, body: unknown) {
  const batch = createMessageBatch(queue, [{ id: `m-${queue}-${attempts}`, timestamp: new Date(), attempts, body }]);
  const ctx = createExecutionContext();
  counting.begin(`${queue}#${attempts}`);
  await worker.queue(batch, counting.env, ctx);
  const result = await getQueueResult(batch, ctx);
  counting.end();
  return result;
}
