import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, reset } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { type BusHandlers, handleQueueBatch, type LogRecord } from "../../src/adapters/queue-consumer.ts";
import type { DeadLetterInfo } from "../../src/core/bus/bus.ts";
import { handlerFailure } from "../../src/core/bus/errors.ts";
import type { BusEvent } from "../../src/core/bus/events.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";

afterEach(() => reset());

const LEAKED = "3f5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b";
const compromised = (credential_id = sampleData["credential.compromised"].credential_id) =>
  newEvent("credential.compromised", { ...sampleData["credential.compromised"], credential_id }, {
    source: "/rekey/hooks/github",
    now: Date.now(),
  });

let seq = 0;
const msg = (body: unknown, attempts = 1) => ({ id: `msg-${++seq}`, timestamp: new Date(), attempts, body });

async function consume(queue: string, messages: ReturnType<typeof msg>[], handlers: Partial<BusHandlers>) {
  const logs: LogRecord[] = [];
  const batch = createMessageBatch(queue, messages);
  const ctx = createExecutionContext();
  await handleQueueBatch(batch, env, { subscribe: () => {}, onDeadLetter: async () => {}, ...handlers }, {
    log: (r) => logs.push(r),
  });
  const result = await getQueueResult(batch, ctx);
  // Never the whole batch: each message is settled on its own.
  expect(result.retryBatch.retry).toBe(false);
  expect(result.ackAll).toBe(false);
  return { result, logs };
}

describe("queue consumer: rekey-events", () => {
  it("acks each message explicitly once its handlers ran", async () => {
    const seen: string[] = [];
    const events = [compromised("cred_a1"), compromised("cred_b2"), compromised("cred_c3")];
    const messages = events.map((e) => msg(e));
    const { result, logs } = await consume("rekey-events", messages, {
      subscribe: (d) => d.subscribe("credential.compromised", "rotator", (e) => void seen.push(e.data.credential_id)),
    });
    expect(result.explicitAcks.sort()).toEqual(messages.map((m) => m.id).sort());
    expect(result.retryMessages).toEqual([]);
    expect(seen.sort()).toEqual(["cred_a1", "cred_b2", "cred_c3"]);
    expect(logs.map((l) => l.msg)).toEqual(["bus.ack", "bus.ack", "bus.ack"]);
    expect(logs[0]).toMatchObject({
      queue: "rekey-events",
      attempts: 1,
      type: "credential.compromised",
      handlers: "rotator:ran",
    });
  });

  it("retries only the failing message, with backoff from its attempts", async () => {
    const ok = msg(compromised("cred_a1"));
    const flaky = msg(compromised("cred_b2"), 3);
    const { result, logs } = await consume("rekey-events", [ok, flaky], {
      subscribe: (d) =>
        d.subscribe("credential.compromised", "rotator", (e) => {
          if (e.data.credential_id === "cred_b2") throw new Error("Clarifai answered 503");
        }),
    });
    expect(result.explicitAcks).toEqual([ok.id]);
    // The test harness's retry() drops the options, so the delay is read from the log record.
    expect(result.retryMessages).toEqual([{ msgId: flaky.id }]);
    expect(logs.find((l) => l.message_id === flaky.id)).toMatchObject({
      level: "warn",
      msg: "bus.retry",
      handlers: "rotator:failed:error",
      delay_seconds: 40,
    });
  });

  it("skips handlers that already ran when a message is redelivered", async () => {
    const e = compromised();
    let runs = 0;
    const subscribe: BusHandlers["subscribe"] = (d) =>
      d.subscribe("credential.compromised", "rotator", () => void runs++);
    await consume("rekey-events", [msg(e)], { subscribe });
    const again = msg(e, 2);
    const { result, logs } = await consume("rekey-events", [again], { subscribe });
    expect(runs).toBe(1);
    expect(result.explicitAcks).toEqual([again.id]);
    expect(logs[0]).toMatchObject({ handlers: "rotator:skipped" });
  });

  it("acks poison messages and logs them without their body", async () => {
    const e = compromised();
    const poison = [
      msg({ ...e, data: { ...e.data, token: LEAKED } }),
      msg(`{"not": "an event", "value": "${LEAKED}"}`),
      msg(`not json ${LEAKED}`),
      msg(null),
    ];
    let runs = 0;
    const { result, logs } = await consume("rekey-events", poison, {
      subscribe: (d) => d.subscribe("credential.compromised", "rotator", () => void runs++),
    });
    expect(result.explicitAcks.sort()).toEqual(poison.map((m) => m.id).sort());
    expect(runs).toBe(0);
    expect(logs.every((l) => l.msg === "bus.poison")).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(LEAKED);
  });

  it("forwards a permanent failure to the dead-letter queue and acks it", async () => {
    const m = msg(compromised());
    const { result, logs } = await consume("rekey-events", [m], {
      subscribe: (d) =>
        d.subscribe("credential.compromised", "notifier", () => {
          throw handlerFailure("unknown_target", 'Cannot notify "slack-x": no such target', { retryable: false });
        }),
    });
    expect(result.explicitAcks).toEqual([m.id]);
    expect(result.retryMessages).toEqual([]);
    expect(logs[0]).toMatchObject({
      level: "error",
      msg: "bus.dead_letter",
      handlers: "notifier:failed:unknown_target",
    });
  });

  it("retries a duplicate that arrives while the first copy is running", async () => {
    const e = compromised();
    const [a, b] = [msg(e), msg(structuredClone(e))];
    let runs = 0;
    const { result } = await consume("rekey-events", [a, b], {
      subscribe: (d) =>
        d.subscribe("credential.compromised", "rotator", async () => {
          runs++;
          await new Promise((r) => setTimeout(r, 50));
        }),
    });
    expect(runs).toBe(1);
    expect(result.explicitAcks.length + result.retryMessages.length).toBe(2);
    expect(result.explicitAcks.length).toBeGreaterThanOrEqual(1);
  });
});

describe("queue consumer: rekey-events-dlq", () => {
  it("hands each dead event to onDeadLetter once, saying why it died", async () => {
    const dead: Array<[BusEvent, DeadLetterInfo]> = [];
    const permanent = { ...compromised("cred_a1"), rekeyfailure: "notifier:unknown_target" };
    const exhausted = compromised("cred_b2");
    const messages = [msg(permanent), msg(exhausted), msg(structuredClone(exhausted))];
    const { result } = await consume("rekey-events-dlq", messages, {
      onDeadLetter: async (e, info) => void dead.push([e, info]),
    });
    expect(result.explicitAcks.length + result.retryMessages.length).toBe(3);
    await consume("rekey-events-dlq", [msg(exhausted, 2)], {
      onDeadLetter: async (e, info) => void dead.push([e, info]),
    });
    expect(dead.map(([e, info]) => ["credential_id" in e.data ? e.data.credential_id : "", info])).toEqual(
      expect.arrayContaining([
        ["cred_a1", { reason: "permanent", failure: "notifier:unknown_target" }],
        ["cred_b2", { reason: "retries_exhausted" }],
      ]),
    );
    expect(dead).toHaveLength(2);
  });

  it("retries a dead event whose onDeadLetter failed, and acks poison", async () => {
    const m = msg(compromised(), 2);
    const poison = msg({ nope: LEAKED });
    const { result, logs } = await consume("rekey-events-dlq", [m, poison], {
      onDeadLetter: async () => {
        throw new Error("Slack is down");
      },
    });
    expect(result.retryMessages).toEqual([{ msgId: m.id }]);
    expect(logs.find((l) => l.message_id === m.id)).toMatchObject({ msg: "bus.dead_retry", delay_seconds: 20 });
    expect(result.explicitAcks).toEqual([poison.id]);
    expect(JSON.stringify(logs)).not.toContain(LEAKED);
  });
});
