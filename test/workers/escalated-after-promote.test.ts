/**
 * A compromise that joins a routine rotation after its promote (begin.ts `escalate`): the old value,
 * now a `previous` entry with a routine grace period, is the leaked one, so the rotation's
 * revoke_old deletes it at once instead of leaving it to the sweep for the grace period. Before,
 * only the rotator's replay of `credential.compromised`, one queue hop later, killed it, and an
 * operator's compromise request (no replay) left it live for the whole grace period. On the real
 * Workers store (KV + the CredentialCell Durable Object) with a Clarifai emulator in this isolate.
 *
 * An alert naming the value that promote just made current is not about the old value: it leaves
 * the rotation routine (its old value keeps its grace period for consumers still moving), and its
 * replay of `credential.compromised` (core/subscribers/rotator.ts `containAgain`), once that
 * rotation is over, begins the compromise rotation of that value, which deletes it (with the policy
 * `on_compromise: revoke`, a revocation, which leaves the credential revoked; for a secret, the
 * overwrite of its propagate step, the rest left to a continuation). An alert whose
 * matched value a rotation superseded before its begin names a previous value: its own call revokes
 * that value at once rather than joining whatever rotation runs now.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { fingerprintPrefix } from "../../src/core/crypto/fingerprint.ts";
import { currentValue } from "../support/engine-scenario.ts";
import { containAgain } from "../../src/core/subscribers/rotator.ts";
import { contain } from "../../src/core/alerts/contain.ts";
import type { EventBus } from "../../src/core/bus/bus.ts";
import type { BusEvent } from "../../src/core/bus/events.ts";
import type { Store } from "../../src/core/store/store.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import { isFailure } from "../../src/core/failure.ts";
import { type EngineHarness, engineHarness } from "../support/engine-harness.ts";
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import { IN_ISOLATE_CLARIFAI, inIsolateTenant } from "../support/in-isolate-tenant.ts";
import { registerCredential } from "../../src/core/credentials/register.ts";

/** A routine rotation driven through its promote: the value promote made current, and an alert's event naming it. */
async function promotedThenNamed(h: EngineHarness, credentialId: string) {
  const routine = await beginRotation(h.engine, credentialId, { reason: "manual", mode: "rotate", requestedBy: "t" });
  if (!routine.ok) throw new Error(routine.code);
  await driveRotation(h.engine, credentialId, routine.rotation.id, { stopAfter: "promote" });
  const { rec, value: promoted } = await currentValue(h, credentialId);
  return { routine: routine.rotation, rec, promoted, event: compromised(credentialId, rec.fingerprint) };
}

/** The alert's own begin (core/alerts/contain.ts: the match's fingerprint is expected): it joins, leaving the rotation routine. */
async function alertJoins(h: EngineHarness, rec: CredentialRecord, routineId: string) {
  const joined = await beginRotation(h.engine, rec.id, {
    reason: "compromise",
    mode: "rotate",
    requestedBy: "t",
    expectedFingerprint: rec.fingerprint,
  });
  expect(joined).toMatchObject({ ok: true, joined: true, rotation: { id: routineId, reason: "manual" } });
}

const compromised = (credentialId: string, fingerprint: string) =>
  newEvent("credential.compromised", {
    credential_id: credentialId,
    fingerprint_prefix: fingerprintPrefix(fingerprint),
    alert_source: "webhook",
    reason: "token_match",
  }, { source: "/rekey/hooks/alerts", now: Date.now() });

/** The queue's bus as the replay sees it, keeping what is published; `continuations` are its `rotation.requested` data. */
function keepingBus() {
  const published: BusEvent[] = [];
  const bus: EventBus = {
    publish: async (e) => void published.push(e),
    publishAll: async (es) => void published.push(...es),
  };
  return { bus, continuations: () => published.filter((e) => e.type === "rotation.requested").map((e) => e.data) };
}

describe("a compromise escalating a routine rotation after its promote (Workers store, Clarifai emulator)", () => {
  it("deletes the leaked old value at its revoke_old, not after the routine grace period", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eap", graceHours: 24 });
    const live = () => [...h.emulator.state.keys.values()].some((k) => k.id === t.leaked);
    const routine = await beginRotation(h.engine, t.credentialId, {
      reason: "manual",
      mode: "rotate",
      requestedBy: "t",
    });
    if (!routine.ok) throw new Error(routine.code);
    const promoted = await driveRotation(h.engine, t.credentialId, routine.rotation.id, { stopAfter: "promote" });
    expect(promoted).toMatchObject({ state: "running", step: "revoke_old", reason: "manual" });
    const graced = (await h.engine.store.getCredential(t.credentialId))!.value.previous[0]!;
    expect(Date.parse(graced.revoke_after)).toBeGreaterThan(h.engine.now()); // the routine grace period

    // An operator's compromise request joins it (no replay of an alert will follow).
    const joined = await beginRotation(h.engine, t.credentialId, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "t",
    });
    expect(joined).toMatchObject({
      ok: true,
      joined: true,
      rotation: { id: routine.rotation.id, reason: "compromise" },
    });
    expect(live()).toBe(true);

    const done = await driveRotation(h.engine, t.credentialId, routine.rotation.id);
    expect(done).toMatchObject({ state: "done", reason: "compromise", old_revoked: true });
    expect(done.contained_at).toBeDefined();
    expect(live()).toBe(false);
    const prev = (await h.engine.store.getCredential(t.credentialId))!.value.previous
      .find((p) => p.fingerprint === done.old_fingerprint);
    expect(prev?.revoked_at).toBeDefined();
    expect(h.events.some((e) => e.type === "credential.revoked")).toBe(true);
  });

  it("an alert naming the value promote made current: the rotation stays routine, and its replay contains that value", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eap", graceHours: 24 });
    const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
    const { routine, rec, promoted, event } = await promotedThenNamed(h, t.credentialId);
    await alertJoins(h, rec, routine.id);
    // The replay (on the queue: a bus for its continuation) drives the routine rotation to its end,
    // which leaves the promoted value live, then, the credential free, begins the compromise rotation
    // of that value and drives it up to containment: the promoted value is deleted in this invocation.
    const { bus, continuations } = keepingBus();
    await containAgain(async () => h.engine, event, bus);
    const settled = (await h.engine.store.getRotation(t.credentialId, routine.id))!.value;
    expect(settled).toMatchObject({ state: "done", reason: "manual", old_revoked: false });
    expect(live(t.leaked)).toBe(true); // the old value, not leaked, in its grace period
    expect(live(promoted)).toBe(false);
    const compromise = (await h.engine.store.getCredential(t.credentialId))!.value.current_rotation!;
    const contained = (await h.engine.store.getRotation(t.credentialId, compromise.id))!.value;
    expect(contained).toMatchObject({ reason: "compromise", state: "running", old_revoked: true, step: "create" });
    expect(contained.lease).toBeUndefined();
    expect(contained.alert_received_at).toBe(event.time);
    // The rest is its continuation's, in an invocation of its own.
    expect(continuations()).toEqual([expect.objectContaining({ rotation_id: compromise.id })]);

    // A redelivery of the same event joins that rotation and begins no third one.
    await containAgain(async () => h.engine, event, bus);
    expect((await h.engine.store.getCredential(t.credentialId))!.value.current_rotation?.id).toBe(compromise.id);
    expect((await driveRotation(h.engine, t.credentialId, compromise.id)).state).toBe("done");
    const after = (await h.engine.store.getCredential(t.credentialId))!.value;
    expect(after.state).toBe("active");
    expect(after.fingerprint).not.toBe(rec.fingerprint);
    expect(after.last_rotation).toMatchObject({ reason: "compromise", state: "done" });
  });

  it("an alert naming the value promote made current, on_compromise revoke: its replay revokes that value, and the credential with it", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eapr", graceHours: 24, onCompromise: "revoke" });
    const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
    const { routine, rec, promoted, event } = await promotedThenNamed(h, t.credentialId);
    await alertJoins(h, rec, routine.id);
    const { bus, continuations } = keepingBus();
    await containAgain(async () => h.engine, event, bus);
    expect(live(promoted)).toBe(false);
    const after = (await h.engine.store.getCredential(t.credentialId))!.value;
    const revocation = (await h.engine.store.listRotations(t.credentialId)).find((r) => r.id !== routine.id)!;
    expect(revocation).toMatchObject({ reason: "compromise", mode: "revoke", old_revoked: true });
    expect(revocation.alert_received_at).toBe(event.time);
    // Its plan ends at its containment (revoke_old): the replay's invocation finishes it, no continuation.
    expect(revocation.state).toBe("done");
    expect(continuations()).toEqual([]);
    const settled = (await h.engine.store.getCredential(t.credentialId))!.value;
    expect(settled).toMatchObject({ state: "revoked", last_rotation: { id: revocation.id, state: "done" } });
    expect(after.fingerprint).toBe(rec.fingerprint); // revoked, not replaced
    // A redelivery finds the value dead and the credential revoked: no third rotation.
    await containAgain(async () => h.engine, event, bus);
    expect(await h.engine.store.listRotations(t.credentialId)).toHaveLength(2);
  });

  it("a secret: an alert naming the value promote made current is contained by its replay's overwrite (propagate)", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eaps" });
    const made = await h.emulator.fetch(`${IN_ISOLATE_CLARIFAI}/v2/users/${t.userId}/secrets`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Key ${t.pat}` },
      body: JSON.stringify({ secrets: [{ id: "EAP_SECRET", value: "first-third-party-value" }] }),
    });
    expect(made.status).toBe(200);
    const secretAt = () =>
      [...h.emulator.state.secrets.values()].find((x) => x.user_id === t.userId && x.id === "EAP_SECRET")!.value;
    const reg = await registerCredential(h.engine, {
      kind: "secret",
      user_id: t.userId,
      secret_id: "EAP_SECRET",
      manager_id: t.managerId,
      policy: { generator: "random" },
    });
    if (!reg.ok) throw new Error(reg.error.code);
    const id = reg.value.id;
    const { routine, rec, promoted, event } = await promotedThenNamed(h, id);
    // Values compared as booleans: a failure message names no value.
    expect(secretAt() === promoted).toBe(true);
    await alertJoins(h, rec, routine.id);
    const { bus, continuations } = keepingBus();
    await containAgain(async () => h.engine, event, bus);
    // Overwritten in this invocation (a secret dies at propagate, step-plan.ts `containmentStep`).
    const overwritten = secretAt();
    expect(overwritten === promoted).toBe(false);
    const compromise = (await h.engine.store.getCredential(id))!.value.current_rotation!;
    const contained = (await h.engine.store.getRotation(id, compromise.id))!.value;
    expect(contained).toMatchObject({ reason: "compromise", state: "running", old_revoked: true, step: "verify" });
    expect(contained.lease).toBeUndefined();
    expect(continuations()).toEqual([expect.objectContaining({ rotation_id: compromise.id })]);
    expect((await driveRotation(h.engine, id, compromise.id)).state).toBe("done");
    const after = await currentValue(h, id);
    expect(after.value === overwritten).toBe(true);
    expect(after.rec).toMatchObject({ state: "active", last_rotation: { id: compromise.id, reason: "compromise" } });
  });

  it("the successor's compromise rotation leased by another driver first: the replay is refused for a redelivery, which contains it once that driver is gone", async () => {
    const real = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const other = { owner: "drv_other", leasedAt: 0 };
    // Another driver (a sweep's resume, say) leases the compromise rotation the moment it is written.
    const store = new Proxy(real, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop !== "putRotation" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
        return async (r: Rotation, expected: string | null) => {
          const version = await target.putRotation(r, expected);
          if (version === null || expected !== null || r.reason !== "compromise" || other.leasedAt) return version;
          other.leasedAt = h.engine.now();
          const until = new Date(other.leasedAt + 60_000).toISOString();
          return await target.putRotation({ ...r, lease: { owner: other.owner, until } }, version);
        };
      },
    }) as Store;
    const h = await engineHarness({ store });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eapl", graceHours: 24 });
    const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
    const { promoted, event } = await promotedThenNamed(h, t.credentialId);
    const { bus, continuations } = keepingBus();
    const refused = await containAgain(async () => h.engine, event, bus).then(() => "acknowledged", (e) => e);
    expect(other.leasedAt).toBeGreaterThan(0);
    expect(isFailure(refused, "handler") && refused.retryable).toBe(true);
    expect(isFailure(refused, "handler") && refused.code).toBe("compromise_not_contained");
    expect(continuations()).toEqual([]); // not this invocation's to hand on
    expect(live(promoted)).toBe(true); // nobody has driven it yet

    // That driver dies: its lease lapses. The queue's redelivery joins the same rotation and contains it.
    const compromise = (await real.getCredential(t.credentialId))!.value.current_rotation!;
    const leased = (await real.getRotation(t.credentialId, compromise.id))!;
    expect(leased.value.lease?.owner).toBe(other.owner);
    const lapsed = {
      ...leased.value,
      lease: { owner: other.owner, until: new Date(h.engine.now() - 1).toISOString() },
    };
    expect(await real.putRotation(lapsed, leased.version)).not.toBeNull();
    await containAgain(async () => h.engine, event, bus);
    expect(live(promoted)).toBe(false);
    expect(await real.listRotations(t.credentialId)).toHaveLength(2);
    const contained = (await real.getRotation(t.credentialId, compromise.id))!.value;
    expect(contained).toMatchObject({ reason: "compromise", state: "running", old_revoked: true });
    // The rest handed to a continuation, as the replay's own drive hands it (rotator.ts `driveToEnd`).
    expect(continuations()).toEqual([expect.objectContaining({ rotation_id: compromise.id })]);
    expect((await driveRotation(h.engine, t.credentialId, compromise.id)).state).toBe("done");
  });

  it("an alert whose match a rotation superseded before its begin, another rotation running: its own call revokes that value at once", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eap", graceHours: 24 });
    const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
    const matched = (await h.engine.store.getCredential(t.credentialId))!; // the alert's match
    // A routine rotation supersedes the matched value (kept for its grace period), and a second begins.
    const first = await beginRotation(h.engine, t.credentialId, { reason: "manual", mode: "rotate", requestedBy: "t" });
    if (!first.ok) throw new Error(first.code);
    expect((await driveRotation(h.engine, t.credentialId, first.rotation.id)).state).toBe("done");
    const second = await beginRotation(h.engine, t.credentialId, {
      reason: "manual",
      mode: "rotate",
      requestedBy: "t",
    });
    if (!second.ok) throw new Error(second.code);
    expect(live(t.leaked)).toBe(true);

    const c = await contain(h.engine, {
      kind: "current",
      credential: matched.value,
      fingerprint: matched.value.fingerprint,
    }, "t");
    expect(c.action).toBe("revoke_previous");
    if (c.action === "revoke_previous") await c.run();
    expect(live(t.leaked)).toBe(false);
    const prev = (await h.engine.store.getCredential(t.credentialId))!.value.previous
      .find((p) => p.fingerprint === matched.value.fingerprint);
    expect(prev?.revoked_at).toBeDefined();
    // The running rotation was not joined: still routine, not driven.
    expect((await h.engine.store.getRotation(t.credentialId, second.rotation.id))!.value).toMatchObject({
      state: "running",
      reason: "manual",
      step: "create",
    });
  });

  it("a replay that joins the routine rotation as it settles, too late to escalate it: its old value, the leaked one, is revoked at once", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eap", graceHours: 24 });
    const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
    const matched = (await h.engine.store.getCredential(t.credentialId))!.value;
    const routine = await beginRotation(h.engine, t.credentialId, {
      reason: "manual",
      mode: "rotate",
      requestedBy: "t",
    });
    if (!routine.ok) throw new Error(routine.code);
    // Before its promote: the leaked value is still the current one, so the replay joins it.
    await driveRotation(h.engine, t.credentialId, routine.rotation.id, { stopAfter: "verify" });
    const event = compromised(t.credentialId, matched.fingerprint);
    // The replay's begin reads the rotation running (it joins); before its escalation's own read,
    // the routine driver finishes it (its promote, then its revoke_old leaving the old value to its grace period).
    let reads = 0;
    const seam: Store = new Proxy(h.engine.store, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop !== "getRotation" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
        return async (credentialId: string, rotationId: string) => {
          if (rotationId === routine.rotation.id && ++reads === 2) {
            expect((await driveRotation(h.engine, credentialId, rotationId)).state).toBe("done");
          }
          return target.getRotation(credentialId, rotationId);
        };
      },
    });
    await containAgain(async () => ({ ...h.engine, store: seam }), event);
    expect(reads).toBeGreaterThanOrEqual(2);
    expect((await h.engine.store.getRotation(t.credentialId, routine.rotation.id))!.value).toMatchObject({
      state: "done",
      reason: "manual",
    });
    expect(live(t.leaked)).toBe(false);
    const prev = (await h.engine.store.getCredential(t.credentialId))!.value.previous
      .find((p) => p.fingerprint === matched.fingerprint);
    expect(prev?.revoked_at).toBeDefined();
    expect((await h.engine.store.getCredential(t.credentialId))!.value.current_rotation).toBeUndefined();
    const deletes = h.emulator.state.calls.filter((c) => c.method === "DELETE" && c.path.endsWith(`/keys/${t.leaked}`));
    expect(deletes).toHaveLength(1); // the fresh match's, once: no rotation was begun for it
  });
  it("too late to escalate, the value promote made current sharing the leaked value's prefix: the replay still revokes the leaked one, and only it", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eapc", graceHours: 24 });
    const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
    const matched = (await h.engine.store.getCredential(t.credentialId))!.value;
    const routine = await beginRotation(h.engine, t.credentialId, {
      reason: "manual",
      mode: "rotate",
      requestedBy: "t",
    });
    if (!routine.ok) throw new Error(routine.code);
    await driveRotation(h.engine, t.credentialId, routine.rotation.id, { stopAfter: "verify" });
    const event = compromised(t.credentialId, matched.fingerprint);
    let successor = "";
    let reads = 0;
    const seam: Store = new Proxy(h.engine.store, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop !== "getRotation" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
        return async (credentialId: string, rotationId: string) => {
          if (rotationId === routine.rotation.id && ++reads === 2) {
            // The routine driver finishes it (as in the test above); then a collision (2^-32 by
            // chance) is forced: the promoted value's recorded fingerprint gets the leaked one's prefix.
            expect((await driveRotation(h.engine, credentialId, rotationId)).state).toBe("done");
            successor = (await currentValue(h, credentialId)).value;
            const cur = (await target.getCredential(credentialId))!;
            const forged = matched.fingerprint.slice(0, 8) + cur.value.fingerprint.slice(8);
            expect(await target.putCredential({ ...cur.value, fingerprint: forged }, cur.version)).not.toBeNull();
          }
          return target.getRotation(credentialId, rotationId);
        };
      },
    });
    await containAgain(async () => ({ ...h.engine, store: seam }), event);
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(live(t.leaked)).toBe(false);
    expect(live(successor)).toBe(true);
    const rec = (await h.engine.store.getCredential(t.credentialId))!.value;
    expect(rec.previous.find((p) => p.fingerprint === matched.fingerprint)?.revoked_at).toBeDefined();
    expect(rec.current_rotation).toBeUndefined(); // no compromise rotation of the colliding value
    expect(await h.engine.store.listRotations(t.credentialId)).toHaveLength(1);
  });

  it("an escalation that never takes (its compare-and-swap loses every time), the rotation handed on as routine: the replay is refused, and its redelivery escalates it", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "eapx", graceHours: 24 });
    const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
    const matched = (await h.engine.store.getCredential(t.credentialId))!.value;
    const routine = await beginRotation(h.engine, t.credentialId, {
      reason: "manual",
      mode: "rotate",
      requestedBy: "t",
    });
    if (!routine.ok) throw new Error(routine.code);
    const event = compromised(t.credentialId, matched.fingerprint);
    // Another writer gets in before each of the escalation's writes (a real write: the version moves on).
    let lost = 0;
    const busy: Store = new Proxy(h.engine.store, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop !== "putRotation" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
        return async (r: Rotation, expected: string | null) => {
          if (r.id === routine.rotation.id && r.reason === "compromise" && expected !== null) {
            const cur = (await target.getRotation(r.credential_id, r.id))!;
            await target.putRotation({ ...cur.value, updated_at: new Date(h.engine.now()).toISOString() }, cur.version);
            lost++;
          }
          return target.putRotation(r, expected);
        };
      },
    });
    const { bus, continuations } = keepingBus();
    const refused = await containAgain(async () => ({ ...h.engine, store: busy }), event, bus).then(
      () => "acknowledged",
      (e) => e,
    );
    expect(lost).toBeGreaterThan(0);
    const handed = (await h.engine.store.getRotation(t.credentialId, routine.rotation.id))!.value;
    expect(handed).toMatchObject({ state: "running", reason: "manual", old_revoked: false });
    expect(continuations()).toEqual([expect.objectContaining({ rotation_id: routine.rotation.id })]);
    expect(isFailure(refused, "handler") && refused.retryable).toBe(true);
    expect(isFailure(refused, "handler") && refused.code).toBe("compromise_not_contained");

    // The redelivery, the other writer gone: it joins, escalates, and the leaked value dies at revoke_old.
    await containAgain(async () => h.engine, event, bus);
    expect(live(t.leaked)).toBe(false);
    const done = (await h.engine.store.getRotation(t.credentialId, routine.rotation.id))!.value;
    expect(done).toMatchObject({ state: "done", reason: "compromise", old_revoked: true });
  });
});
