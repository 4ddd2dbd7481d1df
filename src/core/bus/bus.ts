/**
 * The bus as the core sees it: `publish` on one side, `subscribe` on the other
 * (ARCHITECTURE.md, "Events"). Transports (memory, Cloudflare Queues, Deno KV) implement `EventBus` and hand each
 * delivery to a `Dispatcher`, which runs the subscribed handlers once each per event through the
 * ProcessedLedger and tells the transport what to do with the message.
 *
 * Runtime-neutral.
 */
import { toFailure } from "../failure.ts";
import type { BusEvent, EventOf, EventType } from "./events.ts";
import { codeSchema, handlerNameSchema } from "./fields.ts";
import { ledgerKey, type ProcessedLedger } from "./ledger.ts";

export interface EventBus {
  publish(event: BusEvent): Promise<void>;
  publishAll(events: readonly BusEvent[]): Promise<void>;
}

export interface HandlerContext {
  /** Delivery attempt of this message, from 1. */
  attempt: number;
}

export type Handler<T extends EventType> = (event: EventOf<T>, ctx: HandlerContext) => Promise<void> | void;

export type HandlerStatus = "ran" | "skipped" | "in_progress" | "failed";

/** A handler's failure as the bus and the logs see it: never more than a code, a flag and a clipped message. */
export interface FailureInfo {
  retryable: boolean;
  /**
   * The failure's code, for a dead letter's `<handler>:<code>` and the logs. Anything not thrown on
   * purpose is named by its class in snake_case (`type_error`); a code that is not snake_case is
   * not copied (it could be anything), the kind of failure names it instead.
   */
  code: string;
  /** For tests and debugging, clipped; the queue consumer logs codes only, never messages. */
  message: string;
}

/**
 * The bus has always named a Clarifai failure `clarifai_error` (and `dead_letter_clarifai_error` in
 * events, a contract), whatever its own code; the other names stand in for a code that is not one.
 */
const KIND_NAMES = {
  refused: "app_error",
  step: "step_failure",
  clarifai: "clarifai_error",
  github: "github_error",
  handler: "permanent_error",
  delivery: "delivery_failed",
  internal: "error",
} as const;

/** The bus's view of a thrown value (classified by core/failure.ts `toFailure`). */
export function busFailure(error: unknown): FailureInfo {
  const f = toFailure(error);
  const own = f.tag === "clarifai" ? undefined : f.tag === "internal" ? snake(f.detail.errorName) : f.code;
  return { retryable: f.retryable, code: isCode(own) ? own : KIND_NAMES[f.tag], message: f.message.slice(0, 200) };
}

const isCode = (v: unknown): v is string => codeSchema.safeParse(v).success;
const snake = (name: string) => name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();

interface HandlerResult {
  handler: string;
  status: HandlerStatus;
  failure?: FailureInfo;
}

export interface DispatchOutcome {
  /**
   * ack: every handler ran or had run. retry: some handler failed in a way that may pass, or is
   * still running elsewhere. dead_letter: only permanent failures are left.
   */
  verdict: "ack" | "retry" | "dead_letter";
  results: HandlerResult[];
  /** dead_letter: `<handler>:<code>` of the first permanent failure. */
  reason?: string;
}

/** Why an event ended in the dead-letter queue, for whoever alerts a human. */
export interface DeadLetterInfo {
  /** permanent: a handler said it can never succeed. retries_exhausted: max_retries ran out. */
  reason: "permanent" | "retries_exhausted";
  /** `<handler>:<code>`, when known. */
  failure?: string;
}

export type DeadLetterHandler = (event: BusEvent, info: DeadLetterInfo) => Promise<void>;

export interface DispatcherOptions {
  ledger: ProcessedLedger;
  /** Claim lease; see ./backoff.ts for why it is shorter than the whole retry schedule. */
  leaseMs?: number;
}

export const DEFAULT_LEASE_MS = 120_000;

interface Subscription {
  name: string;
  // Stored loosely: `dispatch` only calls it with events of the type it was subscribed to.
  handler: (event: BusEvent, ctx: HandlerContext) => Promise<void> | void;
}

export class Dispatcher {
  readonly #subs = new Map<EventType, Subscription[]>();
  readonly #ledger: ProcessedLedger;
  readonly #leaseMs: number;

  constructor(opts: DispatcherOptions) {
    this.#ledger = opts.ledger;
    this.#leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /**
   * Runs `handler` for every event of `type`. `name` is part of the idempotency key: keep it
   * stable across deploys, or events in flight during a deploy run that handler again.
   */
  subscribe<T extends EventType>(type: T, name: string, handler: Handler<T>): this {
    if (!handlerNameSchema.safeParse(name).success) {
      throw new TypeError(`Cannot subscribe: invalid handler name "${name}"`);
    }
    const subs = this.#subs.get(type) ?? [];
    if (subs.some((s) => s.name === name)) throw new TypeError(`Cannot subscribe: "${name}" already handles "${type}"`);
    subs.push({ name, handler: handler as unknown as Subscription["handler"] });
    this.#subs.set(type, subs);
    return this;
  }

  subscribers(type: EventType): string[] {
    return (this.#subs.get(type) ?? []).map((s) => s.name);
  }

  /** Runs every handler of the event's type, concurrently; never throws. */
  async dispatch(event: BusEvent, ctx: HandlerContext = { attempt: 1 }): Promise<DispatchOutcome> {
    const subs = this.#subs.get(event.type) ?? [];
    const results = await Promise.all(
      subs.map(async (s) => ({
        handler: s.name,
        ...(await runOnce(this.#ledger, ledgerKey(event, s.name), this.#leaseMs, () => s.handler(event, ctx))),
      })),
    );
    return verdictOf(results);
  }
}

/**
 * Runs `fn` once per `key` through the ledger: skipped if it already succeeded, "in_progress" if
 * another delivery holds the claim, released on failure so that the next delivery runs it again.
 */
export async function runOnce(
  ledger: ProcessedLedger,
  key: string,
  leaseMs: number,
  fn: () => Promise<void> | void,
): Promise<{ status: HandlerStatus; failure?: FailureInfo }> {
  const owner = crypto.randomUUID();
  let claim;
  try {
    claim = await ledger.claim(key, { owner, leaseMs });
  } catch (error) {
    return { status: "failed", failure: { ...busFailure(error), retryable: true, code: "ledger_unavailable" } };
  }
  if (claim === "done") return { status: "skipped" };
  if (claim === "in_progress") return { status: "in_progress" };
  try {
    await fn();
  } catch (error) {
    // If the release is lost too, the lease runs out and a later delivery takes over.
    await ledger.release(key, owner).catch(() => undefined);
    return { status: "failed", failure: busFailure(error) };
  }
  // The work is done even if recording it fails: a redelivery would then repeat an idempotent
  // handler, a lesser harm than retrying work that succeeded.
  await ledger.complete(key, owner).catch(() => undefined);
  return { status: "ran" };
}

function verdictOf(results: HandlerResult[]): DispatchOutcome {
  const pending = results.some((r) => r.status === "in_progress" || (r.status === "failed" && r.failure?.retryable));
  if (pending) return { verdict: "retry", results };
  const permanent = results.find((r) => r.status === "failed");
  if (permanent) {
    return { verdict: "dead_letter", results, reason: `${permanent.handler}:${permanent.failure?.code ?? "error"}` };
  }
  return { verdict: "ack", results };
}
