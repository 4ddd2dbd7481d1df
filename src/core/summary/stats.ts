/**
 * The dashboard's history: per-day aggregates of what finished, kept as it happens (the `stats`
 * bus handler, core/subscribers/handlers.ts), so no page ever re-reads the audit trail. One
 * bucket per UTC day holds rotations by outcome and reason and each containment time. Kept where
 * many writes a second are fine: a Durable Object on Workers (KV allows one write a second per
 * key; adapters/workers-stats.ts), Deno KV atomic operations on Deno (adapters/deno-kv-stats.ts).
 *
 * Events are delivered at least once, so every fact has an id and is counted once: the rotation's
 * id for its outcome, the `credential.revoked` event's id (derived from the revoked value) for a
 * containment. Ids are remembered for FACT_TTL_DAYS, longer than a redelivery can arrive late.
 */
import * as z from "zod/mini";
import type { BusEvent } from "../bus/events.ts";
import { rotationReasonSchema } from "../rotation/rotation.ts";
import { iso } from "../time.ts";
import type { RecordSummary } from "./record-summary.ts";
import type { RegistryFigures } from "./summary.ts";

const daySchema = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/));
const count = z.number().check(z.int(), z.gte(0));
const byReason = z.strictObject({ scheduled: count, manual: count, compromise: count, expiry: count });
export type ByReason = z.infer<typeof byReason>;

/** Containment points kept per day. More are counted (`containment_count`) but not drawn. */
export const MAX_POINTS_PER_DAY = 100;
/** How long a fact's id is remembered, and a day's bucket kept. */
export const FACT_TTL_DAYS = 40;

/** One containment: when (ms), its containment time (ms), whose. */
const pointSchema = z.strictObject({
  at: z.number(),
  ms: count,
  credential_id: z.string(),
  rotation_id: z.nullable(z.string()),
});

export const dayStatsSchema = z.strictObject({
  day: daySchema,
  done: byReason,
  failed: byReason,
  /** Failures that name no reason (a dead-lettered request's). */
  failed_other: count,
  containment: z.array(pointSchema).check(z.maxLength(MAX_POINTS_PER_DAY)),
  containment_count: count,
});
export type DayStats = z.infer<typeof dayStatsSchema>;

export type StatsFact =
  | { id: string; day: string; kind: "rotation"; outcome: "done" | "failed"; reason?: keyof ByReason }
  | { id: string; day: string; kind: "containment"; at: number; ms: number; credentialId: string; rotationId?: string };

export interface StatsStore {
  /** Counts the fact into its day, once per id however often it is recorded. */
  record(fact: StatsFact): Promise<void>;
  /** The buckets of days `from` to `to` (inclusive, YYYY-MM-DD) that have any; one storage read. */
  days(from: string, to: string): Promise<DayStats[]>;
  /** The registry's figures kept as credentials are written, where the store keeps them (Workers). */
  registry?: RegistryAggregate;
}

/**
 * Every credential's summary, kept beside the history and updated by each write of a record, so
 * a page counts them without listing the registry index (Workers: adapters/workers-stats.ts).
 */
export interface RegistryAggregate {
  /** The figures now; null until the aggregate has been seeded from one complete index listing. */
  figures(now: number): Promise<RegistryFigures | null>;
  /**
   * What a complete index listing said, for the credentials no write has told the aggregate about
   * (those last written before it existed); marks it seeded. A credential deleted or written
   * since the listing keeps what its write said.
   */
  seed(entries: Array<[string, RecordSummary]>): Promise<void>;
  /** `figures(now)` and the history's `days(from, to)` in one call (the home page needs both). */
  withDays(from: string, to: string, now: number): Promise<{ figures: RegistryFigures | null; days: DayStats[] }>;
}

const zero = (): ByReason => ({ scheduled: 0, manual: 0, compromise: 0, expiry: 0 });
export const emptyDay = (day: string): DayStats => ({
  day,
  done: zero(),
  failed: zero(),
  failed_other: 0,
  containment: [],
  containment_count: 0,
});

/** The bucket with one new fact counted in: the one merge rule every StatsStore applies. */
export function addFact(bucket: DayStats | undefined, fact: StatsFact): DayStats {
  const d = structuredClone(bucket ?? emptyDay(fact.day));
  if (fact.kind === "rotation") {
    if (fact.reason) d[fact.outcome][fact.reason]++;
    else if (fact.outcome === "failed") d.failed_other++;
  } else {
    d.containment_count++;
    if (d.containment.length < MAX_POINTS_PER_DAY) {
      d.containment.push({
        at: fact.at,
        ms: fact.ms,
        credential_id: fact.credentialId,
        rotation_id: fact.rotationId ?? null,
      });
    }
  }
  return d;
}

/** The UTC day (YYYY-MM-DD) a time falls on. */
export const dayOf = (ms: number) => iso(ms).slice(0, 10);

const isReason = (r: unknown): r is keyof ByReason => rotationReasonSchema.safeParse(r).success;

/** The fact an event contributes to the history, or null. */
export function factOf(event: BusEvent): StatsFact | null {
  const at = Date.parse(event.time);
  const day = dayOf(at);
  switch (event.type) {
    case "rotation.completed":
    case "rotation.failed": {
      const d = event.data;
      const reason = isReason(d.reason) ? { reason: d.reason } : {};
      const outcome = event.type === "rotation.completed" ? "done" as const : "failed" as const;
      // Counted per rotation: a dead letter about a rotation that also failed on its own counts once.
      return {
        id: d.rotation_id ? `rotation:${d.rotation_id}` : `event:${event.id}`,
        day,
        kind: "rotation",
        outcome,
        ...reason,
      };
    }
    case "credential.revoked": {
      const d = event.data;
      if (d.reason !== "compromise" || d.containment_ms === undefined) return null;
      return {
        id: `contained:${event.id}`,
        day,
        kind: "containment",
        at,
        ms: d.containment_ms,
        credentialId: d.credential_id,
        ...(d.rotation_id ? { rotationId: d.rotation_id } : {}),
      };
    }
    default:
      return null;
  }
}

/** In memory: unit tests, and the tests that build services without storage. */
export class MemoryStats implements StatsStore {
  #seen = new Set<string>();
  #days = new Map<string, DayStats>();

  async record(fact: StatsFact): Promise<void> {
    if (this.#seen.has(fact.id)) return;
    this.#seen.add(fact.id);
    this.#days.set(fact.day, addFact(this.#days.get(fact.day), fact));
  }

  async days(from: string, to: string): Promise<DayStats[]> {
    return [...this.#days.values()].filter((d) => d.day >= from && d.day <= to).sort((a, b) =>
      a.day.localeCompare(b.day)
    ).map((d) => structuredClone(d));
  }
}
