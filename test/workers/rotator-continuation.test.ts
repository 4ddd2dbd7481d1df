/**
 * The rotator's split (issue 20, item 4: CPU per invocation), on the real Worker and bindings (KV,
 * Durable Objects) against the Node-hosted Clarifai emulator: a rotator invocation that delivers a
 * rotation's replacement itself (propagate) hands verify, promote and a routine plan's revoke_old
 * to a continuation, `rotation.requested` naming the rotation (source `/rekey/rotator`), and that
 * event's own invocation finishes it (src/core/subscribers/rotator.ts `HAND_OFF_AFTER`,
 * src/core/rotation/drive.ts `handOff`).
 *
 * - A routine rotation: delivered in the first invocation, verified, promoted and announced in
 *   the continuation's.
 * - A routine rotation an alert escalated (rotation/begin.ts `escalate`): its old value is the
 *   leaked one and dies only at its revoke_old, last in a routine plan, so it is never split: the
 *   rotator's one invocation drives it to the end (drive.ts `mayHandOff`), whether that invocation
 *   is the routine request's or the alert's replay of `credential.compromised`.
 * - A crash between the release of the lease and the continuation's publish (here: the publish
 *   fails): the handled message is retried by the queue, and its redelivery finishes the
 *   rotation; the sweep also resumes it once `HANDOFF_GRACE_MS` has passed since the handover.
 * - A routine rotation whose revoke_old deletes at once (grace 0) is split once more, after
 *   promote: the first continuation verifies and promotes and publishes a second, whose own
 *   invocation deletes the old value and announces the rotation (drive.ts `HAND_OFF_AFTER`), with
 *   the same crash coverage; with a grace period (24 h, above) revoke_old only owes the value to
 *   the sweep and the first continuation ends the rotation. A compromise has no revoke_old after
 *   its promote and ends in its first continuation; an escalated routine rotation never waits.
 *
 * The queue is held as in test/workers/split-drive.test.ts: the counting env captures every send,
 * and the test hands messages to `worker.queue` itself, one message per invocation.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { SWEEP_ACTOR } from "../../src/core/audit/actor.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { fingerprintPrefix } from "../../src/core/crypto/fingerprint.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import { dueActions, HANDOFF_GRACE_MS } from "../../src/core/sweep/rules.ts";
import worker, { type Env, servicesFor } from "../../src/worker.ts";
import { call } from "../support/api.ts";
import { appKeyWithSink as appKeyWithSinkFor } from "../support/app-key-with-sink.ts";
import { canary } from "../support/canary.ts";
import { countingEnv } from "../support/counting-env.ts";

type Captured = { type: string; source?: string; id?: string; data: any };

let leaks: ReturnType<typeof canary>;
beforeAll(() => {
  leaks = canary();
});

const store = () => new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
const rotation = async (credentialId: string, rotationId: string) =>
  (await store().getRotation(credentialId, rotationId))!.value;

/** A fresh tenant's app key with a Clarifai secret sink (grace 24 h unless `policy` says otherwise). */
const appKeyWithSink = (prefix: string, policy: Record<string, unknown> = { grace_hours: 24 }) =>
  appKeyWithSinkFor(prefix, leaks.secrets, policy);
/** Grace 0: revoke_old deletes the old value at once (as the bench's and manual-handoff's keys). */
const GRACE_0 = { grace_hours: 0, on_compromise: "rotate" };

/**
 * One consumer invocation of each message in turn (as wrangler.toml's consumer runs: one message
 * per invocation), on a counting env whose event queue is captured. `failContinuation`: the
 * rotator's continuation cannot be published (its send throws), as if the isolate died there.
 */
function queueHarness() {
  const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
  let failContinuation = false;
  const events = counting.env.EVENTS;
  const failing = new Proxy(events, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (prop !== "send" && prop !== "sendBatch") return typeof v === "function" ? v.bind(target) : v;
      return async (arg: any, opts?: any) => {
        const bodies: Captured[] = prop === "send" ? [arg] : [...arg].map((m: any) => m.body);
        if (failContinuation && bodies.some((b) => b.type === "rotation.requested" && b.source === "/rekey/rotator")) {
          throw new Error("queue send failed (test)");
        }
        return (v as (...a: unknown[]) => unknown).call(target, arg, opts);
      };
    },
  });
  // A separate env object: the Worker memoises its services per env (src/worker.ts).
  const failingEnv = { ...counting.env, EVENTS: failing } as Env;
  /** One invocation of `body`; what it published, and whether it was retried. */
  const deliver = async (
    body: unknown,
    attempts = 1,
    opts: { failContinuation?: boolean; queue?: "rekey-events" | "rekey-events-dlq" } = {},
  ) => {
    failContinuation = !!opts.failContinuation;
    const batch = createMessageBatch(opts.queue ?? "rekey-events", [{
      id: crypto.randomUUID(),
      timestamp: new Date(),
      attempts,
      body,
    }]);
    const ctx = createExecutionContext();
    counting.begin(`queue:${(body as Captured).type}`);
    try {
      await worker.queue(batch, failContinuation ? failingEnv : counting.env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(counting.take("rekey-events-dlq")).toEqual([]);
      return { retried: result.retryMessages.length > 0, published: counting.take("rekey-events") as Captured[] };
    } finally {
      counting.end();
      failContinuation = false;
    }
  };
  return { deliver };
}

const continuationsIn = (events: Captured[]) =>
  events.filter((e) => e.type === "rotation.requested" && e.source === "/rekey/rotator");

/** The `rotation.requested` an admin's request publishes (core/rotation/request.ts), for `rotationId`. */
const requested = (credentialId: string, rotationId: string | undefined, by = "admin") =>
  newEvent("rotation.requested", {
    credential_id: credentialId,
    ...(rotationId ? { rotation_id: rotationId } : {}),
    reason: by === SWEEP_ACTOR ? "scheduled" : "manual",
    mode: "rotate",
    requested_by: by,
    actor: by === SWEEP_ACTOR ? SWEEP_ACTOR : "admin-token",
  }, {
    source: by === SWEEP_ACTOR ? "/rekey/cron" : "/rekey/admin",
    subject: `credential/${credentialId}`,
    now: Date.now(),
  });

/** A routine (manual) rotation begun and not driven: what an admin's request leaves when its fast path dies. */
async function begunRoutine(credentialId: string) {
  const engine = await servicesFor(env as Env, createExecutionContext()).engine();
  const begun = await beginRotation(engine, credentialId, { reason: "manual", mode: "rotate", requestedBy: "admin" });
  expect(begun.ok).toBe(true);
  return { engine, rotationId: (begun as Extract<typeof begun, { ok: true }>).rotation.id };
}

/** The alert's `credential.compromised` for credential `id`'s current value, as a webhook alert publishes it. */
async function compromisedEventOf(id: string) {
  const rec = (await store().getCredential(id))!.value;
  return newEvent("credential.compromised", {
    credential_id: id,
    fingerprint_prefix: fingerprintPrefix(rec.fingerprint),
    alert_source: "webhook",
    reason: "named_in_alert",
  }, { source: "/rekey/hooks/webhook", subject: `credential/${id}`, now: Date.now() });
}

/**
 * The sweep's rules (core/sweep/rules.ts) on the records as stored: a handed-over rotation `left` is
 * left alone within HANDOFF_GRACE_MS of its handover and resumed, for `why`, once it has passed.
 */
async function expectResumedAfterGrace(credentialId: string, left: Rotation, why: string) {
  const rec = (await store().getCredential(credentialId))!.value;
  const handedAt = Date.parse(left.handed_over_at!);
  expect(dueActions(rec, handedAt + HANDOFF_GRACE_MS - 1, left).filter((a) => a.action === "resume")).toEqual([]);
  expect(dueActions(rec, handedAt + HANDOFF_GRACE_MS, left)).toContainEqual(expect.objectContaining({
    rule: "stuck_rotation",
    action: "resume",
    reason: `rotation ${left.id} ${why}`,
  }));
}

describe("the rotator's split after propagate", () => {
  it("a routine rotation: the first invocation delivers and hands off, the continuation's verifies, promotes and announces", async () => {
    const k = await appKeyWithSink("cont-routine");
    const q = queueHarness();
    // The sweep's request names no rotation: the rotator begins it, and drives it through propagate.
    const first = await q.deliver(requested(k.id, undefined, SWEEP_ACTOR));
    expect(first.retried).toBe(false);
    const cont = continuationsIn(first.published);
    expect(cont).toHaveLength(1);
    const rotationId = cont[0]!.data.rotation_id as string;
    expect(cont[0]!.data).toMatchObject({ credential_id: k.id, reason: "scheduled", mode: "rotate" });
    const handed = await rotation(k.id, rotationId);
    expect(handed).toMatchObject({ state: "running", step: "verify", reason: "scheduled" });
    expect(handed.lease).toBeUndefined(); // released by the write that recorded propagate
    expect(handed.handed_over_at).toBeDefined();
    const minted = await k.minted(rotationId);
    expect(minted).toHaveLength(1);
    leaks.secrets.push(minted[0].id);
    expect(await k.sinkValue()).toBe(minted[0].id); // delivered in the first invocation
    expect(first.published.map((e) => e.type)).not.toContain("rotation.completed");

    const second = await q.deliver(cont[0]);
    expect(second.retried).toBe(false);
    expect(continuationsIn(second.published)).toEqual([]); // no second hand-off
    expect(second.published.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done", step: "done" });
    const cred = (await call("GET", `/v1/credentials/${k.id}`)).json.credential;
    expect(cred).toMatchObject({ state: "active", current_rotation_id: null, last_rotation: { id: rotationId } });
    // Routine: the old value stays live for its grace period (owed to the sweep), as before the split.
    expect(await k.keys()).toContain(k.key);
    leaks.assertClean([JSON.stringify([...first.published, ...second.published])], 2);
  });

  it("a continuation whose every delivery failed: its dead letter names the rotation as running, owed to the sweep, not failed", async () => {
    const k = await appKeyWithSink("cont-dead");
    const q = queueHarness();
    const first = await q.deliver(requested(k.id, undefined, SWEEP_ACTOR));
    const cont = continuationsIn(first.published)[0]!;
    const rotationId = cont.data.rotation_id as string;
    leaks.secrets.push(...(await k.minted(rotationId)).map((m: any) => m.id));
    // Queues moves it to the dead letters (core/subscribers/dead-work.ts): not the sweep's own
    // resume (its source is the rotator's), so the sweep finishing it is believed.
    const dead = await q.deliver(cont, 1, { queue: "rekey-events-dlq" });
    expect(dead.published.map((e) => e.type)).toEqual(["event.dead_lettered"]);
    expect(dead.published[0]!.data).toMatchObject({
      event_type: "rotation.requested",
      event_source: "/rekey/rotator",
      rotation_id: rotationId,
      rotation_state: "running",
    });
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "running", step: "verify" });
    // And it is finished by the next driver (here the sweep's resume), on the value delivered.
    expect((await q.deliver(requested(k.id, rotationId, SWEEP_ACTOR))).retried).toBe(false);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done" });
  });

  it("a routine rotation an alert escalated is driven through its revoke_old by the routine request's one invocation: containment is not deferred", async () => {
    const k = await appKeyWithSink("cont-escalated-req");
    const { engine, rotationId } = await begunRoutine(k.id);
    // An alert joins it (the alert's contain, core/alerts/contain.ts): the routine rotation takes
    // the compromise reason (begin.ts `escalate`), its old value, the leaked one, still live.
    const rec = (await store().getCredential(k.id))!.value;
    const joined = await beginRotation(engine, k.id, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "webhook",
      expectedFingerprint: rec.fingerprint,
      alertReceivedAt: Date.now(),
    });
    expect(joined).toMatchObject({ ok: true, joined: true, rotation: { id: rotationId, reason: "compromise" } });

    const q = queueHarness();
    const out = await q.deliver(requested(k.id, rotationId));
    expect(out.retried).toBe(false);
    // No hand-off: the one invocation went on through verify, promote and revoke_old.
    expect(continuationsIn(out.published)).toEqual([]);
    const done = await rotation(k.id, rotationId);
    expect(done).toMatchObject({ state: "done", reason: "compromise", old_revoked: true });
    expect(done.contained_at).toBeDefined();
    expect(await k.keys()).not.toContain(k.key); // the leaked value is dead by the invocation's end
    expect(await k.deletes()).toEqual([200]);
    expect(out.published.filter((e) => e.type === "credential.revoked")).toHaveLength(1);
    const minted = await k.minted(rotationId);
    leaks.secrets.push(...minted.map((m: any) => m.id));
    expect(await k.sinkValue()).toBe(minted[0].id);
  });

  it("a routine rotation the alert's replay escalates is driven through its revoke_old in the replay's one invocation", async () => {
    const k = await appKeyWithSink("cont-escalated-replay");
    const { rotationId } = await begunRoutine(k.id);
    // The alert's replay joins (and escalates) it itself (core/alerts/pipeline.ts `replayCompromise`).
    const compromised = await compromisedEventOf(k.id);

    const q = queueHarness();
    const out = await q.deliver(compromised);
    expect(out.retried).toBe(false);
    expect(continuationsIn(out.published)).toEqual([]);
    const done = await rotation(k.id, rotationId);
    expect(done).toMatchObject({ state: "done", reason: "compromise", old_revoked: true });
    expect(await k.keys()).not.toContain(k.key);
    expect(await k.deletes()).toEqual([200]);
    const minted = await k.minted(rotationId);
    leaks.secrets.push(...minted.map((m: any) => m.id));
  });

  it("a lost continuation (its publish fails after the lease's release): the message is retried and its redelivery finishes the rotation", async () => {
    const k = await appKeyWithSink("cont-lost-redeliver");
    const { rotationId } = await begunRoutine(k.id);
    const q = queueHarness();
    const request = requested(k.id, rotationId);
    const first = await q.deliver(request, 1, { failContinuation: true });
    expect(first.retried).toBe(true); // not acked: the queue delivers it again
    expect(continuationsIn(first.published)).toEqual([]);
    const left = await rotation(k.id, rotationId);
    expect(left).toMatchObject({ state: "running", step: "verify" });
    expect(left.lease).toBeUndefined();
    expect(left.handed_over_at).toBeDefined();
    const minted = await k.minted(rotationId);
    leaks.secrets.push(...minted.map((m: any) => m.id));

    const again = await q.deliver(request, 2);
    expect(again.retried).toBe(false);
    expect(continuationsIn(again.published)).toEqual([]); // it drove on from verify: nothing to hand off
    expect(again.published.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done" });
    expect(await k.minted(rotationId)).toHaveLength(1);
    expect(await k.sinkValue()).toBe(minted[0].id);
  });

  it("a lost continuation: the sweep resumes the handed-over rotation once HANDOFF_GRACE_MS has passed, and its resume finishes it", async () => {
    const k = await appKeyWithSink("cont-lost-sweep");
    const { rotationId } = await begunRoutine(k.id);
    const q = queueHarness();
    expect((await q.deliver(requested(k.id, rotationId), 1, { failContinuation: true })).retried).toBe(true);
    const left = await rotation(k.id, rotationId);
    expect(left).toMatchObject({ state: "running", step: "verify" });
    // The sweep's rules (core/sweep/rules.ts), on the records as stored: left alone within the
    // grace (the continuation, or the message's redelivery, normally leases it first), resumed after.
    await expectResumedAfterGrace(
      k.id,
      left,
      "was delivered and handed to the rotator's continuation, which has not finished it",
    );
    // What the sweep publishes for it (core/sweep/run.ts): its resume, naming the rotation.
    const resume = await q.deliver(requested(k.id, rotationId, SWEEP_ACTOR));
    expect(resume.retried).toBe(false);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done" });
    const minted = await k.minted(rotationId);
    expect(minted).toHaveLength(1);
    leaks.secrets.push(minted[0].id);
    expect(await k.sinkValue()).toBe(minted[0].id);
  });
});

describe("the rotator's second hand-off, after promote, when revoke_old deletes at once (grace 0)", () => {
  /** The sweep's request and the first continuation: the rotation promoted and handed to a second one. */
  async function promotedAndHandedOver(prefix: string, opts: { failSecond?: boolean } = {}) {
    const k = await appKeyWithSink(prefix, GRACE_0);
    const q = queueHarness();
    const first = await q.deliver(requested(k.id, undefined, SWEEP_ACTOR));
    expect(first.retried).toBe(false);
    const c1 = continuationsIn(first.published);
    expect(c1).toHaveLength(1);
    const rotationId = c1[0]!.data.rotation_id as string;
    const minted = await k.minted(rotationId);
    expect(minted).toHaveLength(1);
    leaks.secrets.push(minted[0].id);
    const firstHandOver = Date.parse((await rotation(k.id, rotationId)).handed_over_at!);
    const second = await q.deliver(c1[0], 1, { failContinuation: !!opts.failSecond });
    return { k, q, rotationId, minted, first, c1: c1[0]!, firstHandOver, second };
  }

  it("takes three invocations: delivered, then verified and promoted, then the old value deleted and the rotation announced", async () => {
    const { k, q, rotationId, minted, first, c1, firstHandOver, second } = await promotedAndHandedOver("cont-grace0");
    expect(second.retried).toBe(false);
    const c2 = continuationsIn(second.published);
    expect(c2).toHaveLength(1);
    expect(c2[0]!.data).toMatchObject({ credential_id: k.id, rotation_id: rotationId, reason: "scheduled" });
    expect(c2[0]!.id).not.toBe(c1.id); // its own event, not a duplicate of the first hand-off
    const handed = await rotation(k.id, rotationId);
    expect(handed).toMatchObject({ state: "running", step: "revoke_old", old_revoked: false });
    expect(handed.lease).toBeUndefined(); // released by the write that recorded promote
    expect(Date.parse(handed.handed_over_at!)).toBeGreaterThan(firstHandOver); // stamped again
    // Promoted: the replacement is the credential's current value; the old one still works.
    const promoted = (await store().getCredential(k.id))!.value;
    expect(promoted.fingerprint).toBe(handed.new_fingerprint);
    expect(promoted.current_rotation?.id).toBe(rotationId);
    expect(await k.keys()).toContain(k.key);
    expect(await k.deletes()).toEqual([]);
    expect(second.published.map((e) => e.type)).not.toContain("rotation.completed");
    expect(second.published.map((e) => e.type)).not.toContain("credential.revoked");

    const third = await q.deliver(c2[0]);
    expect(third.retried).toBe(false);
    expect(continuationsIn(third.published)).toEqual([]);
    expect(third.published.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
    expect(third.published.filter((e) => e.type === "credential.revoked")).toHaveLength(1);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done", step: "done", old_revoked: true });
    expect(await k.keys()).not.toContain(k.key);
    expect(await k.deletes()).toEqual([200]);
    expect(await k.keys()).toContain(minted[0].id);
    expect(await k.sinkValue()).toBe(minted[0].id);
    const cred = (await call("GET", `/v1/credentials/${k.id}`)).json.credential;
    expect(cred).toMatchObject({ state: "active", current_rotation_id: null, last_rotation: { id: rotationId } });
    leaks.assertClean([JSON.stringify([...first.published, ...second.published, ...third.published])], 2);
  });

  it("a lost second continuation (its publish fails after promote's release): the first continuation's redelivery deletes the old value and ends it", async () => {
    const { k, q, rotationId, minted, c1, second } = await promotedAndHandedOver("cont-grace0-redeliver", {
      failSecond: true,
    });
    expect(second.retried).toBe(true); // not acked: the queue delivers it again
    expect(continuationsIn(second.published)).toEqual([]);
    const left = await rotation(k.id, rotationId);
    expect(left).toMatchObject({ state: "running", step: "revoke_old" });
    expect(left.lease).toBeUndefined();
    expect(await k.keys()).toContain(k.key);

    const again = await q.deliver(c1, 2);
    expect(again.retried).toBe(false);
    expect(continuationsIn(again.published)).toEqual([]); // it drove on from revoke_old: nothing to hand off
    expect(again.published.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done", old_revoked: true });
    expect(await k.keys()).not.toContain(k.key);
    expect(await k.deletes()).toEqual([200]);
    expect(await k.minted(rotationId)).toHaveLength(1);
    expect(await k.sinkValue()).toBe(minted[0].id);
  });

  it("a lost second continuation: the sweep resumes the promoted rotation once HANDOFF_GRACE_MS has passed, and its resume deletes the old value", async () => {
    const { k, q, rotationId, minted, second } = await promotedAndHandedOver("cont-grace0-sweep", {
      failSecond: true,
    });
    expect(second.retried).toBe(true);
    const left = await rotation(k.id, rotationId);
    expect(left).toMatchObject({ state: "running", step: "revoke_old" });
    await expectResumedAfterGrace(
      k.id,
      left,
      "was promoted and handed to the rotator's continuation, which has not revoked its old value",
    );
    const resume = await q.deliver(requested(k.id, rotationId, SWEEP_ACTOR));
    expect(resume.retried).toBe(false);
    expect(continuationsIn(resume.published)).toEqual([]);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done", old_revoked: true });
    expect(await k.keys()).not.toContain(k.key);
    expect(await k.deletes()).toEqual([200]);
    expect(await k.sinkValue()).toBe(minted[0].id);
  });

  it("a routine rotation escalated while handed over after propagate: its continuation drives promote and revoke_old itself, no second hand-off", async () => {
    const k = await appKeyWithSink("cont-grace0-escalated", GRACE_0);
    const q = queueHarness();
    const first = await q.deliver(requested(k.id, undefined, SWEEP_ACTOR));
    const c1 = continuationsIn(first.published);
    expect(c1).toHaveLength(1);
    const rotationId = c1[0]!.data.rotation_id as string;
    leaks.secrets.push(...(await k.minted(rotationId)).map((m: any) => m.id));
    // An alert joins it between the hand-off and the continuation's lease (begin.ts `escalate`).
    const engine = await servicesFor(env as Env, createExecutionContext()).engine();
    const rec = (await store().getCredential(k.id))!.value;
    const joined = await beginRotation(engine, k.id, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "webhook",
      expectedFingerprint: rec.fingerprint,
      alertReceivedAt: Date.now(),
    });
    expect(joined).toMatchObject({ ok: true, joined: true, rotation: { id: rotationId, reason: "compromise" } });

    const second = await q.deliver(c1[0]);
    expect(second.retried).toBe(false);
    expect(continuationsIn(second.published)).toEqual([]);
    const done = await rotation(k.id, rotationId);
    expect(done).toMatchObject({ state: "done", reason: "compromise", old_revoked: true });
    expect(done.contained_at).toBeDefined();
    expect(await k.keys()).not.toContain(k.key);
    expect(await k.deletes()).toEqual([200]);
  });

  it("a compromise (the alert's replay, grace 0) is unchanged: its continuation verifies, promotes and ends it, no second hand-off", async () => {
    const k = await appKeyWithSink("cont-grace0-compromise", GRACE_0);
    const compromised = await compromisedEventOf(k.id);
    const q = queueHarness();
    const first = await q.deliver(compromised);
    expect(first.retried).toBe(false);
    const c1 = continuationsIn(first.published);
    expect(c1).toHaveLength(1);
    const rotationId = c1[0]!.data.rotation_id as string;
    leaks.secrets.push(...(await k.minted(rotationId)).map((m: any) => m.id));
    // Contained in the replay's own invocation, before any hand-off.
    expect(await k.keys()).not.toContain(k.key);
    expect(await rotation(k.id, rotationId)).toMatchObject({
      state: "running",
      step: "verify",
      reason: "compromise",
      old_revoked: true,
    });

    const second = await q.deliver(c1[0]);
    expect(second.retried).toBe(false);
    expect(continuationsIn(second.published)).toEqual([]);
    expect(second.published.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
    expect(await rotation(k.id, rotationId)).toMatchObject({ state: "done", step: "done" });
    expect(await k.deletes()).toEqual([200]);
  });
});

afterAll(() => {
  // Canary: no secret value (a key or a minted replacement) in any response or log line.
  leaks.assertClean([], 2);
});
