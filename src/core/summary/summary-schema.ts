/**
 * The shape of the dashboard's figures (GET /v1/summary, the home page): the response schema,
 * from which the type is derived. Kept apart from ./summary.ts, which computes the figures, so
 * that the Worker's bundle carries the type only: the schema is for the OpenAPI document (a static
 * asset, scripts/build-openapi.ts) and for the tests that parse every response with it.
 */
import * as z from "zod/mini";
import { isoTimeSchema as time } from "../time.ts";

const count = z.number().check(z.int(), z.gte(0));
const date = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/));
const ms = z.number().check(z.int(), z.gte(0));
const byReasonSchema = z.strictObject({ scheduled: count, manual: count, compromise: count, expiry: count });

export const summarySchema = z.strictObject({
  generated_at: time,
  credentials: z.strictObject({
    total: count,
    active: count,
    revoked: count,
    /** A leaked value (current or superseded) whose delete Clarifai has not confirmed: it still works. */
    leaked_live: count,
    /** A leaked self-managed PAT lost without a successor: register a new manager. */
    needs_manager: count,
  }),
  /** Superseded values past their grace end that still work at Clarifai. */
  owed_revocations: z.strictObject({
    total: count,
    /** Leaked, or over 6 hours past the grace end: each sweep that fails on one raises revocation.overdue. */
    overdue: count,
  }),
  /** Credentials whose rotation is running now, or whose last rotation failed. */
  rotations: z.strictObject({ running: count, failed: count }),
  last_30_days: z.strictObject({
    from: date,
    to: date,
    /** Oldest first, one per UTC day, today last. */
    days: z.array(
      z.strictObject({
        date,
        done: count,
        failed: count,
        /** Done and failed together. A failure whose reason is unknown (dead-lettered) counts in `failed` only. */
        by_reason: byReasonSchema,
      }),
    ),
    done: count,
    failed: count,
    by_reason: byReasonSchema,
    containment: z.strictObject({
      /** Compromises whose leaked value was confirmed dead, in the 30 days. */
      count,
      /** Nearest-rank percentiles over the points. */
      median_ms: z.nullable(ms),
      p95_ms: z.nullable(ms),
      max_ms: z.nullable(ms),
      /** Each containment, oldest first; at most 100 a day are kept (`count` has them all). */
      points: z.array(
        z.strictObject({
          at: time,
          containment_ms: ms,
          credential_id: z.string(),
          rotation_id: z.nullable(z.string()),
        }),
      ),
    }),
  }),
  /** What the sweep will do each UTC day, today first (what is already due is done by today's sweeps). */
  next_7_days: z.array(
    z.strictObject({
      date,
      /** Max-age rotations. */
      rotate: count,
      /** Superseded values whose grace period ends (or whose failed revocation is retried). */
      revoke_previous: count,
      /** Hard expiries: revoked without a replacement. */
      expire: count,
    }),
  ),
  /** Credentials by the key versions of their sealed values (a credential with values under two versions counts under each). */
  key_versions: z.array(z.strictObject({ version: z.number().check(z.int(), z.gte(1)), credentials: count })),
  /** Credentials holding a value sealed before fields were bound into the AAD. */
  legacy_sealed: count,
  /** What the figures cover: partial when the registry is larger than one summary reads. */
  coverage: z.strictObject({
    credentials: count,
    /** More credentials exist than were counted (over 10,000, or index entries without a summary). */
    partial: z.boolean(),
    /** Index entries without a summary (written before it existed) that were not counted. */
    not_summarised: count,
  }),
});
export type Summary = z.infer<typeof summarySchema>;
