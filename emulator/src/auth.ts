/**
 * Authentication as Clarifai does it: `Authorization: Key <token>` exactly (a lowercase `key`
 * is refused, as issue clarifai-python-grpc#26 shows), the token looked up as a key id, PAT-only
 * endpoints refusing app keys, and scope checks with `All` covering everything.
 */
import type { Context } from "hono";
import { ClarifaiFailure } from "./envelope.ts";
import { endpointAllowed, missing, type Operation, REQUIRED } from "./scopes.ts";
import type { KeyRecord, State } from "./state.ts";

const MALFORMED = "Empty or malformed authorization header. Please provide an API key or session token.";

export function authenticate(state: State, c: Context): KeyRecord {
  const header = c.req.header("authorization");
  const match = header ? /^Key ([^\s]+)$/.exec(header) : null;
  if (!match) throw new ClarifaiFailure(11102, MALFORMED);
  const key = state.keys.get(match[1]!);
  if (!key) throw new ClarifaiFailure(11008, "API key not found");
  if (key.expires_at && Date.parse(key.expires_at) <= state.now().getTime()) {
    throw new ClarifaiFailure(11008, "API key expired");
  }
  return key;
}

/** PATAuth: app-specific keys are refused (11007: the key lacks access to this endpoint). */
export function requirePat(key: KeyRecord) {
  if (key.type !== "personal_access_token") {
    throw new ClarifaiFailure(
      11007,
      "This endpoint requires a personal access token; an app-specific key cannot be used",
    );
  }
}

export function requireScopes(key: KeyRecord, op: Operation) {
  requireEndpoint(key, op);
  const lacking = missing(key.scopes, REQUIRED[op]);
  if (lacking.length > 0) throw new ClarifaiFailure(11007, `Missing scopes: ${lacking.join(", ")}`);
}

/** `me` is the token's owner; any other user id must be the owner's (else 11101, as the SDK sees). */
export function resolveUser(state: State, key: KeyRecord, pathUser: string): string {
  const user = pathUser === "me" ? key.user_id : pathUser;
  if (user !== key.user_id || !state.users.has(user)) {
    throw new ClarifaiFailure(11101, `User "${pathUser}" does not exist`);
  }
  return user;
}

/**
 * A key restricted to endpoints may call only those (11007, as for a missing scope: the key is
 * valid but lacks access). MyScopes and MyScopesUser are not checked: they need no scope and are
 * how any key learns what it may do.
 */
export function requireEndpoint(key: KeyRecord, method: string) {
  if (!endpointAllowed(key.endpoints, method)) {
    throw new ClarifaiFailure(11007, `This key may not call endpoint "${method}"`);
  }
}
