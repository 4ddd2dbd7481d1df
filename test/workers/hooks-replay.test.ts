/**
 * Replay protection must not eat a real alert: when containment fails before it is durable (here
 * the bus refuses the event), the webhook-id is released and the sender's retry with the same id
 * is processed; once it succeeded, the same id is refused. The app runs in-process over memory
 * ports so that the bus can be made to fail.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config.ts";
import { MemoryAuditLog } from "../../src/core/audit/memory-audit-log.ts";
import type { BusEvent } from "../../src/core/bus/events.ts";
import { MemoryLedger } from "../../src/core/bus/memory-ledger.ts";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";
import { MemoryJobStore } from "../../src/core/maintenance/job.ts";
import { MemoryStats } from "../../src/core/summary/stats.ts";
import { MemoryStore } from "../../src/core/store/memory-store.ts";
import { buildServices } from "../../src/services.ts";
import { credentialRecord } from "../support/records.ts";

const ALERT_SECRET = "whsec_dGVzdC1hbGVydC13ZWJob29rLXNlY3JldC0zMmJ5dGVzIQ==";

describe("POST /hooks/alerts when containment cannot be recorded (in-memory unit test of the replay logic: memory ports, a bus made to fail)", () => {
  it("releases the webhook-id so the sender's retry is processed, then refuses a replay", async () => {
    const store = new MemoryStore();
    const hex = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
    const rec = credentialRecord({ fingerprint: hex });
    await store.putCredential(rec, null);
    const published: BusEvent[] = [];
    let failNext = true;
    const bus = {
      publish: async (e: BusEvent) => {
        // The containment event, not the engine's own (the fast path runs on in the background).
        if (failNext && e.type === "credential.compromised") {
          failNext = false;
          throw new Error("queue unavailable");
        }
        published.push(e);
      },
      publishAll: async (es: readonly BusEvent[]) => void published.push(...es),
    };
    const services = buildServices({
      config: parseConfig(env as unknown as Record<string, unknown>),
      store,
      bus,
      audit: new MemoryAuditLog(),
      ledger: new MemoryLedger(),
      jobs: new MemoryJobStore(),
      stats: new MemoryStats(),
      defer: () => {},
    });
    const app = createApp(services);
    const body = JSON.stringify({ credential_id: rec.id });
    const id = `msg_${crypto.randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signStandardWebhook({ secret: ALERT_SECRET, id, timestamp, body }),
    };
    const post = () => app.request("/hooks/alerts", { method: "POST", headers, body });

    const first = await post();
    expect(first.status).toBe(500);
    expect(published.filter((e) => e.type === "credential.compromised" || e.type === "alert.received")).toHaveLength(0);
    const retry = await post();
    expect(retry.status).toBe(202);
    expect(published.map((e) => e.type)).toEqual(expect.arrayContaining(["credential.compromised", "alert.received"]));
    const replay = await post();
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as any).error.code).toBe("replayed");
  });
});
