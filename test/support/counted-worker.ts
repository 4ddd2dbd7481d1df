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

/**
 * One queue invocation of the Worker under `env`: `body` alone on `queue` (one message per
 * invocation, as wrangler.toml's consumer runs); returns its acks and retries once it has settled.
 */
export async function queueInvocation(
  env: Env,
  queue: string,
  body: unknown,
  opts: { attempts?: number; id?: string } = {},
) {
  const attempts = opts.attempts ?? 1;
  const batch = createMessageBatch(queue, [{
    id: opts.id ?? crypto.randomUUID(),
    timestamp: new Date(),
    attempts,
    body,
  }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return await getQueueResult(batch, ctx);
}

/** Delivers `body` on `queue` as message `m-<queue>-<attempts>`, counted as `<queue>#<attempts>`; returns its acks and retries. */
export async function deliverAttempt(counting: CountingEnv<Env>, queue: string, attempts: number, body: unknown) {
  counting.begin(`${queue}#${attempts}`);
  try {
    return await queueInvocation(counting.env, queue, body, { attempts, id: `m-${queue}-${attempts}` });
  } finally {
    counting.end();
  }
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
