/**
 * Authentication for the admin API, and who the caller is (`c.var.actor`, the actor of what the
 * request does):
 * - behind Cloudflare Access, a verified `Cf-Access-Jwt-Assertion` (./access.ts): its `email` or
 *   service token `common_name`;
 * - otherwise `Authorization: Bearer <REKEY_ADMIN_TOKEN>`, acting as `admin-token`, unless
 *   CF_ACCESS_REQUIRED=true turned the token off.
 * The token is compared in constant time over SHA-256 digests, so neither its content nor its
 * length leaks through timing. Every refusal of a token looks the same, whatever was wrong.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.ts";
import { requireConfig } from "../config.ts";
import { type Actor, ADMIN_TOKEN_ACTOR } from "../core/audit/actor.ts";
import { timingSafeEqualDigest } from "../core/crypto/timing-safe-equal.ts";
import type { Failure } from "../core/failure.ts";
import { accessIdentity, accessRefused, accessRequired } from "./access.ts";
import { refused } from "./on-error.ts";

export const adminAuth: MiddlewareHandler<AppEnv> = async function adminAuth(c, next) {
  c.set("actor", await authenticate(c));
  await next();
};

async function authenticate(c: Context<AppEnv>): Promise<Actor> {
  const access = await accessIdentity(c);
  if (access?.ok) return access.value;
  const refuse = (error: Failure) => {
    c.header("WWW-Authenticate", 'Bearer realm="rekey"');
    return error;
  };
  if (access) throw refuse(accessRefused(access.error.code));
  if (c.var.services.config.CF_ACCESS_REQUIRED) throw refuse(accessRequired());
  const expected = requireConfig(c.var.services.config, "REKEY_ADMIN_TOKEN");
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(header);
  if (!match || !(await timingSafeEqualDigest(match[1]!, expected))) {
    throw refuse(refused("unauthorized", "A valid admin bearer token is required"));
  }
  return ADMIN_TOKEN_ACTOR;
}

/** The authenticated caller of an admin route (set by {@link adminAuth}). */
export function actorOfRequest(c: { var: { actor?: string } }): string {
  const actor = c.var.actor;
  if (!actor) throw refused("unauthorized", "A valid admin bearer token is required");
  return actor;
}
