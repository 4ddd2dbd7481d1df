/**
 * What every runtime's queue consumer shares (adapters/queue-consumer.ts on Workers,
 * adapters/deno-kv-consumer.ts on Deno): decoding a message body into a validated event, and one
 * structured log line per message, ids and codes only (an event carries no value, and neither do
 * these lines).
 *
 * Runtime-neutral.
 */
import type { DispatchOutcome } from "./bus.ts";
import { type BusEvent, parseEvent } from "./events.ts";

export interface LogRecord {
  level: "info" | "warn" | "error";
  msg: string;
  /** The queue the message was on (on Deno, the Workers queue it would have been on, so log queries work on both). */
  queue: string;
  message_id: string;
  attempts: number;
  [field: string]: unknown;
}

/** A JSON body may arrive parsed (Queues) or as text (Deno KV, or sent by hand). */
export function decodeEvent(body: unknown): { ok: true; value: BusEvent } | { ok: false; paths: string[] } {
  let input = body;
  if (typeof body === "string") {
    try {
      input = JSON.parse(body);
    } catch {
      return { ok: false, paths: ["(not json)"] };
    }
  }
  const parsed = parseEvent(input);
  return parsed.ok ? parsed : { ok: false, paths: parsed.error.slice(0, 10).map((i) => `${i.path || "(root)"}:${i.code}`) };
}

export const describeEvent = (e: BusEvent) => ({ type: e.type, event_id: e.id, source: e.source });

export const outcomeSummary = (o: DispatchOutcome) =>
  o.results.map((r) => `${r.handler}:${r.status}${r.failure ? `:${r.failure.code}` : ""}`).join(",");

export function logToConsole(record: LogRecord): void {
  const line = JSON.stringify(record);
  if (record.level === "error") console.error(line);
  else if (record.level === "warn") console.warn(line);
  else console.log(line);
}
