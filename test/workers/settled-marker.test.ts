/**
 * A rotation that has settled while its credential still names it (src/core/rotation/settle.ts),
 * on the real Workers store (Workers KV and the CredentialCell Durable Object) and the real Worker's
 * admin routes: the window CI once caught, where GET /v1/rotations/:id said `done` and the
 * credential, read a moment later, still said `active` (or DELETE answered `rotation_running`).
 *
 * The window is the test's own: the rotation is driven by the real engine (a Clarifai emulator in
 * this isolate) through a seam on the store that holds the one write clearing the credential's
 * marker, after the rotation's record has settled. While it is held, the Worker's routes read the
 * same KV and Durable Objects. Or the write fails there, as if the driver died: then nobody but the
 * reader or writer in the window (or, later, the sweep) settles the rotation, and a writer must
 * announce it (`rotation.completed`, `credential.revoked`) before it takes the marker or the records.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { fromEngineEvent } from "../../src/core/bus/engine-events.ts";
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import { updateRegistration } from "../../src/core/credentials/update.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import type { Store } from "../../src/core/store/store.ts";
import { call } from "../support/api.ts";
import { ALICE, blockAction, BOB, confirmValue, responseUrl, slackSigned, slashCommand } from "../support/chat.ts";
import { dashboardPage } from "../support/dashboard-session.ts";
import { engineHarness } from "../support/engine-harness.ts";
import { inIsolateTenant } from "../support/in-isolate-tenant.ts";

interface Held {
  /** Resolves once the write that clears the marker of the rotation is reached (not yet made). */
  reached: Promise<void>;
  /** Lets that write through (the driver lives on). */
  release: () => void;
  /** Fails that write instead (the driver dies there: nothing after it runs). */
  kill: () => void;
  tripped?: boolean;
}

/** The real store, with the write that releases the credential from `rotationId` held until released or killed. */
function holdingRelease(inner: Store, rotationId: () => string | undefined): { store: Store; held: Held } {
  let reached!: () => void;
  let open!: (go: boolean) => void;
  const gate = new Promise<boolean>((r) => (open = r));
  const held: Held = {
    reached: new Promise<void>((r) => (reached = r)),
    release: () => open(true),
    kill: () => open(false),
  };
  const store = new Proxy(inner, {
    get: (target, prop) => {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop !== "putCredential" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
      return async (rec: CredentialRecord, expected: string | null) => {
        const id = rotationId();
        if (id && !held.tripped && !rec.current_rotation && rec.last_rotation?.id === id) {
          // The driver's own release, once: whoever settles the rotation after it goes through.
          held.tripped = true;
          reached();
          if (!(await gate)) throw new Error("the driver died here");
        }
        return target.putCredential(rec, expected);
      };
    },
  });
  return { store, held };
}

/** A manager PAT and an app key it manages, and a rotation of the key driven until its credential's release is held. */
async function settledButMarked(mode: "rotate" | "revoke", beforeBegin?: (credentialId: string) => Promise<void>) {
  const real = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
  const target: { rotationId?: string } = {};
  const { store, held } = holdingRelease(real, () => target.rotationId);
  const h = await engineHarness({ store });
  const t = await inIsolateTenant(h.emulator, h.engine, { prefix: "sm" });
  await beforeBegin?.(t.credentialId);
  const begun = await beginRotation(h.engine, t.credentialId, { reason: "manual", mode, requestedBy: "test" });
  if (!begun.ok) throw new Error(`begin: ${begun.code}`);
  target.rotationId = begun.rotation.id;
  // The credential as an alert's match would have read it before the window (its `known` copy).
  const before = (await real.getCredential(t.credentialId))!;
  const drive = driveRotation(h.engine, t.credentialId, begun.rotation.id);
  await held.reached;
  const r = (await real.getRotation(t.credentialId, begun.rotation.id))!.value;
  const rec = (await real.getCredential(t.credentialId))!.value;
  // The window itself: the rotation's record is over, the credential still names it.
  expect(r.state).toBe("done");
  expect(rec.current_rotation?.id).toBe(begun.rotation.id);
  /** The engine's announcements of the held rotation so far (its own driver's and any other's). */
  const announced = () =>
    h.events.filter((e) => "rotation" in e && e.rotation.id === r.id && e.type !== "rotation.step").map((e) => e.type)
      .concat(h.events.filter((e) => e.type === "credential.revoked" && e.rotationId === r.id).map((e) => e.type));
  /** The driver dies at the held write: its release and announcements never happen. */
  const killDriver = async () => {
    held.kill();
    await expect(drive).rejects.toThrow();
    expect(announced()).toEqual([]);
  };
  return { h, t, real, held, drive, rotation: r, before, announced, killDriver };
}

/** `id`'s audit entries of `type`, once there are `n` (the queue's auditor writes them). */
async function audited(id: string, type: string, n = 1): Promise<any[]> {
  for (let i = 0; i < 200; i++) {
    const entries = (await call("GET", `/v1/audit?credential_id=${id}&type=${type}`)).json.entries;
    if (entries.length >= n) return entries;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} ${type} audit entries for ${id}`);
}

describe("a rotation settled while its credential still names it", () => {
  it("a revoke: the credential reads revoked and refuses another rotation; the driver's release then finds it settled", async () => {
    const { t, real, held, drive, rotation } = await settledButMarked("revoke");
    const got = await call("GET", `/v1/credentials/${t.credentialId}`);
    expect(got.status).toBe(200);
    expect(got.json.credential).toMatchObject({
      state: "revoked",
      current_rotation_id: null,
      last_rotation: { id: rotation.id, state: "done" },
    });
    const again = await call("POST", `/v1/credentials/${t.credentialId}/rotate`);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("credential_revoked");
    held.release();
    const driven: Rotation = await drive;
    expect(driven.state).toBe("done");
    const after = (await real.getCredential(t.credentialId))!.value;
    expect(after).toMatchObject({ state: "revoked", last_rotation: { id: rotation.id, state: "done" } });
    expect(after.current_rotation).toBeUndefined();
  });

  it("a revoke: chat's status and the dashboard's page read it revoked, with no rotation running and no Revoke button", async () => {
    const { t, held, drive, rotation } = await settledButMarked("revoke");
    const status = await slackSigned(
      "/chatops/slack/commands",
      slashCommand(ALICE, `status ${t.credentialId}`, responseUrl("sm")),
    );
    expect(status.status).toBe(200);
    expect(status.text).toContain(" · revoked · ");
    expect(status.text).not.toContain("Current rotation");
    expect(status.text).toContain(`Last rotation \`${rotation.id}\`: done`);
    const page = await dashboardPage(`/ui/credentials/${t.credentialId}`);
    expect(page).toContain('<span class="badge bad">revoked</span>');
    expect(page).not.toContain("Revoke…");
    expect(page).not.toContain("Rotate…");
    held.release();
    expect((await drive).state).toBe("done");
  });

  it("a revoke: a chat confirmation asked before it is refused as changed, not joined to the settled rotation", async () => {
    let token = "";
    const asked = async (id: string) => {
      const ask = await slackSigned("/chatops/slack/commands", slashCommand(ALICE, `revoke ${id}`, responseUrl("sm")));
      token = confirmValue(ask.json);
    };
    const { t, real, held, drive } = await settledButMarked("revoke", asked);
    const confirmed = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_confirm", token, responseUrl("sm-ok")),
    );
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers["x-rekey-refusal"]).toBe("credential_changed");
    held.release();
    expect((await drive).state).toBe("done");
    expect(await real.listRotations(t.credentialId)).toHaveLength(1);
  });

  it("a begin in the window settles the rotation first (release and announcements), then begins its own", async () => {
    const { h, t, real, rotation, announced, killDriver } = await settledButMarked("rotate");
    await killDriver();
    const next = await beginRotation(h.engine, t.credentialId, { reason: "manual", mode: "revoke", requestedBy: "t" });
    if (!next.ok) throw new Error(next.code);
    expect(next.joined).toBe(false);
    // Its old value was deleted at once (no grace period): revoked, then completed.
    expect(announced().sort()).toEqual(["credential.revoked", "rotation.completed"]);
    const between = (await real.getCredential(t.credentialId))!.value;
    expect(between.last_rotation).toMatchObject({ id: rotation.id, state: "done" });
    expect(between.current_rotation?.id).toBe(next.rotation.id);
    expect((await driveRotation(h.engine, t.credentialId, next.rotation.id)).state).toBe("done");
    expect((await real.getCredential(t.credentialId))!.value).toMatchObject({ state: "revoked" });
  });

  it("an alert's begin from the copy its match read before the window: settles the rotation, then finds the value superseded", async () => {
    const { h, t, before, announced, killDriver } = await settledButMarked("rotate");
    await killDriver();
    const begun = await beginRotation(h.engine, t.credentialId, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "t",
      expectedFingerprint: before.value.fingerprint,
    }, before);
    expect(begun).toEqual({ ok: false, code: "value_superseded" });
    expect(announced().sort()).toEqual(["credential.revoked", "rotation.completed"]);
  });

  it("a revoke whose driver died in the window: a PATCH settles it, revoked and announced, and refuses", async () => {
    const { h, t, real, rotation, announced, killDriver } = await settledButMarked("revoke");
    await killDriver();
    const patched = await updateRegistration(h.engine, t.credentialId, { description: "too late" });
    expect(!patched.ok && patched.error.code).toBe("credential_revoked");
    expect(announced().sort()).toEqual(["credential.revoked", "rotation.completed"]);
    expect((await real.getCredential(t.credentialId))!.value).toMatchObject({
      state: "revoked",
      description: "",
      last_rotation: { id: rotation.id },
    });
  });

  it("a PATCH in the window, the driver alive: applied, with the credential released", async () => {
    const { h, t, real, held, drive, rotation } = await settledButMarked("rotate");
    const patched = await call("PATCH", `/v1/credentials/${t.credentialId}`, { description: "in the window" });
    expect(patched.status).toBe(200);
    expect(patched.json.credential).toMatchObject({ current_rotation_id: null, description: "in the window" });
    held.release();
    expect((await drive).state).toBe("done");
    // Announced twice, by the PATCH's settlement (on the real queue, to the auditor) and by the
    // driver: one event id, so every handler takes the second as a duplicate.
    const [entry] = await audited(t.credentialId, "rotation.completed");
    const mine = h.events.find((e) => e.type === "rotation.completed" && e.rotation.id === rotation.id)!;
    expect(entry.id).toBe((await fromEngineEvent(mine, Date.now())).id);
    expect((await real.getCredential(t.credentialId))!.value).toMatchObject({
      description: "in the window",
      last_rotation: { id: rotation.id, state: "done" },
    });
  });

  it("DELETE in the window, its driver dead: the rotation is announced before the credential is unmanaged", async () => {
    const { t, real, rotation, killDriver } = await settledButMarked("rotate");
    await killDriver();
    const deleted = await call("DELETE", `/v1/credentials/${t.credentialId}`);
    expect(deleted.status).toBe(200);
    expect(await real.getCredential(t.credentialId)).toBeNull();
    const [completed] = await audited(t.credentialId, "rotation.completed");
    expect(completed.data).toMatchObject({ rotation_id: rotation.id });
    await audited(t.credentialId, "credential.unmanaged");
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
