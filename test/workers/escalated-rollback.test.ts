/**
 * A compromise that joins a routine rotation while that rotation rolls back (review of session 31)
 * is still contained, on the real Workers adapters (Workers KV, the CredentialCell Durable Object,
 * the EventLedger Durable Object) and a Clarifai emulator in this isolate.
 *
 * The interleaving is the test's own: the routine rotation's verify fails permanently (the
 * emulator's fault route: 403, 11007), and its rollback's DELETE of the new key is held in the
 * network seam this test owns while the compromise joins (begin.ts `escalate`, lease kept) and,
 * in the first case, while the rotator's replay of `credential.compromised` joins and waits for
 * the lease. Then the DELETE goes through and the routine driver's final write meets the
 * escalation (drive.ts `persistOutcome`, its merge loop).
 *
 * - The replay joined in the window: it is not acknowledged (retryable), and its redelivery begins
 *   a compromise rotation that deletes the leaked key at once and replaces it.
 * - The replay joined just before the routine failure settled, so its escalation found the rotation
 *   already `failed` (as routine) and wrote nothing: not acknowledged either; its redelivery
 *   contains the leak.
 * - No replay (an operator's compromise request): the rotation fails as the compromise, and the
 *   value its rollback handed back is owed at once, then paid (deleted) by the sweep's rule.
 *
 * Events go to an in-test bus that keeps them; the queue transport is not under test here.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createEmulator, type Emulator } from "../../emulator/src/index.ts";
import { inIsolateTenant } from "../support/in-isolate-tenant.ts";
import { DurableEventLedger } from "../../src/adapters/event-ledger.ts";
import { WorkersAuditLog } from "../../src/adapters/workers-audit-log.ts";
import { WorkersJobStore } from "../../src/adapters/workers-job-store.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { parseConfig } from "../../src/config.ts";
import { reportNamedLeak } from "../../src/core/alerts/pipeline.ts";
import type { EventBus } from "../../src/core/bus/bus.ts";
import type { BusEvent, EventOf } from "../../src/core/bus/events.ts";
import { isFailure } from "../../src/core/failure.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { payOwedRevocations } from "../../src/core/rotation/owed-revocations.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import { containAgain } from "../../src/core/subscribers/rotator.ts";
import type { Store } from "../../src/core/store/store.ts";
import { MemoryStats } from "../../src/core/summary/stats.ts";
import { fingerprintPrefix } from "../../src/core/crypto/fingerprint.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { buildServices, type Services } from "../../src/services.ts";

const CLARIFAI = "http://clarifai.emulator";
const KEYS = '{"1":"dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE="}';
const FINGERPRINT_KEY = "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=";

interface World {
  emulator: Emulator;
  events: BusEvent[];
  deferred: Promise<unknown>[];
  /**
   * A fresh invocation's services; `sleep` replaces the engine's (instant by default), `wrap`
   * puts a seam the test owns around the real store.
   */
  services: (sleep?: (ms: number) => Promise<void>, wrap?: (s: Store) => Store) => Services;
  /** Set while the test holds a DELETE before it reaches Clarifai. */
  onDelete?: (req: Request) => Promise<void>;
}

function world(): World {
  const emulator = createEmulator();
  const events: BusEvent[] = [];
  const deferred: Promise<unknown>[] = [];
  const config = parseConfig({
    CLARIFAI_API_BASE: CLARIFAI,
    REKEY_ENCRYPTION_KEYS: KEYS,
    REKEY_FINGERPRINT_KEY: FINGERPRINT_KEY,
  });
  const bus: EventBus = {
    publish: async (e) => void events.push(e),
    publishAll: async (es) => void events.push(...es),
  };
  const w: World = {
    emulator,
    events,
    deferred,
    services: (sleep = async () => {}, wrap = (s) => s) =>
      buildServices({
        config,
        store: wrap(new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS)),
        bus,
        audit: new WorkersAuditLog(env.REKEY_KV),
        ledger: new DurableEventLedger(env.EVENT_LEDGER),
        jobs: new WorkersJobStore(env.CREDENTIAL_CELLS),
        stats: new MemoryStats(),
        defer: (work) => void deferred.push(work.catch(() => undefined)),
        fetch: async (input, init) => {
          const req = new Request(input as RequestInfo, init);
          if (req.method === "DELETE" && w.onDelete) await w.onDelete(req);
          return emulator.fetch(req);
        },
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
        sleep,
      }),
  };
  return w;
}

/** A manager PAT and an app key it manages (no grace period), registered through the real path. */
const tenant = async (w: World) => inIsolateTenant(w.emulator, await w.services().engine(), { prefix: "er" });

const liveKeyIds = (w: World, userId: string) =>
  [...w.emulator.state.keys.values()].filter((k) => k.user_id === userId).map((k) => k.id);

async function settle(w: World) {
  while (w.deferred.length) await Promise.all(w.deferred.splice(0));
}

/**
 * A manual rotation of `t`'s key whose verify fails permanently, driven up to its rollback's
 * DELETE of the new key, which is held there: `release` lets it through, `done` is the driver's
 * result.
 */
async function routineRotationHeldInRollback(w: World, t: Awaited<ReturnType<typeof tenant>>) {
  const engine = await w.services().engine();
  const begun = await beginRotation(engine, t.credentialId, { reason: "manual", mode: "rotate", requestedBy: "admin" });
  if (!begun.ok) throw new Error(begun.code);
  const fault = await w.emulator.fetch(`${CLARIFAI}/_emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ method: "GET", path: "/v2/myscopes", count: 1, status: 403, code: 11007 }),
  });
  expect(fault.status).toBe(200);
  let reached!: () => void;
  const inRollback = new Promise<void>((r) => (reached = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  w.onDelete = async (req) => {
    if (req.url.endsWith(`/keys/${t.leaked}`)) return;
    w.onDelete = undefined; // the rollback's DELETE of the new key: held once
    reached();
    await released;
  };
  const done = driveRotation(engine, t.credentialId, begun.rotation.id);
  await Promise.race([inRollback, done.then((r) => Promise.reject(new Error(`settled before rollback: ${r.state}`)))]);
  const store = w.services().store;
  const running = (await store.getRotation(t.credentialId, begun.rotation.id))!.value;
  expect(running).toMatchObject({ state: "running", reason: "manual", step: "verify" });
  return { rotationId: begun.rotation.id, release, done, store };
}

const compromisedEvent = (w: World) => {
  const e = w.events.find((x) => x.type === "credential.compromised");
  if (!e) throw new Error("no credential.compromised published");
  return e as EventOf<"credential.compromised">;
};

const failedEventReason = (w: World, rotationId: string) =>
  (w.events.find((e) => e.type === "rotation.failed" && (e.data as { rotation_id?: string }).rotation_id === rotationId)
    ?.data as { reason?: string } | undefined)?.reason;

/** The rollback handed the leaked value back (the credential's current value again), and it is owed, due now. */
function expectRestoredLeakOwed(rec: CredentialRecord, failed: Rotation) {
  expect(rec.fingerprint).toBe(failed.old_fingerprint);
  expect(rec.previous.find((p) => p.fingerprint === failed.old_fingerprint)).toMatchObject({
    leaked: true,
    last_error: "rollback_restored_leak",
  });
}

/**
 * A manual rotation of `credentialId` that an operator's compromise request joins before any step
 * ran (the plan stays routine, revoke_old last; the reason becomes the compromise's), driven until
 * its verify fails for good (the emulator's fault route on `myscopes`: 403, 11007).
 */
async function escalatedThenFailedAtVerify(w: World, credentialId: string, myscopes: string) {
  const engine = await w.services().engine();
  const begun = await beginRotation(engine, credentialId, { reason: "manual", mode: "rotate", requestedBy: "admin" });
  if (!begun.ok) throw new Error(begun.code);
  const joined = await beginRotation(engine, credentialId, {
    reason: "compromise",
    mode: "rotate",
    requestedBy: "admin",
  });
  expect(joined).toMatchObject({ ok: true, joined: true, rotation: { id: begun.rotation.id, reason: "compromise" } });
  const fault = await w.emulator.fetch(`${CLARIFAI}/_emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ method: "GET", path: myscopes, count: 5, status: 403, code: 11007 }),
  });
  expect(fault.status).toBe(200);
  return { engine, failed: await driveRotation(engine, credentialId, begun.rotation.id) };
}

describe("a compromise that joins a routine rotation during its rollback is still contained", () => {
  it("the replay that joined in the window is not acknowledged; its redelivery deletes the leaked key and replaces it", async () => {
    const w = world();
    const t = await tenant(w);
    const held = await routineRotationHeldInRollback(w, t);

    // The alert: it joins the running rotation and escalates it (lease kept), and publishes
    // credential.compromised. Its own drive finds the lease held and returns.
    const svc = w.services();
    const accepted = await reportNamedLeak(svc, await svc.engine(), { value: t.leaked }, {
      source: "webhook",
      deliveryId: `msg_${crypto.randomUUID()}`,
      reason: "token_match",
      receivedAt: svc.now(),
    });
    expect(accepted.kind).toBe("accepted");
    await settle(w);
    const escalated = (await held.store.getRotation(t.credentialId, held.rotationId))!.value;
    expect(escalated).toMatchObject({ state: "running", reason: "compromise" });
    expect(escalated.alert_received_at).toBeDefined();

    // The rotator's replay joins too and waits for the lease: its first wait is where the
    // rollback's DELETE is let through, and it resumes once the routine driver has settled.
    let joined!: () => void;
    const waiting = new Promise<void>((r) => (joined = r));
    let first = true;
    const replaySvc = w.services(async () => {
      if (!first) return;
      first = false;
      joined();
      await held.done.catch(() => undefined);
    });
    const event = compromisedEvent(w);
    const replay = containAgain(() => replaySvc.engine(), event).then(() => "acknowledged", (e: unknown) => e);
    await waiting;
    held.release();
    const failed: Rotation = await held.done;
    expect(failed.state).toBe("failed");

    // The failure is the compromise's, not the routine one written over the escalation.
    expect(failed).toMatchObject({ reason: "compromise", alert_received_at: escalated.alert_received_at });
    expect(failedEventReason(w, held.rotationId)).toBe("compromise");
    const outcome = await replay;
    expect(outcome, "the replay must not be acknowledged while the leaked key works").not.toBe("acknowledged");
    expect(isFailure(outcome, "handler") && outcome.retryable).toBe(true);
    expect(isFailure(outcome, "handler") && outcome.code).toBe("compromise_not_contained");
    expect(liveKeyIds(w, t.userId)).toContain(t.leaked); // not yet: the rollback handed it back

    // The queue's redelivery: the slot is free, so a compromise rotation begins and kills it first.
    await containAgain(() => w.services().engine(), event);
    await settle(w);
    expect(liveKeyIds(w, t.userId)).not.toContain(t.leaked);
    const rotations = await held.store.listRotations(t.credentialId);
    const fresh = rotations.find((r) => r.id !== held.rotationId)!;
    expect(fresh).toMatchObject({ reason: "compromise", state: "done", old_revoked: true });
    expect(fresh.contained_at).toBeDefined();
    const rec = (await held.store.getCredential(t.credentialId))!.value;
    expect(rec.state).toBe("active");
    expect(rec.fingerprint).toBe(fresh.new_fingerprint); // replaced, not only revoked
    expect(rec.previous.find((p) => p.fingerprint === failed.old_fingerprint)?.revoked_at).toBeDefined();
    expect(rec.last_rotation).toMatchObject({ id: fresh.id, reason: "compromise", state: "done" });
    const revoked = w.events.filter((e) => e.type === "credential.revoked");
    expect(revoked.map((e) => (e.data as { reason: string }).reason)).toContain("compromise");
    // A second delivery of the same event, after containment, is acknowledged: no loop.
    await expect(containAgain(() => w.services().engine(), event)).resolves.toBeUndefined();
  });

  it("an operator's compromise request that joins in the window: failed as the compromise, the leaked key owed at once and paid by the sweep's rule", async () => {
    const w = world();
    const t = await tenant(w);
    const held = await routineRotationHeldInRollback(w, t);

    const engine = await w.services().engine();
    const joined = await beginRotation(engine, t.credentialId, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "admin",
    });
    expect(joined).toMatchObject({ ok: true, joined: true, rotation: { id: held.rotationId, reason: "compromise" } });
    held.release();
    const failed = await held.done;

    expect(failed).toMatchObject({ state: "failed", reason: "compromise", old_revoke_owed: true, old_revoked: false });
    expect(failed.alert_received_at).toBeDefined();
    expect(failedEventReason(w, held.rotationId)).toBe("compromise");
    let rec = (await held.store.getCredential(t.credentialId))!.value;
    expect(rec.current_rotation).toBeUndefined();
    expect(rec.last_rotation).toMatchObject({ id: held.rotationId, reason: "compromise", state: "failed" });
    expectRestoredLeakOwed(rec, failed);
    expect(liveKeyIds(w, t.userId)).toContain(t.leaked);

    // The sweep's rule pays it: the key dies, and with no replacement the credential is revoked.
    expect((await payOwedRevocations(engine, t.credentialId)).revoked).toEqual([failed.old_fingerprint]);
    expect(liveKeyIds(w, t.userId)).not.toContain(t.leaked);
    rec = (await held.store.getCredential(t.credentialId))!.value;
    expect(rec.state).toBe("revoked");
    const revoked = w.events.filter((e) => e.type === "credential.revoked");
    expect(revoked.map((e) => (e.data as { reason: string }).reason)).toEqual(["compromise"]);
  });

  it("the replay's escalation loses to the settlement (the rotation failed as routine just after it joined): not acknowledged, and its redelivery deletes the leaked key", async () => {
    const w = world();
    const t = await tenant(w);
    const held = await routineRotationHeldInRollback(w, t);
    const fp = (await held.store.getCredential(t.credentialId))!.value.fingerprint;
    const event = newEvent("credential.compromised", {
      credential_id: t.credentialId,
      fingerprint_prefix: fingerprintPrefix(fp),
      alert_source: "webhook",
      reason: "token_match",
    }, { source: "/rekey/hooks/alerts", now: Date.now() });
    // The replay's begin reads the rotation running (it joins); its escalation's own read comes
    // second, and the routine driver settles in between.
    let reads = 0;
    const seam = (store: Store): Store =>
      new Proxy(store, {
        get: (target, prop) => {
          const v = Reflect.get(target, prop, target) as unknown;
          if (prop !== "getRotation" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
          return async (credentialId: string, rotationId: string) => {
            if (rotationId === held.rotationId && ++reads === 2) {
              held.release();
              await held.done;
            }
            return target.getRotation(credentialId, rotationId);
          };
        },
      });
    const outcome = await containAgain(() => w.services(undefined, seam).engine(), event).then(
      () => "acknowledged",
      (e: unknown) => e,
    );
    const failed = await held.done;
    expect(failed).toMatchObject({ state: "failed", reason: "manual" }); // the escalation came too late to count
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(outcome, "the replay must not be acknowledged while the leaked key works").not.toBe("acknowledged");
    expect(isFailure(outcome, "handler") && outcome.code).toBe("compromise_not_contained");
    expect(liveKeyIds(w, t.userId)).toContain(t.leaked);

    await containAgain(() => w.services().engine(), event); // the queue's redelivery
    await settle(w);
    expect(liveKeyIds(w, t.userId)).not.toContain(t.leaked);
    const rec = (await held.store.getCredential(t.credentialId))!.value;
    expect(rec.last_rotation).toMatchObject({ reason: "compromise", state: "done" });
    expect(rec.fingerprint).not.toBe(fp);
  });
  it("a compromise that joined before the failure (the common order): the routine plan's rollback hands the leaked value back, so it is owed at once and paid by the sweep's rule", async () => {
    const w = world();
    const t = await tenant(w);
    const { engine, failed } = await escalatedThenFailedAtVerify(w, t.credentialId, "/v2/myscopes");
    expect(failed).toMatchObject({
      state: "failed",
      reason: "compromise",
      step: "verify",
      old_revoked: false,
      old_revoke_owed: true,
    });
    const rec = (await w.services().store.getCredential(t.credentialId))!.value;
    expectRestoredLeakOwed(rec, failed);
    expect(liveKeyIds(w, t.userId)).toContain(t.leaked);
    expect((await payOwedRevocations(engine, t.credentialId)).revoked).toEqual([failed.old_fingerprint]);
    expect(liveKeyIds(w, t.userId)).not.toContain(t.leaked);
  });

  it("a self-managed PAT's routine rotation a compromise joined is not owed at its rollback: paying that debt would delete the manager with no successor and orphan what it manages, unannounced", async () => {
    const w = world();
    const t = await tenant(w);
    const { engine, failed } = await escalatedThenFailedAtVerify(w, t.managerId, "/v2/users/me/myscopes");
    expect(failed).toMatchObject({ state: "failed", reason: "compromise", old_revoked: false });
    expect(failed.old_revoke_owed).toBeFalsy();
    const rec = (await w.services().store.getCredential(t.managerId))!.value;
    expect(rec.previous.some((p) => p.leaked)).toBe(false);
    expect((await payOwedRevocations(engine, t.managerId)).revoked).toEqual([]);
    expect(liveKeyIds(w, t.userId)).toContain(t.pat); // the manager still works for what it manages
  });
});
