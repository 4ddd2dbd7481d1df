/**
 * The cron sweep resumes a rotation as soon as its driver's lease has expired, whatever the
 * rotation's age, and leaves alone one whose lease is still held. Through the real Worker: the
 * registry in KV and the credential's Durable Object, GET /v1/plan, scheduled(), the real queue,
 * the sweep batch and the rotator, against the emulator.
 *
 * Both rotations are seconds old. Until issue 16 the sweep resumed a rotation only 15 minutes
 * after it began, so a crashed driver's rotation waited that long whatever its lease said.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { servicesFor } from "../../src/worker.ts";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { cronTick } from "../support/cron.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";

const store = () => new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);

/** A managed app key whose rotation was begun, and then its driver "died" holding a lease until `until`. */
async function abandonedRotation(prefix: string, until: number) {
  const tenant = await freshTenant(prefix);
  const managerId = await registerManager(tenant);
  const { key, id } = await registerAppKey(tenant, { managerId, policy: { grace_hours: 0 } });
  // Begun as a request begins it, but nothing drives it: no fast path, no rotation.requested.
  const engine = await servicesFor(env, createExecutionContext()).engine();
  const begun = await beginRotation(engine, id, { reason: "manual", mode: "rotate", requestedBy: "test" });
  if (!begun.ok) throw new Error(begun.code);
  // The lease a driver writes before its first step (core/rotation/drive.ts), by compare-and-swap.
  const cur = (await store().getRotation(id, begun.rotation.id))!;
  const leased = { ...cur.value, lease: { owner: `drv_${prefix}`, until: new Date(until).toISOString() } };
  expect(await store().putRotation(leased, cur.version)).not.toBeNull();
  return { tenant, id, rotationId: begun.rotation.id, oldKey: key.id };
}

describe("stuck rotations under the real sweep", () => {
  it("resumes a seconds-old rotation whose lease expired, and leaves one whose lease is held", async () => {
    const dead = await abandonedRotation("lease-dead", Date.now() - 1_000);
    const live = await abandonedRotation("lease-live", Date.now() + 10 * 60_000);

    const plan = (await call("GET", "/v1/plan")).json.plan as { credential_id: string; rule: string }[];
    expect(plan).toContainEqual(expect.objectContaining({ credential_id: dead.id, rule: "stuck_rotation" }));
    expect(plan.filter((a) => a.credential_id === live.id)).toEqual([]);

    await cronTick();
    await vi.waitUntil(
      async () => (await call("GET", `/v1/rotations/${dead.rotationId}`)).json.rotation.state === "done",
      { timeout: 20_000, interval: 100 },
    );
    const after = (await call("GET", `/v1/credentials/${dead.id}`)).json.credential;
    expect(after.last_rotation).toMatchObject({ id: dead.rotationId, state: "done" });
    const deadKeys = (await dead.tenant.state()).keys.filter((k: any) => k.type === "app_specific_key");
    expect(deadKeys.map((k: any) => k.id)).not.toContain(dead.oldKey);
    expect(deadKeys).toHaveLength(1);

    // The held one: not touched by the sweep (same lease, still at create, no call on its paths).
    const held = (await store().getRotation(live.id, live.rotationId))!.value;
    expect(held).toMatchObject({ state: "running", step: "create", lease: { owner: "drv_lease-live" } });
    expect(held.create_calls).toBeUndefined();
    expect((await live.tenant.state()).calls.filter((c: any) => c.method !== "GET")).toEqual([]);
  });
});
