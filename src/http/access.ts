/**
 * Who a request to the admin API or the dashboard comes from, when rekey sits behind Cloudflare
 * Access (CF_ACCESS_TEAM_DOMAIN + CF_ACCESS_AUD): the identity in its verified
 * `Cf-Access-Jwt-Assertion` (core/inbound/access-jwt.ts), which becomes the actor of what it does.
 *
 * Trade-offs, made here:
 * - A request that carries the header is judged by it alone: an assertion that does not verify is
 *   refused, even with a valid admin token beside it, so a broken Access setup shows at once.
 * - Without CF_ACCESS_REQUIRED, a request without the header may still use the admin token
 *   (automation, a break-glass path). Then anyone holding the token, Access or not, acts as
 *   `admin-token`: set CF_ACCESS_REQUIRED=true once every person and machine goes through Access.
 * - The assertion proves that Access let the request through for that identity; it is checked on
 *   every request (no session of rekey's own), so an identity Access stops admitting loses access
 *   as soon as its Access session ends.
 */
import type { Context } from "hono";
import type { Config } from "../config.ts";
import type { Actor } from "../core/bus/fields.ts";
import { type AccessConfig, type AccessRefusal, verifyAccessJwt } from "../core/inbound/access-jwt.ts";
import type { ErrorValue, Result } from "../core/result.ts";
import type { Services } from "../services.ts";
import { refused } from "./on-error.ts";

export const ACCESS_HEADER = "cf-access-jwt-assertion";

function accessConfig(config: Config): AccessConfig | null {
  return config.CF_ACCESS_TEAM_DOMAIN && config.CF_ACCESS_AUD
    ? { teamDomain: config.CF_ACCESS_TEAM_DOMAIN, aud: config.CF_ACCESS_AUD }
    : null;
}

/** The request's Access identity; null when Access is not configured or the request has no assertion. */
export async function accessIdentity(
  c: Context<{ Variables: { services: Services } }>,
): Promise<Result<Actor, ErrorValue<AccessRefusal>> | null> {
  const config = accessConfig(c.var.services.config);
  const assertion = c.req.header(ACCESS_HEADER);
  if (!config || assertion === undefined) return null;
  return verifyAccessJwt(assertion, config, c.var.services.now());
}

/** The refusal of an assertion that did not verify (a 401, or a 503 while the team's keys cannot be had). */
export function accessRefused(code: AccessRefusal) {
  return code === "access_keys_unavailable"
    ? refused(code, "Cloudflare Access's signing keys cannot be fetched; try again shortly")
    : refused("unauthorized", "The Cloudflare Access token is not valid");
}

/** CF_ACCESS_REQUIRED=true: the admin token no longer opens anything. */
export const accessRequired = () =>
  refused("access_required", "Sign in through Cloudflare Access: the admin token is not accepted here");
