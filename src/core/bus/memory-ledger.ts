/**
 * In-memory ProcessedLedger for unit tests and single-process runs. A JavaScript turn is atomic,
 * so a Map is enough here; durable runtimes need the Durable Object or Deno KV versions.
 *
 * Runtime-neutral.
 */
import { type ClaimOptions, type ClaimState, LEDGER_TTL_MS, type ProcessedLedger } from "./ledger.ts";

interface Entry {
  state: "in_progress" | "done";
  owner: string;
  /** in_progress: lease end; done: when it may be forgotten. */
  until: number;
}

export class MemoryLedger implements ProcessedLedger {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #ttlMs: number;

  constructor(opts: { now?: () => number; ttlMs?: number } = {}) {
    this.#now = opts.now ?? (() => Date.now());
    this.#ttlMs = opts.ttlMs ?? LEDGER_TTL_MS;
  }

  claim(key: string, { owner, leaseMs }: ClaimOptions): Promise<ClaimState> {
    const now = this.#now();
    const e = this.#entries.get(key);
    if (e && e.until > now) return Promise.resolve(e.state);
    this.#entries.set(key, { state: "in_progress", owner, until: now + leaseMs });
    return Promise.resolve("new");
  }

  complete(key: string, owner: string): Promise<void> {
    // Marked done whoever holds the claim now: the work did succeed.
    this.#entries.set(key, { state: "done", owner, until: this.#now() + this.#ttlMs });
    return Promise.resolve();
  }

  release(key: string, owner: string): Promise<void> {
    const e = this.#entries.get(key);
    if (e?.owner === owner) this.#entries.delete(key);
    return Promise.resolve();
  }

  once(key: string, holdMs: number): Promise<boolean> {
    const now = this.#now();
    const e = this.#entries.get(key);
    if (e && e.until > now) return Promise.resolve(false);
    this.#entries.set(key, { state: "done", owner: "once", until: now + holdMs });
    return Promise.resolve(true);
  }

  /** For assertions: the state of one key, or undefined. */
  peek(key: string): "in_progress" | "done" | undefined {
    const e = this.#entries.get(key);
    return e && e.until > this.#now() ? e.state : undefined;
  }
}
