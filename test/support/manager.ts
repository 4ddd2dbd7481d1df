/**
 * Registers a test tenant's manager PAT (the token rekey uses to rotate the tenant's other
 * credentials) through the admin API, as most Workers tests do first; returns its credential id.
 */
import { expect } from "vitest";
import { call } from "./api.ts";
import type { freshTenant } from "./emulator-control.ts";

export async function registerManager(
  tenant: Awaited<ReturnType<typeof freshTenant>>,
  description = "manager",
): Promise<string> {
  const res = await call("POST", "/v1/credentials", {
    kind: "pat",
    user_id: tenant.userId,
    value: tenant.manager.id,
    description,
  });
  expect(res.status).toBe(201);
  return res.json.credential.id as string;
}
