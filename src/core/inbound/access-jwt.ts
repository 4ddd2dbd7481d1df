/**
 * Cloudflare Access: verifying the `Cf-Access-Jwt-Assertion` header Access adds to every request it
 * lets through (https://developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/validating-json/).
 * The header is what to validate; the `CF_Authorization` cookie is not guaranteed to be there.
 *
 * - RS256 only, with the team's signing keys from `<team domain>/cdn-cgi/access/certs` (a JWK set;
 *   Access keeps the current and the previous key there, and rotates them every 6 weeks).
 * - `iss` must be the team domain, `aud` must contain the application's AUD tag, `exp` and `nbf`
 *   are checked with CLOCK_SKEW_SECONDS of leeway.
 * - The identity is the token's `email` (a person) or `common_name` (a service token's client id).
 *
 * The JWT work is `jose`'s (`jwtVerify`, `createLocalJWKSet`), not hand-written: the parsing and
 * claim checks of a JWT are where home-made verifiers go wrong (alg confusion, `none`, lax `aud`).
 *
 * Keys are cached per isolate and team domain. An unknown `kid` (Access rotated its keys) refetches
 * the set, at most once a minute: a stream of forged tokens with made-up `kid`s cannot turn rekey
 * into a request amplifier against the certs endpoint. A cached set older than an hour is
 * refetched on next use too, so a key Access withdrew stops being trusted within the hour.
 *
 * Runtime-neutral: fetch and WebCrypto (through jose) only.
 */
import * as z from "zod/mini";
import { createLocalJWKSet, jwtVerify } from "jose";
import { type Actor, actorSchema } from "../bus/fields.ts";
import { err, type ErrorValue, ok, type Result } from "../result.ts";

/** `exp` / `nbf` leeway: Access's clock and ours may differ a little. */
export const CLOCK_SKEW_SECONDS = 30;
/** An unknown `kid` refetches the keys, but not more often than this. */
export const REFETCH_AFTER_MS = 60_000;
/** A cached key set is refetched on next use once it is this old. */
const MAX_KEY_AGE_MS = 3_600_000;
const FETCH_TIMEOUT_MS = 5_000;
/** The certs document holds two keys; anything far larger is not Access's. */
const MAX_CERTS_BYTES = 64 * 1024;

export interface AccessConfig {
  /** The team's URL, e.g. `https://acme.cloudflareaccess.com` (no trailing slash). */
  teamDomain: string;
  /** The Access application's AUD tag. */
  aud: string;
}

export type AccessRefusal =
  /** The token does not verify: malformed, wrong signature, `iss`, `aud`, expired, unknown key, no identity. */
  | "access_denied"
  /** The team's keys could not be fetched and none are cached: nothing can be verified. */
  | "access_keys_unavailable";

const rsaKeySchema = z.looseObject({
  kty: z.literal("RSA"),
  kid: z.string().check(z.maxLength(256)),
  n: z.string(),
  e: z.string(),
});
/** Only the RSA keys are kept; `public_cert(s)` (the same keys as PEM certificates) are ignored. */
const certsSchema = z.looseObject({ keys: z.array(z.looseObject({ kty: z.string() })).check(z.maxLength(20)) });

const claimsSchema = z.looseObject({ email: z.optional(z.string()), common_name: z.optional(z.string()) });

interface CachedKeys {
  jwks: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
}

const cache = new Map<string, CachedKeys>();
/** When the last fetch for a team domain started (successful or not): the refetch limit's clock. */
const lastFetch = new Map<string, number>();
const inFlight = new Map<string, Promise<CachedKeys | null>>();

/** The team domain as configured, without a trailing slash: what `iss` must equal. */
const normalizeTeamDomain = (url: string) => url.replace(/\/+$/, "");

const certsUrl = (teamDomain: string) => `${normalizeTeamDomain(teamDomain)}/cdn-cgi/access/certs`;

/**
 * Verifies an assertion and names its identity. `now` is the clock the claims are checked
 * against (milliseconds); `fetcher` fetches the keys (the global fetch unless a test passes one).
 */
export async function verifyAccessJwt(
  token: string,
  config: AccessConfig,
  now: number,
  fetcher: typeof fetch = fetch,
): Promise<Result<Actor, ErrorValue<AccessRefusal>>> {
  // A JWT's three base64url parts; anything else never reaches the parser.
  if (token.length > 8192 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    return denied();
  }
  const team = normalizeTeamDomain(config.teamDomain);
  let keys = cache.get(team);
  if (!keys || now - keys.fetchedAt > MAX_KEY_AGE_MS) keys = (await refreshKeys(team, now, fetcher)) ?? keys;
  if (!keys) return err({ code: "access_keys_unavailable", message: "The team's signing keys cannot be fetched" });
  let verified = await tryVerify(token, keys, team, config.aud, now);
  if (verified === "unknown_kid") {
    // Access may have rotated its keys since they were fetched: look again, once a minute at most.
    const fresh = await refreshKeys(team, now, fetcher);
    verified = fresh ? await tryVerify(token, fresh, team, config.aud, now) : null;
  }
  if (!verified || verified === "unknown_kid") return denied();
  const claims = claimsSchema.safeParse(verified);
  // `||`: an empty `email` must not hide a service token's `common_name`.
  const identity = claims.success ? (claims.data.email || claims.data.common_name) : undefined;
  const actor = accessIdentitySchema.safeParse(identity);
  return actor.success ? ok(actor.data) : denied();
}

/**
 * What an Access identity may be: a person's email or a service token's `<client id>.access`,
 * and nothing else of the actor vocabulary. An identity provider that let a user choose their
 * email claim could otherwise sign in as `sweep`, `admin-token` or `github:o/r#1` and write
 * audit entries in a system actor's name.
 */
const accessIdentitySchema = actorSchema.check(
  z.refine((a) => a.includes("@") || a.endsWith(".access"), "must be an email or a service token's common name"),
);

/** Every other refusal looks the same: which check failed is not the caller's business. */
const denied = () =>
  err<ErrorValue<AccessRefusal>>({ code: "access_denied", message: "The assertion does not verify" });

async function tryVerify(
  token: string,
  keys: CachedKeys,
  issuer: string,
  audience: string,
  now: number,
): Promise<Record<string, unknown> | "unknown_kid" | null> {
  try {
    const { payload } = await jwtVerify(token, keys.jwks, {
      issuer,
      audience,
      algorithms: ["RS256"],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(now),
      requiredClaims: ["exp"],
    });
    return payload;
  } catch (error) {
    return (error as { code?: unknown }).code === "ERR_JWKS_NO_MATCHING_KEY" ? "unknown_kid" : null;
  }
}

/** Fetches the team's keys unless that was tried within REFETCH_AFTER_MS; concurrent callers share one fetch. */
function refreshKeys(team: string, now: number, fetcher: typeof fetch): Promise<CachedKeys | null> {
  const pending = inFlight.get(team);
  if (pending) return pending;
  const last = lastFetch.get(team);
  if (last !== undefined && now - last < REFETCH_AFTER_MS) return Promise.resolve(null);
  lastFetch.set(team, now);
  const fetched = fetchKeys(team, fetcher).then((jwks) => {
    if (!jwks) return null;
    const keys = { jwks, fetchedAt: now };
    cache.set(team, keys);
    return keys;
  }).finally(() => inFlight.delete(team));
  inFlight.set(team, fetched);
  return fetched;
}

async function fetchKeys(team: string, fetcher: typeof fetch) {
  try {
    // No redirect is followed (as for every outbound call): the keys come from the team domain or not at all.
    const res = await fetcher(certsUrl(team), {
      redirect: "manual",
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      headers: { accept: "application/json" },
    });
    if (res.status !== 200) return null;
    const text = await res.text();
    if (text.length > MAX_CERTS_BYTES) return null;
    const parsed = certsSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return null;
    const keys = parsed.data.keys.filter((k) => rsaKeySchema.safeParse(k).success);
    return keys.length ? createLocalJWKSet({ keys: keys as never }) : null;
  } catch {
    return null;
  }
}
