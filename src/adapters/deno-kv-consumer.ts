/**
 * Consumer for the Deno KV queue: the Deno counterpart of ./queue-consumer.ts, with the same
 * outcomes and log records.
 *
 * - Invalid message or body (poison): dropped and logged without the body.
 * - Retryable failure: a new message with the next attempt, delayed by the backoff of
 *   core/bus/backoff.ts; after `maxRetries` redeliveries the event dies ("retries_exhausted").
 * - Permanent failure: the event dies at once (containment time matters more than futile retries).
 * - Dying: the event is written under its dead-letter key and a dead message is enqueued, in one
 *   atomic operation, so it is never lost between the two.
 * - Dead message: handed to `onDeadLetter` once (through the ledger); if that fails it is retried,
 *   up to `maxDeadRetries`, and then stays only under its dead-letter key.
 *
 * The handler returns normally for every outcome above: a throw would make Deno KV redeliver on
 * its own schedule, which is kept for what we cannot handle (KV unreachable for the retry write).
 */
import { type BackoffPolicy, DEFAULT_BACKOFF, retryDelaySeconds } from "../core/bus/backoff.ts";
import { type DeadLetterHandler, Dispatcher, DEFAULT_LEASE_MS, runOnce } from "../core/bus/bus.ts";
import { type BusEvent, deadLetterReasonSchema } from "../core/bus/events.ts";
import { ledgerKey, type ProcessedLedger } from "../core/bus/ledger.ts";
import { decodeEvent, describeEvent, type LogRecord, logToConsole, outcomeSummary } from "../core/bus/consumer-log.ts";
import { deadLetterKey, enqueueOptions, type QueueMessage, queueMessageSchema } from "./deno-kv-bus.ts";

/** Ledger name for the dead-letter callback, distinct from every subscribed handler. */
const DEAD_LETTER_HANDLER = "dead-letter";

export interface BusHandlers {
  subscribe(dispatcher: Dispatcher): void;
  onDeadLetter: DeadLetterHandler;
}

export interface DenoConsumerOptions {
  backoff?: BackoffPolicy;
  /** Redeliveries after the first, as wrangler.toml's `max_retries` for rekey-events (5). */
  maxRetries?: number;
  /** As `max_retries` of rekey-events-dlq (10). */
  maxDeadRetries?: number;
  log?: (record: LogRecord) => void;
}

export type { LogRecord } from "../core/bus/consumer-log.ts";

/** Starts listening; the promise settles when `kv` is closed. */
export function listenForEvents(kv: Deno.Kv, ledger: ProcessedLedger, handlers: BusHandlers, opts: DenoConsumerOptions = {}): Promise<void> {
  const handle = createMessageHandler(kv, ledger, handlers, opts);
  return kv.listenQueue(handle);
}

/** One message's handling, exposed so tests can drive it without a queue in between. */
export function createMessageHandler(kv: Deno.Kv, ledger: ProcessedLedger, handlers: BusHandlers, opts: DenoConsumerOptions = {}) {
  const dispatcher = new Dispatcher({ ledger });
  handlers.subscribe(dispatcher);
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const maxRetries = opts.maxRetries ?? 5;
  const maxDeadRetries = opts.maxDeadRetries ?? 10;
  const log = opts.log ?? logToConsole;

  const retry = async (event: BusEvent, msg: QueueMessage) => {
    const delaySeconds = retryDelaySeconds(msg.attempt, backoff);
    await kv.enqueue({ ...msg, attempt: msg.attempt + 1 } satisfies QueueMessage, enqueueOptions(event, delaySeconds * 1000));
    return delaySeconds;
  };

  const die = async (event: BusEvent, msg: QueueMessage, failure?: string) => {
    const reason = deadLetterReasonSchema.safeParse(failure);
    const dead: QueueMessage = { body: JSON.stringify({ ...event, ...(reason.success ? { rekeyfailure: reason.data } : {}) }), attempt: 1, dead: true };
    const res = await kv.atomic().set(deadLetterKey(event), { ...dead, attempt: msg.attempt }).enqueue(dead, enqueueOptions(event)).commit();
    if (!res.ok) throw new Error(`Cannot dead-letter event "${event.id}"`);
  };

  const onEvent = async (event: BusEvent, msg: QueueMessage) => {
    const base = { queue: "rekey-events" as const, message_id: event.id, attempts: msg.attempt, ...describeEvent(event) };
    const outcome = await dispatcher.dispatch(event, { attempt: msg.attempt });
    const fields = { ...base, handlers: outcomeSummary(outcome) };
    if (outcome.verdict === "ack") return log({ level: "info", msg: "bus.ack", ...fields });
    if (outcome.verdict === "retry" && msg.attempt <= maxRetries) {
      return log({ level: "warn", msg: "bus.retry", ...fields, delay_seconds: await retry(event, msg) });
    }
    await die(event, msg, outcome.verdict === "dead_letter" ? outcome.reason : undefined);
    log({ level: "error", msg: "bus.dead_letter", ...fields, reason: outcome.verdict === "dead_letter" ? "permanent" : "retries_exhausted" });
  };

  const onDead = async (event: BusEvent, msg: QueueMessage) => {
    const info = event.rekeyfailure ? { reason: "permanent" as const, failure: event.rekeyfailure } : { reason: "retries_exhausted" as const };
    const r = await runOnce(ledger, ledgerKey(event, DEAD_LETTER_HANDLER), DEFAULT_LEASE_MS, () => handlers.onDeadLetter(event, info));
    const fields = { queue: "rekey-events-dlq" as const, message_id: event.id, attempts: msg.attempt, ...describeEvent(event), reason: info.reason, ...(info.reason === "permanent" ? { failure: info.failure } : {}) };
    if (r.status === "ran" || r.status === "skipped") return log({ level: "error", msg: "bus.dead_handled", ...fields });
    if (msg.attempt > maxDeadRetries) return log({ level: "error", msg: "bus.dead_abandoned", ...fields, code: r.failure?.code });
    log({ level: "error", msg: "bus.dead_retry", ...fields, code: r.failure?.code, delay_seconds: await retry(event, msg) });
  };

  return async (raw: unknown): Promise<void> => {
    const msg = queueMessageSchema.safeParse(raw);
    const event = msg.success ? decodeEvent(msg.data.body) : { ok: false as const, paths: ["(message)"] };
    if (!msg.success || !event.ok) {
      return log({ level: "warn", msg: msg.success && msg.data.dead ? "bus.dead_poison" : "bus.poison", queue: "rekey-events", message_id: "unknown", attempts: msg.success ? msg.data.attempt : 0, issues: event.ok ? [] : event.paths });
    }
    await (msg.data.dead ? onDead(event.value, msg.data) : onEvent(event.value, msg.data));
  };
}
