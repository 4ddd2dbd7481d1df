/**
 * On Deno, as on Workers (test/workers/config-refused.test.ts, dev-mode.test.ts): a refused
 * configuration is printed at start and answered with 503 on every route; queued events wait,
 * never run, never die, and are handled once the configuration is fixed; GET /__scheduled is
 * served only in dev mode, and dev mode answers only loopback hosts. The real entry point
 * (src/deno.ts, its own process, the start task's flags) and a real (in-memory) Deno KV queue.
 */
import assert from "node:assert/strict";
import { DenoKvBus } from "../../src/adapters/deno-kv-bus.ts";
import { createDeferringHandler, createMessageHandler, type LogRecord } from "../../src/adapters/deno-kv-consumer.ts";
import { DenoKvLedger } from "../../src/adapters/deno-kv-ledger.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";
import { startDenoServer } from "./deno-server.ts";
import { waitFor } from "./wait-for.ts";

// Test-only secrets (the same as test/deno/e2e.test.ts): public, never used outside tests.
const ENV = {
  REKEY_ADMIN_TOKEN: "test-admin-token-0123456789-abcdefghij",
  REKEY_ENCRYPTION_KEYS: JSON.stringify({ 1: "dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=" }),
  REKEY_FINGERPRINT_KEY: "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=",
  CLARIFAI_API_BASE: "http://127.0.0.1:9",
  REKEY_DENO_KV_PATH: ":memory:",
};
const WEBHOOK_SECRET = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr";

Deno.test("rekey on Deno with a malformed OUTBOUND_WEBHOOKS prints the problem, still serves, and answers 503 config_invalid everywhere", async () => {
  const server = await startDenoServer({
    ...ENV,
    OUTBOUND_WEBHOOKS: `[{"id":"siem","url":"nope","secret":"${WEBHOOK_SECRET}"}]`,
  });
  try {
    for (const path of ["/healthz", "/v1/credentials", "/__scheduled"]) {
      const res = await fetch(`${server.url}${path}`);
      const text = await res.text();
      assert.equal(res.status, 503, path);
      assert.deepEqual(JSON.parse(text).error.variables, ["OUTBOUND_WEBHOOKS"]);
      assert.equal(JSON.parse(text).error.code, "config_invalid");
      assert.ok(!text.includes("c2VjcmV0"), "no value in the answer");
    }
    await waitFor("the startup message", () => server.output().includes('"OUTBOUND_WEBHOOKS" (config_invalid)'));
    assert.ok(!server.output().includes("c2VjcmV0"), "no value in the output");
  } finally {
    await server.stop();
  }
});

Deno.test("the Deno queue consumer holds every event while the configuration is refused, and runs it once it is fixed", async () => {
  const kv = await Deno.openKv(":memory:");
  const logs: LogRecord[] = [];
  const runs: number[] = [];
  let fixed = false;
  const opts = { backoff: { baseSeconds: 1, maxSeconds: 60 }, maxRetries: 2, log: (r: LogRecord) => logs.push(r) };
  const problem = { code: "config_invalid" as const, message: "m", variables: ["OUTBOUND_WEBHOOKS"] };
  const deferring = createDeferringHandler(kv, problem, opts);
  const handling = createMessageHandler(kv, new DenoKvLedger(kv), {
    subscribe: (d) => d.subscribe("alert.received", "auditor", (_e, ctx) => void runs.push(ctx.attempt)),
    onDeadLetter: async () => {},
  }, opts);
  // One listener, as a restart with a fixed configuration would swap them.
  const listening = kv.listenQueue((msg) => (fixed ? handling(msg) : deferring(msg)));
  try {
    const event = newEvent("alert.received", sampleData["alert.received"], {
      source: "/rekey/hooks/github",
      now: Date.now(),
    });
    await new DenoKvBus(kv).publish(event);
    // Past maxRetries (2) its attempts start afresh instead of the event dying.
    await waitFor("three deferrals", () => logs.filter((l) => l.msg === "bus.config_deferred").length >= 3, 15_000);
    const deferred = logs.filter((l) => l.msg === "bus.config_deferred");
    assert.deepEqual(deferred.slice(0, 3).map((l) => [l.attempts, l.delay_seconds]), [[1, 1], [2, 2], [1, 1]]);
    assert.deepEqual(deferred[0]!.variables, ["OUTBOUND_WEBHOOKS"]);
    assert.equal(runs.length, 0, "no handler ran");
    assert.ok(!logs.some((l) => l.msg.startsWith("bus.dead")), "nothing died");
    fixed = true;
    await waitFor(
      "the event to be handled",
      () => logs.some((l) => l.msg === "bus.ack" && l.event_id === event.id),
      15_000,
    );
    assert.equal(runs.length, 1);
  } finally {
    kv.close();
    await listening;
  }
});

Deno.test("deno task start serves GET /__scheduled only in dev mode, and dev mode answers only loopback hosts", async () => {
  const deployed = await startDenoServer(ENV);
  try {
    const res = await fetch(`${deployed.url}/__scheduled`, {
      headers: { authorization: `Bearer ${ENV.REKEY_ADMIN_TOKEN}` },
    });
    await res.body?.cancel();
    assert.equal(res.status, 404, "no /__scheduled outside dev mode, even with --test-scheduled");
    assert.ok(deployed.output().includes("--test-scheduled ignored"));
  } finally {
    await deployed.stop();
  }
  const dev = await startDenoServer({ ...ENV, REKEY_DEV_MODE: "true" });
  try {
    const res = await fetch(`${dev.url}/__scheduled`);
    assert.equal(await res.text(), "Ran scheduled event");
    // fetch() sets Host itself; a DNS-rebound browser sends the attacker's name, so write it raw.
    const rebound = await rawGet(dev.url, "/healthz", "evil.example:8787");
    assert.match(rebound, /^HTTP\/1\.1 421 /);
    assert.match(rebound, /"code":"misdirected_request"/);
    assert.match(await rawGet(dev.url, "/healthz", "localhost:1234"), /^HTTP\/1\.1 200 /);
  } finally {
    await dev.stop();
  }
});

/** One HTTP/1.1 GET with the given Host header, over a plain TCP connection; the whole answer as text. */
async function rawGet(base: string, path: string, host: string): Promise<string> {
  const { hostname, port } = new URL(base);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of conn.readable) text += decoder.decode(chunk, { stream: true });
  return text;
}
