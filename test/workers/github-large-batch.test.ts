/**
 * A GitHub alert far larger than 1,000 tokens, handled by the real Worker on the real bindings
 * (KV, Durable Objects, Queues) against the emulator, with every invocation counted against the
 * Workers free plan's limits (test/support/counting-env.ts): at most 50 subrequests (Durable
 * Object calls + queue sends + outbound fetches) and at most 1,000 KV operations.
 *
 * The request is driven through `worker.fetch` with a counting env; the events it sends are
 * captured and handed to `worker.queue` in batches of the consumer's max_batch_size, each batch one
 * counted invocation, until no event is left (events the consumer publishes are captured too).
 */
import { env } from "cloudflare:workers";
import { createMessageBatch, getQueueResult } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_GITHUB_ALERT_BYTES } from "../../src/app.ts";
import { MAX_GITHUB_TOKENS } from "../../src/routes/hooks/github-alert.ts";
import { INLINE_TOKENS } from "../../src/core/alerts/deferred-tokens.ts";
import worker, { type Env } from "../../src/worker.ts";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { countingEnv, invocation, type InvocationCounts } from "../support/counting-env.ts";
import { githubAlertInvocation } from "../support/counted-worker.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";

const LIMITS = { subrequests: 50, kv_ops: 1_000 };
const TOKENS = 2_500;
const MANAGED = 30;
/**
 * Messages per consumer invocation, as wrangler.toml's `rekey-events` consumer (max_batch_size = 1:
 * one message's handlers may drive a whole rotation, about 45 subrequests).
 */
const CONSUMER_BATCH = 1;

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let leaks: ReturnType<typeof canary>;
const managed: { id: string; keyId: string }[] = [];
const unmanaged: string[] = [];
const said: string[] = [];

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("ghbatch");
  leaks.secrets.push(tenant.manager.id);
  const managerId = await registerManager(tenant);
  for (let i = 0; i < MANAGED; i++) {
    const { key, id } = await registerAppKey(tenant, {
      managerId,
      label: `batch-${i}`,
      secrets: leaks.secrets,
      policy: { grace_hours: 24 },
    });
    managed.push({ id, keyId: key.id });
  }
  // Real keys at Clarifai that rekey does not manage: in the batch, they must be left alone.
  for (let i = 0; i < 5; i++) {
    const key = await tenant.mint("app_specific_key", ["Predict"], `unmanaged-${i}`);
    leaks.secrets.push(key.id);
    unmanaged.push(key.id);
  }
}, 120_000);

describe("a 2,500-token GitHub alert", () => {
  it("is fully handled, with every invocation within the free plan's limits", async () => {
    // A few tens of managed keys scattered among unknown tokens and unmanaged real keys.
    const items = Array.from({ length: TOKENS }, (_, i) => ({
      token: `ghp_${i.toString(16).padStart(6, "0")}${crypto.randomUUID().replaceAll("-", "")}`,
      type: "clarifai_api_key",
      url: `https://github.com/example/repo/blob/${"0".repeat(40)}/config/file-${i}.env`,
      source: "content",
    }));
    const positions = managed.map((_, i) => Math.floor(((i + 0.5) * TOKENS) / MANAGED));
    managed.forEach((m, i) => (items[positions[i]!]!.token = m.keyId));
    unmanaged.forEach((k, i) => (items[7 + i * 401]!.token = k));
    const body = JSON.stringify(items);
    expect(body.length).toBeLessThan(MAX_GITHUB_ALERT_BYTES);

    const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
    const { result: res } = await githubAlertInvocation(counting, "request", body);
    const text = await res.text();
    said.push(text);
    expect(res.status, text).toBe(200);
    const feedback = JSON.parse(text) as { token_hash: string; token_type: string; label: string }[];
    // The answer labels the request's inline part only (GITHUB_INLINE_TOKENS, default INLINE_TOKENS): the
    // later tokens are matched in the consumer's invocations (core/alerts/deferred-tokens.ts).
    expect(feedback).toHaveLength(INLINE_TOKENS);
    const truePositives = feedback.flatMap((f, i) => (f.label === "true_positive" ? [i] : []));
    expect(truePositives).toEqual([...positions].filter((p) => p < INLINE_TOKENS).sort((a, b) => a - b));
    expect(feedback.every((f) => /^[0-9a-f]{64}$/.test(f.token_hash) && f.token_type === "clarifai_api_key")).toBe(
      true,
    );

    // The consumer, as Queues would run it: max_batch_size messages per invocation, retried
    // messages delivered again (without their delay), until nothing is left.
    const pending: { id: string; timestamp: number; attempts: number; body: unknown }[] = [];
    const enqueue = (bodies: unknown[], attempts = 1) =>
      pending.push(...bodies.map((b) => ({ id: crypto.randomUUID(), timestamp: Date.now(), attempts, body: b })));
    enqueue(counting.take("rekey-events"));
    const types = new Map<string, number>();
    let n = 0;
    while (pending.length > 0) {
      expect(n++, "the consumer never drained the queue").toBeLessThan(2_000);
      const messages = pending.splice(0, CONSUMER_BATCH);
      for (const m of messages) {
        const type = (m.body as { type: string }).type;
        if (m.attempts === 1) types.set(type, (types.get(type) ?? 0) + 1);
      }
      const batch = createMessageBatch("rekey-events", messages);
      const { result } = await invocation(
        counting,
        `queue#${n}:${messages.map((m) => (m.body as { type: string }).type).join(",")}`,
        async (ctx) => {
          await worker.queue(batch, counting.env, ctx);
          return getQueueResult(batch, ctx);
        },
      );
      const retried = new Set(result.retryMessages.map((r) => r.msgId));
      for (const m of messages) {
        if (retried.has(m.id)) pending.push({ ...m, id: crypto.randomUUID(), attempts: m.attempts + 1 });
      }
      expect(counting.take("rekey-events-dlq"), "an event went to the dead-letter queue").toEqual([]);
      enqueue(counting.take("rekey-events"));
    }

    const all = counting.invocations;
    const max = (f: keyof Omit<InvocationCounts, "label">) => all.reduce((a, b) => (b[f] > a[f] ? b : a));
    const worst = { subrequests: max("subrequests"), kv_ops: max("kv_ops") };
    // A chunk's invocation contains its first match at once (core/alerts/pipeline.ts `reportDeferredTokens`).
    const chunkInvocations = all.filter((i) => i.label.endsWith(":github.tokens_deferred"));
    const worstChunk = chunkInvocations.reduce((a, b) => (b.subrequests > a.subrequests ? b : a));
    console.log(
      `github large batch: ${TOKENS} tokens, ${MANAGED} matched; ${all.length} invocations (1 request + ${
        all.length - 1
      } consumer, batch ${CONSUMER_BATCH}); ` +
        `request ${
          JSON.stringify(all[0])
        }; max subrequests ${worst.subrequests.subrequests} (${worst.subrequests.label}), max KV ops ${worst.kv_ops.kv_ops} (${worst.kv_ops.label}); ` +
        `worst chunk invocation ${JSON.stringify(worstChunk)}; ` +
        `events ${JSON.stringify(Object.fromEntries(types))}`,
    );
    for (const inv of all) {
      expect(inv.subrequests, `${inv.label}: ${JSON.stringify(inv)}`).toBeLessThanOrEqual(LIMITS.subrequests);
      expect(inv.kv_ops, `${inv.label}: ${JSON.stringify(inv)}`).toBeLessThanOrEqual(LIMITS.kv_ops);
    }
    expect(types.get("credential.compromised")).toBe(MANAGED);
    expect(types.get("alert.received")).toBe(1);
    expect(types.get("github.tokens_deferred")).toBe(Math.ceil((TOKENS - INLINE_TOKENS) / INLINE_TOKENS));

    // Every matched credential is contained: the leaked key is gone at Clarifai, a replacement
    // minted by its compromise rotation exists and is the credential's current value.
    const state = await tenant.state();
    const liveKeys = new Set(state.keys.map((k: any) => k.id as string));
    for (const m of managed) {
      const cred = (await call("GET", `/v1/credentials/${m.id}`)).json.credential;
      expect(cred.current_rotation_id, m.id).toBeNull();
      expect(cred.last_rotation, m.id).toMatchObject({ state: "done", reason: "compromise" });
      expect(liveKeys.has(m.keyId), `${m.id}: the leaked key is still live`).toBe(false);
      const fresh = state.keys.filter((k: any) => String(k.description).includes(cred.last_rotation.id));
      expect(fresh, m.id).toHaveLength(1);
      leaks.secrets.push(fresh[0].id);
    }
    // Non-matching tokens changed nothing: the unmanaged real keys live, and no other key was deleted.
    for (const k of unmanaged) expect(liveKeys.has(k)).toBe(true);
    const deletes = state.calls.filter((c: any) => c.method === "DELETE" && String(c.path).includes("/keys/"));
    const leakedIds = new Set(managed.map((m) => m.keyId));
    expect(deletes.every((c: any) => leakedIds.has(String(c.path).split("/keys/")[1] ?? ""))).toBe(true);
    expect(new Set(deletes.filter((c: any) => c.status === 200).map((c: any) => c.path)).size).toBe(MANAGED);
  }, 300_000);
});

describe("a large GitHub alert that is not valid", () => {
  it("is refused whole with a 4xx and a code, before anything is read, queued or contained", async () => {
    const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
    const item = (i: number) => ({
      token: `tok_${i}_${crypto.randomUUID()}`,
      type: "clarifai_api_key",
      url: "https://github.com/o/r",
      source: "content",
    });
    const oneBad = Array.from({ length: 2_000 }, (_, i) => item(i));
    oneBad[1_999] = { ...item(1_999), token: "" };
    const tooMany = Array.from({ length: MAX_GITHUB_TOKENS + 1 }, (_, i) => ({ token: `t${i}`, type: "t" }));
    const tooBig = Array.from(
      { length: 2_000 },
      (_, i) => ({ ...item(i), url: `https://github.com/${"x".repeat(1_100)}` }),
    );
    const cases: [string, string, number, string][] = [
      ["one invalid item among 2,000", JSON.stringify(oneBad), 400, "invalid_request"],
      [`${MAX_GITHUB_TOKENS + 1} tokens`, JSON.stringify(tooMany), 400, "invalid_request"],
      ["a body over the limit", JSON.stringify(tooBig), 413, "payload_too_large"],
    ];
    expect(JSON.stringify(tooBig).length).toBeGreaterThan(MAX_GITHUB_ALERT_BYTES);
    for (const [label, body, status, code] of cases) {
      const { result: res, counts } = await githubAlertInvocation(counting, label, body);
      const text = await res.text();
      said.push(text);
      expect(res.status, `${label}: ${text}`).toBe(status);
      expect(JSON.parse(text).error.code, label).toBe(code);
      expect({ kv_ops: counts.kv_ops, subrequests: counts.subrequests }, label).toEqual({ kv_ops: 0, subrequests: 0 });
      expect(counting.take("rekey-events"), label).toEqual([]);
    }
  });
});

afterAll(async () => {
  // Canary: no secret value in any response or log line, nor in the audit trail.
  const audit = (await call("GET", "/v1/audit?limit=1000")).text;
  leaks.assertClean([audit, ...said]);
});
