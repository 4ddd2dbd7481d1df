/**
 * How events are grouped into Cloudflare Queues `sendBatch` calls (≤ 100 messages, ≤ 256 KB each):
 * the Workers transport sends one batch per group (adapters/queue-bus.ts), and a request that must
 * stay under the 50-subrequest budget counts its sends from the same grouping
 * (core/alerts/pipeline.ts `reportTokens`). Runtime-neutral: Deno KV enqueues one at a time, and
 * the grouping only orders those.
 */
import type { BusEvent } from "./events.ts";

/** Queues limits: `sendBatch` takes ≤ 100 messages and ≤ 256 KB. */
const MAX_BATCH_MESSAGES = 100;
// Headroom under 256 KB for per-message overhead the limit also counts.
const MAX_BATCH_BYTES = 240_000;

// An event's JSON length, measured once: a GitHub alert's chunks (up to 2 MiB of them) are grouped
// to count the request's sends, then to publish them, and the transport groups them again.
const sizes = new WeakMap<BusEvent, number>();
function sizeOf(event: BusEvent): number {
  let size = sizes.get(event);
  // Envelopes are ASCII by schema, so string length is byte length.
  if (size === undefined) sizes.set(event, size = JSON.stringify(event).length);
  return size;
}

/** The events in order, in consecutive groups that each fit one `sendBatch`. */
export function* sendBatches<E extends BusEvent>(events: readonly E[]): Generator<E[]> {
  let batch: E[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = sizeOf(event);
    if (batch.length === MAX_BATCH_MESSAGES || (batch.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
