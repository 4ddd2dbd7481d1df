/**
 * The real Worker's handlers called as the platform calls them, each call one counted invocation
 * (test/support/counting-env.ts): a queue message at a chosen delivery attempt, so a test can walk
 * it through its retries and onto the dead-letter queue without waiting for Queues' backoff; and a
 * partner alert signed as GitHub signs it.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import worker, { type Env } from "../../src/worker.ts";
import { type CountingEnv, invocation } from "./counting-env.ts";
import { signedGithubAlert } from "./github-test-key.ts";

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

/** POSTs `body` to /hooks/github/secret-scanning, signed with the suite's GitHub key; returns the answer and the counts. */
export async function githubAlertInvocation(counting: CountingEnv<Env>, label: string, body: string) {
  const request = new Request("http://rekey.test/hooks/github/secret-scanning", {
    method: "POST",
    headers: await signedGithubAlert(body),
    body,
  });
  return invocation(
    counting,
    label,
    async (ctx) => worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, counting.env, ctx),
  );
}
