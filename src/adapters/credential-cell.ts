/**
 * Durable Object, one per credential (`idFromName(credentialId)`): the strongly consistent,
 * serialised home of that credential's record and rotations on Workers.
 *
 * Why a DO and not KV alone: KV is eventually consistent and has no compare-and-swap, so two
 * triggers racing on KV could both start a rotation and mint two keys. Here every write is a
 * compare-and-swap against the DO's own SQLite storage, and writes for one credential are applied
 * one at a time. After each committed write the DO mirrors the change into Workers KV (the
 * registry that listing, the fingerprint index and the sweep read); doing that inside the DO's
 * write queue keeps KV writes for one credential in commit order.
 */
import { DurableObject } from "cloudflare:workers";

/** Values cross the RPC boundary as JSON text: the DO stores and compares, it never interprets. */
export interface CellWrite {
  key: string;
  /** Version last read; null = the key must not exist yet. */
  expected: number | null;
  json: string;
  /** KV writes to make once the DO write has committed. */
  mirror: {
    put?: Array<[string, string] | [string, string, Record<string, unknown>]>;
    delete?: string[];
    /**
     * Every KV key this cell key mirrors to after the write. The cell remembers the set and
     * deletes the keys it mirrored before but no longer does, so a caller need not read the old
     * value first to know what to clean up (one round trip fewer per write).
     */
    owned?: string[];
  };
}

interface CellEnv {
  REKEY_KV: KVNamespace;
}

export class CredentialCell extends DurableObject<CellEnv> {
  #queue: Promise<unknown> = Promise.resolve();

  /** Serialises a task behind every earlier one, including across awaits on KV. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async read(key: string): Promise<{ json: string; version: number } | null> {
    const cell = await this.ctx.storage.get<{ json: string; version: number }>(key);
    return cell ?? null;
  }

  async list(prefix: string): Promise<string[]> {
    const cells = await this.ctx.storage.list<{ json: string }>({ prefix });
    return [...cells.values()].map((c) => c.json);
  }

  async write(w: CellWrite): Promise<number | null> {
    return this.#serial(async () => {
      const current = await this.ctx.storage.get<{ version: number }>(w.key);
      const actual = current?.version ?? null;
      if (actual !== w.expected) return null;
      const version = (actual ?? 0) + 1;
      const ownedKey = `owned:${w.key}`;
      const owned = w.mirror.owned;
      const stale = owned
        ? ((await this.ctx.storage.get<string[]>(ownedKey)) ?? []).filter((k) => !owned.includes(k))
        : [];
      // One put: the cell and the keys it owns commit together.
      await this.ctx.storage.put({ [w.key]: { json: w.json, version }, ...(owned ? { [ownedKey]: owned } : {}) });
      await this.#mirror({ ...w.mirror, delete: [...(w.mirror.delete ?? []), ...stale] });
      return version;
    });
  }

  /** Forget everything about this credential, here and in KV. */
  async drop(mirror: { delete: string[] }): Promise<void> {
    return this.#serial(async () => {
      await this.ctx.storage.deleteAll();
      await this.#mirror(mirror);
    });
  }

  async #mirror(m: CellWrite["mirror"]): Promise<void> {
    const kv = this.env.REKEY_KV;
    await Promise.all([
      ...(m.put ?? []).map(([k, v, metadata]) => (metadata ? kv.put(k, v, { metadata }) : kv.put(k, v))),
      ...(m.delete ?? []).map((k) => kv.delete(k)),
    ]);
  }
}
