/**
 * Every test runs inside workerd (@cloudflare/vitest-plugin) with the bindings of wrangler.toml:
 * real KV, Durable Objects, Queues and cron. The Clarifai emulator runs in Node, started by the
 * global setup, and the Worker reaches it over loopback exactly as it would reach Clarifai.
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { writeOpenApiAsset } from "./scripts/build-openapi.ts";
import { buildSync } from "esbuild";

// GET /openapi.json is the Worker's static asset ([assets] in wrangler.toml), which wrangler's
// [build] makes before a build and the plugin does not: made here, from this tree's schemas.
writeOpenApiAsset();

// Test-only secrets: public, never used outside tests.
/**
 * Consumer Workers beside rekey in the same workerd (issue 18): each binds to rekey's
 * RekeyCredentials entrypoint, with its own props, as a team's Worker would in its wrangler.toml.
 * Auxiliary Workers run JavaScript, so the consumer (test/fixtures/consumer-worker.ts, using the
 * helper in clients/worker/) is bundled here first. The Worker under test runs under the plugin's
 * runner name ("vitest-plugin-runner-" + the project name, empty here), which is what a binding
 * from another Worker must name.
 */
const CONSUMER_SCRIPT = "build/test/consumer-worker.js";
buildSync({ entryPoints: ["test/fixtures/consumer-worker.ts"], bundle: true, format: "esm", outfile: CONSUMER_SCRIPT });
const consumer = (name: string, props?: Record<string, string>, flags: string[] = []) => ({
  name,
  modules: true,
  scriptPath: CONSUMER_SCRIPT,
  compatibilityDate: "2026-04-20",
  compatibilityFlags: flags,
  serviceBindings: {
    REKEY: { name: "vitest-plugin-runner-", entrypoint: "RekeyCredentials", ...(props ? { props } : {}) },
  },
});

const TEST_BINDINGS = {
  // Explicit: the plugin also reads a local .dev.vars (which npm start creates in dev mode); the
  // test Worker is a deployed one, so a developer's .dev.vars must not turn dev mode on for it.
  REKEY_DEV_MODE: "false",
  // 38 characters: outside dev mode the Worker refuses an admin token under 32 (src/config-check.ts).
  REKEY_ADMIN_TOKEN: "test-admin-token-0123456789-abcdefghij",
  // Two versions, as after a master-key rotation: 2 seals, 1 still opens (see maintenance tests).
  REKEY_ENCRYPTION_KEYS:
    '{"1":"dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=","2":"dGVzdC1rZXktdmVyc2lvbi10d28tMzItYnl0ZXMhISE="}',
  REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
  CLARIFAI_TIMEOUT_MS: "3000",
  ALERT_WEBHOOK_SECRET: "whsec_dGVzdC1hbGVydC13ZWJob29rLXNlY3JldC0zMmJ5dGVzIQ==",
  GITHUB_SECRET_SCANNING_KEYS: readFileSync(new URL("./test/setup/github-test-keys.json", import.meta.url), "utf8"),
  REKEY_BUS_RETRY_BASE_SECONDS: "1",
  SLACK_SIGNING_SECRET: "test-slack-signing-secret-0123456789",
  SLACK_ALLOWED_USERS: "UALICE01,UBOB0002",
  DISCORD_ALLOWED_USERS: "100000000000000001,100000000000000002",
  CHATOPS_TWO_PERSON: "true",
  GITHUB_WEBHOOK_SECRET: "test-github-webhook-secret-0123456789",
  GITHUB_APP_ID: "1717",
  // The Cloudflare API emulator's grants are per test file (test/support/cloudflare-control.ts).
  CLOUDFLARE_API_TOKEN: "test-cloudflare-api-token-0123456789",
};

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      // src/worker.ts with test seams that the deployed bundle never has (see there).
      main: "./test/support/worker-under-test.ts",
      miniflare: {
        bindings: {
          ...TEST_BINDINGS,
          CLARIFAI_API_BASE: inject("emulatorUrl"),
          // The Node emulator host serves the Cloudflare API emulator beside Clarifai's (emulator/node/serve.ts).
          CLOUDFLARE_API_BASE: `${inject("emulatorUrl")}/cloudflare/client/v4`,
          SLACK_WEBHOOK_URL: `${inject("receiverUrl")}/slack/incoming`,
          // Chat replies go to the local receiver, which stands in for Slack and Discord.
          SLACK_RESPONSE_ORIGINS: inject("receiverUrl"),
          DISCORD_API_BASE: `${inject("receiverUrl")}/discord/api`,
          // Generated per run by the global setup; the test signs with its private half.
          DISCORD_PUBLIC_KEY: inject("discordPublicKey"),
          // The GitHub emulator of the global setup, and the App key it trusts.
          GITHUB_API_BASE: inject("githubUrl"),
          GITHUB_APP_PRIVATE_KEY: inject("githubAppPrivateKey"),
          OUTBOUND_WEBHOOKS: JSON.stringify([{
            id: "siem",
            url: `${inject("receiverUrl")}/outbound/siem`,
            secret: "whsec_dGVzdC1vdXRib3VuZC13ZWJob29rLXNlY3JldCE=",
          }]),
        },
        workers: [
          consumer("consumer-billing", { consumer: "billing-api" }),
          // A runtime that keeps error names and codes over RPC (when both ends have the flag).
          consumer("consumer-intruder", { consumer: "intruder" }, ["enhanced_error_serialization"]),
          consumer("consumer-no-props"),
        ],
        serviceBindings: {
          CONSUMER_BILLING: "consumer-billing",
          CONSUMER_INTRUDER: "consumer-intruder",
          CONSUMER_NO_PROPS: "consumer-no-props",
        },
        // 50 ms queue batches instead of wrangler.toml's 1 s. An entry here replaces that queue's
        // whole consumer config from wrangler.toml, so the other settings are repeated.
        queueConsumers: {
          "rekey-events": {
            maxBatchSize: 1,
            maxBatchTimeout: 0.05,
            maxRetries: 5,
            retryDelay: 5,
            deadLetterQueue: "rekey-events-dlq",
          },
          "rekey-events-dlq": { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: 10 },
          // Test only: rekey-events with 2 retries instead of 5, so that retry exhaustion into the real
          // dead-letter queue takes 1 + 2 s of backoff rather than 31 s (test/workers/dead-letter-alerts.test.ts).
          // The same Worker consumes it, as a main queue (only the DLQ is told apart by name).
          "rekey-events-short-retries": {
            maxBatchSize: 1,
            maxBatchTimeout: 0.05,
            maxRetries: 2,
            retryDelay: 5,
            deadLetterQueue: "rekey-events-dlq",
          },
          // Test-only queues with the production pair's shape, for tests that run the real consumer
          // with services of their own (test/support/worker-under-test.ts `testQueues`). No batch
          // wait: a matrix case waits for its queue to drain after every step.
          "rekey-test-events": {
            maxBatchSize: 10,
            maxBatchTimeout: 0,
            maxRetries: 5,
            deadLetterQueue: "rekey-test-events-dlq",
          },
          "rekey-test-events-dlq": { maxBatchSize: 10, maxBatchTimeout: 0, maxRetries: 10 },
        },
        queueProducers: {
          EVENTS_SHORT_RETRIES: { queueName: "rekey-events-short-retries" },
          TEST_EVENTS: { queueName: "rekey-test-events" },
          TEST_EVENTS_DLQ: { queueName: "rekey-test-events-dlq" },
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/setup/global-setup.ts"],
    include: [
      "test/workers/**/*.test.ts",
      "test/reliability/**/*.test.ts",
      "src/**/*.test.ts",
      "emulator/src/**/*.test.ts",
    ],
    // test/reliability/soak.ts: REKEY_SOAK=1 (npm run test:soak) scales the reliability suite up.
    // The committed development configuration, for the tests of its refusal outside dev mode.
    provide: {
      soak: process.env.REKEY_SOAK === "1",
      devVarsExample: readFileSync(new URL("./.dev.vars.example", import.meta.url), "utf8"),
    },
    testTimeout: 30_000,
    // Two test files at a time, not vitest's default of one on a 2-core machine (cores - 1): the
    // files mostly wait on queues, timers and loopback, so two overlap well. Measured on the 2-core
    // CI-sized machine, quiet: 388 s with one, 284 s with two (104 files, 979 tests), which keeps
    // `.ci/run` under its 10 minutes. Each file still runs alone in its own workerd isolate.
    maxWorkers: 2,
    // Real Queues keep delivering after a test file's last test: a consumer invocation that logs
    // then (a retry landing late) calls into the runner's RPC after the file's environment was torn
    // down, and vitest reports "Closing rpc while ... was pending". That is the harness, not rekey;
    // every other unhandled error still fails the run.
    onUnhandledError: (error) =>
      !(error.name === "EnvironmentTeardownError" || /Closing rpc while/.test(error.message ?? "")),
  },
});
