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
 */
import { DurableObject } from "cloudflare:workers";
import {
  addFact,
  dayOf,
  type DayStats,
  dayStatsSchema,
  FACT_TTL_DAYS,
  type StatsFact,
  type StatsStore,
} from "../core/summary/stats.ts";

const DAY_MS = 86_400_000;

export class Stats extends DurableObject<object> {
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS facts (id TEXT PRIMARY KEY, day TEXT NOT NULL)`);
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS facts_day ON facts (day)");
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS days (day TEXT PRIMARY KEY, json TEXT NOT NULL)`);
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

  /** The buckets of days `from`..`to`, as stored JSON. */
  days(from: string, to: string): string[] {
    return this.ctx.storage.sql.exec<{ json: string }>(
      "SELECT json FROM days WHERE day >= ? AND day <= ? ORDER BY day",
      from,
      to,
    ).toArray().map((r) => r.json);
  }
}

/** StatsStore over the STATS namespace. */
export class WorkersStats implements StatsStore {
  constructor(private readonly ns: DurableObjectNamespace<Stats>) {}

  #stub() {
    return this.ns.get(this.ns.idFromName("stats"));
  }

  async record(fact: StatsFact): Promise<void> {
    await this.#stub().record(fact);
  }

  async days(from: string, to: string): Promise<DayStats[]> {
    return (await this.#stub().days(from, to)).map((json) => dayStatsSchema.parse(JSON.parse(json)));
  }
}
