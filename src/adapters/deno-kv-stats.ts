/**
 * The dashboard's history (core/summary/stats.ts) on Deno KV. A fact is counted by one atomic
 * operation that checks its id was never seen and its day's bucket is unchanged since read, then
 * writes both: two deliveries of one event count it once, and concurrent facts of one day retry.
 * Ids expire after FACT_TTL_DAYS (`expireIn`), day buckets likewise.
 */
import {
  addFact,
  type DayStats,
  dayStatsSchema,
  FACT_TTL_DAYS,
  type StatsFact,
  type StatsStore,
} from "../core/summary/stats.ts";

const TTL_MS = FACT_TTL_DAYS * 86_400_000;
const MAX_TRIES = 50;
const dayKey = (day: string): Deno.KvKey => ["stats", "day", day];
const factKey = (id: string): Deno.KvKey => ["stats", "fact", id];

export class DenoKvStats implements StatsStore {
  constructor(private readonly kv: Deno.Kv) {}

  async record(fact: StatsFact): Promise<void> {
    for (let i = 0; i < MAX_TRIES; i++) {
      const [seen, bucket] = await this.kv.getMany<[number, string]>([factKey(fact.id), dayKey(fact.day)]);
      if (seen.versionstamp !== null) return;
      const next = addFact(bucket.value === null ? undefined : dayStatsSchema.parse(JSON.parse(bucket.value)), fact);
      const res = await this.kv.atomic()
        .check({ key: factKey(fact.id), versionstamp: null }, {
          key: dayKey(fact.day),
          versionstamp: bucket.versionstamp,
        })
        .set(factKey(fact.id), 1, { expireIn: TTL_MS })
        .set(dayKey(fact.day), JSON.stringify(next), { expireIn: TTL_MS })
        .commit();
      if (res.ok) return;
    }
    throw new Error("Cannot record a dashboard fact: its day kept changing");
  }

  async days(from: string, to: string): Promise<DayStats[]> {
    const out: DayStats[] = [];
    // `end` is exclusive: the day after `to` in key order is any longer string with `to` as prefix.
    for await (const e of this.kv.list<string>({ start: dayKey(from), end: ["stats", "day", `${to}\u0000`] })) {
      out.push(dayStatsSchema.parse(JSON.parse(e.value)));
    }
    return out;
  }
}
