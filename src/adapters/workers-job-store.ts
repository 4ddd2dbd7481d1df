/**
 * The re-encryption job record on Workers: one cell of a dedicated CredentialCell Durable Object
 * (named "maintenance", so it never collides with a credential id, which all start "cred_"). The
 * DO gives the compare-and-swap; nothing is mirrored to KV because only the job reads it.
 */
import type { CredentialCell } from "./credential-cell.ts";
import { type JobStore, type ReencryptJob, reencryptJobSchema } from "../core/maintenance/job.ts";

const KEY = "job:reencrypt";

export class WorkersJobStore implements JobStore {
  constructor(private readonly cells: DurableObjectNamespace<CredentialCell>) {}

  #cell() {
    return this.cells.get(this.cells.idFromName("maintenance"));
  }

  async getJob() {
    const cell = await this.#cell().read(KEY);
    return cell ? { value: reencryptJobSchema.parse(JSON.parse(cell.json)), version: String(cell.version) } : null;
  }

  async putJob(job: ReencryptJob, expected: string | null) {
    const version = await this.#cell().write({
      key: KEY,
      expected: expected === null ? null : Number(expected),
      json: JSON.stringify(job),
      mirror: {},
    });
    return version === null ? null : String(version);
  }
}
