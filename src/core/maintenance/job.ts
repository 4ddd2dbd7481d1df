/**
 * The re-encryption job record and where it is kept. One job at a time: its progress (cursor and
 * counters) is advanced by compare-and-swap after each batch, so a batch delivered twice, or two
 * consumers racing, move it on once. The record holds ids, counts and a list cursor, never a value.
 */
import * as z from "zod/mini";
import type { Versioned } from "../store/store.ts";

export const reencryptJobSchema = z.strictObject({
  id: z.string(),
  state: z.enum(["running", "done"]),
  /** The keyring version every record is being moved to (the newest when the job started). */
  target_version: z.number().check(z.int(), z.gte(1)),
  /** Where the next batch starts in the registry listing; null: at the beginning, or finished. */
  cursor: z.nullable(z.string()),
  batch_size: z.number().check(z.int(), z.gte(1), z.lte(1000)),
  batches: z.number().check(z.int(), z.gte(0)),
  scanned: z.number().check(z.int(), z.gte(0)),
  /**
   * Records the job's completed batches rewrote. A batch whose isolate died mid-page is run again
   * from its page's start, and the records the dead run had already moved are not counted again:
   * a lower bound after a crash, where `scanned` and `remaining` stay exact.
   */
  rewritten: z.number().check(z.int(), z.gte(0)),
  /**
   * Sealed values left behind (under an old version, or sealed before fields were bound) because
   * they would not open (tampered, or key dropped) or their record kept changing.
   */
  remaining: z.number().check(z.int(), z.gte(0)),
  requested_by: z.string(),
  started_at: z.string(),
  updated_at: z.string(),
  finished_at: z.nullable(z.string()),
});
export type ReencryptJob = z.infer<typeof reencryptJobSchema>;

/** Storage for the job record: a compare-and-swap register, like the credential store's. */
export interface JobStore {
  getJob(): Promise<Versioned<ReencryptJob> | null>;
  /** `expected` null: there must be no job yet. Returns the new version, or null on conflict. */
  putJob(job: ReencryptJob, expected: string | null): Promise<string | null>;
}

export class MemoryJobStore implements JobStore {
  #cell: { json: string; version: number } | null = null;

  async getJob() {
    return this.#cell
      ? { value: reencryptJobSchema.parse(JSON.parse(this.#cell.json)), version: String(this.#cell.version) }
      : null;
  }

  async putJob(job: ReencryptJob, expected: string | null) {
    if ((this.#cell ? String(this.#cell.version) : null) !== expected) return null;
    this.#cell = { json: JSON.stringify(job), version: (this.#cell?.version ?? 0) + 1 };
    return String(this.#cell.version);
  }
}
