import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { eventTypeSchema } from "../../core/bus/events.ts";
import { isoTimeSchema } from "../../core/time.ts";
import { query } from "../../http/validate.ts";

export const auditQuerySchema = z.strictObject({
  credential_id: z.optional(z.string().check(z.maxLength(64))),
  type: z.optional(eventTypeSchema),
  since: z.optional(isoTimeSchema),
  until: z.optional(isoTimeSchema),
  cursor: z.optional(z.string().check(z.maxLength(1024))),
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000)), 100),
});

const auditEntrySchema = z.strictObject({
  id: z.string(),
  time: z.string(),
  type: eventTypeSchema,
  source: z.string(),
  subject: z.optional(z.string()),
  credential_id: z.optional(z.string()),
  rotation_id: z.optional(z.string()),
  /** Who did it: an Access identity, `admin-token`, `slack:U…`, `sweep`, an alert source, `consumer:<name>`. */
  actor: z.optional(z.string()),
  /** The event's data: ids, codes and fingerprint prefixes only (see src/core/bus/events.ts). */
  data: z.record(z.string(), z.unknown()),
});
export const auditListResponseSchema = z.strictObject({
  entries: z.array(auditEntrySchema),
  next_cursor: z.nullable(z.string()),
});

/** The audit trail, oldest first, filtered by credential, event type and time. */
export const audit = new Hono<AppEnv>().get("/", async (c) => {
  const q = query(c, auditQuerySchema);
  const page = await c.var.services.audit.list(q);
  return c.json({ entries: page.items, next_cursor: page.cursor ?? null });
});
