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
 * While the configuration is refused (src/config-check.ts), `deferEvents` listens instead and
 * runs nothing: see there.
 *
 * The handler returns normally for every outcome above: a throw would make Deno KV redeliver on
 * its own schedule, which is kept for what we cannot handle (KV unreachable for the retry write);
 * that is logged as `bus.consumer_error` (the error's class name only) and rethrown.
 */
import { type BackoffPolicy, DEFAULT_BACKOFF, retryDelaySeconds } from "../core/bus/backoff.ts";
import { Dispatcher } from "../core/bus/bus.ts";
import {
  type BusHandlers,
  DEAD_LETTER_QUEUE,
  deadLetterBody,
  deadLetterFields,
  decodeEvent,
  describeEvent,
  EVENTS_QUEUE,
  handleDeadLetter,
  type LogRecord,
  logToConsole,
  outcomeSummary,
  undecodable,
} from "../core/bus/consumer.ts";
import type { BusEvent } from "../core/bus/events.ts";
import type { ProcessedLedger } from "../core/bus/ledger.ts";
import type { ConfigProblem } from "../config-check.ts";
import {
  deadChunkExpiry,
  deadLetterKey,
  enqueueOptions,
  type QueueMessage,
  queueMessageSchema,
} from "./deno-kv-bus.ts";

export type { BusHandlers, LogRecord } from "../core/bus/consumer.ts";

export interface DenoConsumerOptions {
  backoff?: BackoffPolicy;
  /** Redeliveries after the first, as wrangler.toml's `max_retries` for rekey-events (5). */
  maxRetries?: number;
  /** As `max_retries` of rekey-events-dlq (10). */
  maxDeadRetries?: number;
  log?: (record: LogRecord) => void;
}

/** Starts listening; the promise settles when `kv` is closed. */
export function listenForEvents(
  kv: Deno.Kv,
  ledger: ProcessedLedger,
  handlers: BusHandlers,
  opts: DenoConsumerOptions = {},
): Promise<void> {
  const handle = createMessageHandler(kv, ledger, handlers, opts);
  return kv.listenQueue(handle);
}

/** One message's handling (exported for tests that switch handlers on one queue). */
export function createMessageHandler(
  kv: Deno.Kv,
  ledger: ProcessedLedger,
  handlers: BusHandlers,
  opts: DenoConsumerOptions = {},
) {
  const dispatcher = new Dispatcher({ ledger });
  handlers.subscribe(dispatcher);
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const maxRetries = opts.maxRetries ?? 5;
  const maxDeadRetries = opts.maxDeadRetries ?? 10;
  const log = opts.log ?? logToConsole;

  const retry = async (event: BusEvent, msg: QueueMessage) => {
    const delaySeconds = retryDelaySeconds(msg.attempt, backoff);
    await kv.enqueue(
      { ...msg, attempt: msg.attempt + 1 } satisfies QueueMessage,
      enqueueOptions(event, delaySeconds * 1000),
    );
    return delaySeconds;
  };

  /** Writes the dead body under its dead-letter key and enqueues it as a dead message, atomically. */
  const die = async (dead: BusEvent, msg: QueueMessage) => {
    const message: QueueMessage = { body: JSON.stringify(dead), attempt: 1, dead: true };
    // A dead GitHub chunk holds third-party leaked tokens (sealed): kept no longer than Queues keeps
    // a message after its alert, not until an operator deletes it (core/alerts/deferred-tokens.ts),
    // under one key per chunk whatever the requeue round (./deno-kv-bus.ts `deadLetterKey`).
    const keep = dead.type === "github.tokens_deferred"
      ? { expireIn: Math.max(1, deadChunkExpiry(dead) - Date.now()) }
      : undefined;
    const res = await kv.atomic().set(deadLetterKey(dead), { ...message, attempt: msg.attempt }, keep).enqueue(
      message,
      enqueueOptions(dead),
    ).commit();
    if (!res.ok) throw new Error(`Cannot dead-letter event "${dead.id}"`);
  };

  const onEvent = async (event: BusEvent, msg: QueueMessage) => {
    const base = { queue: EVENTS_QUEUE, message_id: event.id, attempts: msg.attempt };
    const outcome = await dispatcher.dispatch(event, { attempt: msg.attempt });
    const fields = { ...base, ...describeEvent(event), handlers: outcomeSummary(outcome) };
    if (outcome.verdict === "ack") return log({ level: "info", msg: "bus.ack", ...fields });
    if (outcome.verdict === "retry" && msg.attempt <= maxRetries) {
      return log({ level: "warn", msg: "bus.retry", ...fields, delay_seconds: await retry(event, msg) });
    }
    const dead = deadLetterBody(event, outcome);
    await die(dead, msg);
    log({ level: "error", msg: "bus.dead_letter", ...base, ...deadLetterFields(dead), handlers: fields.handlers });
  };

  const onDead = async (event: BusEvent, msg: QueueMessage) => {
    const r = await handleDeadLetter(ledger, handlers.onDeadLetter, event);
    const fields = { queue: DEAD_LETTER_QUEUE, message_id: event.id, attempts: msg.attempt, ...r.fields };
    if (r.handled) return log({ level: "error", msg: "bus.dead_handled", ...fields });
    if (msg.attempt > maxDeadRetries) return log({ level: "error", msg: "bus.dead_abandoned", ...fields });
    log({ level: "error", msg: "bus.dead_retry", ...fields, delay_seconds: await retry(event, msg) });
  };

  return async (raw: unknown): Promise<void> => {
    const msg = queueMessageSchema.safeParse(raw);
    const event = msg.success ? decodeEvent(msg.data.body) : undecodable(["(message)"]);
    if (!msg.success || !event.ok) {
      const dead = msg.success && msg.data.dead === true;
      return log({
        level: dead ? "error" : "warn",
        msg: dead ? "bus.dead_poison" : "bus.poison",
        queue: dead ? DEAD_LETTER_QUEUE : EVENTS_QUEUE,
        message_id: "unknown",
        attempts: msg.success ? msg.data.attempt : 0,
        issues: event.ok ? [] : event.error.paths,
      });
    }
    try {
      await (msg.data.dead ? onDead(event.value, msg.data) : onEvent(event.value, msg.data));
    } catch (error) {
      // KV unreachable for a retry or dead-letter write, or a bug: Deno KV redelivers on its own
      // schedule (then keeps the message under its dead-letter key). The class name only, as on Workers.
      log({
        level: "error",
        msg: "bus.consumer_error",
        queue: msg.data.dead ? DEAD_LETTER_QUEUE : EVENTS_QUEUE,
        message_id: event.value.id,
        attempts: msg.data.attempt,
        error: error instanceof Error ? error.name : "unknown",
      });
      throw error;
    }
  };
}

/**
 * The consumer while the configuration is refused: no handler runs, nothing is dropped and
 * nothing dies. Each message is enqueued again with the next attempt and the usual backoff delay,
 * as src/adapters/queue-consumer.ts's `deferQueueBatch` retries it on Workers; past the retry
 * limit its attempts start afresh (on Workers it is carried forward), so a message that waited
 * for a fix has all its retries left when its handlers finally run. Deno reads the configuration
 * once per process: the fix is a restart, after which `listenForEvents` takes over.
 * Poison is dropped and logged, as by the normal consumer: no configuration makes it decodable.
 */
export function deferEvents(kv: Deno.Kv, problem: ConfigProblem, opts: DenoConsumerOptions = {}): Promise<void> {
  return kv.listenQueue(createDeferringHandler(kv, problem, opts));
}

/** One message's handling while the configuration is refused (exported for tests). */
export function createDeferringHandler(kv: Deno.Kv, problem: ConfigProblem, opts: DenoConsumerOptions = {}) {
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const log = opts.log ?? logToConsole;
  return async (raw: unknown): Promise<void> => {
    const msg = queueMessageSchema.safeParse(raw);
    const event = msg.success ? decodeEvent(msg.data.body) : undecodable(["(message)"]);
    if (!msg.success || !event.ok) {
      return log({
        level: "warn",
        msg: "bus.poison",
        queue: EVENTS_QUEUE,
        message_id: "unknown",
        attempts: msg.success ? msg.data.attempt : 0,
        issues: event.ok ? [] : event.error.paths,
      });
    }
    const limit = msg.data.dead ? (opts.maxDeadRetries ?? 10) : (opts.maxRetries ?? 5);
    const delaySeconds = retryDelaySeconds(msg.data.attempt, backoff);
    const attempt = msg.data.attempt >= limit ? 1 : msg.data.attempt + 1;
    // A failed enqueue throws: Deno KV then redelivers this message on its own schedule.
    await kv.enqueue({ ...msg.data, attempt } satisfies QueueMessage, enqueueOptions(event.value, delaySeconds * 1000));
    log({
      level: "error",
      msg: "bus.config_deferred",
      queue: msg.data.dead ? DEAD_LETTER_QUEUE : EVENTS_QUEUE,
      message_id: event.value.id,
      attempts: msg.data.attempt,
      code: problem.code,
      variables: problem.variables,
      delay_seconds: delaySeconds,
    });
  };
}
