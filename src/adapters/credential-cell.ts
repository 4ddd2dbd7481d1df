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
 *
 * A write whose mirror never lands (this object or its KV writes died between the commit and the
 * mirror) would leave KV describing the record before it: a new credential missing from the sweep
 * index and the fingerprint index, a rotated one whose new value no leak alert would match, until
 * some later write of the same credential happened to mirror again. So the mirror still to make
 * is committed with the write itself (`mirror:pending`), together with an alarm; once the mirror
 * lands both are cleared. If it does not, the alarm writes it again within MIRROR_REPAIR_MS, well
 * inside one cron sweep (every 15 minutes), and the runtime retries a failing alarm with backoff.
 * A later write before then carries the earlier pending mirror along with its own. The mirror also
 * carries the credential's index entry for the dashboard's registry aggregate in the Stats object
 * (./workers-stats.ts), landed, kept pending and repaired the same way.
 */
import { DurableObject } from "cloudflare:workers";
import { type Stats, statsStub } from "./workers-stats.ts";

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
    /**
     * The dashboard's registry aggregate (./workers-stats.ts): each credential id's index entry
     * (its summary), null when the credential is gone. Mirrored like the KV keys: in commit order,
     * pending until it lands, repaired by the alarm.
     */
    registry?: Array<[string, Record<string, unknown> | null]>;
  };
}

interface CellEnv {
  REKEY_KV: KVNamespace;
  STATS?: DurableObjectNamespace<Stats>;
}

type Mirror = Pick<CellWrite["mirror"], "put" | "delete" | "registry">;

/** Storage key of a mirror committed but not yet written to KV (see the header). */
const PENDING_MIRROR = "mirror:pending";
/** How soon a lost mirror is written again: well inside one cron sweep (every 15 minutes). */
export const MIRROR_REPAIR_MS = 60_000;

/**
 * `later` after `earlier` as one mirror: a key `later` puts or deletes takes its value from
 * `later`; the rest of `earlier` (a mirror that never landed) still has to be made.
 */
function mergeMirrors(earlier: Mirror | undefined, later: Mirror): Mirror {
  if (!earlier) return later;
  const touched = new Set([...(later.put ?? []).map(([k]) => k), ...(later.delete ?? [])]);
  const ids = new Set((later.registry ?? []).map(([id]) => id));
  return {
    put: [...(earlier.put ?? []).filter(([k]) => !touched.has(k)), ...(later.put ?? [])],
    delete: [...(earlier.delete ?? []).filter((k) => !touched.has(k)), ...(later.delete ?? [])],
    registry: [...(earlier.registry ?? []).filter(([id]) => !ids.has(id)), ...(later.registry ?? [])],
  };
}

const isEmpty = (m: Mirror) => !m.put?.length && !m.delete?.length && !m.registry?.length;

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
      const mirror = mergeMirrors(await this.ctx.storage.get<Mirror>(PENDING_MIRROR), {
        put: w.mirror.put ?? [],
        delete: [...(w.mirror.delete ?? []), ...stale],
        registry: w.mirror.registry ?? [],
      });
      // One put: the cell, the keys it owns and the mirror still to make commit together.
      await this.#commit({
        [w.key]: { json: w.json, version },
        ...(owned ? { [ownedKey]: owned } : {}),
      }, mirror);
      await this.#land(mirror);
      return version;
    });
  }

  /** Forget everything about this credential, here and in KV. */
  async drop(mirror: { delete: string[]; registry?: Array<[string, null]> }): Promise<void> {
    return this.#serial(async () => {
      const pending = mergeMirrors(await this.ctx.storage.get<Mirror>(PENDING_MIRROR), mirror);
      await this.ctx.storage.deleteAll();
      await this.#commit({}, pending);
      await this.#land(pending);
    });
  }

  /** The alarm set by #commit: a mirror that did not land is written now (a throw makes the runtime retry). */
  override async alarm(): Promise<void> {
    return this.#serial(async () => {
      const pending = await this.ctx.storage.get<Mirror>(PENDING_MIRROR);
      if (pending) await this.#land(pending);
    });
  }

  /**
   * Puts `cells` and, when there is KV work, the pending mirror and its repair alarm: no await in
   * between, so the Durable Object commits them as one atomic write.
   */
  async #commit(cells: Record<string, unknown>, mirror: Mirror): Promise<void> {
    if (isEmpty(mirror)) {
      if (Object.keys(cells).length) await this.ctx.storage.put(cells);
      return;
    }
    const put = this.ctx.storage.put({ ...cells, [PENDING_MIRROR]: mirror });
    const alarm = this.ctx.storage.setAlarm(Date.now() + MIRROR_REPAIR_MS);
    await Promise.all([put, alarm]);
  }

  /**
   * Writes the mirror to KV, then forgets it and its alarm. The response waits neither for that
   * nor for it to be durable (`allowUnconfirmed`; storage still applies it before any later
   * operation here): if it is lost, the alarm writes the same mirror again, or the next write
   * carries it along; both are idempotent. Awaiting it cost a second storage commit per write.
   */
  async #land(mirror: Mirror): Promise<void> {
    if (isEmpty(mirror)) return;
    await this.#mirror(mirror);
    const unconfirmed = { allowUnconfirmed: true };
    Promise.all([this.ctx.storage.delete(PENDING_MIRROR, unconfirmed), this.ctx.storage.deleteAlarm(unconfirmed)])
      .catch(() => undefined);
  }

  async #mirror(m: Mirror): Promise<void> {
    const kv = this.env.REKEY_KV;
    const stats = this.env.STATS;
    await Promise.all([
      ...(m.put ?? []).map(([k, v, metadata]) => (metadata ? kv.put(k, v, { metadata }) : kv.put(k, v))),
      ...(m.delete ?? []).map((k) => kv.delete(k)),
      // One call beside the KV writes, to the one Stats object (idempotent: it sets, never adds).
      ...(stats && m.registry?.length ? [statsStub(stats).registryWrite(m.registry)] : []),
    ]);
  }
}
