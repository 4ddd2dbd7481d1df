/**
 * The whole configuration, validated once per isolate (process on Deno) before anything is
 * served: the schema of ./config.ts plus every value a feature would otherwise parse late (the key
 * ring, the fingerprint key, OUTBOUND_WEBHOOKS, GitHub's key list, ...). A late parse fails one
 * bus message at a time, for ever, behind a green /healthz; this fails closed and visibly:
 * every route answers 503 with the code and the variables' names, and the queue consumers hold
 * their messages until the configuration is fixed (src/adapters/queue-consumer.ts).
 *
 * Outcomes, in this order:
 * - `dev_secrets_refused`: outside REKEY_DEV_MODE=true, a variable holds a value committed to the
 *   repository (./dev-secrets.ts). Checked first: a deployment running on public secrets is the
 *   most urgent thing to tell its operator, whatever else is wrong.
 * - `config_invalid`: a variable does not parse, or REKEY_ADMIN_TOKEN is shorter than 32
 *   characters outside dev mode.
 *
 * Problems name variables, never values: any of them may be a secret. Unset secrets are not a
 * problem here; the routes that need them answer 503 `not_configured` (./config.ts).
 *
 * Runtime-neutral.
 */
import * as z from "zod/mini";
import { type Config, configSchema } from "./config.ts";
import { decodeBase64 } from "./core/crypto/encoding.ts";
import { parseKeyring } from "./core/crypto/keyring.ts";
import { parseGithubPublicKeys } from "./core/inbound/github-secret-scanning.ts";
import { appKeyDer } from "./core/github/app-jwt.ts";
import { parseScope } from "./core/github/names.ts";
import { notificationTargets } from "./core/notify/targets.ts";
import { devSecretsIn } from "./dev-secrets.ts";

export type ConfigProblemCode = "config_invalid" | "dev_secrets_refused";

export interface ConfigProblem {
  code: ConfigProblemCode;
  /** Names the variables only. */
  message: string;
  /** Variable names, in the schema's order. */
  variables: string[];
}

export type ConfigCheck =
  | { ok: true; config: Config; devMode: boolean }
  | { ok: false; problem: ConfigProblem; devMode: boolean };

/**
 * Outside dev mode the admin token is the only thing between the internet and the admin API; 32
 * characters is what `openssl rand -hex 16` gives, the least the README's recipe produces.
 */
const MIN_ADMIN_TOKEN_LENGTH = 32;

const base64Bytes = (v: string) => {
  const bytes = decodeBase64(v);
  return bytes.ok ? bytes.value.length : 0;
};

/** Values that parse as strings but that a feature could not use. Each returns true when usable. */
const usable: Partial<Record<keyof Config, (value: string, config: Config) => boolean>> = {
  // Printable ASCII without spaces: what the admin auth's Bearer parser can ever match.
  REKEY_ADMIN_TOKEN: (v) => /^[\x21-\x7e]+$/.test(v),
  REKEY_ENCRYPTION_KEYS: (v) => parseKeyring(v).ok,
  REKEY_FINGERPRINT_KEY: (v) => base64Bytes(v) >= 32,
  // As src/core/inbound/standard-webhooks.ts imports it: optional whsec_ prefix, at least 16 bytes.
  ALERT_WEBHOOK_SECRET: (v) => base64Bytes(v.startsWith("whsec_") ? v.slice(6) : v) >= 16,
  GITHUB_SECRET_SCANNING_KEYS: (v) => {
    try {
      return parseGithubPublicKeys(JSON.parse(v)).ok;
    } catch {
      return false;
    }
  },
  SLACK_WEBHOOK_URL: (v) => z.url().safeParse(v).success,
  OUTBOUND_WEBHOOKS: (_v, config) => {
    try {
      notificationTargets({ ...config, SLACK_WEBHOOK_URL: undefined });
      return true;
    } catch {
      return false;
    }
  },
  DISCORD_PUBLIC_KEY: (v) => /^[0-9a-fA-F]{64}$/.test(v),
  // A GitHub App is its id and its key together; either alone cannot authenticate.
  GITHUB_APP_ID: (v, config) => /^(?:[0-9]{1,20}|Iv[0-9A-Za-z.]{2,40})$/.test(v) && !!config.GITHUB_APP_PRIVATE_KEY,
  GITHUB_APP_PRIVATE_KEY: (v, config) => appKeyDer(v) !== undefined && !!config.GITHUB_APP_ID,
  GITHUB_TOKEN: (v) => /^[\x21-\x7e]+$/.test(v),
  GITHUB_ALERT_SCOPES: (v) => v.split(",").map((s) => s.trim()).filter(Boolean).every((s) => parseScope(s)),
  // The API bases receive bearer tokens and every new secret value: https, or http to this
  // machine only (the local emulators, which a deployed Worker cannot reach anyway); any http in
  // dev mode, for a local stack's emulators on names of their own.
  CLARIFAI_API_BASE: (v, c) => secureApiBase(v, c.REKEY_DEV_MODE),
  DISCORD_API_BASE: (v, c) => secureApiBase(v, c.REKEY_DEV_MODE),
  CLOUDFLARE_API_BASE: (v, c) => secureApiBase(v, c.REKEY_DEV_MODE),
  GITHUB_API_BASE: (v, c) => secureApiBase(v, c.REKEY_DEV_MODE),
  // What an Authorization header can carry: a token that cannot would fail every sink call.
  CLOUDFLARE_API_TOKEN: (v) => /^[\x21-\x7e]+$/.test(v),
};

const names = Object.keys(configSchema.shape) as (keyof Config)[];
const inOrder = (set: Set<string>) => names.filter((n) => set.has(n));

export function checkConfig(env: Record<string, unknown>): ConfigCheck {
  const known: Record<string, string> = {};
  for (const name of names) if (typeof env[name] === "string") known[name] = env[name];
  const devMode = known.REKEY_DEV_MODE === "true";

  if (!devMode) {
    const refused = inOrder(new Set(devSecretsIn(known)));
    if (refused.length > 0) {
      return {
        ok: false,
        devMode,
        problem: {
          code: "dev_secrets_refused",
          message: `Cannot serve: ${
            quoted(refused)
          } hold development-only values committed to the repository; generate real ones (a local stack sets REKEY_DEV_MODE=true)`,
          variables: refused,
        },
      };
    }
  }

  const invalid = new Set<string>();
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) { for (const issue of parsed.error.issues) invalid.add(String(issue.path[0])); }
  // Without a parsed config, the late checks run against the raw strings (enough for all but
  // OUTBOUND_WEBHOOKS, whose check reads nothing else of it).
  const config = parsed.success ? parsed.data : (known as unknown as Config);
  for (const [name, check] of Object.entries(usable) as [keyof Config, (v: string, c: Config) => boolean][]) {
    const value = known[name];
    if (value === undefined || value === "" || invalid.has(name)) continue;
    if (!check(value, config)) invalid.add(name);
  }
  const token = known.REKEY_ADMIN_TOKEN;
  if (!devMode && token && token.length < MIN_ADMIN_TOKEN_LENGTH) invalid.add("REKEY_ADMIN_TOKEN");
  for (const name of accessProblems(known, devMode)) invalid.add(name);

  if (invalid.size > 0 || !parsed.success) {
    const variables = inOrder(invalid);
    return {
      ok: false,
      devMode,
      problem: {
        code: "config_invalid",
        message: `Cannot serve: the configuration is invalid in ${quoted(variables)}`,
        variables,
      },
    };
  }
  return { ok: true, config: parsed.data, devMode };
}

/**
 * Cloudflare Access (src/http/access.ts): the team domain and the AUD tag come together, and
 * CF_ACCESS_REQUIRED needs both (it would otherwise lock everyone out). The keys that sign every
 * admin's identity come from the team domain, so it must be `https://`; in dev mode a loopback
 * `http://` one is allowed, for a local stand-in of Access.
 */
function accessProblems(known: Record<string, string>, devMode: boolean): string[] {
  const team = known.CF_ACCESS_TEAM_DOMAIN || undefined;
  const aud = known.CF_ACCESS_AUD || undefined;
  const problems: string[] = [];
  if (team !== undefined && !acceptableTeamDomain(team, devMode)) problems.push("CF_ACCESS_TEAM_DOMAIN");
  if ((team === undefined) !== (aud === undefined)) {
    problems.push(team === undefined ? "CF_ACCESS_TEAM_DOMAIN" : "CF_ACCESS_AUD");
  }
  if ((known.CF_ACCESS_REQUIRED === "true" || known.CF_ACCESS_REQUIRED === "1") && (!team || !aud)) {
    problems.push("CF_ACCESS_REQUIRED");
  }
  return problems;
}

function acceptableTeamDomain(value: string, devMode: boolean): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password || url.search || url.hash) return false;
  if (url.protocol === "https:") return true;
  return devMode && url.protocol === "http:" && isLoopback(url.hostname);
}

function secureApiBase(value: string, devMode: boolean | string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const dev = devMode === true || devMode === "true";
  return url.protocol === "https:" || (url.protocol === "http:" && (dev || isLoopback(url.hostname)));
}

const isLoopback = (host: string) => host === "127.0.0.1" || host === "localhost" || host === "[::1]";

const quoted = (vars: string[]) => vars.map((v) => `"${v}"`).join(", ");
