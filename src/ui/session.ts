/**
 * Dashboard sessions: the admin token is exchanged once, at sign-in, for a short-lived session
 * cookie, so the token itself never sits in the browser.
 *
 * Security trade-off, made here: the session is stateless, an HMAC-SHA256-signed cookie
 * (`v1.<payload>.<mac>`, payload = random session id + issue and expiry times) rather than a
 * server-side session table.
 * - For: no storage, no extra Durable Object or KV round trip per page, works the same on Workers
 *   and Deno, and nothing to clean up.
 * - Against: signing out deletes the cookie in the browser but cannot revoke a copy of it; a
 *   stolen cookie stays valid until it expires. That is why sessions are short (30 minutes, fixed,
 *   not sliding) and the cookie is HttpOnly (scripts cannot read it), Secure, SameSite=Strict and
 *   `__Host-` prefixed (no subdomain can set or shadow it). The kill switch for every session at
 *   once is rotating REKEY_ADMIN_TOKEN (or REKEY_FINGERPRINT_KEY): the MAC key derives from both.
 * - Key: HKDF-SHA256 over the admin token and the fingerprint key. The fingerprint key adds 256
 *   random bits, so a weak admin token does not make a captured cookie brute-forceable offline;
 *   the admin token binds sessions to it, so changing it signs everyone out. One key per purpose:
 *   the session and CSRF keys are HKDF outputs with labels of their own, never the fingerprint key
 *   itself nor the chat confirmation key (core/crypto/purpose-key.ts), so no MAC rekey makes for
 *   another purpose (a fingerprint of a chosen value, a confirmation) is a valid session or token.
 *
 * WebCrypto only; the MAC is checked with a constant-time comparison.
 */
import * as z from "zod/mini";
import { type Config, requireConfig } from "../config.ts";
import { decodeBase64Url, encodeBase64Url } from "../core/crypto/encoding.ts";
import { timingSafeEqual } from "../core/crypto/timing-safe-equal.ts";
import { err, type ErrorValue, ok, type Result } from "../core/result.ts";

export const SESSION_TTL_MS = 30 * 60_000;
/** Cookie name without the `__Host-` prefix, which ./guard.ts adds. */
export const SESSION_COOKIE = "rekey_session";

export interface UiKeys {
  session: CryptoKey;
  csrf: CryptoKey;
}

export interface Session {
  /** Random, 128 bits: what the CSRF token is bound to. */
  sid: string;
  iat: number;
  exp: number;
}

const payloadSchema = z.strictObject({
  sid: z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/)),
  iat: z.number().check(z.int(), z.nonnegative()),
  exp: z.number().check(z.int(), z.positive()),
});

const encoder = new TextEncoder();
let cached: { token: string; fingerprintKey: string; keys: Promise<UiKeys> } | undefined;

/** The session MAC key and the CSRF key, each its own HKDF output (domain separation). */
export function uiKeys(config: Config): Promise<UiKeys> {
  // Behind Cloudflare Access alone (CF_ACCESS_REQUIRED) there may be no admin token: the keys then
  // derive from the fingerprint key only, and no cookie session can exist to be signed with them.
  const token = config.CF_ACCESS_REQUIRED
    ? (config.REKEY_ADMIN_TOKEN ?? "")
    : requireConfig(config, "REKEY_ADMIN_TOKEN");
  const fingerprintKey = requireConfig(config, "REKEY_FINGERPRINT_KEY");
  if (cached?.token !== token || cached.fingerprintKey !== fingerprintKey) {
    cached = { token, fingerprintKey, keys: deriveKeys(token, fingerprintKey) };
  }
  return cached.keys;
}

async function deriveKeys(token: string, fingerprintKey: string): Promise<UiKeys> {
  const ikm = encoder.encode(`${token}\u0000${fingerprintKey}`);
  const base = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveKey"]);
  const derive = (info: string) =>
    crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: encoder.encode("rekey/ui"), info: encoder.encode(info) },
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign"],
    );
  const [session, csrf] = await Promise.all([derive("rekey/ui/session/v1"), derive("rekey/ui/csrf/v1")]);
  return { session, csrf };
}

export async function hmac(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

/** A new session's cookie value, valid from `now` for {@link SESSION_TTL_MS}. */
export async function issueSession(keys: UiKeys, now: number): Promise<string> {
  const session: Session = {
    sid: encodeBase64Url(crypto.getRandomValues(new Uint8Array(16))),
    iat: now,
    exp: now + SESSION_TTL_MS,
  };
  const payload = encodeBase64Url(encoder.encode(JSON.stringify(session)));
  const mac = encodeBase64Url(await hmac(keys.session, `v1.${payload}`));
  return `v1.${payload}.${mac}`;
}

/** Why a request has no session: no cookie, a cookie that is not ours, or one past its expiry. */
type NoSession = ErrorValue<"missing" | "invalid" | "expired">;

const none = (code: NoSession["code"]): Result<never, NoSession> =>
  err({ code, message: code === "missing" ? "No session cookie" : `The session cookie is ${code}` });

/** Verifies the MAC first (constant time), then the payload's shape, then the clock. */
export async function readSession(
  keys: UiKeys,
  cookie: string | undefined,
  now: number,
): Promise<Result<Session, NoSession>> {
  if (!cookie) return none("missing");
  const match = /^v1\.([A-Za-z0-9_-]{1,512})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
  if (!match) return none("invalid");
  const given = decodeBase64Url(match[2]!);
  if (!given.ok) return none("invalid");
  const expected = await hmac(keys.session, `v1.${match[1]!}`);
  if (!timingSafeEqual(given.value, expected)) return none("invalid");
  const bytes = decodeBase64Url(match[1]!);
  if (!bytes.ok) return none("invalid");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.value));
  } catch {
    return none("invalid");
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return none("invalid");
  const s = parsed.data;
  // A session from the future (clock skew beyond a minute) or longer than the TTL was not ours.
  if (s.exp - s.iat !== SESSION_TTL_MS || s.iat > now + 60_000) return none("invalid");
  if (s.exp <= now) return none("expired");
  return ok(s);
}
