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
  type SweptPage,
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

/** A registry row as registrySweep reads it: the summary of version-0 rows only. */
type Held = { id: string; v: number; json: string | null };

/** How long an unfinished sweep pass's progress is kept (a pass over 100,000 takes minutes). */
const SWEEP_PROGRESS_MS = 86_400_000;

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
    // Until seeded: how far each sweep pass has reconciled the index without a gap (registrySweep).
    sql.exec(`CREATE TABLE IF NOT EXISTS sweeps (id TEXT PRIMARY KEY, upto TEXT NOT NULL, at INTEGER NOT NULL)`);
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
   * write), once. A deletion's row stays: the listing may be older than it. The listing, if taken
   * in the first minute after the deploy that brings the aggregate, lags KV, so it can count a
   * credential deleted (or miss one registered) just before that deploy by code without the
   * aggregate: the sweep's next pass mends that (registrySweep), where before the figure stayed off
   * until that id was next written.
   *
   * Kept beside the sweep's seeding: under MAX_INDEX_PAGES pages (core/summary/summary.ts) the
   * first view seeds at once instead of after the next cron sweep's whole pass, and it reads the
   * records of up to MAX_RECORD_READS entries listed without a summary, which the sweep does not.
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
      sql.exec("DELETE FROM sweeps"); // a pass under way has nothing left to seed
    });
    this.#registry = undefined;
  }

  /**
   * RegistryAggregate.swept: one page of a sweep pass's index listing (core/sweep/run.ts), taken
   * in one transaction. Only rows at version 0 change: those a listing alone told of (a seed, an
   * earlier page), for credentials last written before the aggregate existed. A row with a version
   * comes from the credential's cell, whose entries are newer than any listing of them, and a
   * deletion's row (json NULL) likewise; neither is touched. KV listings lag writes by up to about
   * a minute, so for each rule, what a stale page can do:
   * - fill: an id in the page without a row gets the page's summary at version 0; a version-0 row
   *   whose summary differs is replaced. Stale page: the id's newer state came from a cell, as a
   *   versioned row or tombstone this does not overwrite, and a tombstone is kept an hour
   *   (TOMBSTONE_MS), far longer than a page's age (the listing's lag plus the batch's seconds);
   *   if the cell's own call failed, its pending entry lands later at its version and wins. A
   *   version-0 row's index entry, written before the aggregate, is the same in every listing.
   * - delete: a version-0 row whose id lies inside the page's key range (after the previous page's
   *   last id up to this page's last, or to the end of the index when it is the last page) but is
   *   not in the page: the index no longer lists it, so the credential is gone (its deletion was
   *   made by code without the aggregate, so no tombstone came). Stale page: an id registered
   *   since is missing from it, but a registration is a cell write and has a version, so it is not
   *   deleted. Only an id written by old code within the listing's lag before the deploy could be
   *   missing while it exists: its row then comes back with the next pass that lists it.
   * - seeded: a pass whose pages, in order, each start where the previous one ended, from the
   *   index's start to a page that ends it, has reconciled every id; the aggregate then counts as
   *   seeded. A page lost (a failed or late call), an unknown start, or an entry listed without a
   *   summary and no row here (the aggregate cannot count it) leaves this pass unseeded; the next
   *   one tries again. Each call of one page does the same, so a repeat is harmless.
   */
  registrySweep(page: SweptPage): void {
    const { sweep, after, entries, complete } = page;
    if (typeof sweep !== "string" || !Array.isArray(entries) || (after !== null && typeof after !== "string")) return;
    const sql = this.ctx.storage.sql;
    const listed = new Set<string>();
    let uncounted = false;
    this.ctx.storage.transactionSync(() => {
      const first = entries[0]?.[0];
      const last = entries.at(-1)?.[0];
      // The page's key range (an unknown start: its own first id); nothing to do on an empty page
      // that does not end the index. One read of the rows in it: every listed id lies inside it,
      // a listing being in id order, so no row is read per id. Summaries of version-0 rows only.
      const from = after ?? first;
      const rows = from === undefined || (!complete && last === undefined) ? [] : sql.exec<Held>(
        `SELECT id, v, CASE WHEN v = 0 THEN json END AS json FROM registry WHERE id ${after === null ? ">=" : ">"} ?` +
          (complete ? "" : " AND id <= ?"),
        ...(complete ? [from] : [from, last!]),
      ).toArray();
      const held = new Map(rows.map((r) => [r.id, r]));
      for (const [id, meta] of entries) {
        if (typeof id !== "string") continue;
        listed.add(id);
        const row = held.get(id);
        if (!isRecordSummary(meta)) {
          uncounted ||= !row;
          continue;
        }
        if (row && (row.v !== 0 || row.json === null)) continue; // a cell's entry, or a deletion
        const json = JSON.stringify(meta);
        if (row?.json === json) continue;
        sql.exec(
          `INSERT INTO registry (id, json, v) VALUES (?, ?, 0)
           ON CONFLICT (id) DO UPDATE SET json = excluded.json WHERE registry.v = 0 AND registry.json IS NOT NULL`,
          id,
          json,
        );
        this.#registry?.set(id, meta);
      }
      for (const { id, v, json } of rows) {
        if (v !== 0 || json === null || listed.has(id)) continue;
        sql.exec("DELETE FROM registry WHERE id = ? AND v = 0", id);
        this.#registry?.delete(id);
      }
      if (this.#seeded()) return;
      const now = Date.now();
      sql.exec("DELETE FROM sweeps WHERE at < ?", now - SWEEP_PROGRESS_MS);
      const reached = sql.exec<{ upto: string }>("SELECT upto FROM sweeps WHERE id = ?", sweep).toArray()[0]?.upto;
      const follows = after === "" || (after !== null && reached === after);
      if (!follows) return;
      if (uncounted) {
        sql.exec("DELETE FROM sweeps WHERE id = ?", sweep);
      } else if (complete) {
        sql.exec("INSERT OR IGNORE INTO flags (name) VALUES ('seeded')");
        sql.exec("DELETE FROM sweeps");
        this.#registry = undefined;
      } else {
        sql.exec(
          "INSERT INTO sweeps (id, upto, at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET upto = excluded.upto, at = excluded.at",
          sweep,
          last ?? after,
          now,
        );
      }
    });
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
    swept: async (page) => {
      await this.#stub().registrySweep(page);
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
