/**
 * GitHub's secret scanning public keys: from GITHUB_SECRET_SCANNING_KEYS when configured (the JSON
 * GitHub serves), otherwise fetched from GITHUB_KEYS_URL and cached per isolate for an hour. An
 * unknown key id forces one refetch, at most once a minute, so a GitHub key rotation is picked up
 * without letting unsigned junk make rekey hammer GitHub.
 *
 * Redirects are not followed (`redirect: "manual"`, a 3xx is a failed fetch): the keys decide which
 * alerts are believed, so they come from the configured URL or not at all.
 */
import { type GithubPublicKeys, parseGithubPublicKeys } from "../inbound/github-secret-scanning.ts";

const TTL_MS = 3_600_000;
const REFETCH_MIN_MS = 60_000;

export class GithubKeys {
  #cached?: { keys: GithubPublicKeys; at: number };
  #lastFetch = 0;

  constructor(
    private readonly configured: string | undefined,
    private readonly url: string,
    private readonly now: () => number,
    private readonly fetcher: typeof fetch = (i, init) => fetch(i, init),
  ) {}

  async get(opts: { refresh?: boolean } = {}): Promise<GithubPublicKeys | null> {
    if (this.configured) {
      try {
        const parsed = parseGithubPublicKeys(JSON.parse(this.configured));
        return parsed.ok ? parsed.value : null;
      } catch {
        return null;
      }
    }
    const fresh = this.#cached && this.now() - this.#cached.at < TTL_MS;
    const mayRefetch = this.now() - this.#lastFetch >= REFETCH_MIN_MS;
    if (fresh && !(opts.refresh && mayRefetch)) return this.#cached!.keys;
    if (!mayRefetch && this.#cached) return this.#cached.keys;
    this.#lastFetch = this.now();
    try {
      const res = await this.fetcher(this.url, {
        headers: { accept: "application/json", "user-agent": "rekey" },
        redirect: "manual",
        signal: AbortSignal.timeout(5_000),
      });
      // res.ok is false for a 3xx and for an opaque redirect (status 0): the body is never read.
      const parsed = res.ok ? parseGithubPublicKeys(await res.json()) : null;
      if (!res.ok) await res.body?.cancel();
      if (parsed?.ok) this.#cached = { keys: parsed.value, at: this.now() };
    } catch {
      // Keep whatever we had: a GitHub outage must not stop verification with cached keys.
    }
    return this.#cached?.keys ?? null;
  }
}
