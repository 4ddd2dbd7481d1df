/**
 * rekey's configuration: every variable the Worker and the Deno server read, one zod schema.
 * Entry points pass their environment (Worker bindings, the Deno environment) to `parseConfig`; the core never
 * reads the environment itself.
 *
 * Secrets are optional at parse time so that /healthz answers on a half-configured deployment;
 * each feature asks for what it needs with `requireConfig`, which fails with a 503 naming the
 * missing variable (never its value). A variable that is set but unusable is another matter: the
 * entry points validate the whole configuration once per isolate with `checkConfig`
 * (./config-check.ts) and refuse to serve anything on it (503 `config_invalid` /
 * `dev_secrets_refused`).
 */
import * as z from "zod/mini";
import { refused } from "./http/on-error.ts";
import { DEFAULT_LEASE_MS } from "./core/rotation/engine-services.ts";
import { INLINE_TOKENS } from "./core/alerts/deferred-tokens.ts";

const flag = z.pipe(
  z.optional(z
    .enum(["true", "false", "1", "0", ""])),
  z.transform((v) => v === "true" || v === "1"),
);

const csv = z.pipe(
  z.optional(z
    .string()),
  z.transform((v) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean)),
);

const optionalString = z.pipe(z.optional(z.string()), z.transform((v) => (v === "" ? undefined : v)));

export const configSchema = z.object({
  CLARIFAI_API_BASE: z._default(z.url(), "https://api.clarifai.com"),
  CLARIFAI_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.gte(100), z.lte(60_000)), 10_000),
  REKEY_ADMIN_TOKEN: optionalString,
  REKEY_ENCRYPTION_KEYS: optionalString,
  REKEY_FINGERPRINT_KEY: optionalString,
  GITHUB_SECRET_SCANNING_KEYS: optionalString,
  ALERT_WEBHOOK_SECRET: optionalString,
  SLACK_WEBHOOK_URL: optionalString,
  OUTBOUND_WEBHOOKS: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_ALLOWED_USERS: csv,
  DISCORD_PUBLIC_KEY: optionalString,
  DISCORD_ALLOWED_USERS: csv,
  CHATOPS_CONFIRM_ROTATE: flag,
  CHATOPS_TWO_PERSON: flag,
  /**
   * Origins a Slack `response_url` may point at. rekey POSTs results there, so a URL anywhere else
   * is refused even in a correctly signed request (defence in depth against a leaked signing secret
   * turning rekey into a request forwarder). Tests add the local receiver.
   */
  SLACK_RESPONSE_ORIGINS: z.pipe(
    z.pipe(
      z.optional(z
        .string()),
      z.transform((v) => (v ?? "https://hooks.slack.com").split(",").map((s) => s.trim()).filter(Boolean)),
    ),
    z.array(z.url()).check(z.minLength(1)),
  ),
  /** Discord's API, for interaction follow-ups (`/webhooks/{application_id}/{token}`). Tests point it at a receiver. */
  DISCORD_API_BASE: z._default(z.url(), "https://discord.com/api/v10"),
  /** Where GitHub's secret scanning public keys are fetched from when GITHUB_SECRET_SCANNING_KEYS is unset. */
  GITHUB_KEYS_URL: z._default(z.url(), "https://api.github.com/meta/public_keys/secret_scanning"),
  /**
   * Tokens of a GitHub partner alert handled per invocation (core/alerts/deferred-tokens.ts): the
   * request's inline part, labelled in its answer, and each deferred chunk. The default keeps every
   * invocation within the Workers free plan's 10 ms of CPU; a Paid-plan operator may raise it (up to
   * 10,000: every alert in one invocation, as before the split).
   */
  GITHUB_INLINE_TOKENS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(10_000)), INLINE_TOKENS),
  /** GitHub, end to end (issue 17): the secret of POST /hooks/github/events (X-Hub-Signature-256). */
  GITHUB_WEBHOOK_SECRET: optionalString,
  /** A GitHub App's id (or client id) and its private key (the PEM GitHub issues, PKCS#1 or PKCS#8). */
  GITHUB_APP_ID: optionalString,
  GITHUB_APP_PRIVATE_KEY: optionalString,
  /** Instead of an App, one token for every GitHub call (small setups). */
  GITHUB_TOKEN: optionalString,
  /** GitHub's REST API; GitHub Enterprise Server's is `https://HOST/api/v3`. */
  GITHUB_API_BASE: z._default(z.url(), "https://api.github.com"),
  /** Where the cron backstop lists open secret scanning alerts: `owner/repo` and `org:name`, comma-separated. */
  GITHUB_ALERT_SCOPES: csv,
  /** First retry delay of a failed bus handler, doubling per attempt (tests use 1). */
  REKEY_BUS_RETRY_BASE_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(3600)), 10),
  /**
   * How long a rotation's driver holds it (core/rotation/drive.ts) before another driver, or the
   * next sweep, may take it over: the time a crashed rotation waits before it is resumed. Renewed at
   * every step, so it must outlast one step (a Clarifai call of up to CLARIFAI_TIMEOUT_MS, retried
   * with backoff). Shorter is not unsafe (every step is idempotent, and a driver that lost its lease
   * cannot write), but a live driver overtaken repeats its calls. Tests that kill the stack
   * (test/kill/) shorten it.
   */
  REKEY_ROTATION_LEASE_SECONDS: z._default(
    z.coerce.number().check(z.int(), z.gte(1), z.lte(3600)),
    DEFAULT_LEASE_MS / 1000,
  ),
  /**
   * `true` on a developer's local stack only (.dev.vars.example sets it, wrangler.toml does not):
   * accepts the committed development secrets and refuses any Host but loopback. Exactly "true"
   * or "false": a security switch does not guess what "yes" means.
   */
  REKEY_DEV_MODE: z.pipe(z.optional(z.enum(["true", "false", ""])), z.transform((v) => v === "true")),
  /**
   * Cloudflare Access in front of the admin API and the dashboard (src/http/access.ts): the team's
   * URL (`https://acme.cloudflareaccess.com`) and the Access application's AUD tag, both or neither.
   * With CF_ACCESS_REQUIRED=true the admin token stops working (bearer and dashboard sign-in).
   */
  CF_ACCESS_TEAM_DOMAIN: optionalString,
  CF_ACCESS_AUD: optionalString,
  CF_ACCESS_REQUIRED: flag,
  /** The Cloudflare API, for `cloudflare_worker_secret` sinks (tests and `npm start` point it at the emulator). */
  CLOUDFLARE_API_BASE: z._default(z.url(), "https://api.cloudflare.com/client/v4"),
  /** An API token with "Workers Scripts: Edit" on the sinks' accounts. */
  CLOUDFLARE_API_TOKEN: optionalString,
});

export type Config = z.infer<typeof configSchema>;

/** Only the variables rekey knows are read; anything else in the environment is ignored. */
export function parseConfig(env: Record<string, unknown>): Config {
  const known: Record<string, unknown> = {};
  for (const name of Object.keys(configSchema.shape)) {
    if (typeof env[name] === "string") known[name] = env[name];
  }
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    // Name the variables only: a value may be a secret.
    const names = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))].join(", ");
    throw new Error(`Cannot start rekey: invalid configuration in ${names}`);
  }
  return parsed.data;
}

type SecretName = {
  [K in keyof Config]: Config[K] extends string | undefined ? K : never;
}[keyof Config];

export function requireConfig<K extends SecretName>(config: Config, name: K): string {
  const value = config[name];
  if (typeof value !== "string" || value === "") {
    throw refused("not_configured", `Cannot serve this route: "${name}" is not configured`);
  }
  return value;
}
