/**
 * The dashboard's history (core/summary/stats.ts) on Workers: one SQLite-backed Durable Object,
 * `Stats`, named "stats". Why not KV: a day's bucket changes with every rotation that finishes and
 * KV allows one write a second per key; a Durable Object takes many, in order. Each `record` is
 * one synchronous transaction (remember the fact's id, merge it into its day), so two deliveries
 * of one event, even at once, count it once. A page reads the 30 days in one call.
 *
 * One instance for the whole deployment: a write per finished rotation or containment, far below
 * the about a thousand requests a second one instance serves. Facts and days older than
 * FACT_TTL_DAYS are deleted when a new day's first fact arrives.
 *
 * It also keeps the registry aggregate (core/summary/stats.ts `RegistryAggregate`): every
 * credential's index entry, set by the credential's cell with each mirror it lands
 * (./credential-cell.ts), so the home page gets the registry's figures counted here, with the
 * history, in one call instead of listing the whole index in the Worker (bench P5
 * `ui_credentials_1000`: the listing's JSON and its garbage were most of the page). The cost: one
 * more call per credential write, beside its KV writes, to this one object; the counting (about
 * 0.1 ms per 1,000 summaries, parsed once per instance) is this object's own invocation. That
 * call never fails or holds a credential write: the cell bounds it and keeps what did not land
 * pending, then sends it again (./credential-cell.ts). So an entry can arrive late, after a newer
 * one: each carries its cell's version (`registryVersion`) and only a newer one replaces a row,
 * a deletion included (a row with json NULL, purged after TOMBSTONE_MS).
 */
import { DurableObject } from "cloudflare:workers";
import {
  addFact,
  dayOf,
  type DayStats,
  dayStatsSchema,
  FACT_TTL_DAYS,
  type RegistryAggregate,
  type StatsFact,
  type StatsStore,
} from "../core/summary/stats.ts";
import { isRecordSummary, type RecordSummary } from "../core/summary/record-summary.ts";
import { countSummaries, type RegistryFigures } from "../core/summary/summary.ts";

const DAY_MS = 86_400_000;

/** Versions per millisecond of `registryVersion`: room for a counter within one millisecond. */
const VERSIONS_PER_MS = 1024;
let lastVersion = 0;
/**
 * The version of a registry entry, given by the credential's cell as it takes the write: the
 * clock times VERSIONS_PER_MS plus a counter. The counter orders the writes of one instance within
 * a millisecond (the Workers clock stands still while code runs); the clock part keeps versions
 * rising where a counter alone would restart: after the cell is evicted, and after a `drop`
 * (which deletes the cell's storage, so a stored counter would restart too) and a re-registration
 * of the same id. The trade-off: it trusts the clock not to step back, between two instances of
 * one cell, by more than the time between their writes. Below 2^53 until the year 2245.
 */
export function registryVersion(now = Date.now()): number {
  lastVersion = Math.max(now * VERSIONS_PER_MS, lastVersion + 1);
  return lastVersion;
}

/**
 * How long a deletion is remembered: while an older entry of the id may still arrive. A cell's
 * call gives up after a second (REGISTRY_TIMEOUT_MS) and a late one normally lands within
 * seconds; an hour is far beyond that and keeps the table to the deletions of one hour.
 * It also bounds how old a seed's listing may be to not revive a deletion: a listing is taken
 * just before the seed (KV listings lag by up to a minute).
 */
const TOMBSTONE_MS = 3_600_000;

export class Stats extends DurableObject<object> {
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS facts (id TEXT PRIMARY KEY, day TEXT NOT NULL)`);
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS facts_day ON facts (day)");
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS days (day TEXT PRIMARY KEY, json TEXT NOT NULL)`);
    // The registry aggregate: each credential's summary and its version; json NULL marks a deletion.
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS registry (id TEXT PRIMARY KEY, json TEXT, v INTEGER NOT NULL DEFAULT 0)`);
    // An object deployed before versions has the table without `v`: its rows count as version 0.
    if (!sql.exec("SELECT * FROM registry LIMIT 0").columnNames.includes("v")) {
      sql.exec("ALTER TABLE registry ADD COLUMN v INTEGER NOT NULL DEFAULT 0");
    }
    sql.exec("CREATE INDEX IF NOT EXISTS registry_tombstones ON registry (v) WHERE json IS NULL");
    sql.exec(`CREATE TABLE IF NOT EXISTS flags (name TEXT PRIMARY KEY)`);
  }

  /** The summaries, parsed once per instance and kept current by every write (id → summary). */
  #registry?: Map<string, RecordSummary>;

  #seeded(): boolean {
    return this.ctx.storage.sql.exec("SELECT name FROM flags WHERE name = 'seeded'").toArray().length > 0;
  }

  /**
   * A credential cell's entries: each id's summary as a committed write says, null when it was
   * deleted, with the cell's version of it. Only a newer version replaces a row, so a repeat (a
   * lost answer, the cell's alarm) and a late arrival (a call the cell stopped waiting for) are
   * harmless, and a deletion's row (json NULL) keeps an older entry from bringing the id back.
   */
  registryWrite(changes: Array<[string, Record<string, unknown> | null, number]>): void {
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const [id, meta, v] of changes) {
        if (typeof id !== "string" || !Number.isSafeInteger(v)) continue;
        const summary = isRecordSummary(meta) ? meta : null;
        const applied = sql.exec(
          `INSERT INTO registry (id, json, v) VALUES (?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET json = excluded.json, v = excluded.v WHERE excluded.v > registry.v`,
          id,
          summary ? JSON.stringify(summary) : null,
          v,
        ).rowsWritten > 0;
        if (!applied) continue;
        if (summary) this.#registry?.set(id, summary);
        else this.#registry?.delete(id);
      }
      sql.exec(
        "DELETE FROM registry WHERE json IS NULL AND v < ?",
        (Date.now() - TOMBSTONE_MS) * VERSIONS_PER_MS,
      );
    });
  }

  /**
   * RegistryAggregate.seed: fills the ids no write has told of (as version 0, older than any
   * write), once. A deletion's row stays: the listing may be older than it. Not reconciled: the
   * listing, taken in the first minute after the deploy that brings the aggregate, lags KV, so it
   * can count a credential deleted (or miss one registered) just before that deploy by code
   * without the aggregate; the figure stays off until that id is next written.
   */
  registrySeed(entries: Array<[string, Record<string, unknown>]>): void {
    if (this.#seeded()) return;
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const [id, meta] of entries) {
        if (isRecordSummary(meta)) {
          sql.exec("INSERT OR IGNORE INTO registry (id, json, v) VALUES (?, ?, 0)", id, JSON.stringify(meta));
        }
      }
      sql.exec("INSERT OR IGNORE INTO flags (name) VALUES ('seeded')");
    });
    this.#registry = undefined;
  }

  /** The registry's figures now, in id order as a listing counts them; null until seeded. */
  registryFigures(now: number): RegistryFigures | null {
    if (!this.#seeded()) return null;
    if (!this.#registry) {
      this.#registry = new Map();
      const rows = this.ctx.storage.sql.exec<{ id: string; json: string }>(
        "SELECT id, json FROM registry WHERE json IS NOT NULL",
      );
      for (const row of rows) {
        const s: unknown = JSON.parse(row.json);
        if (isRecordSummary(s)) this.#registry.set(row.id, s);
      }
    }
    const registry = this.#registry;
    return countSummaries([...registry.keys()].sort().map((id) => registry.get(id)!), now);
  }

  /** Counts the fact once; false when its id was already counted (or its day is past keeping). */
  record(fact: StatsFact): boolean {
    const sql = this.ctx.storage.sql;
    const cutoff = dayOf(Date.now() - FACT_TTL_DAYS * DAY_MS);
    if (fact.day < cutoff) return false;
    return this.ctx.storage.transactionSync(() => {
      if (sql.exec("INSERT OR IGNORE INTO facts (id, day) VALUES (?, ?)", fact.id, fact.day).rowsWritten === 0) {
        return false;
      }
      const row = sql.exec<{ json: string }>("SELECT json FROM days WHERE day = ?", fact.day).toArray()[0];
      const next = addFact(row ? (JSON.parse(row.json) as DayStats) : undefined, fact);
      sql.exec(
        "INSERT INTO days (day, json) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET json = excluded.json",
        fact.day,
        JSON.stringify(next),
      );
      if (!row) {
        sql.exec("DELETE FROM facts WHERE day < ?", cutoff);
        sql.exec("DELETE FROM days WHERE day < ?", cutoff);
      }
      return true;
    });
  }

  /** registryFigures and days in one call: the home page's two reads. */
  registryWithDays(from: string, to: string, now: number): { figures: RegistryFigures | null; days: string[] } {
    return { figures: this.registryFigures(now), days: this.days(from, to) };
  }

  /** The buckets of days `from`..`to`, as stored JSON. */
  days(from: string, to: string): string[] {
    return this.ctx.storage.sql.exec<{ json: string }>(
      "SELECT json FROM days WHERE day >= ? AND day <= ? ORDER BY day",
      from,
      to,
    ).toArray().map((r) => r.json);
  }
}

/** The one Stats object. */
export const statsStub = (ns: DurableObjectNamespace<Stats>) => ns.get(ns.idFromName("stats"));

/** StatsStore over the STATS namespace. */
export class WorkersStats implements StatsStore {
  constructor(private readonly ns: DurableObjectNamespace<Stats>) {}

  #stub() {
    return statsStub(this.ns);
  }

  readonly registry: RegistryAggregate = {
    figures: async (now) => (await this.#stub().registryFigures(now)) as RegistryFigures | null,
    seed: async (entries) => {
      await this.#stub().registrySeed(entries);
    },
    withDays: async (from, to, now) => {
      const both = await this.#stub().registryWithDays(from, to, now);
      return {
        figures: both.figures as RegistryFigures | null,
        days: both.days.map((json) => dayStatsSchema.parse(JSON.parse(json))),
      };
    },
  };

  async record(fact: StatsFact): Promise<void> {
    await this.#stub().record(fact);
  }

  async days(from: string, to: string): Promise<DayStats[]> {
    return (await this.#stub().days(from, to)).map((json) => dayStatsSchema.parse(JSON.parse(json)));
  }
}
