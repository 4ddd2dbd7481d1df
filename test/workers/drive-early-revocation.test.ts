/**
 * An early revocation (core/alerts/contain.ts `deleteAtOnce`: the leaked value already deleted at
 * Clarifai) handed to `driveRotation` while another driver holds the rotation's lease: the
 * compare-and-swap that records it races that driver's writes. Pure logic of the driver's
 * compare-and-swap, so the in-memory store (with a seam after each write) and the in-process
 * emulator; the real adapters' early DELETE is in test/workers/contain-first.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import { MemoryStore } from "../../src/core/store/memory-store.ts";
import { scenario } from "../support/engine-scenario.ts";

/** The in-memory store, with a hook run after each successful write (the racing driver's moment). */
class SeamStore extends MemoryStore {
  afterCredential?: (rec: CredentialRecord) => Promise<void>;
  override async putCredential(record: CredentialRecord, expected: string | null) {
    const v = await super.putCredential(record, expected);
    if (v !== null) await this.afterCredential?.(record);
    return v;
  }
}

describe("driveRotation with an early revocation while another driver holds the lease", () => {
  it("in-memory unit test: holder between promote's credential write and its step write: the old value is marked revoked, not left sealed in previous", async () => {
    const { h, cred, original, managerKey } = await seamed();
    const begun = await beginRotation(h.engine, cred.id, { reason: "manual", mode: "rotate", requestedBy: "test" });
    if (!begun.ok) throw new Error(begun.code);
    const oldFp = begun.rotation.old_fingerprint;
    let raced: Rotation | null = null;
    h.store.afterCredential = async (rec) => {
      if (raced || rec.fingerprint === oldFp || rec.current_rotation?.id !== begun.rotation.id) return;
      h.store.afterCredential = undefined;
      // The alert's early DELETE of the old value, then its driver, which finds the lease held.
      await h.clarifai.deleteKey(managerKey.id, h.seed.userId, original);
      raced = await driveRotation(h.engine, cred.id, begun.rotation.id, {
        revoked: { fingerprint: oldFp, at: h.engine.now() },
      });
    };
    const r = await driveRotation(h.engine, cred.id, begun.rotation.id);
    expect(raced).toMatchObject({ step: "promote", old_revoked: true }); // recorded beside the holder
    expect(r).toMatchObject({ state: "done", old_revoked: true });
    const rec = (await h.engine.store.getCredential(cred.id))!.value;
    expect(rec.state).toBe("active");
    const prev = rec.previous.find((p) => p.fingerprint === oldFp);
    expect(prev?.revoked_at).toBeDefined();
    expect(prev?.value).toBeUndefined();
    expect(h.events.filter((e) => e.type === "credential.revoked")).toHaveLength(1);
    // Deleted once (the early DELETE): the rotation did not delete it again.
    const deletes = (await h.state()).calls.filter((c) =>
      c.method === "DELETE" && c.path.endsWith(`/keys/${original}`)
    );
    expect(deletes).toHaveLength(1);
  });

  it("in-memory unit test: holder rolling back a permanent verify failure: its final write merges the early revocation and settles failed, the credential marked revoked (not active on two dead values)", async () => {
    const { h, cred, original, managerKey } = await seamed();
    const begun = await beginRotation(h.engine, cred.id, { reason: "manual", mode: "rotate", requestedBy: "test" });
    if (!begun.ok) throw new Error(begun.code);
    const oldFp = begun.rotation.old_fingerprint;
    let raced: Rotation | null = null;
    let verifying = false;
    h.hook.before = async (_i, req) => {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && /scopes/i.test(path) && !verifying) {
        // The new key comes back with other restrictions: verify fails for good, the rollback runs.
        verifying = true;
        for (const k of h.emulator.state.keys.values()) {
          if (k.id !== original && k.id !== managerKey.id) k.scopes = ["All"];
        }
      }
      if (req.method === "DELETE" && verifying && !raced && !path.endsWith(`/keys/${original}`)) {
        // The rollback deleting the new key: the alert's early DELETE and driver land meanwhile.
        raced = {} as Rotation;
        await h.clarifai.deleteKey(managerKey.id, h.seed.userId, original);
        raced = await driveRotation(h.engine, cred.id, begun.rotation.id, {
          revoked: { fingerprint: oldFp, at: h.engine.now() },
        });
      }
    };
    const r = await driveRotation(h.engine, cred.id, begun.rotation.id);
    h.hook.before = undefined;
    expect(raced).toMatchObject({ step: "verify", old_revoked: true });
    expect(r).toMatchObject({ state: "failed", old_revoked: true, error: { code: "verify_failed" } });
    const rec = (await h.engine.store.getCredential(cred.id))!.value;
    // Both values are dead (the old one leaked and deleted, the new one rolled back): loud, not active.
    expect(rec.state).toBe("revoked");
    expect(rec.fingerprint).toBe(oldFp);
    expect(h.events.filter((e) => e.type === "credential.revoked")).toHaveLength(1);
    // One rollback: the new key deleted once, never promoted after it.
    const calls = (await h.state()).calls.filter((c) => c.method === "DELETE");
    expect(calls).toHaveLength(2); // the early DELETE of the old key, the rollback's of the new one
  });
});

describe("driveRotation stopping after containment (an alert's own invocation, `stopAfter`)", () => {
  it("in-memory unit test: an early revocation recorded while this driver deletes the value: its write fails, it stops there and gives its lease back, and the rotator finishes at once", async () => {
    const { h, cred, original, managerKey } = await seamed();
    const begun = await beginRotation(h.engine, cred.id, { reason: "compromise", mode: "rotate", requestedBy: "test" });
    if (!begun.ok) throw new Error(begun.code);
    const oldFp = begun.rotation.old_fingerprint;
    let raced: Rotation | null = null;
    h.hook.before = async (_i, req) => {
      if (raced || req.method !== "DELETE" || !new URL(req.url).pathname.endsWith(`/keys/${original}`)) return;
      // A second alert's early DELETE and its driver, while this driver's revoke_old is under way.
      raced = {} as Rotation;
      await h.clarifai.deleteKey(managerKey.id, h.seed.userId, original);
      raced = await driveRotation(h.engine, cred.id, begun.rotation.id, {
        revoked: { fingerprint: oldFp, at: h.engine.now() },
        stopAfter: "revoke_old",
      });
    };
    const stopped = await driveRotation(h.engine, cred.id, begun.rotation.id, { stopAfter: "revoke_old" });
    h.hook.before = undefined;
    expect(raced).toMatchObject({ step: "revoke_old", old_revoked: true }); // recorded beside the holder
    expect(stopped).toMatchObject({ state: "running", old_revoked: true });
    expect(stopped.lease).toBeUndefined();
    const stored = (await h.engine.store.getRotation(cred.id, begun.rotation.id))!.value;
    expect(stored.lease).toBeUndefined(); // not left to expire: the next driver need not wait a lease out
    const done = await driveRotation(h.engine, cred.id, begun.rotation.id);
    expect(done).toMatchObject({ state: "done", old_revoked: true });
    expect(h.events.filter((e) => e.type === "credential.revoked")).toHaveLength(1);
    expect(h.events.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
  });
});

/** `scenario` on a store with the seam. */
async function seamed() {
  const store = new SeamStore();
  const s = await scenario("app_key", { grace_hours: 24 }, { store });
  return { ...s, h: { ...s.h, store } };
}
