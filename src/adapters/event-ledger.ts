/**
 * The processed-events ledger on Workers (core/bus/ledger.ts): a SQLite-backed Durable Object.
 *
 * Why not KV: Queues deliver at least once, and two deliveries of one event can run at the same
 * time in different isolates; KV is eventually consistent and has no compare-and-swap, so both
 * would "claim" the handler. A DO runs one request at a time, and `claim` does its read and write
 * with synchronous SQL and no await in between, so no other request can interleave: it is atomic.
 *
 * Sharding: keys are spread over SHARDS named instances by a hash of the key, rather than one
 * instance per event source, because nearly all traffic shares two sources (`/rekey/engine`,
 * `/rekey/cron`) and one instance serves in the order of a thousand requests a second. The shard
 * count must stay fixed: changing it re-homes keys, and events in flight would run their handlers
 * again (harmless, handlers are idempotent, but wasteful).
 *
 * Retention: entries live LEDGER_TTL_MS (7 days, longer than Queues keep a message by default);
 * a daily alarm deletes what has expired.
 */
import { DurableObject } from "cloudflare:workers";
import { type ClaimOptions, type ClaimState, LEDGER_TTL_MS, type ProcessedLedger } from "../core/bus/ledger.ts";
import { durableIds } from "./durable-ids.ts";

const SHARDS = 16;
const SWEEP_EVERY_MS = 24 * 3_600_000;

export class EventLedger extends DurableObject<object> {
  #alarmChecked = false;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    // `until`: lease end while in progress, forget-after once done.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS processed (
      key TEXT PRIMARY KEY, state TEXT NOT NULL, owner TEXT NOT NULL, until INTEGER NOT NULL)`);
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS processed_until ON processed (until)");
  }

  async claim(key: string, owner: string, leaseMs: number): Promise<ClaimState> {
    // Check and set with no await in between: this is the atomic part.
    const now = Date.now();
    const row = this.ctx.storage.sql
      .exec<{ state: "in_progress" | "done"; until: number }>("SELECT state, until FROM processed WHERE key = ?", key)
      .toArray()[0];
    if (row && row.until > now) return row.state;
    this.#put(key, "in_progress", owner, now + leaseMs);
    await this.#scheduleSweep();
    return "new";
  }

  async complete(key: string, owner: string): Promise<void> {
    // Done whoever holds the claim now: the work did succeed.
    this.#put(key, "done", owner, Date.now() + LEDGER_TTL_MS);
    await this.#scheduleSweep();
  }

  async once(key: string, holdMs: number): Promise<boolean> {
    // Check and set with no await in between, as in claim.
    const now = Date.now();
    const row =
      this.ctx.storage.sql.exec<{ until: number }>("SELECT until FROM processed WHERE key = ?", key).toArray()[0];
    if (row && row.until > now) return false;
    this.#put(key, "done", "once", now + holdMs);
    await this.#scheduleSweep();
    return true;
  }

  release(key: string, owner: string): void {
    this.ctx.storage.sql.exec(
      "DELETE FROM processed WHERE key = ? AND owner = ?",
      key,
      owner,
    );
  }

  /** For tests and operators: one key's state, or null. */
  peek(key: string): { state: string; until: number } | null {
    return this.ctx.storage.sql.exec<{ state: string; until: number }>(
      "SELECT state, until FROM processed WHERE key = ?",
      key,
    ).toArray()[0] ?? null;
  }

  override async alarm(): Promise<void> {
    this.ctx.storage.sql.exec("DELETE FROM processed WHERE until <= ?", Date.now());
    const left = this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM processed").one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + SWEEP_EVERY_MS);
    else this.#alarmChecked = false;
  }

  #put(key: string, state: "in_progress" | "done", owner: string, until: number): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO processed (key, state, owner, until) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET state = excluded.state, owner = excluded.owner, until = excluded.until`,
      key,
      state,
      owner,
      until,
    );
  }

  async #scheduleSweep(): Promise<void> {
    if (this.#alarmChecked) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + SWEEP_EVERY_MS);
    this.#alarmChecked = true;
  }
}

/** ProcessedLedger over the EVENT_LEDGER namespace. */
export class DurableEventLedger implements ProcessedLedger {
  /** One id per shard (16), kept: ./durable-ids.ts. */
  readonly #ids: (name: string) => DurableObjectId;

  constructor(private readonly ns: DurableObjectNamespace<EventLedger>) {
    this.#ids = durableIds(ns);
  }

  claim(key: string, { owner, leaseMs }: ClaimOptions): Promise<ClaimState> {
    return this.#stub(key).claim(key, owner, leaseMs);
  }

  complete(key: string, owner: string): Promise<void> {
    return this.#stub(key).complete(key, owner);
  }

  async release(key: string, owner: string): Promise<void> {
    await this.#stub(key).release(key, owner);
  }

  once(key: string, holdMs: number): Promise<boolean> {
    return this.#stub(key).once(key, holdMs);
  }

  #stub(key: string) {
    return this.ns.get(this.#ids(shardOf(key)));
  }
}

/** FNV-1a: cheap, synchronous and evenly spread; nothing here needs a cryptographic hash. */
export function shardOf(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return `ledger-${(h >>> 0) % SHARDS}`;
}
