/** Builders for valid records in tests. Sealed values are fake-shaped: stores never decrypt. */
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";

let n = 0;
const t = "2026-01-01T00:00:00.000Z";

export function credentialRecord(over: Partial<CredentialRecord> = {}): CredentialRecord {
  n++;
  return {
    id: `cred_test${String(n).padStart(6, "0")}${Math.random().toString(36).slice(2, 8)}`,
    kind: "app_key",
    state: "active",
    user_id: "u1",
    app_id: "a1",
    description: "",
    manager_id: "cred_manager",
    scopes: ["All"],
    apps: [{ id: "a1", user_id: "u1" }],
    value: { v: 1, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" },
    fingerprint: `fp${n}${Math.random().toString(16).slice(2)}`,
    value_created_at: t,
    previous: [],
    policy: { grace_hours: 24, on_compromise: "rotate", generator: "none" },
    sinks: [],
    consumers: [],
    created_at: t,
    updated_at: t,
    ...over,
  };
}

export function rotationRecord(credentialId: string, over: Partial<Rotation> = {}): Rotation {
  n++;
  return {
    id: `rot_test${n}${Math.random().toString(36).slice(2, 8)}`,
    credential_id: credentialId,
    reason: "manual",
    mode: "rotate",
    state: "running",
    plan: ["create", "propagate", "verify", "promote", "revoke_old", "done"],
    step: "create",
    requested_by: "test",
    old_fingerprint: "fp",
    propagated: [],
    old_revoked: false,
    attempts: 0,
    created_at: t,
    updated_at: t,
    ...over,
  };
}
