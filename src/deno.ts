/**
 * Deno entry point: the same Hono app and core as src/worker.ts, over Deno KV (store, ledger,
 * audit trail, event queue) and Deno.cron. With src/adapters/deno-*.ts, the only code that knows
 * it runs on Deno.
 *
 *   deno task start                 # 127.0.0.1:8787 (PORT, HOST override), config from env + .dev.vars
 *   deno run … src/deno.ts --test-scheduled   # also GET /__scheduled fires the sweep, as under
 *                                             # wrangler dev, but only with REKEY_DEV_MODE=true
 *
 * A refused configuration (src/config-check.ts) is printed at start, and the server still serves:
 * every route answers 503 with the problem, and the queue consumer holds every message, as a
 * deployed Worker does.
 *
 * REKEY_DENO_KV_PATH picks the database (a file path, or ":memory:"); unset, Deno's default one
 * (on Deno Deploy, the project's managed KV).
 */
import { DenoKvAuditLog } from "./adapters/deno-kv-audit-log.ts";
import { DenoKvBus, purgeDeadChunks } from "./adapters/deno-kv-bus.ts";
import { deferEvents, listenForEvents } from "./adapters/deno-kv-consumer.ts";
import { DenoKvJobStore } from "./adapters/deno-kv-job-store.ts";
import { DenoKvStats } from "./adapters/deno-kv-stats.ts";
import { DenoKvLedger } from "./adapters/deno-kv-ledger.ts";
import { DenoKvStore } from "./adapters/deno-kv-store.ts";
import { readDenoEnv } from "./adapters/deno-env.ts";
import { createApp } from "./app.ts";
import { checkConfig } from "./config-check.ts";
import { DEFAULT_BACKOFF } from "./core/bus/backoff.ts";
import { onDeadLetter, subscribeAll } from "./core/subscribers/index.ts";
import { startSweep } from "./core/sweep/run.ts";
import { registerSweepCron } from "./adapters/deno-cron.ts";
import { refused } from "./http/on-error.ts";
import { buildServices, type Services } from "./services.ts";
import { openApiDocument } from "./openapi/document.ts";

const { vars, dotenv } = await readDenoEnv();
if (!dotenv) console.warn("No .dev.vars here: configuration comes from the environment only");
const check = checkConfig(vars);
if (!check.ok) {
  // Names only, never values. The server still starts, so the problem is also what /healthz says.
  console.error(
    `rekey: ${check.problem.message} (${check.problem.code}). Every route answers 503 and queued events wait until it is fixed and rekey restarted.`,
  );
}
const kv = await Deno.openKv(vars.REKEY_DENO_KV_PATH || undefined);
const bus = new DenoKvBus(kv);
const ledger = new DenoKvLedger(kv);
const backoff = {
  ...DEFAULT_BACKOFF,
  baseSeconds: check.ok ? check.config.REKEY_BUS_RETRY_BASE_SECONDS : DEFAULT_BACKOFF.baseSeconds,
};
const services: Services | undefined = check.ok
  ? buildServices({
    config: check.config,
    store: new DenoKvStore(kv),
    bus,
    audit: new DenoKvAuditLog(kv),
    ledger,
    jobs: new DenoKvJobStore(kv),
    stats: new DenoKvStats(kv),
    // No waitUntil on Deno: the process outlives the response, so the fast path simply runs on.
    defer: (work) => void work.catch(() => undefined),
  })
  : undefined;

// Top level, before the server starts, as Deno.cron requires (src/adapters/deno-cron.ts).
const githubScopes = services?.config.GITHUB_ALERT_SCOPES.length ?? 0;
registerSweepCron(Deno.cron, bus, {
  enabled: services !== undefined,
  githubScopes,
  purge: (now) => purgeDeadChunks(kv, now),
});

if (services) {
  void listenForEvents(kv, ledger, {
    subscribe: (dispatcher) => subscribeAll(dispatcher, services),
    onDeadLetter: (event, info) => onDeadLetter(services, event, info),
  }, { backoff });
} else if (!check.ok) {
  void deferEvents(kv, check.problem, { backoff });
}

// Development only, like wrangler dev --test-scheduled: a way to fire the cron without waiting.
// Never in a deployment: outside dev mode the flag is ignored (the route would let anyone who can
// reach the server make it sweep).
const testScheduled = Deno.args.includes("--test-scheduled") && check.devMode;
if (Deno.args.includes("--test-scheduled") && !check.devMode) {
  console.warn("--test-scheduled ignored: GET /__scheduled is served only with REKEY_DEV_MODE=true");
}

let openApiJson: string | undefined;
const app = createApp(
  () => {
    if (!services) throw refused("config_invalid", "Cannot serve: the configuration is invalid");
    return services;
  },
  // GET /openapi.json generated here rather than read from the Worker's asset: Deno has no
  // script size to keep small, and needs no build step.
  {
    config: () => check,
    openApi: () => (openApiJson ??= JSON.stringify(openApiDocument())),
    ...(testScheduled ? { scheduled: () => startSweep(bus, Date.now(), { githubScopes }) } : {}),
  },
);
const hostname = vars.HOST || "127.0.0.1";
const port = Number(vars.PORT || 8787);

Deno.serve({
  hostname,
  port,
  onListen: (addr) =>
    console.log(
      `rekey on Deno listening on http://${addr.hostname}:${addr.port}${
        testScheduled ? ` (GET /__scheduled fires the sweep)` : ""
      }`,
    ),
}, (request) => app.fetch(request));
