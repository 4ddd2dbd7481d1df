/**
 * The GitHub REST client: the few endpoints rekey uses (secret scanning alerts, Actions secrets
 * and their public keys, App installations), authenticated as a GitHub App or with one token.
 *
 * Authentication (GitHub docs, "Authenticating as a GitHub App installation"):
 * - App: a 9-minute RS256 JWT (./app-jwt.ts) is exchanged for an installation token
 *   (`POST /app/installations/{id}/access_tokens`). The installation comes from the webhook
 *   payload when there is one, otherwise from `GET /repos/{owner}/{repo}/installation` or
 *   `GET /orgs/{org}/installation`.
 * - Token: `GITHUB_TOKEN` (a fine-grained PAT, say) for every call, for small setups.
 *
 * Trade-offs, recorded where they are made: installation tokens (valid one hour) are cached in
 * the isolate's memory, per installation, until 5 minutes before they expire, and installation
 * ids per repository or organization until a call with that installation's token answers 404
 * (looked up again, and the call tried once more with the new one); neither is ever stored,
 * logged, put in an event or an error. A cached token GitHub refuses (401: the installation was
 * suspended, the token revoked) is dropped and the call tried once more with a fresh one; a
 * token exchange that finds no installation drops the cached id. An isolate that dies takes its
 * tokens with it, costing one exchange per installation in the next.
 *
 * Runtime-neutral.
 */
import * as z from "zod/mini";
import { VERSION } from "../../version.ts";
import { importAppKey, signAppJwt } from "./app-jwt.ts";
import { githubFailure } from "./errors.ts";
import { isFailure } from "../failure.ts";
import { type GithubAnswer, type GithubCall, githubCall, type GithubHttpOptions } from "./http.ts";

/** Where rekey's GitHub credentials come from (src/config.ts). */
type GithubCredentials = { kind: "token"; token: string } | { kind: "app"; appId: string; privateKey: string };

/** A repository (`owner/repo`) or an organization: what an installation and a token are for. */
type GithubOwner = { repository: string } | { organization: string };
/** Where an Actions secret lives: a repository, one of its environments, or an organization. */
export type SecretTarget = { repository: string; environment?: string } | { organization: string };

export interface GithubClientOptions {
  baseUrl: string;
  credentials: GithubCredentials;
  fetch?: typeof fetch;
  timeoutMs?: number;
  now?: () => number;
}

/**
 * The longest secret rekey reads: far above any Clarifai credential, so a longer one (a private key
 * block, a custom pattern's match) can never be a managed value and is dropped from the alert,
 * not refused: one such alert must not fail a webhook or stop a backstop page.
 */
const MAX_ALERT_SECRET = 4096;

const alertSchema = z.object({
  number: z.number().check(z.int(), z.gte(1)),
  state: z.enum(["open", "resolved"]),
  /** Absent when GitHub hides it (`hide_secret`) or for a type it cannot show; dropped when too long. */
  secret: z.pipe(
    z.optional(z.string().check(z.minLength(1))),
    z.transform((v) => v !== undefined && v.length <= MAX_ALERT_SECRET ? v : undefined),
  ),
  secret_type: z.optional(z.string().check(z.maxLength(256))),
  resolution: z.optional(z.nullable(z.string())),
  /** Present on organization listings: which repository the alert is in. */
  repository: z.optional(z.object({ id: z.number().check(z.int()), full_name: z.string().check(z.maxLength(140)) })),
});
type GithubAlert = z.infer<typeof alertSchema>;

const publicKeySchema = z.object({
  key_id: z.string().check(z.minLength(1), z.maxLength(256)),
  key: z.string().check(z.minLength(1), z.maxLength(256)),
});
const secretSchema = z.object({
  name: z.string(),
  updated_at: z.iso.datetime({ offset: true }),
  visibility: z.optional(z.enum(["all", "private", "selected"])),
});
type GithubSecret = z.infer<typeof secretSchema>;
const selectedReposSchema = z.object({
  total_count: z.number().check(z.int(), z.gte(0)),
  repositories: z.array(z.object({ id: z.number().check(z.int()) })).check(z.maxLength(100)),
});
const installationSchema = z.object({ id: z.number().check(z.int(), z.gte(1)) });
const tokenSchema = z.object({ token: z.string().check(z.minLength(1)), expires_at: z.iso.datetime({ offset: true }) });

/** Refreshed this long before GitHub's `expires_at`, so a token never expires during a step. */
const TOKEN_MARGIN_MS = 5 * 60_000;
const ALERTS_PER_PAGE = 100;
/** GitHub's maximum `per_page`; and a bound on the pages read for one secret's repositories. */
const REPOS_PER_PAGE = 100;
const MAX_REPO_PAGES = 100;

const split = (repository: string) => repository.split("/") as [string, string];
const ownerPath = (o: GithubOwner) => "repository" in o ? ["repos", ...split(o.repository)] : ["orgs", o.organization];
const secretBase = (t: SecretTarget): string[] =>
  "organization" in t
    ? ["orgs", t.organization, "actions", "secrets"]
    : t.environment !== undefined
    ? ["repos", ...split(t.repository), "environments", t.environment, "secrets"]
    : ["repos", ...split(t.repository), "actions", "secrets"];

export interface GithubClient {
  getAlert(repository: string, number: number, installationId?: number): Promise<GithubAlert>;
  /**
   * One page of open alerts in a repository or an organization, from `after` (GitHub's cursor, as
   * its Link header gives it, or `page:N`; null: the first page), and the cursor of the next page
   * (null: none). Cursors, not page numbers: an alert resolved meanwhile shifts page numbers,
   * never a cursor; page numbers only where the server offers nothing else.
   */
  listOpenAlerts(
    scope: GithubOwner,
    after: string | null,
  ): Promise<{ alerts: GithubAlert[]; next: string | null; skipped: number }>;
  resolveAlert(repository: string, number: number, comment: string, installationId?: number): Promise<void>;
  getPublicKey(target: SecretTarget): Promise<z.infer<typeof publicKeySchema>>;
  /** The secret's metadata (GitHub never returns a value), or null when it does not exist. */
  getSecret(target: SecretTarget, name: string): Promise<GithubSecret | null>;
  /**
   * The ids of the repositories an organization secret with `selected` visibility is shared with
   * ("List selected repositories for an organization secret", paged by `page`/`per_page`).
   */
  listSelectedRepositoryIds(organization: string, name: string): Promise<number[]>;
  putSecret(
    target: SecretTarget,
    name: string,
    body: {
      encrypted_value: string;
      key_id: string;
      visibility?: "all" | "private" | "selected";
      selected_repository_ids?: number[];
    },
  ): Promise<void>;
}

export function createGithubClient(opts: GithubClientOptions): GithubClient {
  const http: GithubHttpOptions = {
    baseUrl: opts.baseUrl,
    fetch: opts.fetch ?? ((input, init) => fetch(input, init)),
    timeoutMs: opts.timeoutMs ?? 10_000,
    userAgent: `rekey/${VERSION}`,
  };
  const now = opts.now ?? (() => Date.now());
  const creds = opts.credentials;

  let appKey: Promise<CryptoKey> | undefined;
  const installations = new Map<string, Promise<number>>();
  const tokens = new Map<number, Promise<{ token: string; expiresAt: number }>>();

  const jwt = async () => {
    if (creds.kind !== "app") throw githubFailure("not_configured", "sign_app_jwt");
    appKey ??= importAppKey(creds.privateKey).catch((error) => {
      appKey = undefined;
      throw error;
    });
    return signAppJwt(await appKey, creds.appId, now());
  };

  const ownerKey = (o: GithubOwner) =>
    "repository" in o ? `repo:${o.repository.toLowerCase()}` : `org:${o.organization.toLowerCase()}`;

  const installationOf = (o: GithubOwner): Promise<number> => {
    const key = ownerKey(o);
    let found = installations.get(key);
    if (!found) {
      found = (async () => {
        const answer = await githubCall(http, {
          operation: "find_installation",
          method: "GET",
          path: [...ownerPath(o), "installation"],
          token: await jwt(),
          schema: installationSchema,
        });
        return answer.data.id;
      })().catch((error) => {
        installations.delete(key);
        throw error;
      });
      installations.set(key, found);
    }
    return found;
  };

  const installationToken = (id: number, owner: GithubOwner): Promise<{ token: string; expiresAt: number }> => {
    const cached = tokens.get(id);
    if (cached) {
      return cached.then((
        t,
      ) => (t.expiresAt - TOKEN_MARGIN_MS > now() ? t : (tokens.delete(id), installationToken(id, owner))));
    }
    const fresh = (async () => {
      const answer = await githubCall(http, {
        operation: "get_installation_token",
        method: "POST",
        path: ["app", "installations", String(id), "access_tokens"],
        token: await jwt(),
        schema: tokenSchema,
      });
      return { token: answer.data.token, expiresAt: Date.parse(answer.data.expires_at) };
    })().catch((error) => {
      tokens.delete(id);
      // The installation is gone (uninstalled, or a stale id): look it up again next time.
      if (isFailure(error, "github") && error.detail.kind === "not_found") installations.delete(ownerKey(owner));
      throw error;
    });
    tokens.set(id, fresh);
    return fresh;
  };

  /** A call with the right token; a cached installation token GitHub refuses is replaced once. */
  async function call<S extends z.ZodMiniType>(
    owner: GithubOwner,
    installationId: number | undefined,
    c: Omit<GithubCall<S>, "token">,
  ): Promise<GithubAnswer<z.output<S>>> {
    if (creds.kind === "token") return githubCall(http, { ...c, token: creds.token });
    const lookedUp = installationId === undefined;
    const id = installationId ?? (await installationOf(owner));
    const first = await installationToken(id, owner);
    try {
      return await githubCall(http, { ...c, token: first.token });
    } catch (error) {
      // A 404 with a looked-up (cached) installation: the repository may have moved to another
      // installation of the App. The id is looked up again, and the call tried once more when it
      // changed. Costs one lookup per genuine 404 (a secret not created yet, an alert deleted).
      if (lookedUp && isFailure(error, "github") && error.detail.kind === "not_found") {
        installations.delete(ownerKey(owner));
        const again = await installationOf(owner).catch(() => id);
        if (again === id) throw error;
        return githubCall(http, { ...c, token: (await installationToken(again, owner)).token });
      }
      if (!(isFailure(error, "github") && error.detail.kind === "unauthorized")) throw error;
      if ((await tokens.get(id)?.catch(() => undefined))?.token === first.token) tokens.delete(id);
      return githubCall(http, { ...c, token: (await installationToken(id, owner)).token });
    }
  }

  return {
    async getAlert(repository, number, installationId) {
      const answer = await call({ repository }, installationId, {
        operation: "get_alert",
        method: "GET",
        path: ["repos", ...split(repository), "secret-scanning", "alerts", String(number)],
        schema: alertSchema,
      });
      return answer.data;
    },

    async listOpenAlerts(scope, after) {
      const answer = await call(scope, undefined, {
        operation: "list_alerts",
        method: "GET",
        path: [...ownerPath(scope), "secret-scanning", "alerts"],
        // GitHub's description of `after`: "To receive an initial cursor on your first request,
        // include an empty `after` query string" (@octokit/openapi, secret-scanning-pagination-
        // after-org-repo); without it the Link header pages by number. A `page:N` cursor is a
        // server that paged by number anyway (GitHub Enterprise Server): followed as it is.
        query: after?.startsWith(PAGE_CURSOR)
          ? { state: "open", per_page: ALERTS_PER_PAGE, page: after.slice(PAGE_CURSOR.length) }
          : { state: "open", per_page: ALERTS_PER_PAGE, after: after ?? "" },
        // Item by item: one alert GitHub shapes unexpectedly is skipped (counted), not the page.
        schema: z.array(z.unknown()).check(z.maxLength(ALERTS_PER_PAGE)),
      });
      const alerts: GithubAlert[] = [];
      let skipped = 0;
      for (const item of answer.data) {
        const parsed = alertSchema.safeParse(item);
        if (parsed.success) alerts.push(parsed.data);
        else skipped++;
      }
      return { alerts, next: nextCursor(answer.headers.get("link")), skipped };
    },

    async resolveAlert(repository, number, comment, installationId) {
      await call({ repository }, installationId, {
        operation: "resolve_alert",
        method: "PATCH",
        path: ["repos", ...split(repository), "secret-scanning", "alerts", String(number)],
        body: { state: "resolved", resolution: "revoked", resolution_comment: comment },
        schema: alertSchema,
      });
    },

    async getPublicKey(target) {
      const answer = await call(ownerOf(target), undefined, {
        operation: "get_public_key",
        method: "GET",
        path: [...secretBase(target), "public-key"],
        schema: publicKeySchema,
      });
      return answer.data;
    },

    async getSecret(target, name) {
      try {
        const answer = await call(ownerOf(target), undefined, {
          operation: "get_secret",
          method: "GET",
          path: [...secretBase(target), name],
          schema: secretSchema,
        });
        return answer.data;
      } catch (error) {
        if (isFailure(error, "github") && error.detail.kind === "not_found") return null;
        throw error;
      }
    },

    async listSelectedRepositoryIds(organization, name) {
      const ids: number[] = [];
      for (let page = 1; page <= MAX_REPO_PAGES; page++) {
        const answer = await call({ organization }, undefined, {
          operation: "list_secret_repositories",
          method: "GET",
          path: ["orgs", organization, "actions", "secrets", name, "repositories"],
          query: { per_page: REPOS_PER_PAGE, page },
          schema: selectedReposSchema,
        });
        ids.push(...answer.data.repositories.map((r) => r.id));
        if (answer.data.repositories.length < REPOS_PER_PAGE || ids.length >= answer.data.total_count) return ids;
      }
      // More than 10,000 repositories: writing back a truncated list would revoke the rest.
      throw githubFailure("invalid", "list_secret_repositories");
    },

    async putSecret(target, name, body) {
      await call(ownerOf(target), undefined, {
        operation: "put_secret",
        method: "PUT",
        path: [...secretBase(target), name],
        body,
      });
    },
  };
}

/** The cursor of a server that pages by number: `page:N` (GitHub's cursors are base64, no colon). */
const PAGE_CURSOR = "page:";

/**
 * The cursor of the Link header's rel="next" URL (RFC 8288): its `after`, or `page:N` when it pages
 * by number (a server that ignored the empty `after`), or null when there is no next page.
 */
function nextCursor(link: string | null): string | null {
  const next = /<([^>]*)>\s*;\s*rel="next"/.exec(link ?? "")?.[1];
  if (!next) return null;
  try {
    const params = new URL(next).searchParams;
    const after = params.get("after");
    if (after) return after;
    const page = params.get("page");
    return page && /^[1-9]\d{0,4}$/.test(page) ? `${PAGE_CURSOR}${page}` : null;
  } catch {
    return null;
  }
}

const ownerOf = (t: SecretTarget): GithubOwner =>
  "organization" in t ? { organization: t.organization } : { repository: t.repository };
