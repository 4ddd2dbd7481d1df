/**
 * The GitHub route's per-invocation budget at the edges no end-to-end test can afford (thousands
 * of managed credentials leaked in one alert): the fast path runs only while the alert's events
 * leave room for it under 50 subrequests, and an alert matching more credentials than one
 * invocation can queue events for queues what fits and answers 503.
 *
 * The app runs over a memory store holding the matched records (they are never decrypted here:
 * no rotation is driven) and the real QueueBus over the EVENTS binding, whose sends the counting
 * env captures and counts (test/support/counting-env.ts).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { QueueBus } from "../../src/adapters/queue-bus.ts";
import { parseConfig } from "../../src/config.ts";
import { MemoryAuditLog } from "../../src/core/audit/memory-audit-log.ts";
import { MemoryLedger } from "../../src/core/bus/memory-ledger.ts";
import { fingerprintWith } from "../support/fingerprint.ts";
import { MemoryJobStore } from "../../src/core/maintenance/job.ts";
import { MemoryStats } from "../../src/core/summary/stats.ts";
import { MemoryStore } from "../../src/core/store/memory-store.ts";
import { buildServices } from "../../src/services.ts";
import type { Env } from "../../src/worker.ts";
import { countingEnv } from "../support/counting-env.ts";
import { signedGithubAlert } from "../support/github-test-key.ts";
import { credentialRecord } from "../support/records.ts";

/** Counts strongly consistent record reads (what the fast path does first). */
class ReadCountingStore extends MemoryStore {
  reads = 0;
  override getCredential(id: string) {
    this.reads++;
    return super.getCredential(id);
  }
}

async function scenario(matches: number, others = 0) {
  // Every token in the request, as a Paid-plan operator may set it (GITHUB_INLINE_TOKENS=10000):
  // these edges are the request's own budget, which the free plan's default split (300 tokens
  // inline, the rest deferred: test/workers/github-split.test.ts) never reaches.
  const config = { ...parseConfig(env as unknown as Record<string, unknown>), GITHUB_INLINE_TOKENS: 10_000 };
  const store = new ReadCountingStore();
  const tokens = Array.from({ length: matches + others }, (_, i) => `tok_${i}_${crypto.randomUUID()}`);
  for (const token of tokens.slice(0, matches)) {
    await store.putCredential(
      credentialRecord({ fingerprint: await fingerprintWith(config.REKEY_FINGERPRINT_KEY!, token) }),
      null,
    );
  }
  const counting = countingEnv(env as Env, { EVENTS: "rekey-events" });
  const deferred: Promise<unknown>[] = [];
  const services = buildServices({
    config,
    store,
    bus: new QueueBus(counting.env.EVENTS),
    audit: new MemoryAuditLog(),
    ledger: new MemoryLedger(),
    jobs: new MemoryJobStore(),
    stats: new MemoryStats(),
    // Fast-path work is recorded, not run: these records hold no real sealed value.
    defer: (work) => void deferred.push(work.catch(() => undefined)),
  });
  const app = createApp(services);
  const body = JSON.stringify(tokens.map((token) => ({ token, type: "clarifai_api_key", source: "content" })));
  counting.begin(`${matches} matches`);
  const res = await app.request("/hooks/github/secret-scanning", {
    method: "POST",
    headers: await signedGithubAlert(body),
    body,
  });
  const counts = counting.end();
  const events = counting.take("rekey-events") as { type: string }[];
  return { res, json: (await res.json()) as any, counts, events, reads: () => store.reads, deferred };
}

const ofType = (events: { type: string }[], type: string) => events.filter((e) => e.type === type).length;

describe("GitHub alert budget per invocation", () => {
  it("contains the first match on the fast path while the events leave room for it (599 matched credentials)", async () => {
    const s = await scenario(599, 1);
    expect(s.res.status).toBe(200);
    expect(s.json).toHaveLength(600);
    expect(s.json.filter((f: any) => f.label === "true_positive")).toHaveLength(599);
    expect(s.deferred).toHaveLength(1);
    expect(s.counts.queue_sends).toBe(6);
    expect(ofType(s.events, "credential.compromised")).toBe(599);
    expect(ofType(s.events, "alert.received")).toBe(1);
  });

  it("queues every match and skips the fast path when the events need the room (600 matched credentials)", async () => {
    const s = await scenario(600);
    expect(s.res.status).toBe(200);
    expect(s.reads()).toBe(0);
    expect(s.deferred).toHaveLength(0);
    expect(s.counts.queue_sends).toBe(7);
    expect(ofType(s.events, "credential.compromised")).toBe(600);
  });

  it("queues the first 4,799 of 4,800 matched credentials within 48 sends and answers 503", async () => {
    const s = await scenario(4_800);
    expect(s.res.status).toBe(503);
    expect(s.json.error.code).toBe("alert_too_large");
    expect(s.counts.queue_sends).toBe(48);
    expect(s.counts.subrequests).toBeLessThanOrEqual(50);
    expect(ofType(s.events, "credential.compromised")).toBe(4_799);
    expect(ofType(s.events, "alert.received")).toBe(1);
  }, 60_000);
});
