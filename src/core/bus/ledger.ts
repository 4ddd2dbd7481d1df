/**
 * The processed-events ledger: what makes handlers run once per event although every durable
 * transport delivers at least once.
 *
 * A handler's run is keyed by (event source, event id, handler name), the CloudEvents dedupe rule
 * plus the handler, so that two handlers of one event succeed or fail independently. The protocol
 * is claim → run → complete (success) or release (failure): a handler that failed runs again on
 * redelivery, one that succeeded is skipped. A claim is a lease, so a run whose isolate died
 * mid-handler (neither completed nor released) is taken over once the lease ends.
 *
 * Implementations must make `claim` atomic: Workers uses a Durable Object (adapters/event-ledger.ts),
 * tests use ./memory-ledger.ts. Plain KV will not do: it has no compare-and-swap.
 *
 * Runtime-neutral.
 */

export type ClaimState = "new" | "done" | "in_progress";

export interface ClaimOptions {
  /** Random per attempt, so a late release cannot drop someone else's claim. */
  owner: string;
  /** How long the claim holds before another delivery may take over. */
  leaseMs: number;
}

export interface ProcessedLedger {
  /** Absent, or claimed with an expired lease: now ours ("new"). Completed: "done". Held: "in_progress". */
  claim(key: string, opts: ClaimOptions): Promise<ClaimState>;
  /** The handler succeeded: later claims answer "done" until the entry expires. */
  complete(key: string, owner: string): Promise<void>;
  /**
   * The handler failed: drop our claim so that a redelivery runs it again. Only `owner`'s entry,
   * in progress or completed: a completed entry carries its completer's owner, so an ordinary
   * claimant (a random owner per attempt) only ever drops its own failed claim, while a deliberate
   * completer may undo its completion (the GitHub webhook's owed fetch, on its final death:
   * core/alerts/owed-fetch.ts `releaseOwedClaim`). Smaller than a method of its own, and as safe:
   * no caller can name an owner it did not claim or complete as.
   */
  release(key: string, owner: string): Promise<void>;
  /**
   * Replay refusal in one atomic step: true the first time `key` is seen (it is then remembered
   * as done for `holdMs`), false while it is remembered. A claim followed by a complete, in one
   * round trip instead of two, for ids that are used once and never retried (webhook ids, chat
   * requests, confirmations).
   */
  once(key: string, holdMs: number): Promise<boolean>;
}

/** How long a completed entry is remembered: longer than Queues keep an unacknowledged message (4 days by default). */
export const LEDGER_TTL_MS = 7 * 24 * 3_600_000;

/** `#` appears in none of the parts (see ./fields.ts), so the key is unambiguous. */
export const ledgerKey = (event: { source: string; id: string }, handler: string) =>
  `${event.source}#${event.id}#${handler}`;
