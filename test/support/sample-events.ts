/**
 * One realistic `data` per event type: what the tests build every envelope from, and a quick
 * reference for what each event carries. No value here is, or looks like, a secret.
 *
 * Runtime-neutral.
 */
import type { EventData, EventType } from "../../src/core/bus/events.ts";

const credential_id = "cred_01jc4k8v3e7q9m2xw5r6t8y0zb";
const rotation_id = "rot_01jc4k9a0b1c2d3e4f5g6h7j8k";

export const sampleData: { [T in EventType]: EventData<T> } = {
  "alert.received": {
    alert_source: "github",
    alert_id: "alrt_q2XvU6lK0nF3cY8pR1sT9w",
    token_count: 3,
    matched_count: 1,
  },
  "credential.compromised": {
    credential_id,
    fingerprint_prefix: "9f86d081",
    alert_source: "github",
    alert_id: "alrt_q2XvU6lK0nF3cY8pR1sT9w",
    reason: "token_match",
  },
  "rotation.requested": {
    credential_id,
    rotation_id,
    reason: "compromise",
    mode: "rotate",
    requested_by: "slack:U0123ABCD",
    actor: "slack:U0123ABCD",
  },
  "rotation.step": { credential_id, rotation_id, step: "create", next_step: "propagate", state: "running" },
  "rotation.completed": {
    credential_id,
    rotation_id,
    reason: "scheduled",
    mode: "rotate",
    old_fingerprint_prefix: "9f86d081",
    new_fingerprint_prefix: "60303ae2",
  },
  "rotation.failed": {
    credential_id,
    rotation_id,
    reason: "compromise",
    mode: "rotate",
    step: "create",
    error_code: "clarifai_insufficient_scopes",
    clarifai_code: 11007,
  },
  "credential.revoked": { credential_id, fingerprint_prefix: "9f86d081", rotation_id, reason: "grace_expired" },
  "revocation.overdue": {
    credential_id,
    fingerprint_prefix: "9f86d081",
    rotation_id,
    revoke_after: "2026-08-22T10:00:00.000Z",
    attempts: 4,
    last_error_code: "clarifai_unavailable",
  },
  "credential.orphaned_manager": {
    credential_id,
    rotation_id,
    fingerprint_prefix: "9f86d081",
    error_code: "clarifai_unavailable",
    old_revoked: true,
  },
  "credential.expiring": {
    credential_id,
    fingerprint_prefix: "9f86d081",
    expires_at: "2026-09-01T10:00:00.000Z",
    last_rotation_id: rotation_id,
    last_rotation_state: "failed",
  },
  "sweep.batch": { sweep_id: "swp_01jc4kb0000000000000000000", cursor: "AAAAAFdHNuZ2VyOmNyZWRf", batch_size: 50 },
  "orphan.deleted": { rotation_id: "rot_01jc4kb0000000000000000000", fingerprint_prefix: "3fa9c1d2" },
  "orphan.scan": { credential_id, sweep_id: "swp_01jc4kb0000000000000000000", page: 1, step: 0, failures: 0 },
  "orphan.suspected": {
    credential_id,
    rotation_id: "rot_01jc4kb0000000000000000000",
    fingerprint_prefix: "3fa9c1d2",
    reason: "outside_create_window",
  },
  "maintenance.reencrypt": { job_id: "job_01jc4kb0c1d2e3f4g5h6j7k8m9", cursor: null, batch_size: 50 },
  "maintenance.completed": {
    job_id: "job_01jc4kb0c1d2e3f4g5h6j7k8m9",
    target_version: 2,
    scanned: 1000,
    rewritten: 1000,
    remaining: 0,
  },
  "github.alert_linked": {
    credential_id,
    fingerprint_prefix: "9f86d081",
    alert_id: "alrt_AAAAAAAAAAAAAAAAAAAAAA",
    alert_number: 42,
    actor: "github:acme/api#42",
  },
  "github.alert_resolved": {
    credential_id,
    fingerprint_prefix: "9f86d081",
    alert_id: "alrt_AAAAAAAAAAAAAAAAAAAAAA",
    alert_number: 42,
    rotation_id,
    new_fingerprint_prefix: "3fa9c1d2",
  },
  "github.alerts_scan": {
    sweep_id: "swp_01jc4kb0000000000000000000",
    scope: 0,
    cursor: "Y3Vyc29yOnYyOpK0MjAyMy0wNy0xMlQxMjozNTozOSswMDowMM4ACt6f",
    handled: ["0:3", "811:12"],
    page: 2,
  },
  // Not a chunk that opens (its ciphertext is made up): only its shape is real.
  "github.tokens_deferred": {
    alert_source: "github",
    alert_id: "alrt_q2XvU6lK0nF3cY8pR1sT9w",
    chunk: 1,
    chunks: 3,
    first: 200,
    token_count: 200,
    sealed: { v: 1, aad: 2, iv: "AAECAwQFBgcICQoL", ct: "c2FtcGxlIGNpcGhlcnRleHQgYW5kIHRhZw==" },
  },
  "github.alert_fetch_owed": {
    actor: "github:octo-org/app#42",
    alert_number: 42,
    installation_id: 7,
    repository_id: 811,
    delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    received_at: "2026-08-22T10:00:00.000Z",
  },
  "event.dead_lettered": {
    event_type: "sweep.batch",
    event_id: "evt_q2XvU6lK0nF3cY8pR1sT9w",
    event_source: "/rekey/cron",
    reason: "permanent",
    handler: "sweeper",
    error_code: "storage_unavailable",
  },
  "credential.registered": {
    credential_id,
    actor: "alice@example.com",
    kind: "app_key",
    fingerprint_prefix: "9f86d081",
  },
  "credential.updated": { credential_id, actor: "admin-token", fields: ["consumers", "policy"] },
  "credential.unmanaged": { credential_id, actor: "slack:U0123ABCD", fingerprint_prefix: "9f86d081" },
  "credential.read": { credential_id, consumer: "billing-api", fingerprint_prefix: "9f86d081" },
};
