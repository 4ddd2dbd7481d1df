/**
 * A rotation that has settled while its credential still names it (src/core/rotation/settled-marker.ts),
 * on the real Workers store (Workers KV and the CredentialCell Durable Object) and the real Worker's
 * admin routes: the window CI once caught, where GET /v1/rotations/:id said `done` and the
 * credential, read a moment later, still said `active` (or DELETE answered `rotation_running`).
 *
 * The window is the test's own: the rotation is driven by the real engine (a Clarifai emulator in
 * this isolate) through a seam on the store that holds the one write clearing the credential's
 * marker, after the rotation's record has settled. While it is held, the Worker's routes read the
 * same KV and Durable Objects.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import type { Store } from "../../src/core/store/store.ts";
import { call } from "../support/api.ts";
import { engineHarness } from "../support/engine-harness.ts";
import { inIsolateTenant } from "../support/in-isolate-tenant.ts";

interface Held {
  /** Resolves once the write that clears the marker of `rotationId` is reached (not yet made). */
  reached: Promise<void>;
  release: () => void;
}

/** The real store, with the write that releases the credential from `rotationId` held until `release`. */
function holdingRelease(inner: Store, rotationId: () => string | undefined): { store: Store; held: Held } {
  let reached!: () => void;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const held: Held = { reached: new Promise<void>((r) => (reached = r)), release };
  const store = new Proxy(inner, {
    get: (target, prop) => {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop !== "putCredential" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
      return async (rec: CredentialRecord, expected: string | null) => {
        const id = rotationId();
        if (id && !rec.current_rotation && rec.last_rotation?.id === id) {
          reached();
          await gate;
        }
        return target.putCredential(rec, expected);
      };
    },
  });
  return { store, held };
}

/** A manager PAT and an app key it manages, and a rotation of the key driven until its credential's release is held. */
async function settledButMarked(mode: "rotate" | "revoke") {
  const real = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
  const target: { rotationId?: string } = {};
  const { store, held } = holdingRelease(real, () => target.rotationId);
  const h = await engineHarness({ store });
  const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "sm" });
  const begun = await beginRotation(h.engine, t.credentialId, { reason: "manual", mode, requestedBy: "test" });
  if (!begun.ok) throw new Error(`begin: ${begun.code}`);
  target.rotationId = begun.rotation.id;
  const drive = driveRotation(h.engine, t.credentialId, begun.rotation.id);
  await held.reached;
  const r = (await real.getRotation(t.credentialId, begun.rotation.id))!.value;
  const rec = (await real.getCredential(t.credentialId))!.value;
  // The window itself: the rotation's record is over, the credential still names it.
  expect(r.state).toBe("done");
  expect(rec.current_rotation?.id).toBe(begun.rotation.id);
  return { h, t, real, held, drive, rotation: r };
}

describe("a rotation settled while its credential still names it", () => {
  it("a revoke: the credential reads revoked, refuses another rotation, and the driver's release lands after", async () => {
    const { t, real, held, drive, rotation } = await settledButMarked("revoke");
    const got = await call("GET", `/v1/credentials/${t.credentialId}`);
    expect(got.status).toBe(200);
    expect(got.json.credential).toMatchObject({ state: "revoked", current_rotation_id: null });
    const again = await call("POST", `/v1/credentials/${t.credentialId}/rotate`);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("credential_revoked");
    held.release();
    const driven: Rotation = await drive;
    expect(driven.state).toBe("done");
    const after = (await real.getCredential(t.credentialId))!.value;
    expect(after.state).toBe("revoked");
    expect(after.current_rotation).toBeUndefined();
    expect(after.last_rotation).toMatchObject({ id: rotation.id, state: "done" });
  });

  it("a rotate: a new rotation begun in the window carries the settlement, which the driver's release then leaves alone", async () => {
    const { h, t, real, held, drive, rotation } = await settledButMarked("rotate");
    const patched = await call("PATCH", `/v1/credentials/${t.credentialId}`, { description: "in the window" });
    expect(patched.status).toBe(200);
    expect(patched.json.credential.current_rotation_id).toBeNull();
    const next = await beginRotation(h.engine, t.credentialId, {
      reason: "manual",
      mode: "revoke",
      requestedBy: "test",
    });
    expect(next).toMatchObject({ ok: true, joined: false });
    const between = (await real.getCredential(t.credentialId))!.value;
    expect(between.last_rotation).toMatchObject({ id: rotation.id, state: "done" });
    expect(between.current_rotation?.id).toBe(next.ok && next.rotation.id);
    expect(between.description).toBe("in the window");
    held.release();
    expect((await drive).state).toBe("done");
    // The settled rotation's release finds the new rotation named and changes nothing.
    const after = (await real.getCredential(t.credentialId))!.value;
    expect(after.current_rotation?.id).toBe(next.ok && next.rotation.id);
    if (!next.ok) throw new Error("unreachable");
    expect((await driveRotation(h.engine, t.credentialId, next.rotation.id)).state).toBe("done");
    expect((await real.getCredential(t.credentialId))!.value).toMatchObject({ state: "revoked" });
  });

  it("DELETE in the window unmanages the credential; the driver's release then finds nothing and the rotation stays done", async () => {
    const { t, real, held, drive } = await settledButMarked("rotate");
    const deleted = await call("DELETE", `/v1/credentials/${t.credentialId}`);
    expect(deleted.status).toBe(200);
    held.release();
    expect((await drive).state).toBe("done");
    expect(await real.getCredential(t.credentialId)).toBeNull();
  });

  it("a rotation still running is still refused by DELETE", async () => {
    const h = await engineHarness({ store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
    const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "sm" });
    const begun = await beginRotation(h.engine, t.credentialId, { reason: "manual", mode: "rotate", requestedBy: "t" });
    expect(begun.ok).toBe(true);
    const refused = await call("DELETE", `/v1/credentials/${t.credentialId}`);
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe("rotation_running");
    const got = await call("GET", `/v1/credentials/${t.credentialId}`);
    expect(got.json.credential.current_rotation_id).toBe(begun.ok && begun.rotation.id);
  });
});
