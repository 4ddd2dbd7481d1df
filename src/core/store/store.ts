/**
 * The storage port. One interface, three implementations: Workers KV + a Durable Object per
 * credential (src/adapters/workers-store.ts), Deno KV (src/adapters/deno-kv-store.ts) and memory
 * (./memory-store.ts). One contract suite (test/support/store-contract.ts) runs against each.
 *
 * Consistency contract: `get*` by id and `put*` are strongly consistent per credential, and
 * `put*` is a compare-and-swap on the version returned by the last read. That is all the rotation
 * engine needs for "at most one rotation per credential" and crash-safe steps. Listing and the
 * fingerprint index may lag (Workers KV is eventually consistent); nothing that needs mutual
 * exclusion uses them.
 */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { Rotation } from "../rotation/rotation.ts";
import type { RecordSummary } from "../summary/record-summary.ts";

export interface Versioned<T> {
  value: T;
  /** Opaque; pass it back to put* to assert nothing changed since the read. */
  version: string;
}

export interface Page<T> {
  items: T[];
  /** Absent on the last page. */
  cursor?: string;
}

export interface IndexEntry {
  id: string;
  next_action_at?: number | null;
  /** Marked keys at Clarifai left alone for this credential (absent: none). */
  left_alone?: number;
  /**
   * The dashboard's summary of the record (absent: an entry written before it existed). It may
   * be the whole index metadata object, carrying the sweep's fields too: read its own fields only.
   */
  summary?: RecordSummary;
}

/** A fingerprint index entry with the hints its store keeps beside it (`findFingerprintWithManager`). */
export interface FingerprintHit {
  credentialId: string;
  managerId?: string;
  current?: true;
}

export interface Store {
  getCredential(id: string): Promise<Versioned<CredentialRecord> | null>;
  /** Compare-and-swap: `expected` null means "must not exist yet". Returns the new version, or null on conflict. */
  putCredential(record: CredentialRecord, expected: string | null): Promise<string | null>;
  /** Stops managing: the record, its rotations and its fingerprint index entries go. */
  deleteCredential(id: string): Promise<void>;
  listCredentials(opts: { cursor?: string; limit: number }): Promise<Page<CredentialRecord>>;
  /**
   * The registry index: every credential id with the time its next sweep action is due (null:
   * never; undefined: unknown, e.g. written before the index existed). Cheap by design: on
   * Workers one KV list operation per 1,000 credentials, no record reads.
   */
  listIndex(opts: { cursor?: string; limit: number }): Promise<Page<IndexEntry>>;
  /** Current or previous value's fingerprint → credential id. */
  findCredentialByFingerprint(fingerprint: string): Promise<string | null>;
  /**
   * The same lookup, with the credential's manager id as the index last saw it, where the store
   * keeps it beside the index entry at no extra cost (Workers: the KV entry's metadata, same one
   * operation). A hint only, which may lag like the index: it lets a leak alert read the manager's
   * record beside the credential's instead of after it (core/alerts/match-leak.ts), and is used
   * only when the credential's record names the same manager. `current`: the index last saw the
   * value as the credential's current one, not revoked (a hint too, lagging like the index): it
   * lets the alert publish its durable event beside the record's read instead of after it. Stores
   * without it omit the method.
   */
  findFingerprintWithManager?(fingerprint: string): Promise<FingerprintHit | null>;
  /**
   * The same index for many fingerprints at once: fingerprint → credential id, for the ones found
   * only (duplicates in the input are looked up once). Like the single lookup it may lag (KV).
   * Cost: on Workers one KV operation per 100 distinct fingerprints (bulk `get` of ≤ 100 keys);
   * on Deno KV one `getMany` per 10 (its limit per call); in memory, none.
   */
  findCredentialsByFingerprints(fingerprints: readonly string[]): Promise<Map<string, string>>;

  getRotation(credentialId: string, rotationId: string): Promise<Versioned<Rotation> | null>;
  putRotation(rotation: Rotation, expected: string | null): Promise<string | null>;
  /**
   * By rotation id alone (the API, the sweep's reconcile): gives the credential and whether the
   * rotation is running or how it settled; its step and lease may lag a strongly consistent read.
   */
  findRotation(rotationId: string): Promise<Rotation | null>;
  listRotations(credentialId: string): Promise<Rotation[]>;
}
