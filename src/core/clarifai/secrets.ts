/**
 * Environment secret endpoints (reference §5). All PATAuth. Clarifai returns secret values on create,
 * get, list and patch; every value passed in is marked sensitive for error redaction.
 *
 * Two wire traps handled here: PatchSecrets takes the singular field `secret` (a list), and
 * DeleteSecrets is a DELETE with a JSON body `{"ids": [...]}` (there is no single-secret DELETE).
 *
 * Runtime-neutral.
 *
 * @module
 */
import { err, ok, type Result } from "../result.ts";
import { ClarifaiError } from "./errors.ts";
import type { Send } from "./http.ts";
import { collectPages, type WalkOptions } from "./pagination.ts";
import {
  multiSecretResponseSchema,
  type NewSecret,
  type Secret,
  type SecretPatch,
  type SecretPatchAction,
  singleSecretResponseSchema,
} from "./schemas.ts";

export interface SecretPageOptions {
  page?: number | undefined;
  perPage?: number | undefined;
}

const values = (items: readonly { value?: string | undefined }[]) =>
  items.flatMap((s) => (s.value === undefined ? [] : [s.value]));

type R<T> = Promise<Result<T, ClarifaiError>>;

export function secretMethods(send: Send) {
  const secretsPath = (userId: string) => ["v2", "users", userId, "secrets"];

  const listSecrets = async (token: string, userId: string, options: SecretPageOptions = {}): R<Secret[]> => {
    const r = await send({
      operation: "ListSecrets",
      method: "GET",
      token,
      path: secretsPath(userId),
      query: { page: options.page, per_page: options.perPage },
      schema: multiSecretResponseSchema,
    });
    return r.ok ? ok(r.value.secrets) : r;
  };

  return {
    /** Creates one secret (PostSecrets) and returns it as stored (version 1). */
    async createSecret(token: string, userId: string, secret: NewSecret): R<Secret> {
      const r = await send({
        operation: "PostSecrets",
        method: "POST",
        token,
        path: secretsPath(userId),
        body: { secrets: [secret] },
        schema: multiSecretResponseSchema,
        sensitive: [secret.value],
      });
      if (!r.ok) return r;
      const created = r.value.secrets[0];
      if (!created) {
        return err(
          new ClarifaiError({ kind: "unexpected", operation: "PostSecrets", reason: "no secret in the response" }),
        );
      }
      return ok(created);
    },

    /** One secret by id, value included (GetSecret). */
    async getSecret(token: string, userId: string, secretId: string): R<Secret> {
      const r = await send({
        operation: "GetSecret",
        method: "GET",
        token,
        path: [...secretsPath(userId), secretId],
        schema: singleSecretResponseSchema,
      });
      return r.ok ? ok(r.value.secret) : r;
    },

    /** One page of the user's secrets (ListSecrets). */
    listSecrets,

    /** Every secret of the user (ListSecrets, walking pages). */
    listAllSecrets(token: string, userId: string, options: WalkOptions = {}): R<Secret[]> {
      return collectPages("ListSecrets", options, (page, perPage) => listSecrets(token, userId, { page, perPage }));
    },

    /** Overwrites values/descriptions of secrets, or removes them (PatchSecrets). */
    async patchSecrets(
      token: string,
      userId: string,
      secrets: readonly SecretPatch[],
      action: SecretPatchAction = "overwrite",
    ): R<Secret[]> {
      const r = await send({
        operation: "PatchSecrets",
        method: "PATCH",
        token,
        path: secretsPath(userId),
        body: { secret: secrets, action },
        schema: multiSecretResponseSchema,
        sensitive: values(secrets),
      });
      return r.ok ? ok(r.value.secrets) : r;
    },

    /** Deletes secrets by id in one call (DeleteSecrets). */
    async deleteSecrets(token: string, userId: string, ids: readonly string[]): R<void> {
      const r = await send({
        operation: "DeleteSecrets",
        method: "DELETE",
        token,
        path: secretsPath(userId),
        body: { ids },
        schema: multiSecretResponseSchema,
      });
      return r.ok ? ok(undefined) : r;
    },
  };
}
