import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../app-env.ts";
import { planSweepReport } from "../../core/sweep/plan.ts";

export const planResponseSchema = z.strictObject({
  generated_at: z.string(),
  /** More credentials were due than one plan reads (500): the next sweeps will get to them. */
  truncated: z.boolean(),
  plan: z.array(
    z.strictObject({
      rule: z.enum(["max_age", "grace_expired", "expired", "stuck_rotation"]),
      credential_id: z.string(),
      action: z.enum(["rotate", "revoke", "revoke_previous", "resume"]),
      due_at: z.string(),
      fingerprint_prefix: z.string().optional(),
      reason: z.string(),
    }),
  ),
});

/** What the next sweep would do and why: the sweep's own rules, read-only. */
export const plan = new Hono<AppEnv>().get("/", async (c) => {
  const now = c.var.deps.now();
  const { actions, truncated } = await planSweepReport(c.var.deps.store, now);
  return c.json({ generated_at: new Date(now).toISOString(), truncated, plan: actions });
});
