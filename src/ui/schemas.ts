/** Every input the dashboard reads: form bodies and query strings. Also documented in the OpenAPI route table. */
import * as z from "zod";
import { jobIdSchema, rotationIdSchema } from "../core/bus/fields.ts";

/** Optional in the schema so that a missing token is refused as a CSRF failure (403), not a shape error. */
const csrf = z.string().max(128).optional();

export const signInFormSchema = z.strictObject({ token: z.string().min(1).max(1024) });
export const signOutFormSchema = z.strictObject({ csrf });
/** The rotate and the revoke confirmation forms. */
export const startFormSchema = z.strictObject({ csrf, reason: z.enum(["manual", "compromise"]).default("manual") });

export const signInQuerySchema = z.strictObject({
  expired: z.literal("1").optional(),
  signed_out: z.literal("1").optional(),
});
export const listPageQuerySchema = z.strictObject({ cursor: z.string().max(1024).optional() });
export const credentialPageQuerySchema = z.strictObject({
  started: rotationIdSchema.optional(),
  joined: z.literal("1").optional(),
  mode: z.enum(["rotate", "revoke"]).optional(),
});
export const emptyQuerySchema = z.strictObject({});
/** The re-encryption confirmation form. */
export const reencryptFormSchema = z.strictObject({ csrf });
export const maintenanceQuerySchema = z.strictObject({
  started: jobIdSchema.optional(),
  outcome: z.enum(["started", "resumed"]).optional(),
});
