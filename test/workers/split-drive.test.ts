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
 * The queue is held the way test/workers/github-large-batch.test.ts holds it: the counting env
 * (test/support/counting-env.ts) captures every send, and the test hands the messages to
 * `worker.queue` itself, one message per invocation as wrangler.toml's consumer runs.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import worker, { type Env } from "../../src/worker.ts";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { countingEnv } from "../support/counting-env.ts";
import { emulatorUrl, freshTenant } from "../support/emulator-control.ts";
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

type Captured = { type: string; data: any };

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
  return { rotationId, drain };
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

afterAll(() => {
  // Canary: no secret value (leaked, minted or overwritten) in any response or log line.
  leaks.assertClean([], 2);
});
