/**
 * EventBus over a Cloudflare Queue producer binding (`EVENTS` → `rekey-events`).
 *
 * Bodies are the validated envelope sent as `contentType: "json"` rather than the default V8
 * serialisation: JSON is what the Deno transport and any future consumer read too, and the DLQ
 * consumer and humans inspecting the queue see the same CloudEvents JSON.
 */
import type { EventBus } from "../core/bus/bus.ts";
import { assertPublishable, type BusEvent } from "../core/bus/events.ts";

/** Queues limits: `sendBatch` takes ≤ 100 messages and ≤ 256 KB. */
const MAX_BATCH_MESSAGES = 100;
// Headroom under 256 KB for per-message overhead the limit also counts.
const MAX_BATCH_BYTES = 240_000;

export class QueueBus implements EventBus {
  constructor(private readonly queue: Queue) {}

  async publish(event: BusEvent): Promise<void> {
    await this.queue.send(assertPublishable(event), { contentType: "json" });
  }

  /**
   * Sends in chunks. All events are validated before the first is sent. If a later chunk fails
   * the earlier ones are already queued; publishing again is safe because their ids are the same
   * and handlers deduplicate on them.
   */
  async publishAll(events: readonly BusEvent[]): Promise<void> {
    const bodies = events.map(assertPublishable);
    for (const chunk of chunks(bodies)) {
      await this.queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
    }
  }
}

function* chunks(bodies: BusEvent[]): Generator<BusEvent[]> {
  let chunk: BusEvent[] = [];
  let bytes = 0;
  for (const body of bodies) {
    // Envelopes are ASCII by schema, so string length is byte length.
    const size = JSON.stringify(body).length;
    if (chunk.length === MAX_BATCH_MESSAGES || (chunk.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(body);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
