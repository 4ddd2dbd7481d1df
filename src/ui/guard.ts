/**
 * The dashboard's gatekeeping: who is signed in, and whether a state-changing form may act.
 * Every refusal is a 4xx with a stable code; none says more than which check failed.
 *
 * Two ways in: a verified Cloudflare Access assertion on the request (src/http/access.ts; the
 * actor is its identity, and it needs no cookie of rekey's), or the session cookie the admin-token
 * sign-in issues (the actor is `admin-token`), unless CF_ACCESS_REQUIRED=true turned that off.
 */
import type { Context, MiddlewareHandler } from "hono";
import { refused } from "../http/on-error.ts";
import { ACCESS_HEADER, accessIdentity, accessRefused, accessRequired } from "../http/access.ts";
import { ADMIN_TOKEN_ACTOR } from "../core/audit/actor.ts";
import { encodeBase64Url } from "../core/crypto/encoding.ts";
import { checkCsrf, csrfToken } from "./csrf.ts";
import type { UiEnv } from "./env.ts";
import { readSession, type Session, SESSION_COOKIE, SESSION_TTL_MS, type UiKeys, uiKeys } from "./session.ts";

/**
 * The session cookie, written out (hono/cookie's general serializer and parser were 2.6 KB of the
 * Worker for one cookie): `__Host-` prefixed, so a browser only accepts it with Secure, Path=/ and
 * no Domain, which no subdomain can set or shadow; the attributes in the order hono/cookie wrote them.
 */
const COOKIE_NAME = `__Host-${SESSION_COOKIE}`;
const COOKIE_ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Strict";

export function setSessionCookie(c: Context, value: string): void {
  c.header("Set-Cookie", `${COOKIE_NAME}=${value}; Max-Age=${SESSION_TTL_MS / 1000}; ${COOKIE_ATTRIBUTES}`, {
    append: true,
  });
}

export function clearSessionCookie(c: Context): void {
  c.header("Set-Cookie", `${COOKIE_NAME}=; Max-Age=0; ${COOKIE_ATTRIBUTES}`, { append: true });
}

/**
 * The session cookie's value from the request's Cookie header (its first occurrence), or
 * undefined. The value is read as sent: readSession accepts only its own base64url format.
 */
export function sessionCookie(c: Context): string | undefined {
  for (const pair of (c.req.header("cookie") ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at > 0 && pair.slice(0, at).trim() === COOKIE_NAME) return pair.slice(at + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return undefined;
}

/**
 * Browsers say where a request came from (`Sec-Fetch-Site`); anything but our own origin (or a
 * typed URL, "none") is refused before it can act. Clients that send no such header (curl, tests)
 * still face SameSite and the CSRF token.
 */
export const sameOriginOnly: MiddlewareHandler<UiEnv> = async (c, next) => {
  const site = c.req.header("sec-fetch-site");
  if (
    c.req.method !== "GET" && c.req.method !== "HEAD" && site !== undefined && site !== "same-origin" && site !== "none"
  ) {
    throw refused("cross_site_request", "Cross-site requests may not change anything");
  }
  await next();
};

/** Signed-in pages: a page view without a valid session goes to the sign-in form; a form post is refused. */
export const requireSession: MiddlewareHandler<UiEnv> = async (c, next) => {
  const keys = await uiKeys(c.var.services.config);
  const access = await accessIdentity(c);
  if (access && !access.ok) throw accessRefused(access.error.code);
  if (access) {
    const session = await accessSession(c.req.header(ACCESS_HEADER)!, c.var.services.now());
    c.set("session", session);
    c.set("keys", keys);
    c.set("csrf", await csrfToken(keys, session));
    c.set("actor", access.value);
    return next();
  }
  if (c.var.services.config.CF_ACCESS_REQUIRED) throw accessRequired();
  const check = await readSession(keys, sessionCookie(c), c.var.services.now());
  if (!check.ok) {
    if (check.error.code !== "missing") clearSessionCookie(c);
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      return c.redirect(check.error.code === "expired" ? "/ui/sign-in?expired=1" : "/ui/sign-in", 303);
    }
    throw check.error.code === "expired"
      ? refused("session_expired", "The session has expired; sign in again")
      : refused("session_required", "Sign in first");
  }
  c.set("session", check.value);
  c.set("keys", keys);
  c.set("csrf", await csrfToken(keys, check.value));
  c.set("actor", ADMIN_TOKEN_ACTOR);
  await next();
};

/**
 * An Access user's "session" is their assertion: CSRF tokens are bound to a hash of it, so they
 * change when Access renews it (a form left open that long asks for a reload) and are useless to
 * anyone without that very assertion.
 */
async function accessSession(assertion: string, now: number): Promise<Session> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(assertion)));
  return { sid: encodeBase64Url(digest).slice(0, 22), iat: now, exp: now + SESSION_TTL_MS };
}

/** For handlers behind {@link requireSession}. */
export function signedIn(c: Context<UiEnv>): { session: Session; keys: UiKeys; csrf: string; actor: string } {
  const { session, keys, csrf, actor } = c.var;
  if (!session || !keys || !csrf || !actor) throw refused("session_required", "Sign in first");
  return { session, keys, csrf, actor };
}

/** A state-changing form must carry this session's CSRF token. */
export async function requireCsrf(c: Context<UiEnv>, submitted: string | undefined): Promise<void> {
  const { session, keys } = signedIn(c);
  if (!(await checkCsrf(keys, session, submitted))) {
    throw refused("csrf_invalid", "The form's CSRF token is missing or wrong; reload the page and try again");
  }
}
