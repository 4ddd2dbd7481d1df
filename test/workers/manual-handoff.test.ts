/**
 * A rotation a person asks for (admin API; chat and the dashboard call the same
 * src/core/rotation/request.ts `requestRotation`), on the real Worker and bindings (KV, Durable
 * Objects) against the Node-hosted Clarifai emulator. The request's fast path runs in its own
 * invocation's waitUntil, whose CPU counts against the request (issue 20, item 4): it drives the
 * rotation only up to the hand-off (src/core/rotation/drive.ts `HAND_OFF_AFTER_DELIVERY`,
 * propagate) and the `rotation.requested` the request published, one queue invocation of its own,
 * goes on.
 *
 * - A routine rotation (grace 0): minted and delivered in the request's invocation, verified and
 *   promoted in the event's, which hands off once more (drive.ts `HAND_OFF_AFTER`: revoke_old
 *   deletes at once), and its old value revoked and the rotation announced in that
 *   continuation's.
 * - The event arriving while the fast path still holds the lease: the rotator waits for the lease
 *   (src/core/subscribers/rotator.ts `HOLDER_WAIT_MS`) and ends the rotation, with no retry.
 * - A compromise: the leaked value dies in the request's own invocation, never later.
 * - A revocation: its plan is revoke_old alone, so it ends in the request's own invocation.
 *
 * The queue is held as in test/workers/rotator-continuation.test.ts: the counting env captures
 * every send, and the test hands messages to `worker.queue` itself, one message per invocation.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import worker, { type Env, servicesFor } from "../../src/worker.ts";
import { ADMIN_TOKEN, call } from "../support/api.ts";
import { appKeyWithSink as appKeyWithSinkFor } from "../support/app-key-with-sink.ts";
import { canary } from "../support/canary.ts";
import { countingEnv } from "../support/counting-env.ts";
import { queueInvocation } from "../support/counted-worker.ts";

type Captured = { type: string; source?: string; id?: string; data: any };

let leaks: ReturnType<typeof canary>;
beforeAll(() => {
  leaks = canary();
});

const store = () => new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
const rotation = async (credentialId: string, rotationId: string) =>
  (await store().getRotation(credentialId, rotationId))!.value;

/** A fresh tenant's app key with a Clarifai secret sink (grace 0: revoke_old deletes at once). */
const appKeyWithSink = (prefix: string) =>
  appKeyWithSinkFor(prefix, leaks.secrets, { grace_hours: 0, on_compromise: "rotate" });

const counting = () => countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });

/** One admin request and its waitUntil work, as one invocation; what it answered and published. */
async function adminInvocation(c: ReturnType<typeof counting>, path: string, body: unknown) {
  const ctx = createExecutionContext();
  c.begin(`admin:${path}`);
  try {
    const res = await worker.fetch(
      new Request(`http://rekey.test${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }) as Request<unknown, IncomingRequestCfProperties>,
      c.env,
      ctx,
    );
    const text = await res.text();
    expect(res.status, text).toBe(202);
    await waitOnExecutionContext(ctx);
    return { answer: JSON.parse(text), published: c.take("rekey-events") as Captured[] };
  } finally {
    c.end();
  }
}

/** One consumer invocation of `body` (one message per invocation, as wrangler.toml's consumer runs). */
async function deliver(c: ReturnType<typeof counting>, body: unknown) {
  c.begin(`queue:${(body as Captured).type}`);
  try {
    const result = await queueInvocation(c.env, "rekey-events", body);
    expect(c.take("rekey-events-dlq")).toEqual([]);
    return { retried: result.retryMessages.length > 0, published: c.take("rekey-events") as Captured[] };
  } finally {
    c.end();
  }
}

const requestedIn = (events: Captured[]) =>
  events.filter((e) => e.type === "rotation.requested" && e.source === "/rekey/admin");
/** The rotator's continuations (core/subscribers/rotator.ts), source `/rekey/rotator`. */
const continuationsIn = (events: Captured[]) =>
  events.filter((e) => e.type === "rotation.requested" && e.source === "/rekey/rotator");

describe("a manual rotation's fast path hands off after propagate", () => {
  it("a routine rotation (grace 0): delivered in the request's invocation, promoted in its event's, ended (done, sink new, old revoked) in the continuation's", async () => {
    const k = await appKeyWithSink("man-handoff");
    const c = counting();
    const { answer, published } = await adminInvocation(c, `/v1/credentials/${k.id}/rotate`, {});
    const rotationId = answer.rotation.id as string;
    const requested = requestedIn(published);
    expect(requested).toHaveLength(1);
    expect(requested[0]!.data).toMatchObject({ credential_id: k.id, rotation_id: rotationId, reason: "manual" });
    // The request's invocation stopped at the hand-off: delivered, not verified nor promoted.
    const handed = await rotation(k.id, rotationId);
    expect(handed).toMatchObject({ state: "running", step: "verify" });
    expect(handed.lease).toBeUndefined();
    expect(handed.handed_over_at).toBeDefined();
    const minted = await k.minted(rotationId);
    expect(minted).toHaveLength(1);
    leaks.secrets.push(minted[0].id);
    expect(await k.sinkValue()).toBe(minted[0].id);
    expect(published.map((e) => e.type)).not.toContain("rotation.completed");
    expect(published.filter((e) => e.type === "rotation.requested")).toHaveLength(1); // no second continuation

    // The event's invocation verifies and promotes, then hands the revoke_old (grace 0: a DELETE
    // at once) to the rotator's own continuation.
    const second = await deliver(c, requested[0]);
    expect(second.retried).toBe(false);
    const cont = continuationsIn(second.published);
    expect(cont).toHaveLength(1);
    expect(cont[0]!.data).toMatchObject({ credential_id: k.id, rotation_id: rotationId, reason: "manual" });
    expect(second.published.filter((e) => e.type === "rotation.requested")).toEqual(cont);
    expect(second.published.map((e) => e.type)).not.toContain("rotation.completed");
    const promoted = await rotation(k.id, rotationId);
    expect(promoted).toMatchObject({ state: "running", step: "revoke_old", old_revoked: false });
    expect(promoted.lease).toBeUndefined();
    expect(await k.keys()).toContain(k.key); // not yet: the next invocation's DELETE

    const third = await deliver(c, cont[0]);
    expect(third.retried).toBe(false);
    expect(third.published.filter((e) => e.type === "rotation.requested")).toEqual([]);
    expect(third.published.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done", step: "done", old_revoked: true });
    expect(await k.sinkValue()).toBe(minted[0].id);
    expect(await k.keys()).not.toContain(k.key); // grace 0: revoked at its revoke_old
    expect(await k.keys()).toContain(minted[0].id);
    const cred = (await call("GET", `/v1/credentials/${k.id}`)).json.credential;
    expect(cred).toMatchObject({ state: "active", current_rotation_id: null, last_rotation: { id: rotationId } });
    leaks.assertClean([JSON.stringify([...published, ...second.published, ...third.published])], 2);
  });

  it("its event, arriving while the fast path still holds the lease, waits for the hand-off and drives the rotation on (no retry)", async () => {
    const k = await appKeyWithSink("man-held");
    const engine = await servicesFor(env as Env, createExecutionContext()).engine();
    const begun = await beginRotation(engine, k.id, { reason: "manual", mode: "rotate", requestedBy: "admin" });
    if (!begun.ok) throw new Error(begun.code);
    const rotationId = begun.rotation.id;
    // A fast path holding the lease (as the request's own drive does through create and propagate).
    const cur = (await store().getRotation(k.id, rotationId))!;
    const lease = { owner: "drv_fast_path", until: new Date(Date.now() + 30_000).toISOString() };
    expect(await store().putRotation({ ...cur.value, lease }, cur.version)).not.toBeNull();
    const event = newEvent("rotation.requested", {
      credential_id: k.id,
      rotation_id: rotationId,
      reason: "manual",
      mode: "rotate",
      requested_by: "admin",
      actor: "admin-token",
    }, { source: "/rekey/admin", subject: `credential/${k.id}`, now: Date.now() });
    const c = counting();
    const delivered = deliver(c, event);
    // The fast path hands off 700 ms later: its write releases the lease.
    await new Promise((r) => setTimeout(r, 700));
    const held = (await store().getRotation(k.id, rotationId))!;
    const released = { ...held.value, handed_over_at: new Date().toISOString() };
    delete released.lease;
    expect(await store().putRotation(released, held.version)).not.toBeNull();
    const out = await delivered;
    expect(out.retried).toBe(false); // waited for the lease instead of failing into the queue's backoff
    // This rotation was left at create (no real fast path ran it), so the event's invocation drove
    // create and propagate itself and handed the rest to its own continuation, which verifies and
    // promotes and hands the revoke_old (grace 0) to a second one, which ends it.
    const cont = continuationsIn(out.published);
    expect(cont).toHaveLength(1);
    const second = await deliver(c, cont[0]);
    expect(second.retried).toBe(false);
    const cont2 = continuationsIn(second.published);
    expect(cont2).toHaveLength(1);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "running", step: "revoke_old" });
    expect((await deliver(c, cont2[0])).retried).toBe(false);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done", old_revoked: true });
    leaks.secrets.push(...(await k.minted(rotationId)).map((m: any) => m.id));
    expect(await k.keys()).not.toContain(k.key);
  });

  it("a compromise request: the leaked value dies in the request's own invocation, before any queue invocation", async () => {
    const k = await appKeyWithSink("man-compromise");
    const c = counting();
    const { answer, published } = await adminInvocation(c, `/v1/credentials/${k.id}/rotate`, { reason: "compromise" });
    const rotationId = answer.rotation.id as string;
    expect(await k.keys()).not.toContain(k.key);
    const after = await rotation(k.id, rotationId);
    expect(after).toMatchObject({ reason: "compromise", old_revoked: true });
    expect(after.contained_at).toBeDefined();
    leaks.secrets.push(...(await k.minted(rotationId)).map((m: any) => m.id));
    // Whatever is left (verify, promote) is its event's.
    const requested = requestedIn(published);
    expect(requested).toHaveLength(1);
    const second = await deliver(c, requested[0]);
    expect(second.retried).toBe(false);
    expect(continuationsIn(second.published)).toEqual([]); // a compromise's plan ends at promote
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done" });
    leaks.assertClean([JSON.stringify([...published, ...second.published])], 2);
  });

  it("a revocation ends in the request's own invocation (its plan is revoke_old alone)", async () => {
    const k = await appKeyWithSink("man-revoke");
    const c = counting();
    const { answer } = await adminInvocation(c, `/v1/credentials/${k.id}/revoke`, {});
    expect(await rotation(k.id, answer.rotation.id)).toMatchObject({ state: "done", mode: "revoke" });
    expect(await k.keys()).not.toContain(k.key);
  });
});
