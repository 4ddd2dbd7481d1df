/**
 * Bearer authentication for the admin API (`Authorization: Bearer <REKEY_ADMIN_TOKEN>`).
 * Compared in constant time over SHA-256 digests, so neither the token's content nor its length
 * leaks through timing. Every refusal looks the same, whatever was wrong.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.ts";
import { requireConfig } from "../config.ts";
import { timingSafeEqualDigest } from "../core/crypto/timing-safe-equal.ts";
import { refused } from "./on-error.ts";

export const adminAuth: MiddlewareHandler<AppEnv> = async function adminAuth(c, next) {
  const expected = requireConfig(c.var.services.config, "REKEY_ADMIN_TOKEN");
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(header);
  if (!match || !(await timingSafeEqualDigest(match[1]!, expected))) {
    c.header("WWW-Authenticate", 'Bearer realm="rekey"');
    throw refused("unauthorized", "A valid admin bearer token is required");
  }
  await next();
};
