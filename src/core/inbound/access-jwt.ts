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
 * Security trade-off, made here: the verification is WebCrypto plus the checks below, not a JWT
 * library. `jose` did it until issue 20 (P3), for 5.2 KB of the Worker's 64 KiB gzip budget; of its
 * generality rekey used one algorithm and one key source. A JWT's parsing and claim checks are where
 * home-made verifiers go wrong, so this one accepts a single shape and refuses everything else:
 * - the header is `alg: "RS256"` exactly (so no `none`, no HS256 signed with the public key as the
 *   secret: the key is only ever imported as RSASSA-PKCS1-v1_5/SHA-256, for `verify`), a string
 *   `kid`, and no `crit` (no extension rekey would have to understand);
 * - the key is the certs document's RSA key with that `kid` (`use`, `alg` and `key_ops`, where
 *   present, must allow RS256 signatures), at least 2048 bits;
 * - the signature is checked before the payload is parsed; the payload must be a JSON object whose
 *   `iss` equals the team domain, whose `aud` (a string or an array of strings) contains the AUD
 *   tag, with a numeric `exp` (required) not in the past and a numeric `nbf`/`iat` where present
 *   (`nbf` not in the future), both sides with CLOCK_SKEW_SECONDS of leeway: what
 *   `jose.jwtVerify(…, { issuer, audience, algorithms: ["RS256"], requiredClaims: ["exp"] })` checked.
 * test/workers/access.test.ts forges each of these (and the tests still sign with jose).
 *
 * Keys are cached per isolate and team domain. An unknown `kid` (Access rotated its keys) refetches
 * the set, at most once a minute: a stream of forged tokens with made-up `kid`s cannot turn rekey
 * into a request amplifier against the certs endpoint. A cached set older than an hour is
 * refetched on next use too, so a key Access withdrew stops being trusted within the hour.
 *
 * Runtime-neutral: fetch and WebCrypto only.
 */
import * as z from "zod/mini";
import { decodeBase64Url } from "../crypto/encoding.ts";
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
  use: z.optional(z.literal("sig")),
  alg: z.optional(z.literal("RS256")),
  key_ops: z.optional(z.array(z.string()).check(z.refine((ops) => ops.includes("verify")))),
});
type RsaKey = z.infer<typeof rsaKeySchema>;

const headerSchema = z.looseObject({ alg: z.literal("RS256"), kid: z.string(), crit: z.optional(z.never()) });

const audienceSchema = z.union([z.string(), z.array(z.string())]);
const numericDate = z.optional(z.number());
const registeredClaimsSchema = z.looseObject({
  iss: z.string(),
  aud: audienceSchema,
  exp: z.number(),
  nbf: numericDate,
  iat: numericDate,
});
/** Only the RSA keys are kept; `public_cert(s)` (the same keys as PEM certificates) are ignored. */
const certsSchema = z.looseObject({ keys: z.array(z.looseObject({ kty: z.string() })).check(z.maxLength(20)) });

const claimsSchema = z.looseObject({ email: z.optional(z.string()), common_name: z.optional(z.string()) });

interface CachedKeys {
  /** The set's RSA keys by `kid`, imported on first use (the import is the slow part). */
  keys: Map<string, { jwk: RsaKey; key?: Promise<CryptoKey | null> }>;
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
  const [h, p, s] = token.split(".") as [string, string, string];
  const header = headerSchema.safeParse(parseJsonPart(h));
  if (!header.success) return null;
  const entry = keys.keys.get(header.data.kid);
  if (!entry) return "unknown_kid";
  entry.key ??= importRsaKey(entry.jwk);
  const key = await entry.key;
  const signature = decodeBase64Url(s);
  if (!key || !signature.ok) return null;
  const signed = new TextEncoder().encode(`${h}.${p}`);
  if (!(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature.value, signed))) return null;
  const payload = parseJsonPart(p);
  const claims = registeredClaimsSchema.safeParse(payload);
  if (!claims.success) return null;
  const { iss, aud, exp, nbf } = claims.data;
  const t = Math.floor(now / 1000);
  if (iss !== issuer) return null;
  if (!(typeof aud === "string" ? aud === audience : aud.includes(audience))) return null;
  if (exp <= t - CLOCK_SKEW_SECONDS) return null;
  if (nbf !== undefined && nbf > t + CLOCK_SKEW_SECONDS) return null;
  return payload as Record<string, unknown>;
}

/** A JWT part's JSON, if it is a base64url-encoded JSON object; undefined otherwise. */
function parseJsonPart(part: string): unknown {
  const bytes = decodeBase64Url(part);
  if (!bytes.ok) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes.value));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The key for RS256 verification only, or null if it does not import or is under 2048 bits. */
async function importRsaKey(jwk: RsaKey): Promise<CryptoKey | null> {
  try {
    const key = await crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RS256", ext: true },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
    return ((key.algorithm as { modulusLength?: number }).modulusLength ?? 0) >= 2048 ? key : null;
  } catch {
    return null;
  }
}

/** Fetches the team's keys unless that was tried within REFETCH_AFTER_MS; concurrent callers share one fetch. */
function refreshKeys(team: string, now: number, fetcher: typeof fetch): Promise<CachedKeys | null> {
  const pending = inFlight.get(team);
  if (pending) return pending;
  const last = lastFetch.get(team);
  if (last !== undefined && now - last < REFETCH_AFTER_MS) return Promise.resolve(null);
  lastFetch.set(team, now);
  const fetched = fetchKeys(team, fetcher).then((set) => {
    if (!set) return null;
    const keys: CachedKeys = { keys: set, fetchedAt: now };
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
    const keys: CachedKeys["keys"] = new Map();
    for (const k of parsed.data.keys) {
      const rsa = rsaKeySchema.safeParse(k);
      // A kid listed twice keeps its first key.
      if (rsa.success && !keys.has(rsa.data.kid)) keys.set(rsa.data.kid, { jwk: rsa.data });
    }
    return keys.size ? keys : null;
  } catch {
    return null;
  }
}
