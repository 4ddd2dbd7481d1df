/**
 * Cloudflare Workers entry point: builds the core's services from bindings and hands requests,
 * queue batches and cron ticks to the runtime-neutral core. With src/adapters/, the only code that
 * knows it runs on Workers.
 */
import { DurableEventLedger } from "./adapters/event-ledger.ts";
import { QueueBus } from "./adapters/queue-bus.ts";
import { deferQueueBatch, handleQueueBatch } from "./adapters/queue-consumer.ts";
import { DEFAULT_BACKOFF } from "./core/bus/backoff.ts";
import { WorkersStore } from "./adapters/workers-store.ts";
import { WorkersAuditLog } from "./adapters/workers-audit-log.ts";
import { WorkersJobStore } from "./adapters/workers-job-store.ts";
import { WorkersStats } from "./adapters/workers-stats.ts";
import { createApp } from "./app.ts";
import { checkConfig, type ConfigCheck } from "./config-check.ts";
import { refused } from "./http/on-error.ts";
import { isFailure } from "./core/failure.ts";
import { configSchema } from "./config.ts";
import { onDeadLetter, subscribeAll } from "./core/subscribers/index.ts";
import { buildServices, type Services } from "./services.ts";
import { startSweep } from "./core/sweep/run.ts";
import { WorkerEntrypoint } from "cloudflare:workers";
import { WorkersConsumerReads } from "./adapters/workers-consumer-reads.ts";
import { type CurrentCredential, readCurrent } from "./core/credentials/read-current.ts";

export { CredentialCell } from "./adapters/credential-cell.ts";
export { EventLedger } from "./adapters/event-ledger.ts";
export { Stats } from "./adapters/workers-stats.ts";

/**
 * Bindings as `wrangler types` generates them from wrangler.toml (src/worker-env.d.ts, checked
 * for drift by `npm test`). Optional secrets not in .dev.vars.example are read by parseConfig.
 */
export type Env = WorkerBindings;

// The configuration is checked and services are built once per isolate and env (keys imported
// once); only `defer` is per invocation.
const checked = new WeakMap<Env, ConfigCheck>();
const built = new WeakMap<Env, Services>();

export function configFor(env: Env): ConfigCheck {
  let check = checked.get(env);
  if (!check) {
    check = checkConfig(env as unknown as Record<string, unknown>);
    if (!check.ok) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "config.refused",
          code: check.problem.code,
          variables: check.problem.variables,
        }),
      );
    }
    checked.set(env, check);
  }
  return check;
}

/** @throws a refusal (503) with the configuration problem (the app's config gate answers it before any route asks). */
export function servicesFor(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): Services {
  const check = configFor(env);
  if (!check.ok) {
    throw refused(check.problem.code, check.problem.message, { variables: check.problem.variables });
  }
  let services = built.get(env);
  if (!services) {
    services = buildServices({
      config: check.config,
      store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS),
      bus: new QueueBus(env.EVENTS),
      audit: new WorkersAuditLog(env.REKEY_KV),
      ledger: new DurableEventLedger(env.EVENT_LEDGER),
      jobs: new WorkersJobStore(env.CREDENTIAL_CELLS),
      reads: new WorkersConsumerReads(env.CREDENTIAL_CELLS),
      stats: new WorkersStats(env.STATS),
      defer: () => {},
    });
    built.set(env, services);
  }
  return { ...services, defer: (work) => ctx.waitUntil(work.catch(() => undefined)) };
}

/** The bus's retry base even when the rest of the configuration is refused (the default if it is itself invalid). */
function retryBaseSeconds(env: Env): number {
  const base = configSchema.shape.REKEY_BUS_RETRY_BASE_SECONDS.safeParse(
    (env as unknown as Record<string, unknown>).REKEY_BUS_RETRY_BASE_SECONDS,
  );
  return base.success ? base.data : DEFAULT_BACKOFF.baseSeconds;
}

/** GET /openapi.json: the static asset built before every wrangler build (scripts/build-openapi.ts). */
async function openApiAsset(env: Env): Promise<ReadableStream> {
  const res = await env.ASSETS.fetch("https://assets.invalid/openapi.json");
  if (!res.ok || !res.body) {
    throw new Error(
      `The openapi.json asset is missing (${res.status}): build with wrangler, which runs scripts/build-openapi.ts`,
    );
  }
  return res.body;
}

/**
 * A refusal of RekeyCredentials.current: never the value, always a code. The code leads the
 * message too (`consumer_not_allowed: …`): a caller whose compatibility date predates
 * `enhanced_error_serialization` receives only the message of an RPC error (prefixed with its
 * name), not its `code` (clients/worker/rekey-client.ts reads either).
 */
class RekeyRefusal extends Error {
  override name = "RekeyRefusal";
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
  }
}

/**
 * The pull path for consumer Workers (core/credentials/read-current.ts): bound with
 * `[[services]] binding = "REKEY", service = "rekey", entrypoint = "RekeyCredentials"` and
 * `props = { consumer = "<name>" }`, a Worker reads a credential's current value with
 * `env.REKEY.current("cred_…")`. The consumer is the binding's props, which only the account's
 * own configuration sets (who may therefore read what is weighed in read-current.ts).
 */
export class RekeyCredentials extends WorkerEntrypoint<Env, { consumer?: unknown }> {
  async current(credentialId: string): Promise<CurrentCredential> {
    let result;
    try {
      const services = servicesFor(this.env, this.ctx);
      result = await readCurrent(
        { engine: services.engine, reads: services.reads!, bus: services.bus, now: services.now },
        credentialId,
        (this.ctx.props as { consumer?: unknown } | undefined)?.consumer,
      );
    } catch (error) {
      // A refused configuration, unset keys: their codes, as the HTTP routes would answer them.
      if (isFailure(error, "refused")) throw new RekeyRefusal(error.code, error.message);
      // Anything else (a Durable Object, a Queue, a bug) crosses to the consumer without its
      // message, which could name internals, and is logged by its class only, as the HTTP routes
      // do (http/on-error.ts). No code: the consumer's helper reads it as transient and retries once.
      console.error(JSON.stringify({
        level: "error",
        msg: "unhandled error",
        error: error instanceof Error ? error.name : typeof error,
        entrypoint: "RekeyCredentials.current",
      }));
      throw new Error("rekey could not read the credential (internal error)");
    }
    if (!result.ok) throw new RekeyRefusal(result.error.code, result.error.message);
    return result.value;
  }
}

const app = createApp((c) => servicesFor(c.env as Env, c.executionCtx), {
  config: (c) => configFor(c.env as Env),
  openApi: (c) => openApiAsset(c.env as Env),
});

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  /** The cron sweep: only publishes the first page; bus consumers do the work (core/sweep/run.ts). */
  scheduled: async (controller, env, ctx) => {
    // On a refused configuration this throws (the tick shows as failed): nothing would handle the
    // sweep's events anyway, and the first tick after the fix sweeps everything that is due.
    const services = servicesFor(env, ctx);
    await startSweep(services.bus, controller.scheduledTime, {
      githubScopes: services.config.GITHUB_ALERT_SCOPES.length,
    });
  },
  queue: (batch, env, ctx) => {
    const check = configFor(env);
    if (!check.ok) {
      return deferQueueBatch(batch, env, check.problem, {
        backoff: { ...DEFAULT_BACKOFF, baseSeconds: retryBaseSeconds(env) },
      });
    }
    const services = servicesFor(env, ctx);
    const base = services.config.REKEY_BUS_RETRY_BASE_SECONDS;
    return handleQueueBatch(
      batch,
      env,
      {
        subscribe: (dispatcher) => subscribeAll(dispatcher, services),
        onDeadLetter: (event, info) => onDeadLetter(services, event, info),
      },
      { backoff: { ...DEFAULT_BACKOFF, baseSeconds: base }, ledger: services.ledger },
    );
  },
} satisfies ExportedHandler<Env>;
