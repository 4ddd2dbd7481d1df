/**
 * A local GitHub for tests, demos and `npm start`: exactly the REST endpoints rekey uses (App JWT
 * → installation token, installation lookup, secret scanning alerts get/list/patch, Actions public
 * keys and secrets for repositories, environments and organizations), faithful to GitHub's REST
 * docs and OpenAPI description (`@octokit/openapi`; test/node/ validates every answer against it
 * and drives the emulator with `@octokit/rest`), plus a control surface under `/_emulator/` that
 * is clearly not GitHub's: create an alert and deliver its webhook, signed as GitHub signs it.
 *
 * Runtime-neutral Hono app (workerd, Deno, Node); emulator/node/serve-github.ts hosts it in Node
 * with libsodium (`libsodium-wrappers`) to open the sealed boxes it receives. See
 * emulator/README.md for the contract and the choices where GitHub documents nothing.
 */
import { type Context, Hono } from "hono";
import * as z from "zod";
import { DropConnection, inProcessFetch } from "../src/faults.ts";
import { checkAppJwt, importAppPublicKey } from "./jwt.ts";
import {
  type Account,
  type Alert,
  type Fault,
  GithubState,
  type Installation,
  type Repository,
  scopeKey,
  type SealingKey,
  type Secret,
} from "./state.ts";
import { alertView, installationView, organizationView, userView, webhookRepositoryView } from "./views.ts";

export type { Alert, CallRecord, Fault, Secret } from "./state.ts";

/** libsodium's `crypto_box_seal_open`: the plaintext, or null when the box does not open. */
export type SealOpener = (sealed: Uint8Array, publicKey: Uint8Array, privateKey: Uint8Array) => Uint8Array | null;

export interface GithubEmulatorOptions {
  now?: () => Date;
  /** Without it the emulator cannot check or show secret values (`value` is null in the state). */
  openSealedBox?: SealOpener;
  /** Where control-surface deliveries are POSTed (rekey's /hooks/github/events), and how they are signed. */
  webhook?: { url?: string; secret?: string };
  /** For POSTing deliveries (the host's fetch by default). */
  fetch?: typeof fetch;
}

export interface Delivery {
  id: string;
  event: string;
  headers: Record<string, string>;
  body: string;
}

export interface GithubEmulator {
  app: Hono;
  /** In-process "network": a dropped connection rejects with a TypeError, as fetch does. */
  fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  state: GithubState;
  /** A demo organization with one repository (and environment) and the App installed on it. */
  seed(opts: { org?: string; repository?: string; environment?: string }): Promise<{ installationId: number }>;
}

const API_VERSIONS = new Set(["2022-11-28", "2026-03-10"]);
const DOCS = "https://docs.github.com/rest";

const b64 = {
  encode: (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)),
  decode: (s: string): Uint8Array | null => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
    try {
      return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    } catch {
      return null;
    }
  },
};

const randomToken = (prefix: string) => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(36));
  return prefix + [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
};

/** GitHub's error body. */
const gh = (c: Context, status: number, message: string) =>
  c.json({ message, documentation_url: DOCS, status: String(status) }, status as 400);

function pathMatches(pattern: string, path: string): boolean {
  const p = pattern.split("/").filter(Boolean);
  const a = path.split("/").filter(Boolean);
  return p.length === a.length && p.every((seg, i) => seg === "*" || seg.toLowerCase() === a[i]!.toLowerCase());
}

function takeFault(state: GithubState, method: string, path: string): Fault | undefined {
  const fault = state.faults.find((f) =>
    f.count > 0 && f.method.toUpperCase() === method.toUpperCase() && pathMatches(f.path, path)
  );
  if (!fault) return undefined;
  fault.count -= 1;
  state.faults = state.faults.filter((f) => f.count > 0);
  return fault;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class ControlError extends Error {}

type Permission = "secret_scanning_alerts" | "secrets" | "environments" | "organization_secrets";
const ALL_PERMISSIONS: Record<string, "read" | "write"> = {
  metadata: "read",
  secret_scanning_alerts: "write",
  secrets: "write",
  environments: "write",
  organization_secrets: "write",
};

export function createGithubEmulator(options: GithubEmulatorOptions = {}): GithubEmulator {
  const state = new GithubState(options.now ?? (() => new Date()));
  const hook = { url: options.webhook?.url, secret: options.webhook?.secret ?? "" };
  const deliveries: Delivery[] = [];
  const app = new Hono();

  const repoOf = (owner: string, repo: string) => state.repositories.get(`${owner}/${repo}`.toLowerCase());
  const installationFor = (target: { repo?: Repository; org?: string }): Installation | undefined =>
    [...state.installations.values()].find((i) =>
      target.repo
        ? i.account.id === target.repo.owner.id &&
          (i.repositories === "all" || i.repositories.has(target.repo.full_name.toLowerCase()))
        : i.account.type === "Organization" && i.account.login.toLowerCase() === target.org!.toLowerCase()
    );

  // Faults, required headers and the call log wrap every GitHub route (never the control surface).
  app.use("*", async (c, next) => {
    if (c.req.path.startsWith("/_emulator/")) return next();
    const fault = takeFault(state, c.req.method, c.req.path);
    const log = (status: number) =>
      // Method and path only: the Authorization header (a token or a JWT) is never recorded.
      state.calls.push({ method: c.req.method, path: c.req.path, status, time: state.timestamp() });
    if (fault?.delay_ms) await sleep(fault.delay_ms);
    if (fault?.drop) {
      log(0);
      throw new DropConnection("dropped by fault injection");
    }
    if (fault?.location) {
      log(fault.status ?? 301);
      return new Response(null, { status: fault.status ?? 301, headers: { location: fault.location } });
    }
    if (fault?.status) {
      log(fault.status);
      c.res = gh(c, fault.status, fault.status >= 500 ? "Server Error" : "Injected fault");
      if (fault.status === 429 || fault.status === 403) c.res.headers.set("x-ratelimit-remaining", "0");
      return c.res;
    }
    if (!c.req.header("user-agent")) {
      log(403);
      return gh(
        c,
        403,
        "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
      );
    }
    const version = c.req.header("x-github-api-version");
    if (version !== undefined && !API_VERSIONS.has(version)) {
      log(400);
      return gh(c, 400, `Unsupported 'X-GitHub-Api-Version' header: ${version.slice(0, 20)}`);
    }
    if (fault?.swallow) {
      // A lost write: the usual success answer, nothing changed.
      const status = c.req.method === "PUT" ? 204 : 200;
      log(status);
      return status === 204 ? c.body(null, 204) : c.json({}, 200);
    }
    await next();
    log(c.res.status);
    if (fault?.drop_after) throw new DropConnection("answer lost by fault injection");
  });

  const bearer = (c: Context) => /^(?:Bearer|token) (\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];

  /** The App's JWT, or the error answer. */
  async function requireJwt(c: Context): Promise<Response | null> {
    const token = bearer(c);
    if (!token || !state.app) return gh(c, 401, "A JSON web token could not be decoded");
    const problem = await checkAppJwt(token, state.app, state.now().getTime());
    return problem ? gh(c, 401, problem) : null;
  }

  /** A token that may use `perm` on the repository or organization, or the error answer. */
  function requireToken(
    c: Context,
    target: { repo?: Repository; org?: string },
    perm: Permission,
    level: "read" | "write",
  ): Response | null {
    const token = bearer(c);
    const t = token ? state.tokens.get(token) : undefined;
    if (!t || t.expires_at <= state.now().getTime()) return gh(c, 401, "Bad credentials");
    if (t.installation === undefined) return null; // a personal token: this emulator grants it everything
    const inst = state.installations.get(t.installation);
    const covered = inst && installationFor(target)?.id === inst.id;
    // GitHub answers 404 for what a token cannot see, so as not to confirm it exists.
    if (!inst || !covered) return gh(c, 404, "Not Found");
    const held = inst.permissions[perm];
    if (!held || (level === "write" && held !== "write")) return gh(c, 403, "Resource not accessible by integration");
    return null;
  }

  async function sealingKey(key: string): Promise<SealingKey> {
    let k = state.keys.get(key);
    if (!k) {
      const pair = (await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])) as CryptoKeyPair;
      const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
      const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
      const privateKey = Uint8Array.from(atob(jwk.d!.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
      // Checked again: another request may have made it meanwhile.
      k = state.keys.get(key) ??
        { key_id: String(3380204578043523000n + BigInt(state.nextId())), publicKey, privateKey };
      state.keys.set(key, k);
    }
    return k;
  }

  const open = (s: Secret, scope: string): string | null => {
    const k = state.keys.get(scope);
    const sealed = b64.decode(s.encrypted_value);
    if (!options.openSealedBox || !k || !sealed || k.key_id !== s.key_id) return null;
    const plain = options.openSealedBox(sealed, k.publicKey, k.privateKey);
    return plain ? new TextDecoder().decode(plain) : null;
  };

  // --- GitHub App ----------------------------------------------------------------------------
  app.post("/app/installations/:id/access_tokens", async (c) => {
    const refused = await requireJwt(c);
    if (refused) return refused;
    const inst = state.installations.get(Number(c.req.param("id")));
    if (!inst) return gh(c, 404, "Not Found");
    const token = randomToken("ghs_");
    const expires = state.now().getTime() + 3_600_000;
    state.tokens.set(token, { installation: inst.id, expires_at: expires });
    return c.json({
      token,
      expires_at: state.timestamp(expires),
      permissions: inst.permissions,
      repository_selection: inst.repositories === "all" ? "all" : "selected",
    }, 201);
  });

  app.get("/repos/:owner/:repo/installation", async (c) => {
    const refused = await requireJwt(c);
    if (refused) return refused;
    const repo = repoOf(c.req.param("owner"), c.req.param("repo"));
    const inst = repo && installationFor({ repo });
    return inst ? c.json(installationView(inst, state.app!.id)) : gh(c, 404, "Not Found");
  });

  app.get("/orgs/:org/installation", async (c) => {
    const refused = await requireJwt(c);
    if (refused) return refused;
    const inst = installationFor({ org: c.req.param("org") });
    return inst ? c.json(installationView(inst, state.app!.id)) : gh(c, 404, "Not Found");
  });

  // --- Secret scanning -----------------------------------------------------------------------
  const perPage = (c: Context) => Math.min(Math.max(Number(c.req.query("per_page") ?? 30) || 30, 1), 100);
  const pageOf = (c: Context) => Math.max(Number(c.req.query("page") ?? 1) || 1, 1);
  // Newest first, as GitHub lists them; ties by repository and number, so the order is total.
  const order = (a: Alert, b: Alert) =>
    b.created_at.localeCompare(a.created_at) || b.repository.localeCompare(a.repository) || b.number - a.number;
  const cursorOf = (a: Alert) => btoa(JSON.stringify([a.created_at, a.repository, a.number])).replace(/=+$/, "");
  const listed = (c: Context, all: Alert[], withRepository: boolean) => {
    const stateFilter = c.req.query("state");
    if (stateFilter !== undefined && stateFilter !== "open" && stateFilter !== "resolved") {
      return gh(c, 422, "Validation Failed");
    }
    const chosen = all.filter((a) => !stateFilter || a.state === stateFilter).sort(order);
    const size = perPage(c);
    const url = new URL(c.req.url);
    const after = c.req.query("after");
    // Cursor links only when the request has `after` or `before` (even empty): GitHub's description
    // of `after` says "To receive an initial cursor on your first request, include an empty
    // `after` query string" (@octokit/openapi, secret-scanning-pagination-after-org-repo);
    // otherwise the Link header pages by number. A non-empty `before` is not emulated.
    const byCursor = after !== undefined || c.req.query("before") !== undefined;
    if (c.req.query("before")) return gh(c, 422, "Validation Failed: before is not emulated");
    let items: Alert[];
    const links: string[] = [];
    if (byCursor) {
      // Cursor paging: `after` names the last alert of the previous page by its sort key, so an
      // alert resolved meanwhile (gone from `state=open`) moves no other alert to another page.
      let from = 0;
      if (after) {
        let key: [string, string, number];
        try {
          key = JSON.parse(atob(after));
        } catch {
          return gh(c, 422, "Validation Failed: after is not a cursor");
        }
        const probe = { created_at: key[0], repository: key[1], number: key[2] } as Alert;
        from = chosen.findIndex((a) => order(probe, a) < 0);
        if (from < 0) from = chosen.length;
      }
      items = chosen.slice(from, from + size);
      if (from + size < chosen.length) {
        url.searchParams.set("after", cursorOf(items.at(-1)!));
        links.push(`<${url}>; rel="next"`);
      }
    } else {
      const page = pageOf(c);
      items = chosen.slice((page - 1) * size, page * size);
      const link = (p: number, rel: string) => {
        url.searchParams.set("page", String(p));
        return `<${url}>; rel="${rel}"`;
      };
      const last = Math.max(1, Math.ceil(chosen.length / size));
      if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
      if (page > 1) links.push(link(1, "first"), link(page - 1, "prev"));
    }
    return c.json(
      items.map((a) => alertView(state, a, { withRepository })),
      200,
      links.length ? { link: links.join(", ") } : {},
    );
  };

  app.get("/repos/:owner/:repo/secret-scanning/alerts", (c) => {
    const repo = repoOf(c.req.param("owner"), c.req.param("repo"));
    if (!repo) return gh(c, 404, "Not Found");
    const refused = requireToken(c, { repo }, "secret_scanning_alerts", "read");
    if (refused) return refused;
    return listed(c, state.alerts.get(repo.full_name.toLowerCase()) ?? [], false);
  });

  app.get("/orgs/:org/secret-scanning/alerts", (c) => {
    const org = c.req.param("org").toLowerCase();
    if (!state.accounts.has(org)) return gh(c, 404, "Not Found");
    const refused = requireToken(c, { org }, "secret_scanning_alerts", "read");
    if (refused) return refused;
    const all = [...state.repositories.values()].filter((r) => r.owner.login.toLowerCase() === org)
      .flatMap((r) => state.alerts.get(r.full_name.toLowerCase()) ?? []);
    return listed(c, all, true);
  });

  const alertRoute = (c: Context, level: "read" | "write") => {
    const repo = repoOf(c.req.param("owner")!, c.req.param("repo")!);
    if (!repo) return { error: gh(c, 404, "Not Found") };
    const refused = requireToken(c, { repo }, "secret_scanning_alerts", level);
    if (refused) return { error: refused };
    const alert = state.alerts.get(repo.full_name.toLowerCase())?.find((a) => a.number === Number(c.req.param("n")));
    return alert ? { alert } : { error: gh(c, 404, "Not Found") };
  };

  app.get("/repos/:owner/:repo/secret-scanning/alerts/:n", (c) => {
    const r = alertRoute(c, "read");
    return r.error ?? c.json(alertView(state, r.alert!));
  });

  const patchSchema = z.object({
    state: z.enum(["open", "resolved"]).optional(),
    resolution: z.enum(["false_positive", "wont_fix", "revoked", "used_in_tests"]).nullable().optional(),
    resolution_comment: z.string().max(270).nullable().optional(),
  });
  app.patch("/repos/:owner/:repo/secret-scanning/alerts/:n", async (c) => {
    const r = alertRoute(c, "write");
    if (r.error) return r.error;
    const body = patchSchema.safeParse(await c.req.json().catch(() => null));
    if (!body.success || body.data.state === undefined) return gh(c, 422, "Validation Failed");
    const a = r.alert!;
    const now = state.timestamp();
    if (body.data.state === "resolved") {
      if (!body.data.resolution) return gh(c, 422, "Validation Failed: resolution is required to resolve an alert");
      a.state = "resolved";
      a.resolution = body.data.resolution;
      a.resolution_comment = body.data.resolution_comment ?? null;
      a.resolved_at = now;
    } else {
      a.state = "open";
      a.resolution = null;
      a.resolution_comment = null;
      a.resolved_at = null;
    }
    a.updated_at = now;
    return c.json(alertView(state, a));
  });

  // --- Actions secrets -----------------------------------------------------------------------
  type Where = { key: string; perm: Permission; repo?: Repository; org?: string; error?: Response };
  const where = (c: Context, kind: "repo" | "env" | "org", level: "read" | "write"): Where => {
    if (kind === "org") {
      const org = c.req.param("org")!;
      const account = state.accounts.get(org.toLowerCase());
      const key = scopeKey({ org });
      if (!account || account.type !== "Organization") {
        return { key, perm: "organization_secrets", error: gh(c, 404, "Not Found") };
      }
      const refused = requireToken(c, { org }, "organization_secrets", level);
      return { key, perm: "organization_secrets", org: account.login, ...(refused ? { error: refused } : {}) };
    }
    const repo = repoOf(c.req.param("owner")!, c.req.param("repo")!);
    const environment = kind === "env" ? c.req.param("env")! : undefined;
    const key = repo ? scopeKey({ repo: repo.full_name, ...(environment ? { environment } : {}) }) : "";
    const perm: Permission = kind === "env" ? "environments" : "secrets";
    if (!repo) return { key, perm, error: gh(c, 404, "Not Found") };
    const refused = requireToken(c, { repo }, perm, level);
    if (refused) return { key, perm, repo, error: refused };
    if (environment !== undefined && !repo.environments.has(environment.toLowerCase())) {
      return { key, perm, repo, error: gh(c, 404, "Not Found") };
    }
    return { key, perm, repo };
  };

  const secretPaths = {
    repo: "/repos/:owner/:repo/actions/secrets",
    env: "/repos/:owner/:repo/environments/:env/secrets",
    org: "/orgs/:org/actions/secrets",
  } as const;

  const putBody = z.object({
    encrypted_value: z.string().max(65_536).optional(),
    key_id: z.string().optional(),
    visibility: z.enum(["all", "private", "selected"]).optional(),
    selected_repository_ids: z.array(z.number().int()).optional(),
  });

  for (const kind of ["repo", "env", "org"] as const) {
    app.get(`${secretPaths[kind]}/public-key`, async (c) => {
      const w = where(c, kind, "read");
      if (w.error) return w.error;
      const k = await sealingKey(w.key);
      return c.json({ key_id: k.key_id, key: b64.encode(k.publicKey) });
    });

    app.get(`${secretPaths[kind]}/:name`, (c) => {
      const w = where(c, kind, "read");
      if (w.error) return w.error;
      const s = state.secrets.get(w.key)?.get(c.req.param("name").toUpperCase());
      if (!s) return gh(c, 404, "Not Found");
      return c.json({
        name: s.name,
        created_at: s.created_at,
        updated_at: s.updated_at,
        ...(kind === "org"
          ? {
            visibility: s.visibility ?? "private",
            ...(s.visibility === "selected"
              ? {
                selected_repositories_url:
                  `https://api.github.com/orgs/${w.org}/actions/secrets/${s.name}/repositories`,
              }
              : {}),
          }
          : {}),
      });
    });

    app.put(`${secretPaths[kind]}/:name`, async (c) => {
      const w = where(c, kind, "write");
      if (w.error) return w.error;
      const name = c.req.param("name");
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /^github_/i.test(name)) {
        return gh(
          c,
          422,
          "Secret names can only contain alphanumeric characters or underscores, and must not start with a number or GITHUB_",
        );
      }
      const body = putBody.safeParse(await c.req.json().catch(() => null));
      if (!body.success) return gh(c, 422, "Validation Failed");
      const b = body.data;
      if (kind === "org" && !b.visibility) return gh(c, 422, "Validation Failed: visibility is required");
      if (kind !== "org" && (b.encrypted_value === undefined || b.key_id === undefined)) {
        return gh(c, 422, "Validation Failed: encrypted_value and key_id are required");
      }
      if (b.selected_repository_ids && b.visibility !== "selected") {
        return gh(c, 422, "Validation Failed: selected_repository_ids is only allowed with visibility selected");
      }
      const scope = state.secrets.get(w.key) ?? new Map<string, Secret>();
      state.secrets.set(w.key, scope);
      const existing = scope.get(name.toUpperCase());
      if (b.encrypted_value !== undefined) {
        const k = state.keys.get(w.key);
        if (!k || b.key_id !== k.key_id) return gh(c, 422, "Bad request: key_id does not match the current public key");
        const sealed = b64.decode(b.encrypted_value);
        // 32 bytes of ephemeral key and a 16-byte tag at least: anything shorter is no sealed box.
        if (!sealed || sealed.length < 48) return gh(c, 422, "Bad request: encrypted_value is not a sealed box");
        if (options.openSealedBox && !options.openSealedBox(sealed, k.publicKey, k.privateKey)) {
          return gh(c, 422, "Bad request: encrypted_value does not open with this key");
        }
      } else if (!existing) {
        return gh(c, 422, "Validation Failed: encrypted_value is required for a new secret");
      }
      const now = state.timestamp();
      scope.set(name.toUpperCase(), {
        name: name.toUpperCase(),
        encrypted_value: b.encrypted_value ?? existing!.encrypted_value,
        key_id: b.key_id ?? existing!.key_id,
        created_at: existing?.created_at ?? now,
        updated_at: now,
        ...(kind === "org"
          ? {
            visibility: b.visibility!,
            // Omitted ids on a `selected` PUT leave NO repository selected. GitHub's OpenAPI
            // description (@octokit/openapi, "Create or update an organization secret") says
            // "`selected` means only the repositories specified by `selected_repository_ids` can
            // access the secret", and reports (external-secrets PR #6519, terraform-provider-github
            // PR #843) say an update without ids clears the list: the harsher reading, so a client
            // that forgets the ids fails here rather than on GitHub.
            ...(b.visibility === "selected" ? { selected_repository_ids: b.selected_repository_ids ?? [] } : {}),
          }
          : {}),
      });
      return existing ? c.body(null, 204) : c.json({}, 201);
    });
  }

  // "List selected repositories for an organization secret" (@octokit/openapi): `page` and
  // `per_page` (default 30, max 100), answering `{total_count, repositories}` (the only response
  // it documents: a secret that is not `selected` lists none).
  app.get("/orgs/:org/actions/secrets/:name/repositories", (c) => {
    const w = where(c, "org", "read");
    if (w.error) return w.error;
    const s = state.secrets.get(w.key)?.get(c.req.param("name").toUpperCase());
    if (!s) return gh(c, 404, "Not Found");
    const ids = s.selected_repository_ids ?? [];
    const size = perPage(c);
    const page = pageOf(c);
    const known = new Map([...state.repositories.values()].map((r) => [r.id, r]));
    const repositories = ids.slice((page - 1) * size, page * size).map((id) => {
      const r = known.get(id);
      return r
        ? { id: r.id, name: r.name, full_name: r.full_name, owner: { login: r.owner.login } }
        : { id, name: `repo-${id}`, full_name: `${w.org}/repo-${id}`, owner: { login: w.org } };
    });
    return c.json({ total_count: ids.length, repositories });
  });

  // --- Control surface -------------------------------------------------------------------------
  const control = new Hono();
  const bad = (c: Context, message: string, status: 400 | 404 = 400) => c.json({ error: message }, status);
  const body = async <S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S> | null> => {
    const parsed = schema.safeParse(await c.req.json().catch(() => null));
    return parsed.success ? parsed.data : null;
  };
  const login = z.string().regex(/^[A-Za-z0-9-]{1,39}$/);
  const fullName = z.string().regex(/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/);

  const addRepository = (full: string, ownerType: Account["type"] = "Organization", environments: string[] = []) => {
    const [owner, name] = full.split("/") as [string, string];
    const key = full.toLowerCase();
    let repo = state.repositories.get(key);
    if (!repo) {
      repo = {
        id: state.nextId(),
        name,
        full_name: full,
        owner: state.account(owner, ownerType),
        environments: new Map(),
      };
      state.repositories.set(key, repo);
    }
    for (const e of environments) repo.environments.set(e.toLowerCase(), { name: e });
    return repo;
  };

  const addInstallation = (
    account: string,
    type: Account["type"],
    repositories: string[] | "all",
    permissions = ALL_PERMISSIONS,
  ) => {
    const inst: Installation = {
      id: state.nextId(),
      account: state.account(account, type),
      repositories: repositories === "all" ? "all" : new Set(repositories.map((r) => r.toLowerCase())),
      permissions,
      created_at: state.timestamp(),
    };
    state.installations.set(inst.id, inst);
    return inst;
  };

  async function deliver(event: string, payload: unknown, redeliver?: Delivery) {
    // GitHub refuses an empty webhook secret only in its UI; WebCrypto refuses an empty HMAC key.
    if (!hook.secret) throw new ControlError('No webhook secret: POST /_emulator/webhook {"secret"} first');
    const text = redeliver?.body ?? JSON.stringify(payload);
    const id = redeliver?.id ?? crypto.randomUUID();
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(hook.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
    const delivery: Delivery = {
      id,
      event,
      headers: {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/emulator",
        "x-github-event": event,
        "x-github-delivery": id,
        "x-github-hook-id": "1",
        "x-hub-signature-256": `sha256=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`,
      },
      body: text,
    };
    deliveries.push(delivery);
    if (deliveries.length > 100) deliveries.shift();
    let response: { status: number; body: string } | undefined;
    if (hook.url) {
      const res = await (options.fetch ?? fetch)(hook.url, { method: "POST", headers: delivery.headers, body: text });
      response = { status: res.status, body: await res.text() };
    }
    return { delivery, ...(response ? { response } : {}) };
  }

  const alertPayload = (a: Alert, action: string, withInstallation: boolean) => {
    const repo = state.repositories.get(a.repository)!;
    const inst = withInstallation ? installationFor({ repo }) : undefined;
    return {
      action,
      alert: alertView(state, a, { webhook: true }),
      repository: webhookRepositoryView(repo, a.created_at),
      ...(repo.owner.type === "Organization" ? { organization: organizationView(repo.owner) } : {}),
      ...(inst ? { installation: { id: inst.id, node_id: btoa(`023:Integration::Installation${inst.id}`) } } : {}),
      sender: userView(state.account("octocat", "User")),
    };
  };

  control
    .post("/_emulator/app", async (c) => {
      const b = await body(c, z.object({ id: z.string().min(1).max(40), public_key: z.string().min(1) }));
      if (!b) return bad(c, 'Body must be {"id","public_key"} (an SPKI PEM)');
      try {
        state.app = { id: b.id, key: await importAppPublicKey(b.public_key) };
      } catch {
        return bad(c, "public_key is not an RSA SPKI PEM");
      }
      return c.json({ app: { id: b.id } });
    })
    .post("/_emulator/webhook", async (c) => {
      const b = await body(c, z.object({ url: z.url().optional(), secret: z.string() }));
      if (!b) return bad(c, 'Body must be {"secret"} and optionally {"url"}');
      hook.url = b.url;
      hook.secret = b.secret;
      return c.json({ webhook: { url: b.url ?? null } });
    })
    .post("/_emulator/repos", async (c) => {
      const b = await body(
        c,
        z.object({
          full_name: fullName,
          owner_type: z.enum(["Organization", "User"]).optional(),
          environments: z.array(z.string().min(1).max(255)).optional(),
        }),
      );
      if (!b) return bad(c, 'Body must be {"full_name"}, optionally "owner_type" and "environments"');
      const repo = addRepository(b.full_name, b.owner_type, b.environments);
      return c.json({ repository: { id: repo.id, full_name: repo.full_name } });
    })
    .post("/_emulator/installations", async (c) => {
      const b = await body(
        c,
        z.object({
          account: login,
          type: z.enum(["Organization", "User"]).default("Organization"),
          repositories: z.union([z.literal("all"), z.array(fullName)]).default("all"),
          permissions: z.record(z.string(), z.enum(["read", "write"])).optional(),
        }),
      );
      if (!b) return bad(c, 'Body must be {"account"}, optionally "type", "repositories", "permissions"');
      if (b.repositories !== "all") { for (const r of b.repositories) addRepository(r, b.type); }
      const inst = addInstallation(b.account, b.type, b.repositories, b.permissions ?? ALL_PERMISSIONS);
      return c.json({ installation: { id: inst.id } });
    })
    .post("/_emulator/tokens", async (c) => {
      const b = await body(
        c,
        z.object({ installation: z.number().int().optional(), token: z.string().min(8).max(255).optional() }),
      );
      if (!b) return bad(c, 'Body must be {} or {"installation"} or {"token"}');
      const token = b.token ?? randomToken("github_pat_");
      state.tokens.set(token, {
        ...(b.installation !== undefined ? { installation: b.installation } : {}),
        expires_at: Number.MAX_SAFE_INTEGER,
      });
      return c.json({ token });
    })
    .post("/_emulator/repos/:owner/:repo/alerts", async (c) => {
      const repo = repoOf(c.req.param("owner"), c.req.param("repo"));
      if (!repo) return bad(c, "No such repository", 404);
      const b = await body(
        c,
        z.object({
          // Longer than any Clarifai value is allowed: a private key block is a secret GitHub finds.
          secret: z.string().min(1).max(65_536),
          secret_type: z.string().default("clarifai_api_key"),
          secret_type_display_name: z.string().default("Clarifai API key"),
          publicly_leaked: z.boolean().default(false),
          /** Deliver its `created` webhook at once. */
          deliver: z.boolean().default(false),
        }),
      );
      if (!b) return bad(c, 'Body must be {"secret"}, optionally "secret_type", "deliver"');
      const list = state.alerts.get(repo.full_name.toLowerCase()) ?? [];
      state.alerts.set(repo.full_name.toLowerCase(), list);
      const now = state.timestamp();
      const alert: Alert = {
        number: list.length + 1,
        repository: repo.full_name.toLowerCase(),
        secret: b.secret,
        secret_type: b.secret_type,
        secret_type_display_name: b.secret_type_display_name,
        state: "open",
        resolution: null,
        resolution_comment: null,
        resolved_at: null,
        publicly_leaked: b.publicly_leaked,
        created_at: now,
        updated_at: now,
      };
      list.push(alert);
      const sent = b.deliver ? await deliver("secret_scanning_alert", alertPayload(alert, "created", true)) : {};
      return c.json({ alert: alertView(state, alert), ...sent });
    })
    .post("/_emulator/deliveries", async (c) => {
      const b = await body(
        c,
        z.object({
          event: z.string().default("secret_scanning_alert"),
          repository: fullName.optional(),
          number: z.number().int().optional(),
          action: z.string().default("created"),
          /** Include the App installation, as an App's delivery does (a repository webhook's does not). */
          installation: z.boolean().default(true),
          /** Any other payload, as is (e.g. one of @octokit/webhooks-examples). */
          payload: z.unknown().optional(),
        }),
      );
      if (!b) return bad(c, "Body must name an event and its alert, or carry a payload");
      if (b.payload !== undefined) return c.json(await deliver(b.event, b.payload));
      if (b.event === "ping") {
        return c.json(
          await deliver("ping", {
            zen: "Design for failure.",
            hook_id: 1,
            hook: {
              type: "App",
              id: 1,
              name: "web",
              active: true,
              events: ["secret_scanning_alert"],
              config: { content_type: "json", insecure_ssl: "0", url: hook.url ?? "" },
            },
            sender: userView(state.account("octocat", "User")),
          }),
        );
      }
      const alert = b.repository
        ? state.alerts.get(b.repository.toLowerCase())?.find((a) => a.number === b.number)
        : undefined;
      if (!alert) return bad(c, "No such alert", 404);
      return c.json(await deliver(b.event, alertPayload(alert, b.action, b.installation)));
    })
    .post("/_emulator/deliveries/:id/redeliver", async (c) => {
      const d = deliveries.find((x) => x.id === c.req.param("id"));
      if (!d) return bad(c, "No such delivery", 404);
      return c.json(await deliver(d.event, undefined, d));
    })
    .post("/_emulator/secrets", async (c) => {
      // A secret that exists before rekey writes it (its value unknown to the emulator), e.g. backdated.
      const b = await body(
        c,
        z.object({
          repository: fullName.optional(),
          environment: z.string().optional(),
          organization: login.optional(),
          name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
          updated_at: z.iso.datetime({ offset: true }).optional(),
          visibility: z.enum(["all", "private", "selected"]).optional(),
          selected_repository_ids: z.array(z.number().int()).optional(),
        }),
      );
      if (!b || (b.repository === undefined) === (b.organization === undefined)) {
        return bad(c, 'Body must name "repository" or "organization", and "name"');
      }
      if (b.organization) state.account(b.organization, "Organization");
      const key = scopeKey(
        b.organization
          ? { org: b.organization }
          : { repo: b.repository!, ...(b.environment ? { environment: b.environment } : {}) },
      );
      const scope = state.secrets.get(key) ?? new Map<string, Secret>();
      state.secrets.set(key, scope);
      const when = b.updated_at ? state.timestamp(Date.parse(b.updated_at)) : state.timestamp();
      scope.set(b.name.toUpperCase(), {
        name: b.name.toUpperCase(),
        encrypted_value: "",
        key_id: "",
        created_at: when,
        updated_at: when,
        ...(b.organization ? { visibility: b.visibility ?? "private" } : {}),
        ...(b.selected_repository_ids ? { selected_repository_ids: b.selected_repository_ids } : {}),
      });
      return c.json({ secret: { name: b.name.toUpperCase(), updated_at: when } });
    })
    .post("/_emulator/faults", async (c) => {
      const b = await body(
        c,
        z.object({
          method: z.string(),
          path: z.string().startsWith("/"),
          count: z.number().int().min(1).default(1),
          status: z.number().int().min(300).max(599).optional(),
          delay_ms: z.number().int().min(0).max(60_000).optional(),
          drop: z.boolean().optional(),
          drop_after: z.boolean().optional(),
          swallow: z.boolean().optional(),
          location: z.string().optional(),
        }),
      );
      if (!b) return bad(c, 'Body must be {"method","path"} and the fault');
      state.faults.push(b);
      return c.json({ faults: state.faults.length });
    })
    .delete("/_emulator/faults", (c) => {
      state.faults = [];
      return c.json({ faults: 0 });
    })
    .post("/_emulator/reset", (c) => {
      state.reset();
      deliveries.length = 0;
      return c.json({ reset: true });
    })
    .get("/_emulator/state", (c) => {
      // `?owner=<login>`: one account's repositories, alerts, secrets and calls (tests share one emulator).
      const owner = c.req.query("owner")?.toLowerCase();
      const mine = (s: string) => !owner || s.toLowerCase().includes(owner);
      return c.json({
        repositories: [...state.repositories.values()].filter((r) => mine(r.full_name)).map((r) => ({
          id: r.id,
          full_name: r.full_name,
          environments: [...r.environments.values()].map((e) => e.name),
        })),
        installations: [...state.installations.values()].filter((i) => mine(i.account.login)).map((i) => ({
          id: i.id,
          account: i.account.login,
          repositories: i.repositories === "all" ? "all" : [...i.repositories],
        })),
        alerts: [...state.alerts.values()].flat().filter((a) => mine(a.repository)).map((a) => ({
          repository: state.repositories.get(a.repository)!.full_name,
          number: a.number,
          state: a.state,
          resolution: a.resolution,
          resolution_comment: a.resolution_comment,
          updated_at: a.updated_at,
        })),
        // Values opened with the host's libsodium (null without it): the control surface is a test's view.
        secrets: [...state.secrets.entries()].filter(([scope]) => mine(scope)).flatMap(([scope, m]) =>
          [...m.values()].map((s) => ({
            scope,
            name: s.name,
            created_at: s.created_at,
            updated_at: s.updated_at,
            ...(s.visibility ? { visibility: s.visibility } : {}),
            ...(s.selected_repository_ids ? { selected_repository_ids: s.selected_repository_ids } : {}),
            key_id: s.key_id,
            value: open(s, scope),
          }))
        ),
        deliveries: deliveries.map((d) => ({ id: d.id, event: d.event })),
        calls: state.calls.filter((x) => mine(x.path)),
      });
    });
  app.route("/", control);

  app.notFound((
    c,
  ) => (c.req.path.startsWith("/_emulator/") ? c.json({ error: "Not found" }, 404) : gh(c, 404, "Not Found")));
  app.onError((error, c) => {
    if (error instanceof DropConnection) throw error;
    if (error instanceof ControlError) return c.json({ error: error.message }, 400);
    return gh(c, 500, "Server Error");
  });

  const fetcher: GithubEmulator["fetch"] = inProcessFetch(app);

  return {
    app,
    fetch: fetcher,
    state,
    async seed(opts) {
      const org = opts.org ?? "demo-org";
      const repository = opts.repository ?? `${org}/demo-app`;
      addRepository(repository, "Organization", [opts.environment ?? "production"]);
      const inst = addInstallation(org, "Organization", "all");
      return { installationId: inst.id };
    },
  };
}
