/**
 * Store on Deno KV: one database plays both parts the Worker splits between Workers KV and the
 * credential's Durable Object. Reads are strongly consistent, and every write is one atomic
 * operation guarded by `check` on the versionstamp last read (null: must not exist), so the
 * record, its sweep index entry and its fingerprint index entries change together or not at all.
 * The versionstamp is the Store's opaque version. Keys: docs/storage.md, "Deno KV".
 */
import { type CredentialRecord, credentialRecordSchema, fingerprintsOf } from "../core/credentials/credential.ts";
import { type Rotation, rotationSchema } from "../core/rotation/rotation.ts";
import type { IndexEntry, Page, Store, Versioned } from "../core/store/store.ts";
import { type IndexMetadata, indexMetadata } from "../core/store/index-metadata.ts";
import { isRecordSummary } from "../core/summary/record-summary.ts";
import { listPage } from "./deno-kv-page.ts";

const denoKeys = {
  /** Prefix of every credential record. */
  credentials: () => ["cred"],
  credential: (id: string) => ["cred", id],
  /** The sweep's index: next-action time only, so listing it reads no record. */
  nextIndex: () => ["cred-next"],
  next: (id: string) => ["cred-next", id],
  fingerprint: (fp: string) => ["fp", fp],
  /** Prefix of one credential's rotations. */
  rotations: (credentialId: string) => ["rot", credentialId],
  rotation: (credentialId: string, rotationId: string) => ["rot", credentialId, rotationId],
  /** Rotation id → credential id, for lookups by rotation id alone. */
  rotationOwner: (rotationId: string) => ["rot-id", rotationId],
} satisfies Record<string, (...parts: string[]) => Deno.KvKey>;

/** Deleting a credential with many rotations takes several operations of at most this many mutations. */
const DELETE_CHUNK = 500;
/** `kv.getMany` reads at most 10 keys per call. */
const GET_MANY = 10;

// Records are stored as JSON text and parsed with their schema on the way out, as on Workers, so
// both runtimes hand the engine exactly the same shapes (no structured-clone extras).
export class DenoKvStore implements Store {
  constructor(private readonly kv: Deno.Kv) {}

  async getCredential(id: string): Promise<Versioned<CredentialRecord> | null> {
    const entry = await this.kv.get<string>(denoKeys.credential(id));
    if (entry.versionstamp === null) return null;
    return { value: credentialRecordSchema.parse(JSON.parse(entry.value)), version: entry.versionstamp };
  }

  async putCredential(record: CredentialRecord, expected: string | null): Promise<string | null> {
    const key = denoKeys.credential(record.id);
    const before = await this.kv.get<string>(key);
    // A CAS that can only fail: skip it rather than compute index changes from the wrong version.
    if (before.versionstamp !== expected) return null;
    // Validated when it was written, and only its fingerprints are needed: no schema parse.
    const oldFps = before.value === null ? [] : fingerprintsOf(JSON.parse(before.value) as CredentialRecord);
    const newFps = fingerprintsOf(record);
    const op = this.kv
      .atomic()
      .check({ key, versionstamp: expected })
      .set(key, JSON.stringify(record))
      .set(denoKeys.next(record.id), indexMetadata(record));
    for (const fp of newFps) op.set(denoKeys.fingerprint(fp), record.id);
    for (const fp of oldFps.filter((f) => !newFps.includes(f))) op.delete(denoKeys.fingerprint(fp));
    const res = await op.commit();
    return res.ok ? res.versionstamp : null;
  }

  async deleteCredential(id: string): Promise<void> {
    const entry = await this.kv.get<string>(denoKeys.credential(id));
    const fps = entry.value === null ? [] : fingerprintsOf(credentialRecordSchema.parse(JSON.parse(entry.value)));
    const keys: Deno.KvKey[] = [denoKeys.credential(id), denoKeys.next(id), ...fps.map(denoKeys.fingerprint)];
    for await (const r of this.kv.list({ prefix: denoKeys.rotations(id) })) {
      keys.push(r.key, denoKeys.rotationOwner(String(r.key[2])));
    }
    // The record and its index entries go first and together: once the record is gone the
    // credential is unmanaged, whatever happens to the rotation history after.
    for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
      const op = this.kv.atomic();
      for (const k of keys.slice(i, i + DELETE_CHUNK)) op.delete(k);
      await op.commit();
    }
  }

  listCredentials(opts: { cursor?: string; limit: number }): Promise<Page<CredentialRecord>> {
    return listPage<string, CredentialRecord>(this.kv, denoKeys.credentials(), opts, (e) => {
      const parsed = credentialRecordSchema.safeParse(JSON.parse(e.value));
      return parsed.success ? parsed.data : undefined;
    });
  }

  listIndex(opts: { cursor?: string; limit: number }): Promise<Page<IndexEntry>> {
    return listPage<Partial<IndexMetadata>, IndexEntry>(this.kv, denoKeys.nextIndex(), opts, (e) => {
      return {
        id: String(e.key[1]),
        next_action_at: e.value.n ?? null,
        ...(e.value.a ? { left_alone: e.value.a } : {}),
        ...(isRecordSummary(e.value) ? { summary: e.value } : {}),
      };
    });
  }

  async findCredentialByFingerprint(fingerprint: string): Promise<string | null> {
    return (await this.kv.get<string>(denoKeys.fingerprint(fingerprint))).value;
  }

  async findCredentialsByFingerprints(fingerprints: readonly string[]): Promise<Map<string, string>> {
    const distinct = [...new Set(fingerprints)];
    const found = new Map<string, string>();
    for (let i = 0; i < distinct.length; i += GET_MANY) {
      const chunk = distinct.slice(i, i + GET_MANY);
      const entries = await this.kv.getMany<string[]>(chunk.map(denoKeys.fingerprint));
      entries.forEach((e, j) => {
        if (e.value !== null) found.set(chunk[j]!, e.value);
      });
    }
    return found;
  }

  async getRotation(credentialId: string, rotationId: string): Promise<Versioned<Rotation> | null> {
    const entry = await this.kv.get<string>(denoKeys.rotation(credentialId, rotationId));
    if (entry.versionstamp === null) return null;
    return { value: rotationSchema.parse(JSON.parse(entry.value)), version: entry.versionstamp };
  }

  async putRotation(rotation: Rotation, expected: string | null): Promise<string | null> {
    const key = denoKeys.rotation(rotation.credential_id, rotation.id);
    const op = this.kv.atomic().check({ key, versionstamp: expected }).set(key, JSON.stringify(rotation));
    // The rotation's credential never changes: written with the rotation's first version only.
    if (expected === null) op.set(denoKeys.rotationOwner(rotation.id), rotation.credential_id);
    const res = await op.commit();
    return res.ok ? res.versionstamp : null;
  }

  async findRotation(rotationId: string): Promise<Rotation | null> {
    const owner = await this.kv.get<string>(denoKeys.rotationOwner(rotationId));
    if (owner.value === null) return null;
    return (await this.getRotation(owner.value, rotationId))?.value ?? null;
  }

  async listRotations(credentialId: string): Promise<Rotation[]> {
    const all: Rotation[] = [];
    for await (const e of this.kv.list<string>({ prefix: denoKeys.rotations(credentialId) })) {
      all.push(rotationSchema.parse(JSON.parse(e.value)));
    }
    return all.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }
}
