/**
 * Environment secret endpoints rekey calls (reference §5): read one, overwrite, delete. All
 * PATAuth. Clarifai returns secret values on get and patch; every value passed in is marked
 * sensitive for error redaction. (Creating and listing secrets only tests do:
 * test/support/clarifai-test-client.ts.)
 *
 * Two wire traps handled here: PatchSecrets takes the singular field `secret` (a list), and
 * DeleteSecrets is a DELETE with a JSON body `{"ids": [...]}` (there is no single-secret DELETE).
 *
 * Runtime-neutral.
 *
 * @module
 */
import { ok, type Result } from "../result.ts";
import type { ClarifaiFailure } from "./errors.ts";
import type { Send } from "./http.ts";
import {
  multiSecretResponseSchema,
  type Secret,
  type SecretPatch,
  type SecretPatchAction,
  singleSecretResponseSchema,
} from "./schemas.ts";

const values = (items: readonly { value?: string | undefined }[]) =>
  items.flatMap((s) => (s.value === undefined ? [] : [s.value]));

type R<T> = Promise<Result<T, ClarifaiFailure>>;

export function secretMethods(send: Send) {
  const secretsPath = (userId: string) => ["v2", "users", userId, "secrets"];

  return {
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
