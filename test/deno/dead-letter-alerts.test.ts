/**
 * On Deno, as on Workers (test/workers/dead-letter-alerts.test.ts): an event whose retries run out
 * on the Deno KV queue dies, and the dead-letter handler's `event.dead_lettered` notice reaches
 * Slack and the signed webhook, naming the dead event, never its data. The real consumer, handlers
 * and dead-letter handler (src/deno.ts wires the same), an in-memory Deno KV, and a local receiver
 * (Deno.serve) standing in for Slack and a SIEM.
 */
import assert from "node:assert/strict";
import { DenoKvAuditLog } from "../../src/adapters/deno-kv-audit-log.ts";
import { DenoKvBus } from "../../src/adapters/deno-kv-bus.ts";
import { listenForEvents, type LogRecord } from "../../src/adapters/deno-kv-consumer.ts";
import { DenoKvJobStore } from "../../src/adapters/deno-kv-job-store.ts";
import { DenoKvStats } from "../../src/adapters/deno-kv-stats.ts";
import { DenoKvLedger } from "../../src/adapters/deno-kv-ledger.ts";
import { DenoKvStore } from "../../src/adapters/deno-kv-store.ts";
import { checkConfig } from "../../src/config-check.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { deliveryClaimKey, owedClaimOwner } from "../../src/core/alerts/owed-fetch.ts";
import { onDeadLetter, subscribeAll } from "../../src/core/subscribers/index.ts";
import { buildServices } from "../../src/services.ts";
import { sampleData } from "../support/sample-events.ts";
import { waitFor } from "./wait-for.ts";

// Test-only secrets (the same as test/deno/e2e.test.ts): public, never used outside tests.
const ENV = {
  REKEY_ADMIN_TOKEN: "test-admin-token-0123456789-abcdefghij",
  REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
  REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
  CLARIFAI_API_BASE: "http://127.0.0.1:9",
};

Deno.test("on Deno KV, an event whose retries run out raises a notice that reaches Slack and the webhook", async () => {
  const posts: Array<{ path: string; body: string }> = [];
  // Slack is down until the notice has reached the webhook: the event itself dies of it.
  let slackDown = true;
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    posts.push({ path, body: await req.text() });
    return path === "/slack" && slackDown ? new Response("down", { status: 503 }) : new Response("{}");
  });
  const url = `http://127.0.0.1:${receiver.addr.port}`;
  const check = checkConfig({
    ...ENV,
    SLACK_WEBHOOK_URL: `${url}/slack`,
    OUTBOUND_WEBHOOKS: JSON.stringify([{
      id: "siem",
      url: `${url}/siem`,
      secret: "whsec_c2llbS1zZWNyZXQtZm9yLXRlc3Rz",
    }]),
  });
  assert.ok(check.ok);
  const kv = await Deno.openKv(":memory:");
  const bus = new DenoKvBus(kv);
  const ledger = new DenoKvLedger(kv);
  const services = buildServices({
    config: check.config,
    store: new DenoKvStore(kv),
    bus,
    audit: new DenoKvAuditLog(kv),
    ledger,
    jobs: new DenoKvJobStore(kv),
    stats: new DenoKvStats(kv),
    defer: (work) => void work.catch(() => undefined),
  });
  const logs: LogRecord[] = [];
  const listening = listenForEvents(kv, ledger, {
    subscribe: (d) => subscribeAll(d, services),
    onDeadLetter: (event, info) => onDeadLetter(services, event, info),
  }, { backoff: { baseSeconds: 1, maxSeconds: 60 }, maxRetries: 1, log: (r) => logs.push(r) });
  try {
    const event = newEvent("credential.revoked", sampleData["credential.revoked"], {
      source: "/rekey/engine",
      now: Date.now(),
    });
    await bus.publish(event);
    const isNotice = (p: { path: string; body: string }, path: string) =>
      p.path === path && p.body.includes("event.dead_lettered") && p.body.includes(event.id);
    const hook = await waitFor("the notice at the webhook", () => posts.find((p) => isNotice(p, "/siem")), 20_000);
    slackDown = false;
    const notice = JSON.parse(hook.body);
    assert.equal(notice.type, "event.dead_lettered");
    assert.deepEqual(notice.data, {
      event_type: "credential.revoked",
      event_id: event.id,
      event_source: "/rekey/engine",
      reason: "retries_exhausted",
    });
    assert.deepEqual(
      logs.filter((l) => l.event_id === event.id).map((l) => l.msg),
      ["bus.retry", "bus.dead_letter", "bus.dead_handled"],
    );
    // Slack, back up, gets it on the notice's own retry.
    const slack = await waitFor("the notice at Slack", () => posts.find((p) => isNotice(p, "/slack")), 15_000);
    for (const value of [event.data.credential_id, event.data.fingerprint_prefix, event.data.rotation_id!]) {
      assert.ok(!hook.body.includes(value), `the webhook's notice names ${value}`);
      assert.ok(!slack.body.includes(value), `Slack's notice names ${value}`);
    }
    const audit = await services.audit.list({ type: "event.dead_lettered", limit: 10 });
    assert.deepEqual(audit.items.map((e) => e.id), [notice.id]);
  } finally {
    kv.close();
    await listening;
    await receiver.shutdown();
  }
});

Deno.test("on Deno KV, a dead owed GitHub fetch goes round again while young, and releases its delivery's claim when old", async () => {
  const check = checkConfig(ENV);
  assert.ok(check.ok);
  const kv = await Deno.openKv(":memory:");
  const ledger = new DenoKvLedger(kv);
  const published: string[] = [];
  const bus = new DenoKvBus(kv);
  const services = buildServices({
    config: check.config,
    store: new DenoKvStore(kv),
    bus: {
      publish: (e) => (published.push(e.type), bus.publish(e)),
      publishAll: (es) => (published.push(...es.map((e) => e.type)), bus.publishAll(es)),
    },
    audit: new DenoKvAuditLog(kv),
    ledger,
    jobs: new DenoKvJobStore(kv),
    stats: new DenoKvStats(kv),
    defer: (work) => void work.catch(() => undefined),
  });
  try {
    const data = sampleData["github.alert_fetch_owed"];
    // As the route leaves it once the fetch is queued (src/routes/hooks/github-events.ts).
    const key = deliveryClaimKey(data.delivery_id!);
    assert.equal(await ledger.claim(key, { owner: "own_route", leaseMs: 60_000 }), "new");
    await ledger.complete(key, await owedClaimOwner(data.delivery_id!));
    const owed = (receivedAt: number) =>
      newEvent("github.alert_fetch_owed", { ...data, received_at: new Date(receivedAt).toISOString() }, {
        source: "/rekey/hooks/github",
        now: Date.now(),
      });
    await onDeadLetter(services, owed(Date.now() - 60_000), { reason: "retries_exhausted" });
    assert.deepEqual(published, ["github.alert_fetch_owed"]);
    assert.equal(await ledger.claim(key, { owner: "own_redelivery", leaseMs: 60_000 }), "done");
    // The log line names the alert too (a deployment with no notice target has only it).
    const lines: string[] = [];
    const error = console.error;
    console.error = (line: string) => void lines.push(line);
    try {
      await onDeadLetter(services, owed(Date.now() - 7 * 3_600_000), { reason: "retries_exhausted" });
    } finally {
      console.error = error;
    }
    assert.equal(JSON.parse(lines.find((l) => l.includes('"dead_letter"'))!).github_alert, data.actor);
    assert.deepEqual(published, ["github.alert_fetch_owed", "event.dead_lettered"]);
    // Released: GitHub's redelivery of the delivery claims it anew and is acted on.
    assert.equal(await ledger.claim(key, { owner: "own_redelivery", leaseMs: 60_000 }), "new");
  } finally {
    kv.close();
  }
});
