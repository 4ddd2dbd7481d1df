/**
 * A broken configuration fails closed and visibly, and loses nothing (issue 14, item 1), on the
 * real Worker (src/worker.ts) with the real bindings: the test env with one variable changed, in
 * a fresh env object, since the Worker checks its configuration once per env.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";
import { ADMIN_TOKEN, call } from "../support/api.ts";
import { countingEnv } from "../support/counting-env.ts";
import { deliverAttempt } from "../support/counted-worker.ts";

// What worker.fetch takes; a test builds a plain Request.
type IncomingRequest = Request<unknown, IncomingRequestCfProperties>;

// A signing secret inside it: what must never be echoed.
const BROKEN_WEBHOOKS = '[{"id":"siem","url":"not a url","secret":"whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr"}]';
const broken = (vars: Record<string, string> = { OUTBOUND_WEBHOOKS: BROKEN_WEBHOOKS }) => ({ ...env, ...vars }) as Env;

async function fetchWorker(e: Env, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://rekey.test${path}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      ...init,
    }) as IncomingRequest,
    e,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, text: await res.text() };
}

const alert = () =>
  newEvent("alert.received", sampleData["alert.received"], { source: "/rekey/hooks/github", now: Date.now() });

describe("a configuration that does not parse", () => {
  it("answers 503 config_invalid on /healthz and every other route, naming the variable only", async () => {
    const e = broken();
    for (
      const [path, init] of [["/healthz"], ["/v1/credentials"], ["/v1/plan"], ["/ui"], ["/openapi.json"], [
        "/hooks/alerts",
        { method: "POST", body: "{}" },
      ], ["/nope"]] as [string, RequestInit?][]
    ) {
      const res = await fetchWorker(e, path, init);
      expect(res.status, path).toBe(503);
      const body = JSON.parse(res.text);
      expect(body.error.code, path).toBe("config_invalid");
      expect(body.error.variables, path).toEqual(["OUTBOUND_WEBHOOKS"]);
      expect(res.text, path).not.toContain("c2VjcmV0");
      expect(res.text, path).not.toContain("not a url");
    }
  });

  it("names every variable that is wrong, and only those", async () => {
    const res = await fetchWorker(
      broken({
        REKEY_ENCRYPTION_KEYS: '{"1":"short"}',
        DISCORD_PUBLIC_KEY: "abc",
        GITHUB_SECRET_SCANNING_KEYS: "{",
        CLARIFAI_TIMEOUT_MS: "x",
      }),
      "/healthz",
    );
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text).error.variables).toEqual([
      "CLARIFAI_TIMEOUT_MS",
      "REKEY_ENCRYPTION_KEYS",
      "GITHUB_SECRET_SCANNING_KEYS",
      "DISCORD_PUBLIC_KEY",
    ]);
  });

  it("refuses an http:// API base on another machine outside dev mode: it would carry tokens and values in clear", async () => {
    const res = await fetchWorker(
      broken({
        REKEY_DEV_MODE: "false",
        CLARIFAI_API_BASE: "http://clarifai.example",
        CLOUDFLARE_API_BASE: "http://api.cloudflare.example/client/v4",
        GITHUB_API_BASE: "http://github.example/api/v3",
        DISCORD_API_BASE: "https://discord.com/api/v10",
      }),
      "/healthz",
    );
    expect(res.status).toBe(503);
    const { variables } = JSON.parse(res.text).error;
    expect(variables).toContain("CLARIFAI_API_BASE");
    expect(variables).toContain("CLOUDFLARE_API_BASE");
    expect(variables).toContain("GITHUB_API_BASE");
    expect(variables).not.toContain("DISCORD_API_BASE");
    // https, and http to this machine (the local emulators), are fine outside dev mode too.
    const loopback = await fetchWorker(
      broken({ REKEY_DEV_MODE: "false", CLOUDFLARE_API_BASE: "http://127.0.0.1:9/client/v4" }),
      "/healthz",
    );
    expect(loopback.status).toBe(200);
  });

  it("makes the queue consumer retry every message with backoff, running nothing, then carry it forward instead of letting it die", async () => {
    const counting = countingEnv(broken(), { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
    const event = alert();
    const deliver = (queue: string, attempts: number) => deliverAttempt(counting, queue, attempts, event);
    // Below the queue's max_retries (5, wrangler.toml): retried, never acked, nothing forwarded.
    for (const attempts of [1, 2, 4]) {
      const r = await deliver("rekey-events", attempts);
      expect(r.retryMessages, `attempt ${attempts}`).toEqual([{ msgId: `m-rekey-events-${attempts}` }]);
      expect(r.explicitAcks).toEqual([]);
    }
    expect(counting.take("rekey-events-dlq"), "nothing is dead-lettered").toEqual([]);
    expect(counting.take("rekey-events")).toEqual([]);
    // The delivery Queues would dead-letter on failing: sent again to its own queue, then acked.
    const last = await deliver("rekey-events", 5);
    expect(last.explicitAcks).toEqual(["m-rekey-events-5"]);
    const carried = counting.take("rekey-events");
    expect(carried).toEqual([event]);
    expect(counting.take("rekey-events-dlq")).toEqual([]);
    // The dead-letter queue's messages wait too (its max_retries is 10).
    const dead = await deliver("rekey-events-dlq", 3);
    expect(dead.retryMessages).toEqual([{ msgId: "m-rekey-events-dlq-3" }]);
    expect(dead.explicitAcks).toEqual([]);

    // No handler ran: the auditor did not record it.
    expect((await call("GET", "/v1/audit?type=alert.received&limit=1000")).text).not.toContain(event.id);
    // Once the configuration is fixed (the test env), the carried message is handled.
    const batch = createMessageBatch("rekey-events", [{
      id: "m-fixed",
      timestamp: new Date(),
      attempts: 1,
      body: carried[0],
    }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env as Env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m-fixed"]);
    expect((await call("GET", "/v1/audit?type=alert.received&limit=1000")).text).toContain(event.id);
  });

  it("makes the cron tick fail visibly rather than publish work nothing would handle", async () => {
    const counting = countingEnv(broken(), { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
    const ctx = createExecutionContext();
    counting.begin("scheduled");
    await expect(
      worker.scheduled(
        { scheduledTime: Date.now(), cron: "*/15 * * * *", noRetry() {} } as ScheduledController,
        counting.env,
        ctx,
      ),
    ).rejects.toMatchObject({ code: "config_invalid" });
    counting.end();
    expect(counting.take("rekey-events")).toEqual([]);
  });
});
