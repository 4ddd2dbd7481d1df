/**
 * zod schemas for what Clarifai sends and accepts, in its own snake_case (reference §1). The client's
 * types are inferred from these, so the wire and the types cannot drift apart.
 *
 * Responses are parsed leniently: unknown fields are kept out of the way (stripped), and fields that
 * proto3 JSON leaves out when empty (reference §1, "zero values are left out") get their zero value,
 * so callers never have to tell "absent" from "empty".
 *
 * Runtime-neutral: zod only.
 *
 * @module
 */
import * as z from "zod";

/** `status` of every Clarifai response (status.proto). */
const statusSchema = z.object({
  code: z.number().int(),
  description: z.string().optional(),
  details: z.string().optional(),
  req_id: z.string().optional(),
});
type ClarifaiStatus = z.infer<typeof statusSchema>;

export const envelopeSchema = z.object({ status: statusSchema });

/** The two kinds of key (resources.proto `Key.type`). */
const KEY_TYPES = ["personal_access_token", "app_specific_key"] as const;
const keyTypeSchema = z.enum(KEY_TYPES);
export type KeyType = z.infer<typeof keyTypeSchema>;

/** An app reference inside `Key.apps`, as sent on create: `{id, user_id}`. */
const appRefSchema = z.object({
  id: z.string(),
  user_id: z.string().optional(),
});
type AppRef = z.infer<typeof appRefSchema>;

/** A key (PAT or app-specific key). `id` is the credential itself: treat it as a secret. */
export const keySchema = z.object({
  id: z.string().min(1),
  // Proto comment: "it can be app_specific_key (default) or personal_access_token".
  type: z.string().default("app_specific_key"),
  description: z.string().default(""),
  scopes: z.array(z.string()).default([]),
  endpoints: z.array(z.string()).default([]),
  apps: z.array(appRefSchema).default([]),
  created_at: z.string().optional(),
  expires_at: z.string().optional(),
  // "list of idp ids at which key is currently authorized" (resources.proto `Key`).
  authorized_idp_ids: z.array(z.string()).default([]),
  // PATs only: the organization the key acts for.
  organization_id: z.string().optional(),
});
export type Key = z.infer<typeof keySchema>;

/** An environment secret. `value` is the secret: never log it. */
const secretSchema = z.object({
  id: z.string().min(1),
  user_id: z.string().optional(),
  value: z.string().optional(),
  version: z.number().int().default(0),
  description: z.string().default(""),
  created_at: z.string().optional(),
  modified_at: z.string().optional(),
  expires_at: z.string().optional(),
});
export type Secret = z.infer<typeof secretSchema>;

/** MyScopes / MyScopesUser (`MultiScopeResponse`): what the calling credential may do. */
export const scopesInfoSchema = z.object({
  scopes: z.array(z.string()).default([]),
  endpoints: z.array(z.string()).default([]),
  // Present for an app-specific key on GET /v2/myscopes: the app it is bound to.
  app: appRefSchema.optional(),
});
export type ScopesInfo = z.infer<typeof scopesInfoSchema>;

export const multiKeyResponseSchema = z.object({ keys: z.array(keySchema).default([]) });
export const multiSecretResponseSchema = z.object({ secrets: z.array(secretSchema).default([]) });
export const singleSecretResponseSchema = z.object({ secret: secretSchema });
export const baseResponseSchema = z.object({});

/** What `createKey` takes. PATs carry no apps; an app-specific key carries exactly one. */
const newKeySchema = z.object({
  type: keyTypeSchema,
  description: z.string(),
  scopes: z.array(z.string()),
  apps: z.array(appRefSchema).optional(),
  endpoints: z.array(z.string()).optional(),
  expires_at: z.string().optional(),
  authorized_idp_ids: z.array(z.string()).optional(),
  organization_id: z.string().optional(),
});
export type NewKey = z.infer<typeof newKeySchema>;

/** One entry of a `patchSecrets` call. */
const secretPatchSchema = z.object({
  id: z.string().min(1),
  value: z.string().optional(),
  description: z.string().optional(),
});
export type SecretPatch = z.infer<typeof secretPatchSchema>;

/** PatchSecrets actions (reference §5.2; `merge` is unverified for secrets, so not offered). */
const secretPatchActionSchema = z.enum(["overwrite", "remove"]);
export type SecretPatchAction = z.infer<typeof secretPatchActionSchema>;
