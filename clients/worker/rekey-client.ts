/**
 * Reading a rekey-managed credential from a Cloudflare Worker, over a service binding to rekey's
 * `RekeyCredentials` entrypoint. No dependencies: copy this file into your Worker.
 *
 * ```toml
 * # your Worker's wrangler.toml
 * [[services]]
 * binding = "REKEY"
 * service = "rekey"
 * entrypoint = "RekeyCredentials"
 * props = { consumer = "billing-api" }   # must be listed in the credential's `consumers`
 * ```
 *
 * ```ts
 * import { withKey } from "./rekey-client.ts";
 * const res = await withKey(env.REKEY, "cred_…", (key) =>
 *   fetch("https://api.clarifai.com/v2/…", { headers: { authorization: `Key ${key}` } }));
 * ```
 *
 * - The value is cached in the isolate until the `refresh_after` rekey gave with it (a few
 *   minutes at most; seconds while a compromise rotation runs), so most requests cost no call.
 * - A failed call to rekey is retried once; a refusal (`RekeyRefusal`, with a `code`) is not:
 *   it will not change by asking again.
 * - `withKey` runs your call with the cached value and, if the upstream refused the key (401/403
 *   by default), reads the current value again and retries your call once with it: a value revoked
 *   early (a leak) costs one failed call, not an outage until the cache expires.
 *
 * Never log the value; `fingerprint_prefix` tells values apart.
 */

export interface CurrentCredential {
  value: string;
  fingerprint_prefix: string;
  /** When the current value was made. */
  rotated_at: string;
  /** Read again after this; do not cache the value longer. */
  refresh_after: string;
}

/** What the service binding offers (the `RekeyCredentials` entrypoint). */
export interface RekeyBinding {
  current(credentialId: string): Promise<CurrentCredential>;
}

/**
 * rekey refused the read: `consumer_required` (the binding has no `props.consumer`),
 * `consumer_not_allowed`, `credential_not_found`, `credential_revoked`, `value_leaked`, `value_unavailable`, or a
 * configuration problem of rekey's (`config_invalid`, `not_configured`, ...).
 */
export class RekeyRefusal extends Error {
  override name = "RekeyRefusal";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * The code of a refusal thrown over RPC: its `code` property when the caller's runtime keeps
 * error properties (`enhanced_error_serialization`), else the `<code>: ` rekey puts first in the
 * message (which older runtimes prefix with the error's name). Undefined for anything else, e.g.
 * a network failure, which is worth a retry.
 */
export function refusalCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (error.name === "RekeyRefusal" && typeof code === "string") return code;
  return /^RekeyRefusal: ([a-z][a-z0-9_]{2,47}): /.exec(error.message)?.[1];
}

interface Cached {
  current: CurrentCredential;
  until: number;
}

interface BindingCache {
  values: Map<string, Cached>;
  pending: Map<string, Promise<CurrentCredential>>;
}

/**
 * One cache per binding, never one for the isolate: two bindings of one Worker may name different
 * consumers (`props.consumer`), and a value read through one must not be served through the other
 * (that would skip the second consumer's authorization and its `credential.read`).
 */
const caches = new WeakMap<RekeyBinding, BindingCache>();

function cacheOf(binding: RekeyBinding): BindingCache {
  let c = caches.get(binding);
  if (!c) caches.set(binding, c = { values: new Map(), pending: new Map() });
  return c;
}

export interface ReadOptions {
  /** The clock (milliseconds); tests pass their own. */
  now?: () => number;
}

/** The credential's current value: from the isolate's cache until its `refresh_after`, else from rekey. */
export function currentKey(
  binding: RekeyBinding,
  credentialId: string,
  opts: ReadOptions = {},
): Promise<CurrentCredential> {
  const now = opts.now ?? Date.now;
  const { values: cache, pending } = cacheOf(binding);
  const hit = cache.get(credentialId);
  if (hit && now() < hit.until) return Promise.resolve(hit.current);
  // Concurrent requests in one isolate share one read.
  const inFlight = pending.get(credentialId);
  if (inFlight) return inFlight;
  const read = readOnceOrTwice(binding, credentialId).then((current) => {
    const until = Date.parse(current.refresh_after);
    if (Number.isFinite(until)) cache.set(credentialId, { current, until });
    return current;
  }).finally(() => pending.delete(credentialId));
  pending.set(credentialId, read);
  return read;
}

/** Drops the cached value, so the next read asks rekey (the upstream refused it). */
export function forgetKey(binding: RekeyBinding, credentialId: string): void {
  cacheOf(binding).values.delete(credentialId);
}

async function readOnceOrTwice(binding: RekeyBinding, credentialId: string): Promise<CurrentCredential> {
  try {
    return await binding.current(credentialId);
  } catch (error) {
    const code = refusalCode(error);
    if (code) throw new RekeyRefusal(code, error instanceof Error ? error.message : code);
    // A transient failure (the call did not reach rekey, or rekey failed): once more.
    try {
      return await binding.current(credentialId);
    } catch (again) {
      const code = refusalCode(again);
      throw code ? new RekeyRefusal(code, again instanceof Error ? again.message : code) : again;
    }
  }
}

export interface WithKeyOptions<T> extends ReadOptions {
  /** Whether `use` says the key was refused upstream. Default: a Response with status 401 or 403. */
  rejected?: (result: T) => boolean;
}

const refusedResponse = (r: unknown) => r instanceof Response && (r.status === 401 || r.status === 403);

/**
 * Runs `use` with the current value; if the upstream refused it, reads the value again and, if it
 * changed, runs `use` once more with the new one.
 */
export async function withKey<T>(
  binding: RekeyBinding,
  credentialId: string,
  use: (value: string) => Promise<T>,
  opts: WithKeyOptions<T> = {},
): Promise<T> {
  const rejected = opts.rejected ?? refusedResponse;
  const first = await currentKey(binding, credentialId, opts);
  const result = await use(first.value);
  if (!rejected(result)) return result;
  forgetKey(binding, credentialId);
  const fresh = await currentKey(binding, credentialId, opts);
  return fresh.fingerprint_prefix === first.fingerprint_prefix ? result : use(fresh.value);
}
