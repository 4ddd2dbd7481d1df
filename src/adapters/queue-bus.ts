/**
 * EventBus over a Cloudflare Queue producer binding (`EVENTS` → `rekey-events`).
 *
 * Bodies are the validated envelope sent as `contentType: "json"` rather than the default V8
 * serialisation: JSON is what the Deno transport and any future consumer read too, and the DLQ
 * consumer and humans inspecting the queue see the same CloudEvents JSON.
 */
import type { EventBus } from "../core/bus/bus.ts";
import { assertPublishable, type BusEvent } from "../core/bus/events.ts";
import { sendBatches } from "../core/bus/send-batches.ts";

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
    for (const chunk of sendBatches(bodies)) {
      await this.queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
    }
  }
}
