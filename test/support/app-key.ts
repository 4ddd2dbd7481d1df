/**
 * Mints a workload app key for a test tenant at the emulator and registers it with the Worker
 * (`POST /v1/credentials`, kind app_key) under the tenant's manager, as most Workers tests do
 * after `registerManager`. The body carries only what the caller names: a test that leaves out
 * `policy` gets the Worker's default policy, as it did when the body was written out.
 */
import { expect } from "vitest";
import { call, type Captured } from "./api.ts";
import type { freshTenant } from "./emulator-control.ts";

type Tenant = Awaited<ReturnType<typeof freshTenant>>;

export interface AppKeyOptions {
  managerId: string;
  /** The key's description at Clarifai; "workload" unless given. */
  label?: string;
  /** The key's scopes at Clarifai; Predict unless given. */
  scopes?: string[];
  /** The canary's list of secrets: the minted key id is pushed to it. */
  secrets?: string[];
  policy?: Record<string, unknown>;
  sinks?: unknown[];
  /** Any other registration fields (description, consumers), sent as given. */
  fields?: Record<string, unknown>;
}

/** Mints the key and posts its registration; the answer is the caller's to check (refusals). */
export async function postAppKey(tenant: Tenant, opts: AppKeyOptions): Promise<{ key: MintedKey; res: Captured }> {
  const key = await tenant.mint("app_specific_key", opts.scopes ?? ["Predict"], opts.label ?? "workload");
  opts.secrets?.push(key.id);
  const res = await call("POST", "/v1/credentials", {
    kind: "app_key",
    user_id: tenant.userId,
    value: key.id,
    manager_id: opts.managerId,
    ...opts.fields,
    ...(opts.policy === undefined ? {} : { policy: opts.policy }),
    ...(opts.sinks === undefined ? {} : { sinks: opts.sinks }),
  });
  return { key, res };
}

/** The same, expecting 201; returns the key, the credential id and the credential as answered. */
export async function registerAppKey(tenant: Tenant, opts: AppKeyOptions) {
  const { key, res } = await postAppKey(tenant, opts);
  expect(res.status, res.text).toBe(201);
  const credential = res.json.credential;
  return { key, id: credential.id as string, fingerprint: credential.fingerprint as string, credential };
}

type MintedKey = Awaited<ReturnType<Tenant["mint"]>>;
