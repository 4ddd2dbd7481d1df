/**
 * The figures of the dashboard's home page and of GET /v1/summary, from aggregates only:
 * - now and the next 7 days: each credential's summary (./record-summary.ts), counted here; the
 *   schedule is the sweep's own (core/sweep/rules.ts `scheduledActions`). Where the stats store
 *   keeps a registry aggregate (Workers: every credential write sets its summary there, in the
 *   same object as the history), one call returns the counted figures with the history; else,
 *   and until that aggregate is seeded, one listing of the registry index, whose entries carry the
 *   summaries (1,000 per KV operation, no record read);
 * - the last 30 days: the day buckets the `stats` handler keeps as rotations finish (./stats.ts),
 *   one read.
 * So a page view costs one Durable Object call on Workers (ceil(credentials / 1,000) index
 * listings and one read of the history elsewhere), whatever the length of the audit trail. At
 * most MAX_INDEX_PAGES listings are made (a request's CPU is limited); past that the figures say
 * they are partial (`coverage`), and such a listing does not seed an aggregate.
 */
import { OVERDUE_AFTER_MS } from "../rotation/owed-revocations.ts";
import type { Store } from "../store/store.ts";
import { iso } from "../time.ts";
import { FLAGS, type RecordSummary, recordSummary } from "./record-summary.ts";
import { type ByReason, dayOf, type DayStats, emptyDay, type RegistryAggregate, type StatsStore } from "./stats.ts";
import type { Summary } from "./summary-schema.ts";

export type { Summary };

const DAY = 86_400_000;
const HISTORY_DAYS = 30;
const SCHEDULE_DAYS = 7;
/** Index listings (1,000 credentials each) one summary reads at most. */
const MAX_INDEX_PAGES = 10;
/** Index entries without a summary (written before it existed) whose records are read instead. */
const MAX_RECORD_READS = 20;
const INDEX_PAGE = 1000;

interface Tallies {
  credentials: Summary["credentials"];
  owed: Summary["owed_revocations"];
  rotations: Summary["rotations"];
  schedule: Summary["next_7_days"];
  versions: Map<number, number>;
  legacy: number;
  sealings: Map<number | string, { versions: number[]; legacy: boolean; credentials: number }>;
}

/** The day of the next 7 a time falls in (anything already due: today), if within them. */
function slot(t: Tallies, at: number, today: number) {
  const i = at < today ? 0 : Math.floor((at - today) / DAY);
  return i < SCHEDULE_DAYS ? t.schedule[i] : undefined;
}

/**
 * Counts one credential's summary in (its stored form: ./record-summary.ts). Called for every
 * credential on every view of the home page, so it allocates nothing in the usual case: no
 * closure, no empty array for absent owed values, and the usual sealing (one key version, no
 * legacy AAD) keyed by its version number rather than a string built per credential.
 */
function count1(t: Tallies, s: RecordSummary, now: number, today: number) {
  const f = s.f ?? 0;
  t.credentials.total++;
  t.credentials[s.s]++;
  if (f & FLAGS.leakedLive) t.credentials.leaked_live++;
  if (f & FLAGS.needsManager) t.credentials.needs_manager++;
  if (f & FLAGS.rotating) t.rotations.running++;
  if (f & FLAGS.lastFailed) t.rotations.failed++;
  if (s.g) {
    for (const [at, revokeAfter, leaked] of s.g) {
      if (revokeAfter <= now) {
        t.owed.total++;
        if (leaked || now - revokeAfter > OVERDUE_AFTER_MS) t.owed.overdue++;
      }
      const d = slot(t, at, today);
      if (d) d.revoke_previous++;
    }
  }
  if (s.r !== undefined) {
    const d = slot(t, s.r, today);
    if (d) d.rotate++;
  }
  if (s.x !== undefined) {
    const d = slot(t, s.x, today);
    if (d) d.expire++;
  }
  for (const v of s.k) t.versions.set(v, (t.versions.get(v) ?? 0) + 1);
  if (s.l) t.legacy++;
  // A number for one version without legacy AAD, else "v1,v2[+legacy]" (an array's text joins
  // with commas): never equal to each other.
  const sealing = s.l ? `${s.k}+legacy` : s.k.length === 1 ? s.k[0]! : `${s.k}`;
  const seen = t.sealings.get(sealing);
  if (seen) seen.credentials++;
  else t.sealings.set(sealing, { versions: s.k, legacy: s.l === 1, credentials: 1 });
}

export async function buildSummary(
  deps: { store: Store; stats: StatsStore },
  now: number,
  opts: { maxIndexPages?: number } = {},
): Promise<Summary> {
  const today = Math.floor(now / DAY) * DAY;
  const from = dayOf(today - (HISTORY_DAYS - 1) * DAY);
  const to = dayOf(today);
  // The history is one read, made beside the index listing, or with the registry aggregate.
  const [registry, history] = deps.stats.registry
    ? await aggregated(deps, deps.stats.registry, from, to, now, opts)
    : await Promise.all([registryFigures(deps, now, opts), deps.stats.days(from, to)]);
  return {
    generated_at: iso(now),
    credentials: registry.credentials,
    owed_revocations: registry.owed_revocations,
    rotations: registry.rotations,
    last_30_days: lastDays(history, today, from, to),
    next_7_days: registry.schedule,
    key_versions: registry.key_versions,
    legacy_sealed: registry.legacy_sealed,
    coverage: registry.coverage,
  };
}

export type RegistryFigures = Omit<Summary, "generated_at" | "last_30_days" | "next_7_days"> & {
  schedule: Summary["next_7_days"];
  /** Credentials by the set of key versions (and AAD format) their values are sealed under. */
  sealings: Array<{ versions: number[]; legacy: boolean; credentials: number }>;
};

/**
 * Everything the registry index says (the maintenance page needs no history). From the stats
 * store's registry aggregate when it keeps one (Workers: adapters/workers-stats.ts), a few hundred
 * bytes from one call; else, or while the aggregate has not been seeded yet, from listing the
 * index, whose complete listing then seeds it.
 */
export async function registryFigures(
  deps: { store: Store; stats?: StatsStore },
  now: number,
  opts: { maxIndexPages?: number } = {},
): Promise<RegistryFigures> {
  const aggregate = deps.stats?.registry;
  return (aggregate ? await aggregate.figures(now) : null) ?? await seeded(deps.store, aggregate, now, opts);
}

async function aggregated(
  deps: { store: Store },
  aggregate: RegistryAggregate,
  from: string,
  to: string,
  now: number,
  opts: { maxIndexPages?: number },
): Promise<[RegistryFigures, DayStats[]]> {
  const { figures, days } = await aggregate.withDays(from, to, now);
  return [figures ?? await seeded(deps.store, aggregate, now, opts), days];
}

/** Until the aggregate is seeded: the figures from listing the index, whose complete listing seeds it. */
async function seeded(
  store: Store,
  aggregate: RegistryAggregate | undefined,
  now: number,
  opts: { maxIndexPages?: number },
): Promise<RegistryFigures> {
  const { figures, entries } = await listedFigures(store, now, opts);
  if (aggregate && !figures.coverage.partial) await aggregate.seed(entries);
  return figures;
}

function newTallies(today: number): Tallies {
  return {
    credentials: { total: 0, active: 0, revoked: 0, leaked_live: 0, needs_manager: 0 },
    owed: { total: 0, overdue: 0 },
    rotations: { running: 0, failed: 0 },
    schedule: Array.from({ length: SCHEDULE_DAYS }, (_, i) => ({
      date: dayOf(today + i * DAY),
      rotate: 0,
      revoke_previous: 0,
      expire: 0,
    })),
    versions: new Map(),
    legacy: 0,
    sealings: new Map(),
  };
}

function figuresOf(t: Tallies, partial: boolean, notSummarised: number): RegistryFigures {
  return {
    credentials: t.credentials,
    owed_revocations: t.owed,
    rotations: t.rotations,
    schedule: t.schedule,
    key_versions: [...t.versions].sort(([a], [b]) => a - b).map(([version, credentials]) => ({ version, credentials })),
    legacy_sealed: t.legacy,
    coverage: { credentials: t.credentials.total, partial, not_summarised: notSummarised },
    sealings: [...t.sealings.values()],
  };
}

/** The figures of these summaries, in this order (the order sealings are listed in): the aggregate's count. */
export function countSummaries(summaries: Iterable<RecordSummary>, now: number): RegistryFigures {
  const today = Math.floor(now / DAY) * DAY;
  const t = newTallies(today);
  for (const s of summaries) count1(t, s, now, today);
  return figuresOf(t, false, 0);
}

/** The figures from listing the index, and its entries' summaries (what seeds an aggregate). */
async function listedFigures(
  store: Store,
  now: number,
  opts: { maxIndexPages?: number },
): Promise<{ figures: RegistryFigures; entries: Array<[string, RecordSummary]> }> {
  const today = Math.floor(now / DAY) * DAY;
  const t = newTallies(today);
  const entries: Array<[string, RecordSummary]> = [];
  const maxPages = opts.maxIndexPages ?? MAX_INDEX_PAGES;
  const unsummarised: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  let partial = false;
  do {
    const page = await store.listIndex({ limit: INDEX_PAGE, ...(cursor ? { cursor } : {}) });
    for (const e of page.items) {
      if (e.summary) {
        count1(t, e.summary, now, today);
        entries.push([e.id, e.summary]);
      } else unsummarised.push(e.id);
    }
    cursor = page.cursor;
    if (cursor && ++pages >= maxPages) partial = true;
  } while (cursor && !partial);
  // Entries from before the summary existed: their records, a few (each is a Durable Object read).
  const read = unsummarised.slice(0, MAX_RECORD_READS);
  for (const found of await Promise.all(read.map((id) => store.getCredential(id)))) {
    if (found) {
      const s = recordSummary(found.value);
      count1(t, s, now, today);
      entries.push([found.value.id, s]);
    }
  }
  const notSummarised = unsummarised.length - read.length;
  return { figures: figuresOf(t, partial || notSummarised > 0, notSummarised), entries };
}

const sum = (r: ByReason) => r.scheduled + r.manual + r.compromise + r.expiry;
const plus = (a: ByReason, b: ByReason): ByReason => ({
  scheduled: a.scheduled + b.scheduled,
  manual: a.manual + b.manual,
  compromise: a.compromise + b.compromise,
  expiry: a.expiry + b.expiry,
});

function lastDays(buckets: DayStats[], today: number, from: string, to: string): Summary["last_30_days"] {
  const byDay = new Map(buckets.map((b) => [b.day, b]));
  const days = Array.from({ length: HISTORY_DAYS }, (_, i) => {
    const date = dayOf(today - (HISTORY_DAYS - 1 - i) * DAY);
    const b = byDay.get(date) ?? emptyDay(date);
    return { date, done: sum(b.done), failed: sum(b.failed) + b.failed_other, by_reason: plus(b.done, b.failed) };
  });
  const points = buckets.flatMap((b) => b.containment).sort((a, b) => a.at - b.at).map((p) => ({
    at: iso(p.at),
    containment_ms: p.ms,
    credential_id: p.credential_id,
    rotation_id: p.rotation_id,
  }));
  const sorted = points.map((p) => p.containment_ms).sort((a, b) => a - b);
  return {
    from,
    to,
    days,
    done: days.reduce((n, d) => n + d.done, 0),
    failed: days.reduce((n, d) => n + d.failed, 0),
    by_reason: days.reduce((r, d) => plus(r, d.by_reason), { scheduled: 0, manual: 0, compromise: 0, expiry: 0 }),
    containment: {
      count: buckets.reduce((n, b) => n + b.containment_count, 0),
      median_ms: percentile(sorted, 50),
      p95_ms: percentile(sorted, 95),
      max_ms: sorted.at(-1) ?? null,
      points,
    },
  };
}

/** Nearest-rank percentile of ascending values; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
