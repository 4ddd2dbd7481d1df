/**
 * Store on Workers: strongly consistent reads and compare-and-swap writes go to the credential's
 * Durable Object (./credential-cell.ts); listing, the fingerprint index and lookups of a rotation
 * by id alone read Workers KV, which the DO keeps mirrored. KV schema: docs/storage.md.
 */
import { type CredentialRecord, credentialRecordSchema, fingerprintsOf } from "../core/credentials/credential.ts";
import { type Rotation, rotationSchema } from "../core/rotation/rotation.ts";
import type { FingerprintHit, IndexEntry, Page, Store, Versioned } from "../core/store/store.ts";
import { type IndexMetadata, indexMetadata } from "../core/store/index-metadata.ts";
import { isRecordSummary } from "../core/summary/record-summary.ts";
import type { CredentialCell } from "./credential-cell.ts";
import { durableIds } from "./durable-ids.ts";

export const kvKeys = {
  credential: (id: string) => `cred:${id}`,
  fingerprint: (fp: string) => `fp:${fp}`,
  rotation: (id: string) => `rot:${id}`,
};
const CREDENTIAL = "credential";
/** Workers KV's bulk get takes at most 100 keys; each call is one KV operation. */
const KV_BULK_GET = 100;
const rotationCell = (id: string) => `rotation:${id}`;

/**
 * The last parse of each Durable Object cell this isolate read, by the cell's version and exact
 * JSON text. Every read still goes to the Durable Object (strongly consistent: nothing is served
 * that the cell does not hold now); what is saved is validating the same text again, which a
 * rotation does several times a step (the credential and its manager are read at each lease, step
 * and update; bench P5: a record's zod parse is about three times its JSON.parse). A hit returns a
 * fresh copy of the earlier parse (JSON of the parsed value, parsed again), so readers never share
 * an object and may change what they read, as the Store contract allows.
 */
class ParsedCells {
  readonly #cells = new Map<string, { version: number; json: string; parsed: string }>();
  static readonly MAX = 256;

  parse<T>(key: string, cell: { json: string; version: number }, parse: (json: string) => T): T {
    const hit = this.#cells.get(key);
    if (hit && hit.version === cell.version && hit.json === cell.json) return JSON.parse(hit.parsed) as T;
    const value = parse(cell.json);
    this.#cells.delete(key);
    if (this.#cells.size >= ParsedCells.MAX) this.#cells.delete(this.#cells.keys().next().value!);
    // The parse as JSON: its own text when parsing changed nothing, as is usual.
    const text = JSON.stringify(value);
    this.#cells.set(key, { version: cell.version, json: cell.json, parsed: text === cell.json ? cell.json : text });
    return value;
  }
}

const parsedCells = new ParsedCells();

/**
 * An `fp:` entry's metadata: the manager the record names, and `current: true` on the entry of
 * the record's current value while the credential is not revoked (what `matchRecord` calls a
 * current match). Both are hints that lag like the index itself (Workers KV); the record read
 * decides (core/alerts/match-leak.ts). Every write of the record writes every entry again, so a
 * rotation's promote clears the flag from the value it supersedes and a revocation from the last.
 */
function fingerprintMetadata(record: CredentialRecord, key: string): Record<string, unknown> | undefined {
  const current = record.state !== "revoked" && key === kvKeys.fingerprint(record.fingerprint);
  if (!record.manager_id && !current) return undefined;
  return { ...(record.manager_id ? { manager_id: record.manager_id } : {}), ...(current ? { current: true } : {}) };
}

export class WorkersStore implements Store {
  readonly #ids: (name: string) => DurableObjectId;

  constructor(
    private readonly kv: KVNamespace,
    private readonly cells: DurableObjectNamespace<CredentialCell>,
  ) {
    this.#ids = durableIds(cells);
  }

  #cell(credentialId: string) {
    return this.cells.get(this.#ids(credentialId));
  }

  async getCredential(id: string): Promise<Versioned<CredentialRecord> | null> {
    const cell = await this.#cell(id).read(CREDENTIAL);
    if (!cell) return null;
    const value = parsedCells.parse(
      `${id}/${CREDENTIAL}`,
      cell,
      (json) => credentialRecordSchema.parse(JSON.parse(json)),
    );
    return { value, version: String(cell.version) };
  }

  async putCredential(record: CredentialRecord, expected: string | null): Promise<string | null> {
    const fps = fingerprintsOf(record).map(kvKeys.fingerprint);
    // One serialisation for the cell and its KV copy (bench P5: each is a whole record).
    const json = JSON.stringify(record);
    const meta = indexMetadata(record);
    const version = await this.#cell(record.id).write({
      key: CREDENTIAL,
      expected: expected === null ? null : Number(expected),
      json,
      mirror: {
        // The sweep's index rides in the key's metadata: listing reads it without reading values.
        put: [
          [kvKeys.credential(record.id), json, meta],
          // The manager's id, and whether the value is the record's live current one, ride along
          // as the entry's metadata (`findFingerprintWithManager`).
          ...fps.map((k) => {
            const meta = fingerprintMetadata(record, k);
            return meta ? ([k, record.id, meta] as [string, string, Record<string, unknown>]) : ([k, record.id] as [
              string,
              string,
            ]);
          }),
        ],
        // Fingerprints the record no longer has (a revoked value's stays: it is in `previous`) are deleted by the cell.
        owned: [kvKeys.credential(record.id), ...fps],
        // The dashboard's registry aggregate (workers-stats.ts) takes the same entry.
        registry: [[record.id, meta]],
      },
    });
    return version === null ? null : String(version);
  }

  async deleteCredential(id: string): Promise<void> {
    const stub = this.#cell(id);
    const current = await stub.read(CREDENTIAL);
    const fps = current ? fingerprintsOf(credentialRecordSchema.parse(JSON.parse(current.json))) : [];
    const rotations = (await stub.list("rotation:")).map((r) => rotationSchema.parse(JSON.parse(r)).id);
    await stub.drop({
      delete: [kvKeys.credential(id), ...fps.map(kvKeys.fingerprint), ...rotations.map(kvKeys.rotation)],
      registry: [[id, null]],
    });
  }

  async listCredentials(opts: { cursor?: string; limit: number }): Promise<Page<CredentialRecord>> {
    const listed = await this.kv.list({ prefix: "cred:", limit: Math.min(opts.limit, 1000), cursor: opts.cursor });
    const names = listed.keys.map((k) => k.name);
    const items: CredentialRecord[] = [];
    // Bulk get: up to 100 keys count as one KV operation.
    for (let i = 0; i < names.length; i += 100) {
      const values = await this.kv.get(names.slice(i, i + 100), "json");
      for (const name of names.slice(i, i + 100)) {
        const parsed = credentialRecordSchema.safeParse(values.get(name));
        if (parsed.success) items.push(parsed.data);
      }
    }
    return listed.list_complete ? { items } : { items, cursor: listed.cursor };
  }

  async listIndex(opts: { cursor?: string; limit: number }): Promise<Page<IndexEntry>> {
    const listed = await this.kv.list<Partial<IndexMetadata>>({
      prefix: "cred:",
      limit: Math.min(opts.limit, 1000),
      ...(opts.cursor ? { cursor: opts.cursor } : {}),
    });
    // One object per entry, its fields assigned: a listing has a thousand, read on every view of
    // the dashboard's home page and every sweep batch, and conditional spreads allocated three
    // more objects each (about 3× the mapping's time in a Node micro-benchmark, and GC after).
    const items = listed.keys.map((k) => {
      const m = k.metadata;
      const entry: IndexEntry = { id: k.name.slice("cred:".length) };
      if (m) {
        if ("n" in m) entry.next_action_at = m.n ?? null;
        if (m.a) entry.left_alone = m.a;
        // The metadata object itself: no copy per entry.
        if (isRecordSummary(m)) entry.summary = m;
      }
      return entry;
    });
    return listed.list_complete ? { items } : { items, cursor: listed.cursor };
  }

  findCredentialByFingerprint(fingerprint: string): Promise<string | null> {
    return this.kv.get(kvKeys.fingerprint(fingerprint));
  }

  async findFingerprintWithManager(fingerprint: string): Promise<FingerprintHit | null> {
    const { value, metadata } = await this.kv.getWithMetadata<{ manager_id?: unknown; current?: unknown }>(
      kvKeys.fingerprint(fingerprint),
    );
    if (value === null) return null;
    const managerId = typeof metadata?.manager_id === "string" ? metadata.manager_id : undefined;
    return {
      credentialId: value,
      ...(managerId ? { managerId } : {}),
      ...(metadata?.current === true ? { current: true as const } : {}),
    };
  }

  async findCredentialsByFingerprints(fingerprints: readonly string[]): Promise<Map<string, string>> {
    const distinct = [...new Set(fingerprints)];
    const found = new Map<string, string>();
    // Bulk get: up to 100 keys count as one KV operation (and one subrequest).
    for (let i = 0; i < distinct.length; i += KV_BULK_GET) {
      const chunk = distinct.slice(i, i + KV_BULK_GET);
      const values = await this.kv.get(chunk.map(kvKeys.fingerprint), "text");
      for (const fp of chunk) {
        const id = values.get(kvKeys.fingerprint(fp));
        if (id) found.set(fp, id);
      }
    }
    return found;
  }

  async getRotation(credentialId: string, rotationId: string): Promise<Versioned<Rotation> | null> {
    const key = rotationCell(rotationId);
    const cell = await this.#cell(credentialId).read(key);
    if (!cell) return null;
    const value = parsedCells.parse(`${credentialId}/${key}`, cell, (json) => rotationSchema.parse(JSON.parse(json)));
    return { value, version: String(cell.version) };
  }

  async putRotation(rotation: Rotation, expected: string | null): Promise<string | null> {
    const json = JSON.stringify(rotation);
    const version = await this.#cell(rotation.credential_id).write({
      key: rotationCell(rotation.id),
      expected: expected === null ? null : Number(expected),
      json,
      // KV's copy serves lookups by rotation id alone (which credential; is it still running),
      // so it is written when the rotation is created and when it settles, not at every lease
      // and step in between: each of those would put a KV write on the path to the revoke.
      mirror: expected === null || rotation.state !== "running" ? { put: [[kvKeys.rotation(rotation.id), json]] } : {},
    });
    return version === null ? null : String(version);
  }

  async findRotation(rotationId: string): Promise<Rotation | null> {
    const parsed = rotationSchema.safeParse(await this.kv.get(kvKeys.rotation(rotationId), "json"));
    return parsed.success ? parsed.data : null;
  }

  async listRotations(credentialId: string): Promise<Rotation[]> {
    const all = (await this.#cell(credentialId).list("rotation:")).map((r) => rotationSchema.parse(JSON.parse(r)));
    return all.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }
}
