import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { planSweepReport } from "../../core/sweep/plan.ts";
import { iso } from "../../core/time.ts";

export const planResponseSchema = z.strictObject({
  generated_at: z.string(),
  /** More credentials were due than one plan reads (500): the next sweeps will get to them. */
  truncated: z.boolean(),
  plan: z.array(
    z.strictObject({
      rule: z.enum(["max_age", "grace_expired", "expired", "stuck_rotation", "orphan_scan", "upstream_expiry"]),
      credential_id: z.string(),
      action: z.enum(["rotate", "revoke", "revoke_previous", "resume", "scan_orphans", "warn_expiring"]),
      due_at: z.string(),
      fingerprint_prefix: z.optional(z.string()),
      /** The credential's current key's expires_at at Clarifai (upstream_expiry, or the key's own). */
      key_expires_at: z.optional(z.string()),
      reason: z.string(),
    }),
  ),
  /**
   * Keys at Clarifai carrying a rekey rotation marker that rekey cannot prove it minted (created
   * outside that rotation's create window, or its rotation is unknown): never deleted, shown here.
   */
  left_alone: z.array(
    z.strictObject({
      credential_id: z.string(),
      rotation_id: z.string(),
      fingerprint_prefix: z.string(),
      reason: z.enum(["outside_create_window", "rotation_running", "rotation_unknown"]),
      found_at: z.string(),
    }),
  ),
});

/** What the next sweep would do and why: the sweep's own rules, read-only. */
export const plan = new Hono<AppEnv>().get("/", async (c) => {
  const now = c.var.services.now();
  const { actions, left_alone, truncated } = await planSweepReport(c.var.services.store, now);
  return c.json({ generated_at: iso(now), truncated, plan: actions, left_alone });
});
