/**
 * A repository alert whose fetch failed transiently when its webhook came (issue 17 M2;
 * core/alerts/owed-fetch.ts), on the real Worker and bindings (KV, Durable Objects) against the
 * Clarifai and GitHub emulators, invocation by invocation: the request is driven through
 * `worker.fetch` with a counting env whose queues are captured (test/support/counting-env.ts),
 * and each captured event is handed to `worker.queue` one message per invocation, as
 * wrangler.toml's consumer takes them. test/workers/github-events.test.ts runs the same on the
 * real queues (retry, dead letter, notice).
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { countingEnv, invocation } from "../support/counting-env.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { type Delivery, freshOrg, GITHUB_WEBHOOK_SECRET, githubControl, postDelivery } from "../support/github.ts";
import { registerManager } from "../support/manager.ts";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let gh: Awaited<ReturnType<typeof freshOrg>>;
let managerId: string;
let leaks: ReturnType<typeof canary>;
/** Everything the Worker published (every event body, as JSON) and answered. */
const said: string[] = [];
const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });

type Msg = { id: string; timestamp: Date; attempts: number; body: unknown };
const typeOf = (b: unknown) => (b as { type: string }).type;

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("ghowed");
  leaks.secrets.push(tenant.manager.id, GITHUB_WEBHOOK_SECRET);
  gh = await freshOrg("ghowed");
  managerId = await registerManager(tenant);
});

afterAll(() => {
  // Nothing rekey said (answers, logs, every event it published) holds a key or the manager PAT.
  leaks.assertClean(said, 2);
});

async function managedKey(label: string) {
  const { key, id } = await registerAppKey(tenant, {
    managerId,
    label,
    secrets: leaks.secrets,
    policy: { grace_hours: 0, on_compromise: "rotate" },
  });
  return { keyId: key.id, credentialId: id };
}

const request = (d: Delivery) =>
  new Request("http://rekey.test/hooks/github/events", { method: "POST", headers: d.headers, body: d.body });

/** One consumer invocation of `body` (first attempt); returns its counts and what it published. */
async function consume(body: unknown, queue = "rekey-events") {
  const m: Msg = { id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body };
  const batch = createMessageBatch(queue, [m]);
  const { result, counts } = await invocation(counting, `queue:${typeOf(body)}`, async (ctx) => {
    await worker.queue(batch, counting.env, ctx);
    return getQueueResult(batch, ctx);
  });
  const published = counting.take("rekey-events");
  said.push(...published.map((e) => JSON.stringify(e)));
  return { result, counts, published };
}

/** The webhook `d` through the Worker, its queues captured: the answer and what it published. */
async function webhook(d: Delivery, label = "request") {
  const { result: res } = await invocation(
    counting,
    label,
    async (ctx) => worker.fetch(request(d) as Request<unknown, IncomingRequestCfProperties>, counting.env, ctx),
  );
  const text = await res.text();
  said.push(text);
  const events = counting.take("rekey-events");
  said.push(...events.map((e) => JSON.stringify(e)));
  return { status: res.status, json: JSON.parse(text), events: events as any[] };
}

describe("an alert whose fetch GitHub failed (503) when its webhook came", () => {
  it("is queued, and the owed fetch's own invocation deletes the key at Clarifai, within 50 subrequests", async () => {
    const { keyId, credentialId } = await managedKey("owed");
    const alert = await gh.alert(keyId);
    await gh.fault("GET", `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`, { status: 503 }, 1);
    const { result: res } = await invocation(
      counting,
      "request",
      async (ctx) =>
        worker.fetch(request(alert.delivery) as Request<unknown, IncomingRequestCfProperties>, counting.env, ctx),
    );
    const text = await res.text();
    said.push(text);
    expect(res.status, text).toBe(202);
    expect(JSON.parse(text)).toEqual({ status: "queued" });
    const events = counting.take("rekey-events");
    said.push(...events.map((e) => JSON.stringify(e)));
    expect(events.map(typeOf)).toEqual(["github.alert_fetch_owed"]);
    const owed = events[0] as { data: Record<string, unknown> };
    expect(owed.data).toMatchObject({
      actor: `github:${gh.repository}#${alert.number}`,
      alert_number: alert.number,
      installation_id: gh.installation,
      delivery_id: alert.delivery.headers["x-github-delivery"],
    });

    // Its consumer invocation: the alert fetched, the key deleted there (not a queue hop later).
    const first = await consume(owed);
    expect(first.result.retryMessages).toHaveLength(0);
    console.info(JSON.stringify({ msg: "test.owed_fetch_counts", ...first.counts }));
    expect(first.counts.subrequests, JSON.stringify(first.counts)).toBeLessThanOrEqual(50);
    expect((await tenant.state()).keys.some((k: any) => k.id === keyId)).toBe(false);
    expect(first.published.map(typeOf)).toEqual(
      expect.arrayContaining(["credential.compromised", "github.alert_linked", "alert.received"]),
    );

    // The rest, as the consumer runs it, each invocation within the free plan: the rotator's
    // replay of `credential.compromised` finishes the rotation.
    const pending = [...first.published];
    for (let n = 0; pending.length > 0; n++) {
      expect(n, "the consumer never drained the queue").toBeLessThan(200);
      const next = await consume(pending.shift());
      expect(next.counts.subrequests, `${next.counts.label}: ${JSON.stringify(next.counts)}`).toBeLessThanOrEqual(50);
      expect(next.result.retryMessages, next.counts.label).toHaveLength(0);
      pending.push(...next.published);
    }
    const cred = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential;
    expect(cred.last_rotation).toMatchObject({ state: "done", reason: "compromise" });
    const replacement = (await tenant.state()).keys.find((k: any) =>
      String(k.description).includes(cred.last_rotation.id)
    );
    expect(replacement).toBeDefined();
    leaks.secrets.push(replacement.id);
  }, 60_000);

  it("when publishing the owed fetch fails too: the claim is released and the answer is 503, as before", async () => {
    const { keyId } = await managedKey("owed-unpublished");
    const alert = await gh.alert(keyId);
    await gh.fault("GET", `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`, { status: 503 }, 1);
    // The one place a queue is faked: a real binding cannot be made to fail.
    const failing = {
      send: async () => {
        throw new Error("queue unavailable");
      },
      sendBatch: async () => {
        throw new Error("queue unavailable");
      },
    };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      request(alert.delivery) as Request<unknown, IncomingRequestCfProperties>,
      { ...(env as Env), EVENTS: failing as unknown as Queue } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const answer = await res.json() as any;
    said.push(JSON.stringify(answer));
    expect(res.status).toBe(503);
    expect(answer.error.code).toBe("github_unavailable");
    // Released: the redelivery (GitHub answering again) is acted on.
    const later = await postDelivery(alert.delivery);
    expect(later.status, later.text).toBe(202);
    expect(later.json).toMatchObject({ status: "accepted", action: "rotation" });
  });

  it("a repository named with 32 hex characters in a row rides in no event: 503, as before", async () => {
    const { keyId } = await managedKey("owed-hex-repo");
    const repository = `${gh.org}/k${crypto.randomUUID().replace(/-/g, "")}`;
    await githubControl("repos", { full_name: repository });
    const created = await githubControl(`repos/${repository}/alerts`, { secret: keyId, deliver: true });
    await gh.fault("GET", `/repos/${repository}/secret-scanning/alerts/${created.alert.number}`, { status: 503 }, 1);
    const { result: res } = await invocation(
      counting,
      "request (hex repository)",
      async (ctx) =>
        worker.fetch(request(created.delivery) as Request<unknown, IncomingRequestCfProperties>, counting.env, ctx),
    );
    const text = await res.text();
    said.push(text);
    expect(res.status, text).toBe(503);
    expect(JSON.parse(text).error.code).toBe("github_unavailable");
    expect(counting.take("rekey-events")).toEqual([]);
  });
});

describe("an owed fetch: throttling, rounds after its retries, release on its death, one per alert", () => {
  // The client takes a 429, and a 403 that says it is a rate limit (x-ratelimit-remaining: 0, as
  // the emulator's faults send; or retry-after), for throttling (core/github/errors.ts kindOfStatus).
  for (const status of [429, 403]) {
    it(`GitHub throttling the fetch (${status}, rate limit) is queued, not refused`, async () => {
      const { keyId } = await managedKey(`owed-${status}`);
      const alert = await gh.alert(keyId);
      await gh.fault("GET", `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`, { status }, 1);
      const res = await webhook(alert.delivery);
      expect(res.status, JSON.stringify(res.json)).toBe(202);
      expect(res.json).toEqual({ status: "queued" });
      expect(res.events.map(typeOf)).toEqual(["github.alert_fetch_owed"]);
    });
  }

  it("one signed body replayed under new delivery ids within the hour is one owed fetch", async () => {
    const { keyId } = await managedKey("owed-replayed");
    const alert = await gh.alert(keyId);
    await gh.fault("GET", `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`, { status: 503 }, 3);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const replay = { ...alert.delivery, headers: { ...alert.delivery.headers } };
      if (i > 0) replay.headers["x-github-delivery"] = crypto.randomUUID();
      const res = await webhook(replay);
      expect(res.status).toBe(202);
      expect(res.json).toEqual({ status: "queued" });
      ids.push(...res.events.map((e) => e.id));
    }
    // Each delivery claims anew (the HMAC does not cover the delivery id); the event is one id,
    // which the bus runs once per handler (hour buckets: a replay at the turn of the hour is two).
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBeLessThanOrEqual(2);
    if (new Date().getUTCMinutes() !== 59 && new Date().getUTCMinutes() !== 0) expect(new Set(ids).size).toBe(1);
  });

  it(
    "retries run out while young: one new round, no notice; dead for good: a notice and the claim released",
    async () => {
      const { keyId } = await managedKey("owed-rounds");
      const alert = await gh.alert(keyId);
      const path = `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`;
      await gh.fault("GET", path, { status: 503 }, 1);
      const queued = await webhook(alert.delivery);
      expect(queued.json).toEqual({ status: "queued" });
      const owed = queued.events[0];
      // As Queues delivers it to the dead letters after max_retries: the event itself, no failure.
      const young = await consume(owed, "rekey-events-dlq");
      expect(young.result.retryMessages).toHaveLength(0);
      expect(young.published.map(typeOf)).toEqual(["github.alert_fetch_owed"]);
      const round1 = young.published[0] as any;
      expect(round1.id).not.toBe(owed.id);
      expect(round1.data).toEqual({ ...owed.data, round: 1 });
      // Its death in turn is a second round, under an id of its own.
      const again = await consume(round1, "rekey-events-dlq");
      expect(again.published.map((e: any) => [e.type, e.data.round])).toEqual([["github.alert_fetch_owed", 2]]);
      expect((again.published[0] as any).id).not.toBe(round1.id);
      // While it goes round, the delivery stays claimed.
      expect((await postDelivery(alert.delivery)).json).toEqual({ status: "duplicate" });
      // The first delivery and a round, GitHub still down (the rotator's fetch fails, retried):
      // one audit entry for the owed fetch, however many rounds.
      await gh.fault("GET", path, { status: 503 }, 2);
      for (const e of [owed, round1]) expect((await consume(e)).result.retryMessages).toHaveLength(1);
      const entries = (await call("GET", "/v1/audit?type=github.alert_fetch_owed&limit=1000")).json.entries
        .filter((x: any) => x.data.actor === owed.data.actor && x.data.received_at === owed.data.received_at);
      expect(entries).toHaveLength(1);

      // Older than the window: it dies, a notice names the alert, and the claim is released.
      const old = {
        ...round1,
        id: `${round1.id.slice(0, -4)}0ld0`,
        data: { ...round1.data, received_at: new Date(Date.now() - 7 * 3_600_000).toISOString() },
      };
      const dead = await consume(old, "rekey-events-dlq");
      expect(dead.published.map(typeOf)).toEqual(["event.dead_lettered"]);
      expect((dead.published[0] as any).data).toMatchObject({
        event_id: old.id,
        reason: "retries_exhausted",
        github_alert: `github:${gh.repository}#${alert.number}`,
      });
      // GitHub's redelivery of the same delivery is acted on now (the fetch succeeds).
      const redelivered = await postDelivery(alert.delivery);
      expect(redelivered.status, redelivered.text).toBe(202);
      expect(redelivered.json).toMatchObject({ status: "accepted", action: "rotation" });
    },
    60_000,
  );
});
