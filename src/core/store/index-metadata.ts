/**
 * What the registry index keeps beside each credential id (KV key metadata on Workers, a
 * `cred-next` entry on Deno), rewritten with every write of the record: `n`, the next sweep action
 * time (core/sweep/rules.ts), so a sweep reads only records that are due; `a`, how many marked
 * keys were left alone, so the plan can list them without reading every record; and the
 * dashboard's summary of the record (core/summary/record-summary.ts). All of it fits KV's 1 KiB.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import { type RecordSummary, recordSummary } from "../summary/record-summary.ts";
import { nextActionAt } from "../sweep/rules.ts";

export type IndexMetadata = { n: number | null; a?: number } & RecordSummary;

export function indexMetadata(rec: CredentialRecord): IndexMetadata {
  return {
    n: nextActionAt(rec),
    ...(rec.left_alone?.length ? { a: rec.left_alone.length } : {}),
    ...recordSummary(rec),
  };
}
