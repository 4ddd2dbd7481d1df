/**
 * The re-encryption job record (core/maintenance/job.ts) on Deno KV: one key, compare-and-swap by
 * an atomic check of the versionstamp read (a null versionstamp checks that the key is absent).
 */
import { type JobStore, type ReencryptJob, reencryptJobSchema } from "../core/maintenance/job.ts";

const KEY: Deno.KvKey = ["maintenance", "job", "reencrypt"];

export class DenoKvJobStore implements JobStore {
  constructor(private readonly kv: Deno.Kv) {}

  async getJob() {
    const entry = await this.kv.get<string>(KEY);
    return entry.value === null
      ? null
      : { value: reencryptJobSchema.parse(JSON.parse(entry.value)), version: entry.versionstamp! };
  }

  async putJob(job: ReencryptJob, expected: string | null) {
    const res = await this.kv.atomic().check({ key: KEY, versionstamp: expected }).set(KEY, JSON.stringify(job))
      .commit();
    return res.ok ? res.versionstamp : null;
  }
}
