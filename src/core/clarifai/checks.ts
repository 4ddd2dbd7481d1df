/**
 * Cheap credential checks (reference §8): GetUser proves a PAT works and names its owner; MyScopes
 * works for any key and names the app an app-specific key is bound to; MyScopesUser lists a PAT's
 * scopes. None of them needs a scope, so a failure here means the token itself is bad (11008/11009),
 * except that a PAT restricted by endpoints can get 11007 on GetUser and still be valid.
 *
 * Runtime-neutral.
 *
 * @module
 */
import { ok, type Result } from "../result.ts";
import type { ClarifaiError } from "./errors.ts";
import type { Send } from "./http.ts";
import { type ScopesInfo, scopesInfoSchema, singleUserResponseSchema, type User } from "./schemas.ts";

type R<T> = Promise<Result<T, ClarifaiError>>;

export function checkMethods(send: Send) {
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

    /** Scopes, endpoints and (for an app key) the bound app of any key (MyScopes, KeyAuth). */
    myScopes(token: string): R<ScopesInfo> {
      return send({ operation: "MyScopes", method: "GET", token, path: ["v2", "myscopes"], schema: scopesInfoSchema });
    },

    /** Scopes and endpoints of a PAT (MyScopesUser, PATAuth). `userId` defaults to `me`. */
    myUserScopes(token: string, userId = "me"): R<ScopesInfo> {
      return send({
        operation: "MyScopesUser",
        method: "GET",
        token,
        path: ["v2", "users", userId, "myscopes"],
        schema: scopesInfoSchema,
      });
    },
  };
}
