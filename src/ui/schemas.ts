/** Every input the dashboard reads: form bodies and query strings. Also documented in the OpenAPI route table. */
import * as z from "zod/mini";
import { jobIdSchema, rotationIdSchema } from "../core/bus/fields.ts";

/** Optional in the schema so that a missing token is refused as a CSRF failure (403), not a shape error. */
const csrf = z.optional(z.string().check(z.maxLength(128)));

export const signInFormSchema = z.strictObject({ token: z.string().check(z.minLength(1), z.maxLength(1024)) });
export const signOutFormSchema = z.strictObject({ csrf });
/** The rotate and the revoke confirmation forms. */
export const startFormSchema = z.strictObject({ csrf, reason: z._default(z.enum(["manual", "compromise"]), "manual") });

export const signInQuerySchema = z.strictObject({
  expired: z.optional(z.literal("1")),
  signed_out: z.optional(z.literal("1")),
});
export const listPageQuerySchema = z.strictObject({ cursor: z.optional(z.string().check(z.maxLength(1024))) });
export const credentialPageQuerySchema = z.strictObject({
  started: z.optional(rotationIdSchema),
  joined: z.optional(z.literal("1")),
  mode: z.optional(z.enum(["rotate", "revoke"])),
});
export const emptyQuerySchema = z.strictObject({});
/** The re-encryption confirmation form. */
export const reencryptFormSchema = z.strictObject({ csrf });
export const maintenanceQuerySchema = z.strictObject({
  started: z.optional(jobIdSchema),
  outcome: z.optional(z.enum(["started", "resumed"])),
});
