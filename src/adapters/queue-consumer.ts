/**
 * Consumer for `rekey-events` and its dead-letter queue `rekey-events-dlq` (dispatching on
 * `batch.queue`, one Worker for both).
 *
 * Every message is settled on its own, explicitly: `ack()` once every handler has run, or
 * `retry({ delaySeconds })` with exponential backoff from `msg.attempts`. Nothing here throws for
 * the batch, because a throw without explicit acks redelivers the whole batch, re-running the
 * messages that succeeded.
 *
 * Outcomes:
 * - Invalid body (poison): acked and logged without the body. Retrying cannot fix it, and a body
 *   that failed validation is exactly the one that might hold a value that must not be logged.
 * - Retryable failure: retried; after `max_retries` Queues moves it to the DLQ.
 * - Permanent failure: forwarded to the DLQ at once (with `rekeyfailure` = `<handler>:<code>`),
 *   then acked. Retrying something that cannot succeed would re-run its handlers five times and
 *   delay the human alert by minutes, and containment time is the number that matters. If the
 *   forward fails the message is retried instead, so it is never dropped.
 * - DLQ: each dead event goes to `onDeadLetter` once (through the ledger), then is acked;
 *   if `onDeadLetter` fails it is retried.
 * - Configuration invalid (src/config-check.ts): `deferQueueBatch` runs nothing and holds every
 *   message, on either queue, until the configuration is fixed (see there).
 */
import { type BackoffPolicy, DEFAULT_BACKOFF, retryDelaySeconds } from "../core/bus/backoff.ts";
import { type DeadLetterHandler, Dispatcher } from "../core/bus/bus.ts";
import {
  type BusHandlers,
  DEAD_LETTER_QUEUE,
  deadLetterBody,
  deadLetterFields,
  decodeEvent,
  describeEvent,
  handleDeadLetter,
  type LogRecord,
  logToConsole,
  outcomeSummary,
} from "../core/bus/consumer.ts";
import type { ProcessedLedger } from "../core/bus/ledger.ts";
import type { ConfigProblem } from "../config-check.ts";
import { DurableEventLedger, type EventLedger } from "./event-ledger.ts";

export type { BusHandlers, LogRecord } from "../core/bus/consumer.ts";

export interface BusEnv {
  EVENT_LEDGER: DurableObjectNamespace<EventLedger>;
  /** Producer binding for `rekey-events-dlq`: where permanent failures are forwarded. */
  EVENTS_DLQ: Queue;
}

export interface ConsumerOptions {
  backoff?: BackoffPolicy;
  /** Name of the dead-letter queue as `batch.queue` reports it. */
  deadLetterQueue?: string;
  /** One structured record per message; defaults to a JSON line on the console. */
  log?: (record: LogRecord) => void;
  /**
   * The processed-events ledger; defaults to one over `env.EVENT_LEDGER` for this batch. The
   * Worker passes its services' ledger, built once per isolate, so the ledger's Durable Object ids
   * (./durable-ids.ts) are kept across batches rather than hashed again for each.
   */
  ledger?: ProcessedLedger;
}

export async function handleQueueBatch(
  batch: MessageBatch<unknown>,
  env: BusEnv,
  handlers: BusHandlers,
  opts: ConsumerOptions = {},
): Promise<void> {
  const ledger = opts.ledger ?? new DurableEventLedger(env.EVENT_LEDGER);
  const settle = batch.queue === (opts.deadLetterQueue ?? DEAD_LETTER_QUEUE)
    ? (msg: Message<unknown>) => settleDead(msg, ledger, handlers.onDeadLetter)
    : settlerFor(ledger, handlers, env.EVENTS_DLQ);
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const log = opts.log ?? logToConsole;
  await Promise.all(
    batch.messages.map(async (msg) => {
      const base = { queue: batch.queue, message_id: msg.id, attempts: msg.attempts };
      try {
        const r = await settle(msg);
        if (!r.retry) {
          msg.ack();
          return log({ ...base, ...r.log });
        }
        const delaySeconds = retryDelaySeconds(msg.attempts, backoff);
        msg.retry({ delaySeconds });
        log({ ...base, ...r.log, delay_seconds: delaySeconds });
      } catch (error) {
        // A bug or a failed DLQ forward: this message alone is tried again later.
        const delaySeconds = retryDelaySeconds(msg.attempts, backoff);
        msg.retry({ delaySeconds });
        log({
          ...base,
          level: "error",
          msg: "bus.consumer_error",
          error: error instanceof Error ? error.name : "unknown",
          delay_seconds: delaySeconds,
        });
      }
    }),
  );
}

type Settled = { retry: boolean; log: Pick<LogRecord, "level" | "msg"> & Record<string, unknown> };

function settlerFor(ledger: ProcessedLedger, handlers: BusHandlers, dlq: Queue) {
  const dispatcher = new Dispatcher({ ledger });
  handlers.subscribe(dispatcher);
  return async (msg: Message<unknown>): Promise<Settled> => {
    const event = decodeEvent(msg.body);
    if (!event.ok) return { retry: false, log: { level: "warn", msg: "bus.poison", issues: event.error.paths } };
    const outcome = await dispatcher.dispatch(event.value, { attempt: msg.attempts });
    const fields = { ...describeEvent(event.value), handlers: outcomeSummary(outcome) };
    if (outcome.verdict === "ack") return { retry: false, log: { level: "info", msg: "bus.ack", ...fields } };
    if (outcome.verdict === "retry") return { retry: true, log: { level: "warn", msg: "bus.retry", ...fields } };
    const dead = deadLetterBody(event.value, outcome);
    await dlq.send(dead, { contentType: "json" });
    return {
      retry: false,
      log: { level: "error", msg: "bus.dead_letter", ...deadLetterFields(dead), handlers: fields.handlers },
    };
  };
}

async function settleDead(
  msg: Message<unknown>,
  ledger: ProcessedLedger,
  onDeadLetter: DeadLetterHandler,
): Promise<Settled> {
  const event = decodeEvent(msg.body);
  if (!event.ok) return { retry: false, log: { level: "error", msg: "bus.dead_poison", issues: event.error.paths } };
  const r = await handleDeadLetter(ledger, onDeadLetter, event.value);
  return {
    retry: !r.handled,
    log: { level: "error", msg: r.handled ? "bus.dead_handled" : "bus.dead_retry", ...r.fields },
  };
}

export interface DeferEnv {
  /** Producers of both queues: a message about to run out of retries is carried forward on its own queue. */
  EVENTS: Queue;
  EVENTS_DLQ: Queue;
}

export interface DeferOptions {
  backoff?: BackoffPolicy;
  deadLetterQueue?: string;
  /** wrangler.toml's `max_retries` of rekey-events (5) and of rekey-events-dlq (10). */
  maxRetries?: number;
  maxDeadRetries?: number;
  log?: (record: LogRecord) => void;
}

/**
 * While the configuration is invalid no handler can be trusted to run (the issue this guards
 * against: one malformed OUTBOUND_WEBHOOKS made every handler throw, so every event went to the
 * dead letters, and the dead letters' alert threw too). So nothing runs, nothing is acked and
 * nothing is dead-lettered: each message is retried with the usual backoff from its attempts.
 *
 * Queues itself dead-letters (main queue) or deletes (DLQ) a message retried `max_retries`
 * times, so the last delivery before that is carried forward instead: the same body is sent
 * again to the same queue, delayed, and only then acked, so it starts its attempts afresh. If
 * the send fails the message is retried, and Queues' own limit applies (logged as an error).
 * Delays stay those of a failing handler, so a fixed configuration is picked up within minutes.
 */
export async function deferQueueBatch(
  batch: MessageBatch<unknown>,
  env: DeferEnv,
  problem: ConfigProblem,
  opts: DeferOptions = {},
): Promise<void> {
  const dead = batch.queue === (opts.deadLetterQueue ?? DEAD_LETTER_QUEUE);
  const limit = dead ? (opts.maxDeadRetries ?? 10) : (opts.maxRetries ?? 5);
  const queue = dead ? env.EVENTS_DLQ : env.EVENTS;
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const log = opts.log ?? logToConsole;
  await Promise.all(
    batch.messages.map(async (msg) => {
      const delaySeconds = retryDelaySeconds(msg.attempts, backoff);
      const base = {
        queue: batch.queue,
        message_id: msg.id,
        attempts: msg.attempts,
        code: problem.code,
        variables: problem.variables,
        delay_seconds: delaySeconds,
      };
      if (msg.attempts >= limit) {
        try {
          await queue.send(msg.body, { contentType: "json", delaySeconds });
          msg.ack();
          return log({ level: "error", msg: "bus.config_carried", ...base });
        } catch (error) {
          log({
            level: "error",
            msg: "bus.consumer_error",
            ...base,
            error: error instanceof Error ? error.name : "unknown",
          });
        }
      } else {
        log({ level: "error", msg: "bus.config_deferred", ...base });
      }
      msg.retry({ delaySeconds });
    }),
  );
}
