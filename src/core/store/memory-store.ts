/**
 * In-memory Store for unit tests and single-process tools. Strongly consistent by construction;
 * values are deep-copied on the way in and out so callers cannot mutate stored state.
 */
import { type CredentialRecord, fingerprintsOf } from "../credentials/credential.ts";
import type { Rotation } from "../rotation/rotation.ts";
import type { IndexEntry, Page, Store, Versioned } from "./store.ts";
import { nextActionAt } from "../sweep/rules.ts";
import { recordSummary } from "../summary/record-summary.ts";

interface Cell<T> {
  value: T;
  version: number;
}

const copy = <T>(v: T): T => structuredClone(v);

export class MemoryStore implements Store {
  #credentials = new Map<string, Cell<CredentialRecord>>();
  #rotations = new Map<string, Cell<Rotation>>();
  #fingerprints = new Map<string, string>();

  async getCredential(id: string): Promise<Versioned<CredentialRecord> | null> {
    const cell = this.#credentials.get(id);
    return cell ? { value: copy(cell.value), version: String(cell.version) } : null;
  }

  async putCredential(record: CredentialRecord, expected: string | null): Promise<string | null> {
    const cell = this.#credentials.get(record.id);
    if (!matches(cell, expected)) return null;
    const version = (cell?.version ?? 0) + 1;
    if (cell) { for (const fp of fingerprintsOf(cell.value)) this.#fingerprints.delete(fp); }
    this.#credentials.set(record.id, { value: copy(record), version });
    for (const fp of fingerprintsOf(record)) this.#fingerprints.set(fp, record.id);
    return String(version);
  }

  async deleteCredential(id: string): Promise<void> {
    const cell = this.#credentials.get(id);
    if (!cell) return;
    for (const fp of fingerprintsOf(cell.value)) this.#fingerprints.delete(fp);
    this.#credentials.delete(id);
    for (const [rid, r] of this.#rotations) if (r.value.credential_id === id) this.#rotations.delete(rid);
  }

  async listCredentials(opts: { cursor?: string; limit: number }): Promise<Page<CredentialRecord>> {
    const ids = [...this.#credentials.keys()].sort();
    const start = opts.cursor ? ids.findIndex((id) => id > opts.cursor!) : 0;
    const slice = start < 0 ? [] : ids.slice(start, start + opts.limit);
    const items = slice.map((id) => copy(this.#credentials.get(id)!.value));
    const last = slice.at(-1);
    return last && start + slice.length < ids.length ? { items, cursor: last } : { items };
  }

  async listIndex(opts: { cursor?: string; limit: number }): Promise<Page<IndexEntry>> {
    const page = await this.listCredentials(opts);
    return {
      items: page.items.map((r) => ({
        id: r.id,
        next_action_at: nextActionAt(r),
        ...(r.left_alone?.length ? { left_alone: r.left_alone.length } : {}),
        summary: recordSummary(r),
      })),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    };
  }

  async findCredentialByFingerprint(fingerprint: string): Promise<string | null> {
    return this.#fingerprints.get(fingerprint) ?? null;
  }

  async findCredentialsByFingerprints(fingerprints: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const fp of fingerprints) {
      const id = this.#fingerprints.get(fp);
      if (id) found.set(fp, id);
    }
    return found;
  }

  async getRotation(credentialId: string, rotationId: string): Promise<Versioned<Rotation> | null> {
    const cell = this.#rotations.get(rotationId);
    if (!cell || cell.value.credential_id !== credentialId) return null;
    return { value: copy(cell.value), version: String(cell.version) };
  }

  async putRotation(rotation: Rotation, expected: string | null): Promise<string | null> {
    const cell = this.#rotations.get(rotation.id);
    if (!matches(cell, expected)) return null;
    const version = (cell?.version ?? 0) + 1;
    this.#rotations.set(rotation.id, { value: copy(rotation), version });
    return String(version);
  }

  async findRotation(rotationId: string): Promise<Rotation | null> {
    const cell = this.#rotations.get(rotationId);
    return cell ? copy(cell.value) : null;
  }

  async listRotations(credentialId: string): Promise<Rotation[]> {
    return [...this.#rotations.values()]
      .filter((c) => c.value.credential_id === credentialId)
      .map((c) => copy(c.value))
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }
}

function matches<T>(cell: Cell<T> | undefined, expected: string | null): boolean {
  return expected === null ? cell === undefined : cell !== undefined && String(cell.version) === expected;
}
