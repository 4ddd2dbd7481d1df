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
import * as z from "zod/mini";

/** `status` of every Clarifai response (status.proto). */
const statusSchema = z.object({
  code: z.number().check(z.int()),
  description: z.optional(z.string()),
  details: z.optional(z.string()),
  req_id: z.optional(z.string()),
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
  user_id: z.optional(z.string()),
});
type AppRef = z.infer<typeof appRefSchema>;

/** A key (PAT or app-specific key). `id` is the credential itself: treat it as a secret. */
export const keySchema = z.object({
  id: z.string().check(z.minLength(1)),
  // Proto comment: "it can be app_specific_key (default) or personal_access_token".
  type: z._default(z.string(), "app_specific_key"),
  description: z._default(z.string(), ""),
  scopes: z._default(z.array(z.string()), []),
  endpoints: z._default(z.array(z.string()), []),
  apps: z._default(z.array(appRefSchema), []),
  created_at: z.optional(z.string()),
  expires_at: z.optional(z.string()),
  // "list of idp ids at which key is currently authorized" (resources.proto `Key`).
  authorized_idp_ids: z._default(z.array(z.string()), []),
  // PATs only: the organization the key acts for.
  organization_id: z.optional(z.string()),
});
export type Key = z.infer<typeof keySchema>;

/** An environment secret. `value` is the secret: never log it. */
const secretSchema = z.object({
  id: z.string().check(z.minLength(1)),
  user_id: z.optional(z.string()),
  value: z.optional(z.string()),
  version: z._default(z.number().check(z.int()), 0),
  description: z._default(z.string(), ""),
  created_at: z.optional(z.string()),
  modified_at: z.optional(z.string()),
  expires_at: z.optional(z.string()),
});
export type Secret = z.infer<typeof secretSchema>;

/** MyScopes / MyScopesUser (`MultiScopeResponse`): what the calling credential may do. */
export const scopesInfoSchema = z.object({
  scopes: z._default(z.array(z.string()), []),
  endpoints: z._default(z.array(z.string()), []),
  // Present for an app-specific key on GET /v2/myscopes: the app it is bound to.
  app: z.optional(appRefSchema),
});
export type ScopesInfo = z.infer<typeof scopesInfoSchema>;

export const multiKeyResponseSchema = z.object({ keys: z._default(z.array(keySchema), []) });
export const multiSecretResponseSchema = z.object({ secrets: z._default(z.array(secretSchema), []) });
export const singleSecretResponseSchema = z.object({ secret: secretSchema });
export const baseResponseSchema = z.object({});

/** What `createKey` takes. PATs carry no apps; an app-specific key carries exactly one. */
const newKeySchema = z.object({
  type: keyTypeSchema,
  description: z.string(),
  scopes: z.array(z.string()),
  apps: z.optional(z.array(appRefSchema)),
  endpoints: z.optional(z.array(z.string())),
  expires_at: z.optional(z.string()),
  authorized_idp_ids: z.optional(z.array(z.string())),
  organization_id: z.optional(z.string()),
});
export type NewKey = z.infer<typeof newKeySchema>;

/** One entry of a `patchSecrets` call. */
const secretPatchSchema = z.object({
  id: z.string().check(z.minLength(1)),
  value: z.optional(z.string()),
  description: z.optional(z.string()),
});
export type SecretPatch = z.infer<typeof secretPatchSchema>;

/** PatchSecrets actions (reference §5.2; `merge` is unverified for secrets, so not offered). */
const secretPatchActionSchema = z.enum(["overwrite", "remove"]);
export type SecretPatchAction = z.infer<typeof secretPatchActionSchema>;
