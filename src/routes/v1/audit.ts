import { Hono } from "hono/tiny";
import * as z from "zod";
import type { AppEnv } from "../../app-env.ts";
import { eventTypeSchema } from "../../core/bus/events.ts";
import { isoTimeSchema } from "../../core/time.ts";
import { query } from "../../http/validate.ts";

export const auditQuerySchema = z.strictObject({
  credential_id: z.string().max(64).optional(),
  type: eventTypeSchema.optional(),
  since: isoTimeSchema.optional(),
  until: isoTimeSchema.optional(),
  cursor: z.string().max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const auditEntrySchema = z.strictObject({
  id: z.string(),
  time: z.string(),
  type: eventTypeSchema,
  source: z.string(),
  subject: z.string().optional(),
  credential_id: z.string().optional(),
  rotation_id: z.string().optional(),
  /** Who did it: an Access identity, `admin-token`, `slack:U…`, `sweep`, an alert source, `consumer:<name>`. */
  actor: z.string().optional(),
  /** The event's data: ids, codes and fingerprint prefixes only (see src/core/bus/events.ts). */
  data: z.record(z.string(), z.unknown()),
});
export const auditListResponseSchema = z.strictObject({
  entries: z.array(auditEntrySchema),
  next_cursor: z.string().nullable(),
});

/** The audit trail, oldest first, filtered by credential, event type and time. */
export const audit = new Hono<AppEnv>().get("/", async (c) => {
  const q = query(c, auditQuerySchema);
  const page = await c.var.services.audit.list(q);
  return c.json({ entries: page.items, next_cursor: page.cursor ?? null });
});
