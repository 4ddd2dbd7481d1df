/**
 * EventBus over the Deno KV queue (`kv.enqueue`), the Deno counterpart of ./queue-bus.ts; the
 * consumer is ./deno-kv-consumer.ts.
 *
 * A message carries the validated envelope as JSON text, as Queues bodies do, so the consumer
 * decodes and validates exactly what the Worker's consumer would. Retries are new messages with
 * the next attempt number and a delay (Deno KV's own redelivery counts nothing we can read), and
 * every message names a dead-letter key in `keysIfUndelivered`: should the consumer itself keep
 * failing (a bug, KV unreachable), Deno KV stores the message there instead of dropping it (a
 * GitHub chunk's, sealed leaked tokens, under a key that says when it goes: `purgeDeadChunks`).
 */
import * as z from "zod/mini";
import type { EventBus } from "../core/bus/bus.ts";
import { assertPublishable, type BusEvent } from "../core/bus/events.ts";

export const queueMessageSchema = z.strictObject({
  /** The CloudEvents envelope as JSON text. */
  body: z.string().check(z.maxLength(256_000)),
  /** Delivery attempt, from 1. */
  attempt: z.number().check(z.int(), z.gte(1)),
  /** The event died: deliver it to onDeadLetter (the Worker's rekey-events-dlq). */
  dead: z.optional(z.literal(true)),
});
export type QueueMessage = z.infer<typeof queueMessageSchema>;

/** Where dead events are kept, by `<source>#<id>`, until an operator deletes them. */
const DEAD_LETTER_PREFIX = ["bus-dead"] as const;

/**
 * Where a dead or undelivered GitHub chunk (`github.tokens_deferred`: third-party leaked tokens,
 * sealed) is kept instead, and until when: its alert's time plus {@link DEAD_CHUNK_TTL_MS}, first
 * in the key so that the expired ones are one range (`purgeDeadChunks`). By alert and first token,
 * not by event id, so that each requeue round's copy of a chunk (a new event id each,
 * core/alerts/deferred-tokens.ts `requeueDeadChunk`) overwrites one key instead of adding one.
 */
const DEAD_CHUNK_PREFIX = ["bus-dead-chunk"] as const;

/** Cloudflare Queues' default message retention (4 days): how long after its alert a dead GitHub chunk is kept. */
export const DEAD_CHUNK_TTL_MS = 4 * 24 * 3600 * 1000;

type Keyed = Pick<BusEvent, "source" | "id" | "type" | "time" | "data">;

/** When a chunk's kept copy goes: its alert's time (the chunk's `time`, kept by every copy) plus the TTL. */
export const deadChunkExpiry = (e: Pick<BusEvent, "time">): number => Date.parse(e.time) + DEAD_CHUNK_TTL_MS;

export function deadLetterKey(e: Keyed): Deno.KvKey {
  if (e.type !== "github.tokens_deferred") return [...DEAD_LETTER_PREFIX, `${e.source}#${e.id}`];
  const { alert_id, first } = e.data as { alert_id: string; first: number };
  return [...DEAD_CHUNK_PREFIX, deadChunkExpiry(e), alert_id, first];
}

/** Deno KV's redelivery when the consumer throws (not when a handler fails: see the consumer). */
const DELIVERY_BACKOFF_MS = [1_000, 5_000, 10_000, 30_000, 60_000];

/**
 * `keysIfUndelivered` names the dead-letter key for every event, a chunk included. Deno KV writes
 * it with no expiry (the option takes none), so a chunk's key carries its expiry itself and
 * `purgeDeadChunks` deletes it then. Not naming a key for chunks was the other way to make every
 * sealed copy expire, and the worse one: a consumer failing through Deno KV's five redeliveries
 * (about 2 minutes of KV trouble, a bug) would then drop the chunk silently, its tokens never
 * matched and nobody told, well inside the hour a chunk is still worth requeueing.
 */
export function enqueueOptions(event: Keyed, delayMs = 0) {
  return { delay: delayMs, keysIfUndelivered: [deadLetterKey(event)], backoffSchedule: DELIVERY_BACKOFF_MS };
}

/**
 * Deletes the dead and undelivered chunks whose time has passed (at most `limit` per call): the
 * Deno cron runs it every tick (adapters/deno-cron.ts), so a sealed copy that Deno KV itself wrote
 * (`keysIfUndelivered`, no expiry) outlives its expiry by one tick at most. Returns how many went.
 *
 * A copy Deno KV wrote itself (not `dead`) is a chunk the consumer never handled to the end: no
 * dead letter, no notice, its tokens never matched. Rather than losing it without a trace, it is
 * logged (ids and counts only) and, in the same commit as its delete, enqueued as a dead message,
 * so that the dead-letter consumer raises the `event.dead_lettered` notice a dead chunk that old
 * gets (core/alerts/deferred-tokens.ts: too old to requeue). The trade-off: that sealed copy lives
 * on in the queue until delivered (or, undelivered, under the same key until the next tick).
 */
export async function purgeDeadChunks(
  kv: Deno.Kv,
  now: number,
  limit = 500,
  log: (line: Record<string, unknown>) => void = (line) => console.error(JSON.stringify(line)),
): Promise<number> {
  let n = 0;
  const expired = kv.list({ start: [...DEAD_CHUNK_PREFIX], end: [...DEAD_CHUNK_PREFIX, now] }, { limit });
  for await (const entry of expired) {
    const message = queueMessageSchema.safeParse(entry.value);
    const event = message.success && !message.data.dead ? undeliveredChunk(message.data.body) : null;
    if (event) {
      const { alert_id, first, token_count } = event.data as { alert_id: string; first: number; token_count: number };
      log({ level: "error", msg: "bus.undelivered_chunk_purged", event_id: event.id, alert_id, first, token_count });
      const dead: QueueMessage = { body: message.data!.body, attempt: 1, dead: true };
      // Undelivered again, it is kept under the same key, for the next tick.
      const options = { keysIfUndelivered: [entry.key], backoffSchedule: DELIVERY_BACKOFF_MS };
      await kv.atomic().check(entry).delete(entry.key).enqueue(dead, options).commit();
    } else {
      await kv.delete(entry.key);
    }
    n++;
  }
  return n;
}

/** The chunk a message Deno KV kept holds, or null if it is not one (the consumer decodes it fully). */
function undeliveredChunk(body: string): Keyed | null {
  try {
    const e = JSON.parse(body) as Keyed;
    const ok = e?.type === "github.tokens_deferred" && typeof e.id === "string" && typeof e.data === "object";
    return ok && e.data !== null ? e : null;
  } catch {
    return null;
  }
}

export class DenoKvBus implements EventBus {
  constructor(private readonly kv: Deno.Kv) {}

  async publish(event: BusEvent): Promise<void> {
    await this.publishAll([event]);
  }

  /** All events are validated before the first is sent; a repeat after a partial failure is deduplicated by id. */
  async publishAll(events: readonly BusEvent[]): Promise<void> {
    const checked = events.map(assertPublishable);
    for (const event of checked) {
      const message: QueueMessage = { body: JSON.stringify(event), attempt: 1 };
      await this.kv.enqueue(message, enqueueOptions(event));
    }
  }
}
