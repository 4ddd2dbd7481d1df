/**
 * EventBus over the Deno KV queue (`kv.enqueue`), the Deno counterpart of ./queue-bus.ts; the
 * consumer is ./deno-kv-consumer.ts.
 *
 * A message carries the validated envelope as JSON text, as Queues bodies do, so the consumer
 * decodes and validates exactly what the Worker's consumer would. Retries are new messages with
 * the next attempt number and a delay (Deno KV's own redelivery counts nothing we can read), and
 * every message names a dead-letter key in `keysIfUndelivered`: should the consumer itself keep
 * failing (a bug, KV unreachable), Deno KV stores the message there instead of dropping it.
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
export const deadLetterKey = (
  e: Pick<BusEvent, "source" | "id">,
): Deno.KvKey => [...DEAD_LETTER_PREFIX, `${e.source}#${e.id}`];

/** Deno KV's redelivery when the consumer throws (not when a handler fails: see the consumer). */
const DELIVERY_BACKOFF_MS = [1_000, 5_000, 10_000, 30_000, 60_000];

export function enqueueOptions(event: Pick<BusEvent, "source" | "id">, delayMs = 0) {
  return { delay: delayMs, keysIfUndelivered: [deadLetterKey(event)], backoffSchedule: DELIVERY_BACKOFF_MS };
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
