/**
 * The real cron path on Workers: scheduled() publishes the first page, the queue consumer runs the
 * sweep batch and the rotator, and an expired credential ends revoked at Clarifai.
 */
import { describe, expect, it, vi } from "vitest";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { cronTick } from "../support/cron.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";

describe("scheduled()", () => {
  it("revokes a credential past its expiry through the queue, and GET /v1/plan showed it first", async () => {
    const tenant = await freshTenant("sweep");
    const managerId = await registerManager(tenant);
    const { key, id } = await registerAppKey(tenant, {
      managerId,
      label: "expiring",
      policy: { expires_at: "2026-01-01T00:00:00Z" },
    });
    const plan = await call("GET", "/v1/plan");
    expect(plan.json.plan).toContainEqual(
      expect.objectContaining({ credential_id: id, rule: "expired", action: "revoke" }),
    );
    expect((await tenant.state()).keys.map((k: any) => k.id)).toContain(key.id);

    await cronTick();
    await vi.waitUntil(async () => (await call("GET", `/v1/credentials/${id}`)).json.credential.state === "revoked", {
      timeout: 20_000,
      interval: 100,
    });
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(key.id);
  });
});
