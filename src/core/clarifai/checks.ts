/**
 * Cheap credential checks (reference §8): MyScopes works for any key and names the app an
 * app-specific key is bound to; MyScopesUser lists a PAT's scopes. Neither needs a scope, so a
 * failure here means the token itself is bad (11008/11009). (GetUser, which only tests call, is
 * test/support/clarifai-test-client.ts's.)
 *
 * Runtime-neutral.
 *
 * @module
 */
import type { Result } from "../result.ts";
import type { ClarifaiFailure } from "./errors.ts";
import type { Send } from "./http.ts";
import { type ScopesInfo, scopesInfoSchema } from "./schemas.ts";

type R<T> = Promise<Result<T, ClarifaiFailure>>;

export function checkMethods(send: Send) {
  return {
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
