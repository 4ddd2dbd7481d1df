/**
 * A self-managed PAT's compromise whose revoke_old Clarifai refuses for good, and which then fails
 * for good (its verify), on the real Workers store (Workers KV and the CredentialCell Durable
 * Object) with a Clarifai emulator in this isolate, its faults through the emulator's fault route.
 *
 * The refused DELETE leaves the leaked value owed (containment.ts), and the rotation goes on with
 * the successor it minted first (step-plan.ts); the rollback of the later failure deletes that
 * successor (rollback.ts), so the one token left is the leaked one, which the sweep's payment of
 * the debt deletes. Nothing can mint for the PAT, or for what it manages, after that: the failure
 * says so at once (`needs_manager`, `credential.orphaned_manager`), as it does when a self-managed
 * PAT's create fails for good (test/workers/leaked-value-dies.test.ts), instead of leaving the
 * orphaning to a later sweep, unannounced. A rotation that later promotes a successor the PAT
 * minted itself (Clarifai well again) clears that need.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { payOwedRevocations } from "../../src/core/rotation/owed-revocations.ts";
import { engineHarness } from "../support/engine-harness.ts";
import { inIsolateTenant } from "../support/in-isolate-tenant.ts";
import { currentValue } from "../support/engine-scenario.ts";

/** A self-managed PAT whose compromise rotation failed at verify with its leaked value owed, its successor rolled back. */
async function owedAndRolledBack() {
  const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
  const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "smo" });
  const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
  // Clarifai refuses the leaked PAT's DELETE (permission denied: not retried), and the successor's verify.
  await h.control("faults", {
    method: "DELETE",
    path: `/v2/users/${t.userId}/keys/${t.pat}`,
    count: 10_000,
    status: 403,
    code: 11007,
  });
  await h.control("faults", { method: "GET", path: "/v2/users/me/myscopes", count: 10_000, status: 403, code: 11007 });
  const begun = await beginRotation(h.engine, t.managerId, { reason: "compromise", mode: "rotate", requestedBy: "t" });
  if (!begun.ok) throw new Error(begun.code);
  expect(begun.rotation.plan.slice(0, 2)).toEqual(["create", "revoke_old"]); // its successor first
  const failed = await driveRotation(h.engine, t.managerId, begun.rotation.id);
  /** Clarifai takes every call again. */
  const clearFaults = () => h.emulator.fetch("http://clarifai.emulator/_emulator/faults", { method: "DELETE" });
  return { h, t, live, rotationId: begun.rotation.id, failed, clearFaults };
}

describe("a self-managed PAT's compromise that owes its leaked value and then rolls back (Workers store, Clarifai emulator)", () => {
  it("needs a new manager from its failure, announced, and the sweep's payment deletes the leaked token", async () => {
    const { h, t, live, rotationId, failed, clearFaults } = await owedAndRolledBack();
    expect(failed).toMatchObject({ state: "failed", old_revoked: false, old_revoke_owed: true, manager_lost: true });
    expect(failed.error?.step).toBe("verify");
    const successor = failed.new_fingerprint;
    expect(successor).toBeDefined();
    expect(live(t.pat)).toBe(true);
    // The successor was deleted by the rollback: the leaked token is the only one left.
    const pats = () =>
      [...h.emulator.state.keys.values()].filter((k) => k.user_id === t.userId && k.type === "personal_access_token");
    // Counted, not listed: a key's id is its token.
    expect(pats().filter((k) => k.id !== t.pat).length).toBe(0);

    const rec = (await h.engine.store.getCredential(t.managerId))!.value;
    expect(rec.state).toBe("active");
    expect(rec.needs_manager).toEqual({ since: expect.any(String), rotation_id: rotationId });
    expect(rec.previous.find((p) => p.fingerprint === rec.fingerprint)).toMatchObject({ leaked: true });
    const orphaned = h.events.filter((e) => e.type === "credential.orphaned_manager");
    expect(orphaned.map((e) => "rotation" in e && e.rotation.id)).toEqual([rotationId]);

    // Clarifai takes the DELETE again: the sweep's rule pays the debt.
    await clearFaults();
    expect((await payOwedRevocations(h.engine, t.managerId)).revoked).toEqual([rec.fingerprint]);
    expect(live(t.pat)).toBe(false);
    const after = (await h.engine.store.getCredential(t.managerId))!.value;
    expect(after).toMatchObject({ state: "revoked", needs_manager: { rotation_id: rotationId } });
  });
  it("a rotation that then promotes a successor it minted clears the need for a new manager", async () => {
    const { h, t, live, rotationId, clearFaults } = await owedAndRolledBack();
    expect((await h.engine.store.getCredential(t.managerId))!.value.needs_manager?.rotation_id).toBe(rotationId);
    await clearFaults();
    const again = await beginRotation(h.engine, t.managerId, { reason: "manual", mode: "rotate", requestedBy: "t" });
    if (!again.ok) throw new Error(again.code);
    expect((await driveRotation(h.engine, t.managerId, again.rotation.id)).state).toBe("done");
    const rec = (await h.engine.store.getCredential(t.managerId))!.value;
    expect(rec.state).toBe("active");
    expect(rec.needs_manager).toBeUndefined();
    // The leaked value, owed, died with the rotation that superseded it (no grace period for it).
    expect(live(t.pat)).toBe(false);
  });
  it("its leaked value paid by the sweep while the rotation still ran (verify failing retryably): the failure salvages the successor instead", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "smp" });
    const live = (id: string) => [...h.emulator.state.keys.values()].some((k) => k.id === id);
    const faults = "http://clarifai.emulator/_emulator/faults";
    await h.control("faults", {
      method: "DELETE",
      path: `/v2/users/${t.userId}/keys/${t.pat}`,
      count: 10_000,
      status: 403,
      code: 11007,
    });
    await h.control("faults", {
      method: "GET",
      path: "/v2/users/me/myscopes",
      count: 10_000,
      status: 503,
      code: 10020,
    });
    const begun = await beginRotation(h.engine, t.managerId, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "t",
    });
    if (!begun.ok) throw new Error(begun.code);
    const waiting = await driveRotation(h.engine, t.managerId, begun.rotation.id);
    expect(waiting).toMatchObject({ state: "running", step: "verify", old_revoked: false, old_revoke_owed: true });
    const successor = (await currentValue(h, t.managerId)).rec.fingerprint !== waiting.new_fingerprint;
    expect(successor).toBe(true); // minted, not yet promoted

    // Clarifai takes the DELETE again: the sweep pays the debt while the rotation still runs.
    await h.emulator.fetch(faults, { method: "DELETE" });
    const paid = (await h.engine.store.getCredential(t.managerId))!.value.fingerprint;
    expect((await payOwedRevocations(h.engine, t.managerId)).revoked).toEqual([paid]);
    expect(live(t.pat)).toBe(false);

    // Then verify fails for good.
    await h.control("faults", {
      method: "GET",
      path: "/v2/users/me/myscopes",
      count: 10_000,
      status: 403,
      code: 11007,
    });
    h.advance(60_000);
    const failed = await driveRotation(h.engine, t.managerId, begun.rotation.id);
    expect(failed).toMatchObject({ state: "failed", old_revoked: true });
    expect(failed.manager_lost).toBeUndefined();
    const rec = (await h.engine.store.getCredential(t.managerId))!.value;
    // The successor, the only working token, is promoted (and kept at Clarifai), not deleted.
    expect(rec).toMatchObject({ state: "active", fingerprint: waiting.new_fingerprint });
    expect(rec.needs_manager).toBeUndefined();
    expect(live((await currentValue(h, t.managerId)).value)).toBe(true);
    expect(h.events.filter((e) => e.type === "credential.orphaned_manager")).toEqual([]);
  });
});
