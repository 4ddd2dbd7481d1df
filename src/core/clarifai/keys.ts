/**
 * Key endpoints: PATs and app-specific keys (reference §4). All of them are PATAuth: an app-specific
 * key as the caller's token is refused by Clarifai.
 *
 * Key ids are bearer tokens (reference §2), so every id passed in is marked sensitive for error
 * redaction, and `Key` values returned here must be handled like secrets.
 *
 * Runtime-neutral.
 *
 * @module
 */
import { err, ok, type Result } from "../result.ts";
import { type ClarifaiFailure, clarifaiFailure } from "./errors.ts";
import type { Send } from "./http.ts";
import { collectPages, type WalkOptions } from "./pagination.ts";
import { baseResponseSchema, type Key, type KeyType, multiKeyResponseSchema, type NewKey } from "./schemas.ts";

/** One page of a key list. Clarifai's defaults are page 1 and 128 per page. */
export interface KeyPageOptions {
  page?: number | undefined;
  perPage?: number | undefined;
  type?: KeyType | undefined;
  notExpired?: boolean | undefined;
}

export interface KeyWalkOptions extends WalkOptions {
  type?: KeyType | undefined;
  notExpired?: boolean | undefined;
}

type R<T> = Promise<Result<T, ClarifaiFailure>>;

export function keyMethods(send: Send) {
  const keysPath = (userId: string) => ["v2", "users", userId, "keys"];
  const listQuery = (o: KeyPageOptions) => ({
    page: o.page,
    per_page: o.perPage,
    type: o.type,
    not_expired: o.notExpired ? true : undefined,
  });

  const listKeys = async (token: string, userId: string, options: KeyPageOptions = {}): R<Key[]> => {
    const r = await send({
      operation: "ListKeys",
      method: "GET",
      token,
      path: keysPath(userId),
      query: listQuery(options),
      schema: multiKeyResponseSchema,
    });
    return r.ok ? ok(r.value.keys) : r;
  };

  return {
    /** Creates one key (PostKeys) and returns it; its `id` is the new token. */
    async createKey(token: string, userId: string, key: NewKey): R<Key> {
      const r = await send({
        operation: "PostKeys",
        method: "POST",
        token,
        path: keysPath(userId),
        body: { keys: [{ ...key, apps: key.apps ?? [] }] },
        schema: multiKeyResponseSchema,
      });
      if (!r.ok) return r;
      const created = r.value.keys[0];
      if (!created) {
        return err(clarifaiFailure({ kind: "unexpected", operation: "PostKeys", reason: "no key in the response" }));
      }
      return ok(created);
    },

    /** One page of the user's keys (ListKeys). */
    listKeys,

    /** Every key of the user, walking pages until a short one (ListKeys). */
    listAllKeys(token: string, userId: string, options: KeyWalkOptions = {}): R<Key[]> {
      return collectPages(
        "ListKeys",
        options,
        (page, perPage) => listKeys(token, userId, { ...options, page, perPage }),
      );
    },

    /** Deletes one key (DeleteKey); Clarifai has no batch delete for keys. */
    async deleteKey(token: string, userId: string, keyId: string): R<void> {
      const r = await send({
        operation: "DeleteKey",
        method: "DELETE",
        token,
        path: [...keysPath(userId), keyId],
        schema: baseResponseSchema,
        sensitive: [keyId],
      });
      return r.ok ? ok(undefined) : r;
    },
  };
}
