/**
 * A human hears of every dead event (issue 16, item 3), on the real Worker's consumers
 * (src/worker.ts `queue`), real Queues and the local receiver standing in for Slack and the SIEM
 * webhook (vitest.config.ts's SLACK_WEBHOOK_URL and OUTBOUND_WEBHOOKS):
 * - retries exhausted: a handler that keeps failing retryably is retried by Queues until its
 *   `max_retries` run out, Queues moves the message to the real `rekey-events-dlq`, and the
 *   dead-letter consumer raises an `event.dead_lettered` notice that reaches both targets;
 * - every event type that dies raises one, naming its type and id, never its data;
 * - a dead notice is only logged: it raises no notice about itself.
 *
 * The exhaustion runs on `rekey-events-short-retries` (vitest.config.ts): the same consumer, DLQ and
 * backoff as `rekey-events`, with 2 retries instead of 5 (3 s of backoff instead of 31 s).
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { afterAll, describe, expect, it, vi } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { QueueBus } from "../../src/adapters/queue-bus.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { sealReply } from "../../src/core/chatops/reply.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import { type BusEvent, eventTypes } from "../../src/core/bus/events.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { verifyStandardWebhook } from "../../src/core/inbound/standard-webhooks.ts";
import { sampleData } from "../support/sample-events.ts";
import { countingEnv } from "../support/counting-env.ts";
import { received } from "../support/receiver.ts";
import { credentialRecord, rotationRecord } from "../support/records.ts";
import { untilQuiet } from "../support/quiet.ts";
import { call } from "../support/api.ts";

// vitest.config.ts's OUTBOUND_WEBHOOKS secret for the "siem" target.
const SIEM_SECRET = "whsec_dGVzdC1vdXRib3VuZC13ZWJob29rLXNlY3JldCE=";

const logs: string[] = [];
for (const level of ["log", "warn", "error"] as const) {
  vi.spyOn(console, level).mockImplementation((line: unknown) => void logs.push(String(line)));
}
afterAll(async () => {
  // Retries of other messages may still be landing: let them finish inside this file.
  await untilQuiet(logs, { quietMs: 1_500 });
  vi.restoreAllMocks();
});

/** What the SIEM webhook and Slack got (the receiver keeps every file's posts): read once, searched for many events. */
async function posted() {
  const [hooks, slack] = await Promise.all([received("/outbound/siem"), received("/slack/incoming")]);
  return { hooks, slack };
}

// The event's own messages name its id too: a notice is the one of type event.dead_lettered.
const isNotice = (id: string) => (r: { body: string }) => r.body.includes(id) && r.body.includes("event.dead_lettered");

/** Whether both targets have the notice of each of `ids`. */
async function notified(ids: readonly string[]): Promise<boolean> {
  const { hooks, slack } = await posted();
  return ids.every((id) => hooks.some(isNotice(id)) && slack.some(isNotice(id)));
}

/** The notices the SIEM webhook got for the dead event `id` (signature checked), and Slack's posts of it. */
async function noticesOf(id: string, all: Awaited<ReturnType<typeof posted>>) {
  const notices = [];
  for (const r of all.hooks.filter(isNotice(id))) {
    const signed = await verifyStandardWebhook({
      secret: SIEM_SECRET,
      id: r.headers["webhook-id"],
      timestamp: r.headers["webhook-timestamp"],
      signature: r.headers["webhook-signature"],
      body: new TextEncoder().encode(r.body),
      now: Math.floor(Date.now() / 1000),
    });
    expect(signed.ok, "the SIEM webhook's signature").toBe(true);
    notices.push(JSON.parse(r.body) as BusEvent);
  }
  return { notices, slack: all.slack.filter(isNotice(id)).map((r) => r.body) };
}

/** The event's data values that would give it away (ids, prefixes, cursors, codes, times): none may be in a notice. */
const telltales = (event: BusEvent) =>
  Object.values(event.data as Record<string, unknown>).filter((v): v is string =>
    typeof v === "string" && v.length >= 8
  );

describe("an event whose retries run out", () => {
  it("goes through real Queues into the real DLQ, and Slack and the SIEM webhook are told which event died", {
    timeout: 90_000,
  }, async () => {
    // A completed rotation whose chat reply target cannot be reached (nothing listens on port 9):
    // the chat replier fails retryably on every delivery, the other handlers succeed once.
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const keys = parseKeyring(env.REKEY_ENCRYPTION_KEYS);
    if (!keys.ok) throw new Error("test keyring");
    const rec = credentialRecord();
    const rot = rotationRecord(rec.id, { state: "done", step: "done" });
    await store.putCredential(rec, null);
    await store.putRotation({
      ...rot,
      replies: [await sealReply(keys.value, rot.id, { platform: "slack", url: "http://127.0.0.1:9/never" })],
    }, null);
    const event = newEvent("rotation.completed", {
      ...sampleData["rotation.completed"],
      credential_id: rec.id,
      rotation_id: rot.id,
    }, { source: "/rekey/engine", now: Date.now() });

    await new QueueBus((env as unknown as { EVENTS_SHORT_RETRIES: Queue }).EVENTS_SHORT_RETRIES).publish(event);
    await vi.waitUntil(() => notified([event.id]), { timeout: 60_000, interval: 100 });

    // Three deliveries on the main queue (1 + max_retries 2), each retried with the backoff, then
    // the dead-letter consumer, once.
    const lines = logs.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((l) =>
      l.event_id === event.id
    );
    expect(lines.filter((l) => l.msg === "bus.retry").map((l) => [l.queue, l.attempts, l.delay_seconds])).toEqual([
      ["rekey-events-short-retries", 1, 1],
      ["rekey-events-short-retries", 2, 2],
      ["rekey-events-short-retries", 3, 4],
    ]);
    expect(lines.filter((l) => l.msg === "bus.dead_handled")).toMatchObject([{
      queue: "rekey-events-dlq",
      reason: "retries_exhausted",
    }]);

    const { notices, slack } = await noticesOf(event.id, await posted());
    expect(notices).toHaveLength(1);
    expect(notices[0]!.source).toBe("/rekey/bus");
    expect(notices[0]!.data).toEqual({
      event_type: "rotation.completed",
      event_id: event.id,
      event_source: "/rekey/engine",
      reason: "retries_exhausted",
    });
    expect(slack).toHaveLength(1);
    expect(slack[0]).toContain("rotation.completed");
    expect(slack[0]).toContain("retries ran out");
    for (const value of [...telltales(event), rec.id]) {
      expect(JSON.stringify(notices[0]), value).not.toContain(value);
      expect(slack[0], value).not.toContain(value);
    }
    // The audit trail keeps the notice as well.
    const audit = await call("GET", "/v1/audit?type=event.dead_lettered&limit=100");
    expect(audit.json.entries.map((e: { id: string }) => e.id)).toContain(notices[0]!.id);
  });
});

describe("every event type", () => {
  // The notice's own type is the one exception, below.
  const types = eventTypes.filter((t) => t !== "event.dead_lettered");

  it("raises a notice naming the dead event's type and id, never its data", { timeout: 90_000 }, async () => {
    const dead = types.map((type, i) => {
      // A chunk that ran out of retries goes round again while under an hour old: this one is older.
      const now = type === "github.tokens_deferred" ? Date.now() - 2 * 3_600_000 : Date.now();
      const event: BusEvent = newEvent(type, sampleData[type] as never, { source: "/rekey/test", now });
      // Half died of a permanent failure (forwarded with its reason), half ran out of retries.
      return i % 2 === 0 ? { ...event, rekeyfailure: "sweeper:storage_unavailable" } : event;
    });
    await env.EVENTS_DLQ.sendBatch(dead.map((body) => ({ body, contentType: "json" as const })));

    const want = (e: BusEvent) => ({
      event_type: e.type,
      event_id: e.id,
      event_source: "/rekey/test",
      ...(e.rekeyfailure
        ? { reason: "permanent", handler: "sweeper", error_code: "storage_unavailable" }
        : { reason: "retries_exhausted" }),
      // A dead chunk names its alert and how many tokens went unmatched (never the tokens).
      ...(e.type === "github.tokens_deferred" ? { alert_id: e.data.alert_id, token_count: e.data.token_count } : {}),
      // A dead owed fetch names the repository's alert whose secret may not have been read or contained.
      ...(e.type === "github.alert_fetch_owed" ? { github_alert: e.data.actor } : {}),
    });
    await vi.waitUntil(() => notified(dead.map((e) => e.id)), { timeout: 60_000, interval: 200 });

    const all = await posted();
    for (const e of dead) {
      const { notices, slack } = await noticesOf(e.id, all);
      expect(notices.map((n) => n.data), e.type).toEqual([want(e)]);
      expect(slack, e.type).toHaveLength(1);
      expect(slack[0], e.type).toContain(`${e.type}\``);
      expect(slack[0], e.type).toContain(e.id);
      if (e.rekeyfailure) expect(slack[0], e.type).toContain("sweeper");
      if (e.type === "github.alert_fetch_owed") {
        expect(slack[0]).toContain(`GitHub alert \`${e.data.actor.slice("github:".length)}\``);
      }
      // What a notice names on purpose: a dead chunk's alert id, a dead owed fetch's alert.
      const named = (v: string) =>
        (e.type === "github.tokens_deferred" && v === e.data.alert_id) ||
        (e.type === "github.alert_fetch_owed" && v === e.data.actor);
      for (const value of telltales(e).filter((v) => !named(v))) {
        expect(JSON.stringify(notices[0]), `${e.type}: ${value}`).not.toContain(value);
        expect(slack[0], `${e.type}: ${value}`).not.toContain(value);
      }
    }
  });

  it("but a dead notice is only logged: it raises no notice about itself", async () => {
    const counting = countingEnv({ ...env } as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
    const deliver = async (body: BusEvent) => {
      const batch = createMessageBatch("rekey-events-dlq", [{
        id: `m-${body.id}`,
        timestamp: new Date(),
        attempts: 1,
        body,
      }]);
      const ctx = createExecutionContext();
      counting.begin(body.type);
      await worker.queue(batch, counting.env, ctx);
      const result = await getQueueResult(batch, ctx);
      counting.end();
      expect(result.explicitAcks).toEqual([`m-${body.id}`]);
      return counting.take("rekey-events") as BusEvent[];
    };
    const sweep = newEvent("sweep.batch", sampleData["sweep.batch"], { source: "/rekey/cron", now: Date.now() });
    const raised = await deliver(sweep);
    expect(raised.map((e) => [e.type, (e.data as { event_id?: string }).event_id])).toEqual([
      ["event.dead_lettered", sweep.id],
    ]);
    expect(await deliver(raised[0]!)).toEqual([]);
    expect(logs.some((l) => l.includes('"msg":"dead_letter"') && l.includes(raised[0]!.id))).toBe(true);
  });
});
