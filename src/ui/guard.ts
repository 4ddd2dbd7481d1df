/**
 * The dashboard's gatekeeping: who is signed in, and whether a state-changing form may act.
 * Every refusal is a 4xx with a stable code; none says more than which check failed.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { refused } from "../http/on-error.ts";
import { checkCsrf, csrfToken } from "./csrf.ts";
import type { UiEnv } from "./env.ts";
import { readSession, type Session, SESSION_COOKIE, SESSION_TTL_MS, type UiKeys, uiKeys } from "./session.ts";

const COOKIE_OPTIONS = { prefix: "host", path: "/", secure: true, httpOnly: true, sameSite: "Strict" } as const;

export function setSessionCookie(c: Context, value: string): void {
  setCookie(c, SESSION_COOKIE, value, { ...COOKIE_OPTIONS, maxAge: SESSION_TTL_MS / 1000 });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, COOKIE_OPTIONS);
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
  const check = await readSession(keys, getCookie(c, SESSION_COOKIE, "host"), c.var.services.now());
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
  await next();
};

/** For handlers behind {@link requireSession}. */
export function signedIn(c: Context<UiEnv>): { session: Session; keys: UiKeys; csrf: string } {
  const { session, keys, csrf } = c.var;
  if (!session || !keys || !csrf) throw refused("session_required", "Sign in first");
  return { session, keys, csrf };
}

/** A state-changing form must carry this session's CSRF token. */
export async function requireCsrf(c: Context<UiEnv>, submitted: string | undefined): Promise<void> {
  const { session, keys } = signedIn(c);
  if (!(await checkCsrf(keys, session, submitted))) {
    throw refused("csrf_invalid", "The form's CSRF token is missing or wrong; reload the page and try again");
  }
}
