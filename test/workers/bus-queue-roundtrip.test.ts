// Through the real queues and the Worker's own `queue` handler (src/worker.ts): a published event
// reaches the consumer and is acked; a dead event reaches the dead-letter consumer. The Worker's
// handlers are not injectable, so the consumer's structured log line is the observed side effect.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { QueueBus } from "../../src/adapters/queue-bus.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";

afterEach(() => vi.restoreAllMocks());

const lines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls.flatMap((
    c,
  ) => (typeof c[0] === "string" && c[0].startsWith("{") ? [JSON.parse(c[0]) as Record<string, unknown>] : []));

describe("bus over Cloudflare Queues", () => {
  it("delivers published events to the consumer, which acks them", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const bus = new QueueBus(env.EVENTS);
    const events = Array.from(
      { length: 3 },
      () =>
        newEvent("alert.received", sampleData["alert.received"], { source: "/rekey/hooks/github", now: Date.now() }),
    );
    await bus.publish(events[0]!);
    await bus.publishAll(events.slice(1));
    await vi.waitUntil(() => lines(log).filter((l) => l.msg === "bus.ack").length >= 3, {
      timeout: 10_000,
      interval: 50,
    });
    const acked = lines(log).filter((l) => l.msg === "bus.ack");
    expect(acked.map((l) => l.event_id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(acked[0]).toMatchObject({
      queue: "rekey-events",
      type: "alert.received",
      source: "/rekey/hooks/github",
      attempts: 1,
    });
  });

  it("runs the dead-letter consumer for events in rekey-events-dlq", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const e = {
      ...newEvent("rotation.requested", sampleData["rotation.requested"], { source: "/rekey/admin", now: Date.now() }),
      rekeyfailure: "rotator:credential_not_found",
    };
    await env.EVENTS_DLQ.send(e, { contentType: "json" });
    await vi.waitUntil(() => lines(log).some((l) => l.msg === "bus.dead_handled" && l.event_id === e.id), {
      timeout: 10_000,
      interval: 50,
    });
    expect(lines(log).find((l) => l.event_id === e.id && l.msg === "bus.dead_handled")).toMatchObject({
      queue: "rekey-events-dlq",
      reason: "permanent",
      failure: "rotator:credential_not_found",
    });
  });

  it("chunks a large publishAll into batches of at most 100", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const events = Array.from(
      { length: 250 },
      () => newEvent("sweep.batch", sampleData["sweep.batch"], { source: "/rekey/cron", now: Date.now() }),
    );
    await new QueueBus(env.EVENTS).publishAll(events);
    const ids = new Set(events.map((e) => e.id));
    await vi.waitUntil(
      () => lines(log).filter((l) => l.msg === "bus.ack" && ids.has(l.event_id as string)).length === 250,
      {
        timeout: 20_000,
        interval: 100,
      },
    );
  });

  it("splits a large publishAll by bytes too, so no sendBatch passes Queues' 256 KB", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    // 12 events of about 25 KB: far fewer than 100, but about 300 KB together, more than one
    // sendBatch takes (and than Miniflare's own 288 KB check lets through). rekey's own events stay
    // under 2 KB; what the schema lets grow is an ISO time's fraction of a second, so that is padded.
    const expiresAt = `2026-09-01T10:00:00.${"0".repeat(24_000)}Z`;
    const events = Array.from(
      { length: 12 },
      () =>
        newEvent("credential.expiring", { ...sampleData["credential.expiring"], expires_at: expiresAt }, {
          source: "/rekey/cron",
          now: Date.now(),
        }),
    );
    // The real binding, with each sendBatch's size written down on the way.
    const batches: Array<{ messages: number; bytes: number }> = [];
    const recording = new Proxy(env.EVENTS, {
      get(target, prop) {
        if (prop !== "sendBatch") {
          return (Reflect.get(target, prop, target) as (...a: unknown[]) => unknown).bind(target);
        }
        return (messages: MessageSendRequest[], opts?: QueueSendBatchOptions) => {
          batches.push({
            messages: messages.length,
            bytes: messages.reduce((n, m) => n + JSON.stringify(m.body).length, 0),
          });
          return target.sendBatch(messages, opts);
        };
      },
    });
    await new QueueBus(recording).publishAll(events);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.reduce((n, b) => n + b.messages, 0)).toBe(12);
    // Queues counts about 100 bytes of metadata per message against the 256 KB (1 KB = 1,000 B).
    for (const b of batches) expect(b.bytes + 100 * b.messages).toBeLessThanOrEqual(256_000);

    const ids = new Set(events.map((e) => e.id));
    await vi.waitUntil(
      () => lines(log).filter((l) => l.msg === "bus.ack" && ids.has(l.event_id as string)).length === 12,
      { timeout: 20_000, interval: 100 },
    );
  });
});
