/**
 * In-memory EventBus for unit tests and single-process runs, with the delivery semantics of the
 * durable transports: each publish is a message; a retryable failure is redelivered after the
 * backoff delay (on a virtual clock, so tests do not wait); a permanent failure, or a message out
 * of retries, lands in `deadLetters` and is handed to `onDeadLetter`, as adapters/queue-consumer.ts
 * does with Cloudflare Queues.
 *
 * Messages go through a JSON round trip and validation, as on a real queue, so a handler never
 * sees an object the wire would not carry.
 *
 * Runtime-neutral.
 */
import { type BackoffPolicy, DEFAULT_BACKOFF, retryDelaySeconds } from "./backoff.ts";
import type { DeadLetterHandler, DeadLetterInfo, Dispatcher, DispatchOutcome, EventBus } from "./bus.ts";
import { deadLetterBody, deadLetterInfo } from "./consumer.ts";
import { assertPublishable, type BusEvent, parseEvent } from "./events.ts";

export interface MemoryBusOptions {
  /** Redeliveries after the first delivery, like Queues' `max_retries` (default 5). */
  maxRetries?: number;
  backoff?: BackoffPolicy;
  /** Deliver within `publish` (default). Off: messages wait for `drain()`. */
  autoDrain?: boolean;
  onDeadLetter?: DeadLetterHandler;
}

interface Pending {
  body: string;
  attempt: number;
  /** Virtual seconds. */
  dueAt: number;
}

export class MemoryBus implements EventBus {
  readonly published: BusEvent[] = [];
  readonly deadLetters: Array<{ event: BusEvent; attempts: number } & DeadLetterInfo> = [];
  /** Every redelivery scheduled, in order: what a test asserts backoff on. */
  readonly retries: Array<{ id: string; attempt: number; delaySeconds: number }> = [];
  readonly #queue: Pending[] = [];
  readonly #opts: Required<Omit<MemoryBusOptions, "onDeadLetter">> & Pick<MemoryBusOptions, "onDeadLetter">;
  #clock = 0;
  #draining = false;

  constructor(readonly dispatcher: Dispatcher, opts: MemoryBusOptions = {}) {
    this.#opts = { maxRetries: 5, backoff: DEFAULT_BACKOFF, autoDrain: true, ...opts };
  }

  /** Virtual seconds spent waiting for redeliveries. */
  get clock(): number {
    return this.#clock;
  }

  get pending(): number {
    return this.#queue.length;
  }

  async publish(event: BusEvent): Promise<void> {
    await this.publishAll([event]);
  }

  async publishAll(events: readonly BusEvent[]): Promise<void> {
    for (const event of events) {
      const checked = assertPublishable(event);
      this.published.push(checked);
      this.#queue.push({ body: JSON.stringify(checked), attempt: 1, dueAt: this.#clock });
    }
    // A handler that publishes while we drain only enqueues; the running drain picks it up.
    if (this.#opts.autoDrain && !this.#draining) await this.drain();
  }

  /** Delivers the same event again, as an at-least-once transport may. */
  async redeliver(event: BusEvent): Promise<void> {
    this.#queue.push({ body: JSON.stringify(event), attempt: 1, dueAt: this.#clock });
    if (this.#opts.autoDrain && !this.#draining) await this.drain();
  }

  /** Delivers until nothing is left, jumping the virtual clock to each redelivery's due time. */
  async drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#takeNext(); next; next = this.#takeNext()) await this.#deliver(next);
    } finally {
      this.#draining = false;
    }
  }

  #takeNext(): Pending | undefined {
    if (this.#queue.length === 0) return undefined;
    let best = 0;
    this.#queue.forEach((p, i) => {
      if (p.dueAt < this.#queue[best]!.dueAt) best = i;
    });
    const [next] = this.#queue.splice(best, 1);
    this.#clock = Math.max(this.#clock, next!.dueAt);
    return next;
  }

  async #deliver(p: Pending): Promise<void> {
    const parsed = parseEvent(JSON.parse(p.body));
    if (!parsed.ok) return; // Poison: dropped, as the queue consumer acks it.
    const outcome: DispatchOutcome = await this.dispatcher.dispatch(parsed.value, { attempt: p.attempt });
    if (outcome.verdict === "ack") return;
    if (outcome.verdict === "dead_letter" || p.attempt > this.#opts.maxRetries) {
      return this.#dead(parsed.value, p.attempt, deadLetterInfo(deadLetterBody(parsed.value, outcome)));
    }
    const delaySeconds = retryDelaySeconds(p.attempt, this.#opts.backoff);
    this.retries.push({ id: parsed.value.id, attempt: p.attempt, delaySeconds });
    this.#queue.push({ body: p.body, attempt: p.attempt + 1, dueAt: this.#clock + delaySeconds });
  }

  async #dead(event: BusEvent, attempts: number, info: DeadLetterInfo): Promise<void> {
    this.deadLetters.push({ event, attempts, ...info });
    await this.#opts.onDeadLetter?.(event, info);
  }
}
