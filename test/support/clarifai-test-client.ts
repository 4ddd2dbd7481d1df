/**
 * The Clarifai client rekey ships (src/core/clarifai) plus the calls only tests make: reading a key
 * or a user back, listing an app's keys or a user's secrets, patching keys, creating secrets. They
 * live here so that the Worker does not carry them; they go through the same transport
 * (src/core/clarifai/http.ts: deadline, envelope check, error mapping, redaction) as every call
 * rekey makes, so the contract suite (./clarifai-contract.ts) proves that transport with them too.
 */
import * as z from "zod";
import {
  type ClarifaiClientOptions,
  type ClarifaiFailure,
  createClarifaiClient,
  type Key,
  keySchema,
  multiSecretResponseSchema,
  type Secret,
} from "../../src/core/clarifai/index.ts";
import { createTransport, type Send } from "../../src/core/clarifai/http.ts";
import { collectPages, type WalkOptions } from "../../src/core/clarifai/pagination.ts";
import { clarifaiFailure } from "../../src/core/clarifai/errors.ts";
import { err, ok, type Result } from "../../src/core/result.ts";

type R<T> = Promise<Result<T, ClarifaiFailure>>;

/** The fields a test reads from a user; the rest of `User` is stripped. */
const userSchema = z.object({
  id: z.string().min(1),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  created_at: z.string().optional(),
});
type User = z.infer<typeof userSchema>;

const singleKeyResponseSchema = z.object({ key: keySchema });
const multiKeyResponseSchema = z.object({ keys: z.array(keySchema).default([]) });
const singleUserResponseSchema = z.object({ user: userSchema });

/** One entry of a `patchKeys` call. */
interface KeyPatch {
  id: string;
  description?: string;
  scopes?: string[];
  endpoints?: string[];
  expires_at?: string;
}

/** What `createSecret` takes. */
interface NewSecret {
  id: string;
  value: string;
  description?: string;
  expires_at?: string;
}

interface PageOptions {
  page?: number | undefined;
  perPage?: number | undefined;
}

function testOnlyMethods(send: Send) {
  const keysPath = (userId: string) => ["v2", "users", userId, "keys"];
  const secretsPath = (userId: string) => ["v2", "users", userId, "secrets"];

  const listAppKeys = async (token: string, userId: string, appId: string, options: PageOptions = {}): R<Key[]> => {
    const r = await send({
      operation: "ListAppKeys",
      method: "GET",
      token,
      path: ["v2", "users", userId, "apps", appId, "keys"],
      query: { page: options.page, per_page: options.perPage },
      schema: multiKeyResponseSchema,
    });
    return r.ok ? ok(r.value.keys) : r;
  };

  const listSecrets = async (token: string, userId: string, options: PageOptions = {}): R<Secret[]> => {
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
    /** The user a PAT belongs to (GetUser, PATAuth). `userId` defaults to `me`. */
    async getUser(token: string, userId = "me"): R<User> {
      const r = await send({
        operation: "GetUser",
        method: "GET",
        token,
        path: ["v2", "users", userId],
        schema: singleUserResponseSchema,
      });
      return r.ok ? ok(r.value.user) : r;
    },

    /** One key by id (GetKey). */
    async getKey(token: string, userId: string, keyId: string): R<Key> {
      const r = await send({
        operation: "GetKey",
        method: "GET",
        token,
        path: [...keysPath(userId), keyId],
        schema: singleKeyResponseSchema,
        sensitive: [keyId],
      });
      return r.ok ? ok(r.value.key) : r;
    },

    /** One page of the keys bound to an app (ListAppKeys). */
    listAppKeys,

    /** Every key bound to an app (ListAppKeys). */
    listAllAppKeys(token: string, userId: string, appId: string, options: WalkOptions = {}): R<Key[]> {
      return collectPages(
        "ListAppKeys",
        options,
        (page, perPage) => listAppKeys(token, userId, appId, { page, perPage }),
      );
    },

    /** Changes description, scopes, endpoints or expiry of keys (PatchKeys, action `overwrite`). */
    async patchKeys(token: string, userId: string, keys: readonly KeyPatch[]): R<Key[]> {
      const r = await send({
        operation: "PatchKeys",
        method: "PATCH",
        token,
        path: keysPath(userId),
        body: { keys, action: "overwrite" },
        schema: multiKeyResponseSchema,
        sensitive: keys.map((k) => k.id),
      });
      return r.ok ? ok(r.value.keys) : r;
    },

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
          clarifaiFailure({ kind: "unexpected", operation: "PostSecrets", reason: "no secret in the response" }),
        );
      }
      return ok(created);
    },

    /** One page of the user's secrets (ListSecrets). */
    listSecrets,

    /** Every secret of the user (ListSecrets, walking pages). */
    listAllSecrets(token: string, userId: string, options: WalkOptions = {}): R<Secret[]> {
      return collectPages("ListSecrets", options, (page, perPage) => listSecrets(token, userId, { page, perPage }));
    },
  };
}

export type ClarifaiTestClient = ReturnType<typeof createClarifaiTestClient>;

/** Tests name the emulator, its fetch and a deadline explicitly; the shipped client validates them. */
export function createClarifaiTestClient(
  options: ClarifaiClientOptions & { baseUrl: string; fetch: typeof fetch; timeoutMs: number },
) {
  const send = createTransport({
    baseUrl: options.baseUrl,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    requestIdPrefix: options.requestIdPrefix,
  });
  return { ...createClarifaiClient(options), ...testOnlyMethods(send) };
}
