/**
 * Dead and undelivered GitHub chunks on Deno KV (`github.tokens_deferred`: third-party leaked
 * tokens, sealed) always expire: adapters/deno-kv-bus.ts keeps them under one key per chunk whose
 * expiry (the alert's time plus 4 days) is part of the key, the consumer writes its dead copy there
 * with that expiry, and `purgeDeadChunks` (run by every cron tick, adapters/deno-cron.ts) deletes
 * those Deno KV itself wrote through `keysIfUndelivered`, which takes no expiry (logged and handed to the
 * dead-letter consumer first, for the notice of a chunk never handled to the end).
 */
import assert from "node:assert/strict";
import {
  DEAD_CHUNK_TTL_MS,
  deadLetterKey,
  DenoKvBus,
  enqueueOptions,
  purgeDeadChunks,
  type QueueMessage,
} from "../../src/adapters/deno-kv-bus.ts";
import { listenForEvents, type LogRecord } from "../../src/adapters/deno-kv-consumer.ts";
import { registerSweepCron } from "../../src/adapters/deno-cron.ts";
import { DenoKvLedger } from "../../src/adapters/deno-kv-ledger.ts";
import { handlerFailure } from "../../src/core/bus/errors.ts";
import type { BusEvent } from "../../src/core/bus/events.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";
import { waitFor } from "./wait-for.ts";

const chunk = (time: number, id?: string) =>
  newEvent("github.tokens_deferred", sampleData["github.tokens_deferred"], {
    source: "/rekey/hooks/github",
    now: time,
    ...(id ? { id } : {}),
  });

const chunkKeys = async (kv: Deno.Kv) => {
  const out: Deno.KvKey[] = [];
  for await (const e of kv.list({ prefix: ["bus-dead-chunk"] })) out.push(e.key);
  return out;
};

Deno.test("a dead GitHub chunk is kept once per chunk whatever the round, under a key that says when it goes", async () => {
  const kv = await Deno.openKv(":memory:");
  const logs: LogRecord[] = [];
  const dead: BusEvent[] = [];
  const listening = listenForEvents(kv, new DenoKvLedger(kv), {
    subscribe: (d) =>
      d.subscribe("github.tokens_deferred", "rotator", () => {
        throw handlerFailure("chunk_tampered", "Cannot open chunk", { retryable: false });
      }),
    onDeadLetter: async (event) => void dead.push(event),
  }, { backoff: { baseSeconds: 1, maxSeconds: 60 }, log: (r) => logs.push(r) });
  try {
    const time = Date.now();
    const first = chunk(time);
    // A requeued copy of the same chunk: a new event id, the same alert, tokens and time.
    const again = { ...first, id: "evt_requeuedcopy0000000001" };
    const bus = new DenoKvBus(kv);
    await bus.publish(first);
    await waitFor("the first copy's dead letter", () => dead.length === 1);
    await bus.publish(again);
    await waitFor("the second copy's dead letter", () => dead.length === 2);

    const expected = ["bus-dead-chunk", time + DEAD_CHUNK_TTL_MS, first.data.alert_id, first.data.first];
    assert.deepEqual(deadLetterKey(first), expected);
    assert.deepEqual(deadLetterKey(again), expected, "every copy of a chunk has the chunk's key");
    assert.deepEqual(enqueueOptions(first).keysIfUndelivered, [expected], "and Deno KV's own dead letter too");
    assert.deepEqual(await chunkKeys(kv), [expected], "one sealed copy kept, not one per round");
    const kept = (await kv.get<QueueMessage>(expected)).value!;
    assert.equal(JSON.parse(kept.body).id, again.id, "the latest round's copy");
    // Nothing of a chunk under the events' dead-letter prefix, which is kept until an operator deletes it.
    for await (const e of kv.list({ prefix: ["bus-dead"] })) assert.fail(`kept under ${JSON.stringify(e.key)}`);
  } finally {
    kv.close();
    await listening;
  }
});

Deno.test("the cron tick purges the sealed chunks Deno KV kept with no expiry once their time has passed", async () => {
  const kv = await Deno.openKv(":memory:");
  let listening: Promise<void> | undefined;
  try {
    const now = Date.now();
    const old = chunk(now - DEAD_CHUNK_TTL_MS - 60_000);
    const young = chunk(now - 3_600_000);
    const other = newEvent("credential.compromised", sampleData["credential.compromised"], {
      source: "/rekey/hooks/github",
      now: now - 2 * DEAD_CHUNK_TTL_MS,
    });
    // As Deno KV writes `keysIfUndelivered`: the message, under the key the enqueue named, no expiry.
    for (const e of [old, young, other]) {
      await kv.set(enqueueOptions(e).keysIfUndelivered[0]!, { body: JSON.stringify(e), attempt: 1 });
    }
    // The consumer's own dead copy of another expired chunk (`dead: true`): it had its notice already.
    const noticed = chunk(now - DEAD_CHUNK_TTL_MS - 120_000);
    await kv.set(deadLetterKey(noticed), { body: JSON.stringify(noticed), attempt: 6, dead: true });
    const lines: Record<string, unknown>[] = [];
    let registered: (() => Promise<void>) | undefined;
    registerSweepCron((_name, _schedule, _opts, handler) => (registered = handler), new DenoKvBus(kv), {
      enabled: false,
      now: () => now,
      purge: (at) => purgeDeadChunks(kv, at, 500, (line) => lines.push(line)),
    });
    await registered!();
    assert.deepEqual(await chunkKeys(kv), [deadLetterKey(young)], "the expired chunks went, the young one stays");
    assert.ok((await kv.get(deadLetterKey(other))).value, "another event's dead letter is the operator's to delete");
    // The copy Deno KV wrote itself (a chunk the consumer never handled) is not lost without a trace:
    // one ids-only line, and it is handed to the dead-letter consumer (for its notice) ...
    assert.deepEqual(lines, [{
      level: "error",
      msg: "bus.undelivered_chunk_purged",
      event_id: old.id,
      alert_id: old.data.alert_id,
      first: old.data.first,
      token_count: old.data.token_count,
    }]);
    assert.ok(!JSON.stringify(lines).includes(JSON.stringify(old.data.sealed)), "never the sealed tokens");
    const dead: { event: BusEvent; reason: string }[] = [];
    listening = listenForEvents(kv, new DenoKvLedger(kv), {
      subscribe: () => undefined,
      onDeadLetter: async (event, info) => void dead.push({ event, reason: info.reason }),
    }, { backoff: { baseSeconds: 1, maxSeconds: 60 }, log: () => undefined });
    await waitFor("the purged undelivered chunk's dead letter", () => dead.length === 1);
    // ... as a chunk whose retries ran out, which that old means a notice (no requeue).
    assert.deepEqual(dead.map((d) => [d.event.id, d.reason]), [[old.id, "retries_exhausted"]]);
    // ... once: the consumer's own dead copy (`dead: true`) had its notice when it died.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(dead.length, 1);
  } finally {
    kv.close();
    await listening;
  }
});
