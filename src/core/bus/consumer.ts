/**
 * What every runtime's queue consumer shares (adapters/queue-consumer.ts on Workers,
 * adapters/deno-kv-consumer.ts on Deno; ./memory-transport.ts for the dead-letter rules): decoding
 * a message body into a validated event, the dead-letter rules (the forwarded body, the ledger
 * key of the dead-letter callback) and one structured log line per message, ids and codes only
 * (an event carries no value, and neither do these lines). The adapters keep only what their
 * transport does: ack, retry, forward, enqueue.
 *
 * Runtime-neutral.
 */
import {
  type DeadLetterHandler,
  type DeadLetterInfo,
  DEFAULT_LEASE_MS,
  type Dispatcher,
  type DispatchOutcome,
  runOnce,
} from "./bus.ts";
import { type BusEvent, deadLetterReasonSchema, parseEvent } from "./events.ts";
import { ledgerKey, type ProcessedLedger } from "./ledger.ts";
import { err, type ErrorValue, type Result } from "../result.ts";

/** The queues as Workers names them; the Deno consumer logs the same names so log queries work on both. */
export const EVENTS_QUEUE = "rekey-events";
export const DEAD_LETTER_QUEUE = "rekey-events-dlq";

/**
 * Ledger name for the dead-letter callback, distinct from every subscribed handler. Part of a
 * ledger key: it must be the same on every runtime.
 */
const DEAD_LETTER_HANDLER = "dead-letter";

/** What a deployment plugs into its consumer. */
export interface BusHandlers {
  /** Subscribes this deployment's handlers (rotator, notifier, auditor). */
  subscribe(dispatcher: Dispatcher): void;
  onDeadLetter: DeadLetterHandler;
}

export interface LogRecord {
  level: "info" | "warn" | "error";
  msg: string;
  /** The queue the message was on (on Deno, the Workers queue it would have been on, so log queries work on both). */
  queue: string;
  message_id: string;
  attempts: number;
  [field: string]: unknown;
}

/** A message that is not a rekey event: `paths` names where (`path:code`), for the logs. */
export interface UndecodableEvent extends ErrorValue<"undecodable_event"> {
  paths: string[];
}

export const undecodable = (paths: string[]): Result<never, UndecodableEvent> =>
  err({ code: "undecodable_event", message: "The message is not a rekey event", paths });

/** A JSON body may arrive parsed (Queues) or as text (Deno KV, or sent by hand). */
export function decodeEvent(body: unknown): Result<BusEvent, UndecodableEvent> {
  let input = body;
  if (typeof body === "string") {
    try {
      input = JSON.parse(body);
    } catch {
      return undecodable(["(not json)"]);
    }
  }
  const parsed = parseEvent(input);
  return parsed.ok
    ? parsed
    : undecodable(parsed.error.issues.slice(0, 10).map((i) => `${i.path || "(root)"}:${i.code}`));
}

/**
 * The event as it goes to the dead letters: with `rekeyfailure` = `<handler>:<code>` after a
 * permanent failure (when the reason fits the attribute), as it was otherwise (retries exhausted).
 */
export function deadLetterBody(event: BusEvent, outcome: Pick<DispatchOutcome, "reason">): BusEvent {
  const reason = deadLetterReasonSchema.safeParse(outcome.reason);
  return { ...event, ...(reason.success ? { rekeyfailure: reason.data } : {}) };
}

/** Why a dead event died, read back from its body. */
export const deadLetterInfo = (event: BusEvent): DeadLetterInfo =>
  event.rekeyfailure ? { reason: "permanent", failure: event.rekeyfailure } : { reason: "retries_exhausted" };

/** Log fields of a dead event, the same on every runtime and for every dead-letter line. */
export function deadLetterFields(event: BusEvent) {
  const info = deadLetterInfo(event);
  return { ...describeEvent(event), reason: info.reason, ...(info.failure ? { failure: info.failure } : {}) };
}

/**
 * Hands a dead event to `onDeadLetter` once (through the ledger). `handled`: it ran now or before,
 * so the message can go; otherwise the transport retries it. `fields` are for the log line.
 */
export async function handleDeadLetter(
  ledger: ProcessedLedger,
  onDeadLetter: DeadLetterHandler,
  event: BusEvent,
): Promise<{ handled: boolean; fields: ReturnType<typeof deadLetterFields> & { code?: string } }> {
  const info = deadLetterInfo(event);
  const r = await runOnce(
    ledger,
    ledgerKey(event, DEAD_LETTER_HANDLER),
    DEFAULT_LEASE_MS,
    () => onDeadLetter(event, info),
  );
  const handled = r.status === "ran" || r.status === "skipped";
  return {
    handled,
    fields: { ...deadLetterFields(event), ...(!handled && r.failure ? { code: r.failure.code } : {}) },
  };
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
