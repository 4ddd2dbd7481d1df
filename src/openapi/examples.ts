/**
 * Documented examples, keyed by "<method> <path>" as in ./route-docs.ts. Each one is checked
 * against the zod schema it illustrates (test/workers/openapi.test.ts) and against the generated
 * JSON Schema (scripts/check-openapi.ts), so an example cannot drift from what the route accepts.
 * Values are placeholders: nothing here is, or looks like, a real token.
 */
const cred = "cred_01jd8v6m4q0z5x7c9b2n4m6k8a";
const rot = "rot_01jd8v7a1b2c3d4e5f6g7h8j9k";
const job = "job_01jd8v8c1d2e3f4g5h6j7k8m9n";
const at = "2026-11-29T10:00:00.000Z";

const DAY = 86_400_000;
const day = (i: number) => new Date(Date.parse("2026-11-29T00:00:00.000Z") + i * DAY).toISOString().slice(0, 10);
const reasons = (scheduled: number, manual: number, compromise: number) => ({
  scheduled,
  manual,
  compromise,
  expiry: 0,
});

export interface RouteExamples {
  body?: unknown;
  responses?: Record<number, unknown>;
}

export const routeExamples: Record<string, RouteExamples> = {
  "get /healthz": { responses: { 200: { status: "ok", version: "0.1.0", clarifai_emulator: false } } },
  "post /v1/credentials": {
    body: {
      kind: "app_key",
      user_id: "acme",
      value: "PLACEHOLDER_APP_KEY",
      manager_id: cred,
      description: "checkout service",
      policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate" },
      sinks: [{ type: "clarifai_secret", user_id: "acme", secret_id: "CHECKOUT_KEY" }],
    },
    responses: {
      409: { error: { code: "already_registered", message: "This value is already managed", credential_id: cred } },
    },
  },
  "post /v1/credentials/{id}/rotate": { body: { reason: "manual" } },
  "post /v1/credentials/{id}/revoke": { body: { reason: "compromise" } },
  "post /hooks/alerts": {
    body: { credential_id: cred, reason: "found in a public gist", source: "gitguardian" },
    responses: {
      202: { event_id: "evt_Zm9vYmFyYmF6cXV4cXV1eA", credential_id: cred, action: "rotation", rotation_id: rot },
    },
  },
  "post /hooks/github/secret-scanning": {
    body: [{
      token: "PLACEHOLDER_LEAKED_TOKEN",
      type: "clarifai_api_key",
      url: "https://github.com/octo/app/blob/main/.env",
      source: "content",
    }],
  },
  "get /v1/summary": {
    responses: {
      200: {
        generated_at: at,
        credentials: { total: 120, active: 117, revoked: 3, leaked_live: 0, needs_manager: 0 },
        owed_revocations: { total: 2, overdue: 0 },
        rotations: { running: 1, failed: 1 },
        last_30_days: {
          from: day(-29),
          to: day(0),
          days: Array.from({ length: 30 }, (_, i) => ({
            date: day(i - 29),
            done: i === 29 ? 4 : 1,
            failed: i === 28 ? 1 : 0,
            by_reason: i === 29 ? reasons(3, 0, 1) : i === 28 ? reasons(1, 1, 0) : reasons(1, 0, 0),
          })),
          done: 33,
          failed: 1,
          by_reason: reasons(32, 1, 1),
          containment: {
            count: 1,
            median_ms: 14,
            p95_ms: 14,
            max_ms: 14,
            points: [{ at, containment_ms: 14, credential_id: cred, rotation_id: rot }],
          },
        },
        next_7_days: Array.from({ length: 7 }, (_, i) => ({
          date: day(i),
          rotate: i === 2 ? 3 : 0,
          revoke_previous: i === 0 ? 2 : 0,
          expire: 0,
        })),
        key_versions: [{ version: 2, credentials: 120 }],
        legacy_sealed: 0,
        coverage: { credentials: 120, partial: false, not_summarised: 0 },
      },
    },
  },
  "post /v1/maintenance/reencrypt": {
    body: { batch_size: 100 },
    responses: {
      202: {
        outcome: "started",
        job: {
          id: job,
          state: "running",
          target_version: 2,
          cursor: null,
          batch_size: 100,
          batches: 0,
          scanned: 0,
          rewritten: 0,
          remaining: 0,
          requested_by: "admin",
          started_at: at,
          updated_at: at,
          finished_at: null,
        },
      },
    },
  },
  "post /chatops/slack/commands": {
    body: {
      command: "/rekey",
      text: `revoke ${cred}`,
      user_id: "U012AB3CD",
      response_url: "https://hooks.slack.com/commands/T0001/1234/abcd",
    },
  },
  "post /chatops/discord": {
    body: {
      type: 1,
      id: "123456789012345679",
      application_id: "123456789012345678",
      token: "interaction-token-placeholder",
    },
    responses: { 200: { type: 1 } },
  },
};
