/**
 * The bus on the Deno KV queue, end to end through a real (in-memory) Deno KV: publish with
 * DenoKvBus, consume with listenForEvents, idempotency through DenoKvLedger. The same outcomes as
 * test/workers/bus-queue-*.test.ts on Cloudflare Queues: delivery, delayed retry, dead letters.
 */
import assert from "node:assert/strict";
import { deadLetterKey, DenoKvBus, type QueueMessage } from "../../src/adapters/deno-kv-bus.ts";
import { type DenoConsumerOptions, listenForEvents, type LogRecord } from "../../src/adapters/deno-kv-consumer.ts";
import { DenoKvLedger } from "../../src/adapters/deno-kv-ledger.ts";
import type { DeadLetterInfo, Dispatcher } from "../../src/core/bus/bus.ts";
import { handlerFailure } from "../../src/core/bus/errors.ts";
import type { BusEvent } from "../../src/core/bus/events.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";
import { waitFor } from "./wait-for.ts";

const FAST = { backoff: { baseSeconds: 1, maxSeconds: 60 } };
const compromised = () =>
  newEvent("credential.compromised", sampleData["credential.compromised"], {
    source: "/rekey/hooks/github",
    now: Date.now(),
  });

async function withBus(
  subscribe: (d: Dispatcher) => void,
  opts: DenoConsumerOptions & { onDeadLetter?: (e: BusEvent, i: DeadLetterInfo) => Promise<void> },
  body: (
    t: { kv: Deno.Kv; bus: DenoKvBus; logs: LogRecord[]; dead: Array<{ event: BusEvent; info: DeadLetterInfo }> },
  ) => Promise<void>,
) {
  const kv = await Deno.openKv(":memory:");
  const logs: LogRecord[] = [];
  const dead: Array<{ event: BusEvent; info: DeadLetterInfo }> = [];
  const listening = listenForEvents(kv, new DenoKvLedger(kv), {
    subscribe,
    onDeadLetter: async (event, info) => {
      await opts.onDeadLetter?.(event, info);
      dead.push({ event, info });
    },
  }, { ...opts, log: (r) => logs.push(r) });
  try {
    await body({ kv, bus: new DenoKvBus(kv), logs, dead });
  } finally {
    kv.close();
    await listening;
  }
}

Deno.test("Deno KV bus delivers an event to every handler, once even when published twice", async () => {
  const runs: string[] = [];
  await withBus(
    (d) => {
      d.subscribe("credential.compromised", "rotator", (e) => void runs.push(`rotator:${e.id}`));
      d.subscribe("credential.compromised", "auditor", (e) => void runs.push(`auditor:${e.id}`));
    },
    FAST,
    async ({ bus, logs }) => {
      const e = compromised();
      await bus.publish(e);
      await bus.publishAll([e]);
      await waitFor("two acks", () => logs.filter((l) => l.msg === "bus.ack").length === 2);
      assert.deepEqual(runs.sort(), [`auditor:${e.id}`, `rotator:${e.id}`]);
      const second = logs.filter((l) => l.msg === "bus.ack")[1]!;
      assert.equal(second.handlers, "rotator:skipped,auditor:skipped");
      assert.equal(second.queue, "rekey-events");
    },
  );
});

Deno.test("Deno KV bus refuses to publish an invalid event", async () => {
  await withBus(() => {}, FAST, async ({ bus }) => {
    const secret = "sk_live_0123456789abcdefSECRET";
    const bad = { ...compromised(), data: { credential_id: secret, value: secret } } as unknown as BusEvent;
    await assert.rejects(bus.publish(bad), (error: Error) => {
      assert.match(error.message, /Cannot publish event: invalid "data\./);
      assert.ok(!error.message.includes(secret), "the error names paths, never the value");
      return true;
    });
  });
});

Deno.test("Deno KV bus retries a failing handler after the backoff delay, then acks", async () => {
  const attempts: Array<{ attempt: number; at: number }> = [];
  await withBus(
    (d) => {
      d.subscribe("credential.compromised", "rotator", (_e, ctx) => {
        attempts.push({ attempt: ctx.attempt, at: Date.now() });
        if (ctx.attempt === 1) throw new Error("Clarifai answered 503");
      });
    },
    FAST,
    async ({ bus, logs }) => {
      await bus.publish(compromised());
      await waitFor("the retry to succeed", () => logs.some((l) => l.msg === "bus.ack"));
      assert.deepEqual(attempts.map((a) => a.attempt), [1, 2]);
      const retry = logs.find((l) => l.msg === "bus.retry")!;
      assert.equal(retry.delay_seconds, 1);
      assert.equal(retry.handlers, "rotator:failed:error");
      assert.ok(
        attempts[1]!.at - attempts[0]!.at >= 900,
        `redelivered after ${attempts[1]!.at - attempts[0]!.at} ms, not after the 1 s delay`,
      );
    },
  );
});

Deno.test("Deno KV bus dead-letters a permanent failure at once: dead-letter key and onDeadLetter", async () => {
  let runs = 0;
  await withBus(
    (d) => {
      d.subscribe("credential.compromised", "notifier", () => {
        runs++;
        throw handlerFailure("unknown_target", "No such notification target", { retryable: false });
      });
    },
    FAST,
    async ({ kv, bus, logs, dead }) => {
      const e = compromised();
      await bus.publish(e);
      await waitFor("onDeadLetter", () => dead.length === 1);
      assert.equal(runs, 1, "a permanent failure is not retried");
      assert.equal(dead[0]!.event.id, e.id);
      assert.deepEqual(dead[0]!.info, { reason: "permanent", failure: "notifier:unknown_target" });
      const kept = (await kv.get<QueueMessage>(deadLetterKey(e))).value!;
      assert.equal(kept.dead, true);
      assert.equal(JSON.parse(kept.body).id, e.id);
      assert.ok(logs.some((l) => l.msg === "bus.dead_letter" && l.reason === "permanent"));
      await waitFor(
        "the dead message to be settled",
        () => logs.some((l) => l.msg === "bus.dead_handled" && l.queue === "rekey-events-dlq"),
      );
    },
  );
});

Deno.test("Deno KV bus dead-letters an event whose retries ran out, and retries a failing onDeadLetter", async () => {
  let attempts = 0;
  let deadCalls = 0;
  await withBus((d) => {
    d.subscribe("credential.compromised", "rotator", () => {
      attempts++;
      throw new Error("still down");
    });
  }, {
    ...FAST,
    maxRetries: 1,
    onDeadLetter: async () => {
      if (++deadCalls === 1) throw new Error("Slack is down too");
    },
  }, async ({ bus, logs, dead }) => {
    await bus.publish(compromised());
    await waitFor("onDeadLetter to succeed", () => dead.length === 1, 15_000);
    assert.equal(attempts, 2, "one delivery and one retry");
    assert.deepEqual(dead[0]!.info, { reason: "retries_exhausted" });
    assert.equal(deadCalls, 2);
    assert.ok(logs.some((l) => l.msg === "bus.dead_retry"));
  });
});

Deno.test("Deno KV bus drops a poison message and logs no body", async () => {
  await withBus(() => {}, FAST, async ({ kv, logs }) => {
    await kv.enqueue({
      body: JSON.stringify({ type: "credential.compromised", data: { value: "leaked-secret-value" } }),
      attempt: 1,
    });
    await kv.enqueue("not a message");
    await waitFor("two poison logs", () => logs.filter((l) => l.msg === "bus.poison").length === 2);
    assert.ok(!JSON.stringify(logs).includes("leaked-secret-value"));
  });
});

Deno.test("Deno KV bus logs a consumer failure by class name only, and rethrows it for Deno KV to redeliver", async () => {
  class KvDown extends Error {
    override name = "KvDown";
  }
  let failEnqueue = false;
  await withBus(
    (d) => {
      d.subscribe("credential.compromised", "rotator", () => {
        failEnqueue = true; // the retry's enqueue is what fails
        throw new Error("Clarifai answered 503");
      });
    },
    FAST,
    async ({ kv, bus, logs }) => {
      const enqueue = kv.enqueue.bind(kv);
      kv.enqueue = (...args: Parameters<Deno.Kv["enqueue"]>) =>
        failEnqueue ? Promise.reject(new KvDown("kv at sk_live_secret unreachable")) : enqueue(...args);
      const e = compromised();
      await bus.publish(e);
      const line = await waitFor("bus.consumer_error", () => logs.find((l) => l.msg === "bus.consumer_error"));
      assert.deepEqual(line, {
        level: "error",
        msg: "bus.consumer_error",
        queue: "rekey-events",
        message_id: e.id,
        attempts: 1,
        error: "KvDown",
      });
    },
  );
});
