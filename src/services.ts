/**
 * Builds the runtime-neutral services from configuration and the runtime's storage. Entry points
 * (src/worker.ts, src/deno.ts) call this with their adapters; nothing here knows the runtime.
 *
 * Keys are imported once per isolate and cached: importing is cheap (~10 µs in workerd) but a
 * malformed key should fail the same way on every request, naming the variable, never its value.
 */
import { type ClarifaiClient, createClarifaiClient } from "./core/clarifai/index.ts";
import { type FingerprintKey, importFingerprintKey } from "./core/crypto/fingerprint.ts";
import { type Keyring, parseKeyring } from "./core/crypto/keyring.ts";
import { derivePurposeKey } from "./core/crypto/purpose-key.ts";
import type { ConfirmationKey } from "./core/chatops/confirmation.ts";
import {
  DEFAULT_RETRY,
  type EngineEvent,
  type EngineServices,
  type RetryPolicy,
} from "./core/rotation/engine-services.ts";
import type { Store } from "./core/store/store.ts";
import type { EventBus } from "./core/bus/bus.ts";
import type { AuditLog } from "./core/audit/audit-log.ts";
import type { ProcessedLedger } from "./core/bus/ledger.ts";
import type { JobStore } from "./core/maintenance/job.ts";
import type { ConsumerReads } from "./core/credentials/reads.ts";
import type { StatsStore } from "./core/summary/stats.ts";
import { engineEmitter } from "./core/bus/engine-events.ts";
import { type Config, requireConfig } from "./config.ts";
import { createCloudflareClient } from "./core/cloudflare/client.ts";
import { createGithubClient, type GithubClient } from "./core/github/client.ts";
import { refused } from "./http/on-error.ts";

export interface Services {
  config: Config;
  store: Store;
  /** Durable transport for events (Queues on Workers, Deno KV queue on Deno, memory in tests). */
  bus: EventBus;
  audit: AuditLog;
  /** Atomic "seen this id" claims: bus idempotency, webhook replay refusal. */
  ledger: ProcessedLedger;
  /** The re-encryption job's record (one compare-and-swap cell). */
  jobs: JobStore;
  /** The dashboard's per-day history, kept by the `stats` bus handler (core/summary/stats.ts). */
  stats: StatsStore;
  clarifai: ClarifaiClient;
  /** GitHub, when GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY or GITHUB_TOKEN are configured. */
  github?: GithubClient;
  now: () => number;
  /** Runs work after the response (waitUntil on Workers); errors are the work's own business. */
  defer: (work: Promise<unknown>) => void;
  /** The rotation engine's dependencies; 503 when the encryption keys are not configured. */
  engine: () => Promise<EngineServices>;
  /** Consumer Workers' reads over the service binding (Workers only: Deno has no pull path). */
  reads?: ConsumerReads;
}

export interface ServiceOptions {
  config: Config;
  store: Store;
  bus: EventBus;
  audit: AuditLog;
  ledger: ProcessedLedger;
  jobs: JobStore;
  stats: StatsStore;
  defer: (work: Promise<unknown>) => void;
  now?: () => number;
  fetch?: typeof fetch;
  retry?: RetryPolicy;
  emit?: (event: EngineEvent) => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  reads?: ConsumerReads;
}

/** Like Clarifai's default: a Cloudflare API call that has not answered by then will not. */
const CLOUDFLARE_TIMEOUT_MS = 10_000;

export function buildServices(opts: ServiceOptions): Services {
  const now = opts.now ?? (() => Date.now());
  const clarifai = createClarifaiClient({
    baseUrl: opts.config.CLARIFAI_API_BASE,
    timeoutMs: opts.config.CLARIFAI_TIMEOUT_MS,
    requestIdPrefix: "rekey",
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const github = githubClientFor(opts.config, opts.fetch, now);
  // Worker secret sinks (core/sinks/cloudflare-worker-secret.ts): only with a token to call Cloudflare with.
  const cloudflareToken = opts.config.CLOUDFLARE_API_TOKEN;
  const cloudflare = cloudflareToken
    ? createCloudflareClient({
      baseUrl: opts.config.CLOUDFLARE_API_BASE,
      token: cloudflareToken,
      timeoutMs: CLOUDFLARE_TIMEOUT_MS,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    })
    : undefined;
  let engine: Promise<EngineServices> | undefined;
  return {
    config: opts.config,
    store: opts.store,
    bus: opts.bus,
    audit: opts.audit,
    ledger: opts.ledger,
    jobs: opts.jobs,
    stats: opts.stats,
    clarifai,
    ...(github ? { github } : {}),
    now,
    defer: opts.defer,
    ...(opts.reads ? { reads: opts.reads } : {}),
    engine: () =>
      (engine ??= loadKeys(opts.config).then(({ keyring, fingerprintKey, confirmationKey }) => ({
        store: opts.store,
        clarifai,
        keyring,
        fingerprintKey,
        confirmationKey,
        now,
        sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        retry: opts.retry ?? DEFAULT_RETRY,
        leaseMs: opts.config.REKEY_ROTATION_LEASE_SECONDS * 1000,
        // Every engine transition becomes a bus event (audit, notifications, chat replies).
        emit: opts.emit ?? engineEmitter(opts.bus, now),
        ...(github ? { github } : {}),
        ...(cloudflare ? { cloudflare } : {}),
      }))).catch((error) => {
        engine = undefined;
        throw error;
      }),
  };
}

/** An App when both of its variables are set (config-check refuses one alone), else GITHUB_TOKEN, else none. */
function githubClientFor(
  config: Config,
  fetcher: typeof fetch | undefined,
  now: () => number,
): GithubClient | undefined {
  const credentials = config.GITHUB_APP_ID && config.GITHUB_APP_PRIVATE_KEY
    ? { kind: "app" as const, appId: config.GITHUB_APP_ID, privateKey: config.GITHUB_APP_PRIVATE_KEY }
    : config.GITHUB_TOKEN
    ? { kind: "token" as const, token: config.GITHUB_TOKEN }
    : undefined;
  if (!credentials) return undefined;
  return createGithubClient({
    baseUrl: config.GITHUB_API_BASE,
    credentials,
    now,
    ...(fetcher ? { fetch: fetcher } : {}),
  });
}

async function loadKeys(
  config: Config,
): Promise<{ keyring: Keyring; fingerprintKey: FingerprintKey; confirmationKey: ConfirmationKey }> {
  const keyring = parseKeyring(requireConfig(config, "REKEY_ENCRYPTION_KEYS"));
  if (!keyring.ok) {
    throw refused("not_configured", `Cannot use "REKEY_ENCRYPTION_KEYS": ${keyring.error.code}`);
  }
  const fingerprintKey = await importFingerprintKey(requireConfig(config, "REKEY_FINGERPRINT_KEY"));
  if (!fingerprintKey.ok) {
    throw refused("not_configured", `Cannot use "REKEY_FINGERPRINT_KEY": ${fingerprintKey.error.code}`);
  }
  // One key per purpose (core/crypto/purpose-key.ts): confirmations never share the fingerprint key.
  const confirmationKey = await derivePurposeKey(requireConfig(config, "REKEY_FINGERPRINT_KEY"), "chat_confirmation");
  if (!confirmationKey.ok) {
    throw refused("not_configured", `Cannot use "REKEY_FINGERPRINT_KEY": ${confirmationKey.error.code}`);
  }
  return { keyring: keyring.value, fingerprintKey: fingerprintKey.value, confirmationKey: confirmationKey.value };
}
