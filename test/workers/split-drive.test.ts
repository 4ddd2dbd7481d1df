/**
 * A compromise rotation split across invocations (issue 20, item 4: CPU per invocation), on the
 * real Worker and bindings (KV, Durable Objects) against the Node-hosted Clarifai emulator:
 *
 * - the signed alert's own invocation (its 202 and its waitUntil work) drives the rotation only up
 *   to containment: the leaked key is deleted at Clarifai and the rotation records it
 *   (`old_revoked`, `contained_at`) and releases its lease, still running, nothing minted;
 * - the queue's delivery of the alert's `credential.compromised` to the rotator, an invocation of
 *   its own, finishes it: the replacement minted, delivered to the sink, verified and promoted.
 *   The leaked key is deleted once in all (the rotator records the early DELETE, and never deletes
 *   again), and the replay is not retried: it found the lease released.
 *
 * The same split holds where containment sits elsewhere in the plan (core/rotation/step-plan.ts
 * `containmentStep`): a self-managed PAT's alert invocation mints its successor and deletes it
 * (create, then revoke_old); a secret's overwrites the secret with a new value (revoke_old, create,
 * propagate), and the rotator verifies and promotes.
 *
 * When every delivery of that replay fails, its dead letter says the rotation is still running and
 * owed to the sweep, and no `rotation.failed` says otherwise; the sweep then finishes it. The death
 * of the sweep's own resume is `rotation.failed`. One whose rotation settled failed raises no second
 * `rotation.failed` of its own: the notice names the rotation as failed, and the engine's own
 * announcements are sent again with the engine's ids, a duplicate for every handler when the
 * engine's send arrived (core/subscribers/dead-work.ts; every rule of it: src/core/subscribers/dead-work.test.ts).
 *
 * The queue is held the way test/workers/github-large-batch.test.ts holds it: the counting env
 * (test/support/counting-env.ts) captures every send, and the test hands the messages to
 * `worker.queue` itself, one message per invocation as wrangler.toml's consumer runs.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { SWEEP_ACTOR } from "../../src/core/audit/actor.ts";
import { deriveId, newEvent } from "../../src/core/bus/new-event.ts";
import { DEFAULT_RETRY } from "../../src/core/rotation/engine-services.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import worker, { type Env, servicesFor } from "../../src/worker.ts";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { countingEnv } from "../support/counting-env.ts";
import { control, emulatorUrl, freshTenant } from "../support/emulator-control.ts";
import { cronTick } from "../support/cron.ts";
import { received } from "../support/receiver.ts";
import { registerManager } from "../support/manager.ts";
import { signedAlert } from "../support/signed-alert.ts";

const SINK = "SPLIT_DRIVE_SINK";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let leaks: ReturnType<typeof canary>;
let leaked: string;
let credentialId: string;

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("split");
  leaks.secrets.push(tenant.manager.id);
  const managerId = await registerManager(tenant);
  const created = await fetch(`${emulatorUrl()}/v2/users/${tenant.userId}/secrets`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Key ${tenant.manager.id}` },
    body: JSON.stringify({ secrets: [{ id: SINK, value: "placeholder-value" }] }),
  });
  expect(created.ok).toBe(true);
  const app = await registerAppKey(tenant, {
    managerId,
    secrets: leaks.secrets,
    sinks: [{ type: "clarifai_secret", user_id: tenant.userId, secret_id: SINK }],
    policy: { grace_hours: 24 },
  });
  leaked = app.key.id;
  credentialId = app.id;
});

type Captured = { type: string; source?: string; id?: string; data: any };

/**
 * The alert's invocation (its 202, then its waitUntil work to its end) with the queue held; then
 * `drain` hands the captured messages to the consumer, one message per invocation, until nothing
 * is left, and says which were retried.
 */
async function alertInvocation(alert: Record<string, unknown>) {
  const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
  const body = JSON.stringify(alert);
  counting.begin("alert");
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://rekey.test/hooks/alerts", {
      method: "POST",
      headers: await signedAlert(body),
      body,
    }) as Request<
      unknown,
      IncomingRequestCfProperties
    >,
    counting.env,
    ctx,
  );
  const answer = await res.text();
  expect(res.status, answer).toBe(202);
  await waitOnExecutionContext(ctx);
  const counts = counting.end();
  const rotationId = JSON.parse(answer).rotation_id as string;
  expect(rotationId).toMatch(/^rot_/);
  const published = counting.take("rekey-events") as Captured[];
  expect(published.map((e) => e.type)).toContain("credential.compromised");
  expect(published.map((e) => e.type)).not.toContain("rotation.completed");
  const drain = async () => {
    const pending = published.map((b) => ({ id: crypto.randomUUID(), timestamp: Date.now(), attempts: 1, body: b }));
    const all = [...published];
    const retried: string[] = [];
    for (let n = 0; pending.length > 0; n++) {
      expect(n, "the consumer never drained the queue").toBeLessThan(100);
      const m = pending.shift()!;
      const batch = createMessageBatch("rekey-events", [m]);
      counting.begin(`queue:${(m.body as Captured).type}`);
      const qctx = createExecutionContext();
      await worker.queue(batch, counting.env, qctx);
      const result = await getQueueResult(batch, qctx);
      counting.end();
      if (result.retryMessages.length > 0) retried.push((m.body as Captured).type);
      expect(counting.take("rekey-events-dlq")).toEqual([]);
      const more = counting.take("rekey-events") as Captured[];
      all.push(...more);
      pending.push(...more.map((b) => ({ id: crypto.randomUUID(), timestamp: Date.now(), attempts: 1, body: b })));
    }
    console.log(
      JSON.stringify({ msg: "split-drive.invocations", alert: counts, queue: counting.invocations.slice(1) }),
    );
    return { all, retried };
  };
  return { rotationId, drain, counting, published };
}

const store = () => new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
const rotation = async (credentialId: string, rotationId: string) =>
  (await store().getRotation(credentialId, rotationId))!.value;
const deletesOf = async (t: typeof tenant, key: string) =>
  (await t.state()).calls.filter((c: any) => c.method === "DELETE" && String(c.path).endsWith(`/keys/${key}`))
    .map((c: any) => c.status);
const mintedBy = async (t: typeof tenant, rotationId: string) =>
  (await t.state()).keys.filter((k: any) => String(k.description).includes(rotationId));

describe("a matched alert's compromise rotation, split at containment", () => {
  it("is contained by the alert's invocation alone and finished by the rotator's queue invocation, one DELETE in all", async () => {
    const sinkValue = async () => (await tenant.state()).secrets.find((s: any) => s.id === SINK)?.value;
    const { rotationId, drain } = await alertInvocation({ value: leaked });

    // Contained: the leaked key is gone at Clarifai, and the rotation says so, still running.
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(leaked);
    expect(await deletesOf(tenant, leaked)).toEqual([200]);
    const contained = await rotation(credentialId, rotationId);
    expect(contained).toMatchObject({ state: "running", reason: "compromise", old_revoked: true });
    expect(contained.contained_at).toBeDefined();
    expect(contained.lease).toBeUndefined(); // released: the rotator's replay leases it at once
    expect(contained.new_value).toBeUndefined(); // nothing minted yet
    // Handed over, once: the sweep's grace for the rotator counts from here (sweep/rules.ts).
    expect(Date.parse(contained.handed_over_at!)).toBeGreaterThanOrEqual(Date.parse(contained.contained_at!));
    expect(await mintedBy(tenant, rotationId)).toEqual([]);
    expect(await sinkValue()).toBe("placeholder-value");

    const { all, retried } = await drain();
    expect(retried).toEqual([]); // the replay found no lease left to wait for

    // Finished by the rotator: the replacement is live, delivered and current; the leaked key was
    // deleted once in all, and containment is still timed from the alert's early DELETE.
    const done = await rotation(credentialId, rotationId);
    expect(done).toMatchObject({ state: "done", old_revoked: true, contained_at: contained.contained_at });
    expect(await deletesOf(tenant, leaked)).toEqual([200]);
    const minted = await mintedBy(tenant, rotationId);
    expect(minted).toHaveLength(1);
    leaks.secrets.push(minted[0].id);
    expect(await sinkValue()).toBe(minted[0].id);
    const cred = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential;
    expect(cred).toMatchObject({ state: "active", current_rotation_id: null });
    expect(cred.last_rotation).toMatchObject({ id: rotationId, state: "done", reason: "compromise" });
    const revoked = all.filter((e) => e.type === "credential.revoked");
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.data.containment_ms).toBe(Date.parse(done.contained_at!) - Date.parse(done.alert_received_at!));
    expect(all.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
    leaks.assertClean([JSON.stringify(all)], 2);
  });

  it("a self-managed PAT: the alert's invocation mints its successor and deletes it (its containment), the rotator delivers and promotes", async () => {
    const t = await freshTenant("split-pat");
    const pat = (await t.mint("personal_access_token", ["All"], "self-managed")).id;
    leaks.secrets.push(pat);
    const reg = await call("POST", "/v1/credentials", { kind: "pat", user_id: t.userId, value: pat });
    expect(reg.status).toBe(201);
    const id = reg.json.credential.id as string;
    const { rotationId, drain } = await alertInvocation({ value: pat });

    expect(await deletesOf(t, pat)).toEqual([200]);
    const contained = await rotation(id, rotationId);
    expect(contained).toMatchObject({ state: "running", step: "propagate", old_revoked: true });
    expect(contained.contained_at).toBeDefined();
    expect(contained.lease).toBeUndefined();
    expect(await mintedBy(t, rotationId)).toHaveLength(1); // create came first: only the old PAT could mint it

    expect((await drain()).retried).toEqual([]);
    const done = await rotation(id, rotationId);
    expect(done).toMatchObject({ state: "done", old_revoked: true, contained_at: contained.contained_at });
    expect(await deletesOf(t, pat)).toEqual([200]);
    const minted = await mintedBy(t, rotationId);
    expect(minted).toHaveLength(1);
    leaks.secrets.push(minted[0].id);
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential).toMatchObject({
      state: "active",
      current_rotation_id: null,
      last_rotation: { id: rotationId, state: "done" },
    });
  });

  it("a secret: the alert's invocation overwrites it with a new value (its containment), the rotator verifies and promotes", async () => {
    const t = await freshTenant("split-secret");
    const manager = await registerManager(t);
    leaks.secrets.push(t.manager.id, "leaked-third-party-value");
    await fetch(`${emulatorUrl()}/v2/users/${t.userId}/secrets`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Key ${t.manager.id}` },
      body: JSON.stringify({ secrets: [{ id: "SPLIT_SECRET", value: "leaked-third-party-value" }] }),
    });
    const reg = await call("POST", "/v1/credentials", {
      kind: "secret",
      user_id: t.userId,
      secret_id: "SPLIT_SECRET",
      manager_id: manager,
      policy: { generator: "random" },
    });
    expect(reg.status, reg.text).toBe(201);
    const id = reg.json.credential.id as string;
    const secretValue = async () => (await t.state()).secrets.find((s: any) => s.id === "SPLIT_SECRET")?.value;
    const { rotationId, drain } = await alertInvocation({ credential_id: id });

    const overwritten = await secretValue();
    expect(overwritten).not.toBe("leaked-third-party-value");
    leaks.secrets.push(overwritten);
    const contained = await rotation(id, rotationId);
    expect(contained).toMatchObject({ state: "running", step: "verify", old_revoked: true });
    expect(contained.lease).toBeUndefined();

    expect((await drain()).retried).toEqual([]);
    expect(await rotation(id, rotationId)).toMatchObject({ state: "done", old_revoked: true });
    expect(await secretValue()).toBe(overwritten);
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential).toMatchObject({
      state: "active",
      current_rotation_id: null,
      last_rotation: { id: rotationId, state: "done" },
    });
  });
});

/**
 * The replay is what finishes a compromise rotation after the alert's containment, so when every
 * one of its deliveries fails (Clarifai refusing the create for the queue's whole retry ladder:
 * 1 + wrangler.toml's `max_retries` 5) its dead letter must not say the rotation failed while it
 * is still running and owed to the sweep (core/subscribers/dead-work.ts): the notice says so, and
 * the sweep then completes it; had the sweep's own resume died, that is `rotation.failed`. One that
 * settled failed was reported failed by the engine itself; the dead letter's copy of that
 * `rotation.failed` (same id) is dropped as a duplicate, so the audit trail says it once.
 */
describe("a replay whose every delivery failed", () => {
  /** A fresh app key with a Clarifai secret sink, contained by its alert's invocation (queue held). */
  async function containedLeak(prefix: string) {
    const t = await freshTenant(prefix);
    leaks.secrets.push(t.manager.id);
    const manager = await registerManager(t);
    const sink = `${prefix.toUpperCase().replaceAll("-", "_")}_SINK`;
    await fetch(`${emulatorUrl()}/v2/users/${t.userId}/secrets`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Key ${t.manager.id}` },
      body: JSON.stringify({ secrets: [{ id: sink, value: "placeholder-value" }] }),
    });
    const reg = await registerAppKey(t, {
      managerId: manager,
      secrets: leaks.secrets,
      sinks: [{ type: "clarifai_secret", user_id: t.userId, secret_id: sink }],
      policy: { grace_hours: 24 },
    });
    const key = reg.key.id;
    const id = reg.id;
    const alert = await alertInvocation({ value: key });
    expect(await rotation(id, alert.rotationId)).toMatchObject({ state: "running", old_revoked: true });
    const replay = alert.published.find((e) => e.type === "credential.compromised")!;
    /** One consumer invocation of `body` on `queue` (the DLQ's is the dead-letter handler); what it published. */
    const deliver = async (queue: string, body: unknown, attempts: number) => {
      const batch = createMessageBatch(queue, [{ id: crypto.randomUUID(), timestamp: new Date(), attempts, body }]);
      const ctx = createExecutionContext();
      alert.counting.begin(`${queue}#${attempts}`);
      await worker.queue(batch, alert.counting.env, ctx);
      const result = await getQueueResult(batch, ctx);
      alert.counting.end();
      return { result, published: alert.counting.take("rekey-events") as Captured[] };
    };
    /**
     * Every delivery of the replay fails: Clarifai refuses `call` at each of its tries in each drive
     * (DEFAULT_RETRY's), retryably.
     */
    const replayDies = async (deliveries: number, call: "create" | "propagate") => {
      await control("faults", {
        ...(call === "create"
          ? { method: "POST", path: `/v2/users/${t.userId}/keys` }
          : { method: "PATCH", path: `/v2/users/${t.userId}/secrets` }),
        count: deliveries * DEFAULT_RETRY.attempts,
        status: 503,
        code: 98004,
      });
      const sideEffects: Captured[] = [];
      for (let attempts = 1; attempts <= deliveries; attempts++) {
        const { result, published } = await deliver("rekey-events", replay, attempts);
        expect(result.retryMessages, `delivery ${attempts} is retried`).toHaveLength(1);
        sideEffects.push(...published);
      }
      // Every refusal was spent on this replay (none is left for the sweep, nor for other files).
      const pending = (await control("faults")).faults.filter((f: any) => f.path.includes(t.userId));
      expect(pending).toEqual([]);
      return sideEffects;
    };
    return { t, id, sink, rotationId: alert.rotationId, leaked: key, replay, deliver, replayDies };
  }

  it("leaves the rotation running with no rotation.failed, its notice says so, and the sweep completes it", {
    timeout: 90_000,
  }, async () => {
    const leak = await containedLeak("dead-replay");
    // Refused at the sink write: a refused create would settle the rotation failed by itself after
    // MAX_CREATE_CALLS (each may have minted a key), a real failure, not this one.
    const before = await leak.replayDies(6, "propagate");
    const running = await rotation(leak.id, leak.rotationId);
    expect(running).toMatchObject({ state: "running", old_revoked: true, step: "propagate" });
    expect(running.lease).toBeUndefined();
    expect(running.next_attempt_at).toBeDefined();

    // Queues moves it to the dead letters: the notice alone, naming the rotation as running.
    const dead = await leak.deliver("rekey-events-dlq", leak.replay, 1);
    expect(dead.published.map((e) => e.type)).toEqual(["event.dead_lettered"]);
    expect(dead.published[0]!.data).toEqual({
      event_type: "credential.compromised",
      event_id: (leak.replay as any).id,
      event_source: "/rekey/hooks/webhook",
      reason: "retries_exhausted",
      rotation_id: leak.rotationId,
      rotation_state: "running",
    });
    // What the dead letter raised, and anything the failed drives did, reaches the auditor and the
    // notifier as in production: Slack says the rotation is still running, nobody says it failed.
    for (const e of [...before, ...dead.published]) await leak.deliver("rekey-events", e, 1);
    const slack = (await received("/slack/incoming")).map((r) => r.body).filter((b) => b.includes(leak.id));
    const notice = slack.filter((b) => b.includes("event.dead_lettered"));
    expect(notice).toHaveLength(1);
    // The push text (the headline) says it too, with no skull: the work did not die.
    expect(JSON.parse(notice[0]!).text).toMatch(
      new RegExp(
        `^:hourglass: Rotation \`${leak.rotationId}\` \\(credential/${leak.id}\\) still running, owed to the sweep`,
      ),
    );
    expect(notice[0]).not.toContain(":skull:");
    expect(notice[0]).toContain(`Rotation \`${leak.rotationId}\` is still running, not failed`);
    expect(slack.filter((b) => b.includes("FAILED"))).toEqual([]);
    const trail = async () =>
      (await call("GET", `/v1/audit?credential_id=${leak.id}&limit=100`)).json.entries.map((e: any) => e.type);
    expect(await trail()).not.toContain("rotation.failed");
    expect(await rotation(leak.id, leak.rotationId)).toMatchObject({ state: "running" });

    // Had the sweep's own resume of it died as well (core/sweep/run.ts publishes it so), that is
    // not "owed to the sweep" again: the sweep was the one trying (review R1, finding 1).
    const resume = newEvent("rotation.requested", {
      credential_id: leak.id,
      rotation_id: leak.rotationId,
      reason: "scheduled",
      mode: "rotate",
      requested_by: SWEEP_ACTOR,
      actor: SWEEP_ACTOR,
    }, { source: "/rekey/cron", subject: `credential/${leak.id}`, now: Date.now() });
    const resumeDead = await leak.deliver("rekey-events-dlq", resume, 1);
    expect(resumeDead.published.map((e) => [e.type, e.data.rotation_id, e.data.rotation_state])).toEqual([
      ["event.dead_lettered", undefined, undefined],
      ["rotation.failed", leak.rotationId, undefined],
    ]);

    // Clarifai answers again: the next cron sweep, once the rotation's retry time has come, resumes
    // it on the real queue and finishes it on a new value.
    await vi.waitUntil(() => Date.now() >= Date.parse(running.next_attempt_at!), { timeout: 10_000, interval: 100 });
    await cronTick();
    await vi.waitUntil(async () => (await rotation(leak.id, leak.rotationId)).state === "done", {
      timeout: 30_000,
      interval: 200,
    });
    const minted = await mintedBy(leak.t, leak.rotationId);
    expect(minted).toHaveLength(1);
    leaks.secrets.push(minted[0].id);
    expect((await leak.t.state()).secrets.find((s: any) => s.id === leak.sink)?.value).toBe(minted[0].id);
    expect(await deletesOf(leak.t, leak.leaked)).toEqual([200]); // contained once, by the alert
    const cred = (await call("GET", `/v1/credentials/${leak.id}`)).json.credential;
    expect(cred).toMatchObject({ state: "active", current_rotation_id: null });
    expect(cred.last_rotation).toMatchObject({ id: leak.rotationId, state: "done", reason: "compromise" });
    await vi.waitUntil(async () => (await trail()).includes("rotation.completed"), { timeout: 20_000, interval: 200 });
    expect(await trail()).not.toContain("rotation.failed");
  });

  it(
    "raises no second rotation.failed when the rotation has settled failed: it re-sends the engine's own, which the audit trail records once",
    {
      timeout: 60_000,
    },
    async () => {
      const leak = await containedLeak("dead-failed");
      await leak.replayDies(1, "create");
      // Another driver then meets a refusal for good (403): the rotation settles failed, and the
      // engine publishes its rotation.failed (settle.ts `finishCredential`) on the real queue.
      await control("faults", { method: "POST", path: `/v2/users/${leak.t.userId}/keys`, status: 403, code: 11007 });
      const engine = await servicesFor(env as Env, createExecutionContext()).engine();
      expect(await driveRotation(engine, leak.id, leak.rotationId)).toMatchObject({ state: "failed" });

      // The dead letter: the notice naming the rotation as failed (before: a second rotation.failed,
      // without the rotation's id; review R1, finding 6), then the engine's own rotation.failed again,
      // same source and id (bus/engine-events.ts), in case the engine's one send was lost.
      const dead = await leak.deliver("rekey-events-dlq", leak.replay, 1);
      // Its old value was revoked (contained), so the engine had sent credential.revoked too.
      expect(dead.published.map((e) => [e.type, e.source])).toEqual([
        ["event.dead_lettered", "/rekey/bus"],
        ["credential.revoked", "/rekey/engine"],
        ["rotation.failed", "/rekey/engine"],
      ]);
      expect(dead.published[0]!.data).toMatchObject({ rotation_id: leak.rotationId, rotation_state: "failed" });
      expect(dead.published[2]).toMatchObject({
        source: "/rekey/engine",
        id: await deriveId("evt", "rotation.failed", leak.rotationId),
        data: { rotation_id: leak.rotationId, step: "create" },
      });
      // The engine's own is in the audit trail, naming the rotation and its step.
      const failed = async () =>
        (await call("GET", `/v1/audit?credential_id=${leak.id}&limit=100`)).json.entries.filter((e: any) =>
          e.type === "rotation.failed"
        );
      await vi.waitUntil(async () => (await failed()).length > 0, { timeout: 20_000, interval: 200 });
      // The dead letter's copy, delivered on the real bindings, is a duplicate for the auditor (the
      // ledger keys a run by source, id and handler): still exactly one entry.
      for (const e of dead.published) await leak.deliver("rekey-events", e, 1);
      expect((await failed()).map((e: any) => [e.source, e.data.rotation_id, e.data.step])).toEqual([
        ["/rekey/engine", leak.rotationId, "create"],
      ]);
    },
  );
});

afterAll(() => {
  // Canary: no secret value (leaked, minted or overwritten) in any response or log line.
  leaks.assertClean([], 2);
});
