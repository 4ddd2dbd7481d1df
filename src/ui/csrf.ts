/**
 * CSRF tokens for the dashboard's state-changing forms (rotate, revoke, sign out).
 *
 * A token is HMAC(csrf key, session id): bound to one session, so a token lifted from another
 * session (or minted before sign-in) is useless, and stateless like the session itself. It rides
 * in a hidden form field, never in a cookie, so a cross-site form cannot send it. SameSite=Strict
 * already keeps the session cookie off cross-site requests; this is the second, independent lock,
 * and `Sec-Fetch-Site` (checked in ./guard.ts) is the third.
 */
import { decodeBase64Url, encodeBase64Url } from "../core/crypto/encoding.ts";
import { timingSafeEqual } from "../core/crypto/timing-safe-equal.ts";
import { hmac, type Session, type UiKeys } from "./session.ts";

export const CSRF_FIELD = "csrf";

export async function csrfToken(keys: UiKeys, session: Session): Promise<string> {
  return encodeBase64Url(await hmac(keys.csrf, `csrf:${session.sid}`));
}

/** Constant-time check of a submitted token; anything malformed or absent is simply false. */
export async function checkCsrf(keys: UiKeys, session: Session, submitted: string | undefined): Promise<boolean> {
  if (!submitted || !/^[A-Za-z0-9_-]{43}$/.test(submitted)) return false;
  const given = decodeBase64Url(submitted);
  if (!given.ok) return false;
  return timingSafeEqual(given.value, await hmac(keys.csrf, `csrf:${session.sid}`));
}
