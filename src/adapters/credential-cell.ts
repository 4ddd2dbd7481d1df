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
 * A later write before then carries the earlier pending mirror along with its own.
 *
 * Each write also sends the credential's index entry to the dashboard's registry aggregate in the
 * Stats object (./workers-stats.ts), beside the KV writes. A dashboard figure must never fail or
 * hold up a registration or a rotation step, so that call is caught and bounded
 * (REGISTRY_TIMEOUT_MS): when it fails or times out the write still succeeds, and only the registry
 * part stays pending (`registry:pending`, its own key), with the alarm, which sends it again
 * without redoing the KV writes; a later write carries it along. A timed-out call can still land
 * after a newer one, so every entry carries a version (`registryVersion`) and Stats keeps only the
 * newest it has seen for an id, a deletion included.
 */
import { DurableObject } from "cloudflare:workers";
import { registryVersion, type Stats, statsStub } from "./workers-stats.ts";

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

/** A registry entry as sent to Stats: id, summary (null: gone), the cell's version of it. */
export type RegistryEntry = [string, Record<string, unknown> | null, number];

interface CellEnv {
  REKEY_KV: KVNamespace;
  STATS?: DurableObjectNamespace<Stats>;
}

/** The KV part of a mirror. `registry` only in one stored before versions (read by #pending). */
type Mirror = Pick<CellWrite["mirror"], "put" | "delete" | "registry">;

/** Storage key of a mirror committed but not yet written to KV (see the header). */
const PENDING_MIRROR = "mirror:pending";
/** Storage key of registry entries not yet landed in Stats (see the header). */
const PENDING_REGISTRY = "registry:pending";
/** How soon a lost mirror is written again: well inside one cron sweep (every 15 minutes). */
export const MIRROR_REPAIR_MS = 60_000;
/**
 * How long a write waits for Stats before answering without it (the entry then stays pending).
 * A healthy call is one round trip to one object, milliseconds; a second is far beyond that and
 * still short next to a request's budget, so a slow or overloaded Stats costs each write at most
 * this, never its outcome.
 */
export const REGISTRY_TIMEOUT_MS = 1_000;

/** Entries `later` after `earlier`: per id, the later one. */
function mergeRegistry(earlier: RegistryEntry[] | undefined, later: RegistryEntry[]): RegistryEntry[] {
  if (!earlier?.length) return later;
  const ids = new Set(later.map(([id]) => id));
  return [...earlier.filter(([id]) => !ids.has(id)), ...later];
}

/**
 * `later` after `earlier` as one mirror: a key `later` puts or deletes takes its value from
 * `later`; the rest of `earlier` (a mirror that never landed) still has to be made.
 */
function mergeMirrors(earlier: Mirror | undefined, later: Mirror): Mirror {
  if (!earlier) return later;
  const touched = new Set([...(later.put ?? []).map(([k]) => k), ...(later.delete ?? [])]);
  return {
    put: [...(earlier.put ?? []).filter(([k]) => !touched.has(k)), ...(later.put ?? [])],
    delete: [...(earlier.delete ?? []).filter((k) => !touched.has(k)), ...(later.delete ?? [])],
  };
}

const isEmpty = (m: Mirror) => !m.put?.length && !m.delete?.length;
const versioned = (entries: CellWrite["mirror"]["registry"]): RegistryEntry[] =>
  (entries ?? []).map(([id, meta]) => [id, meta, registryVersion()]);

export class CredentialCell extends DurableObject<CellEnv> {
  #queue: Promise<unknown> = Promise.resolve();

  /** Serialises a task behind every earlier one, including across awaits on KV. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * What is still owed: the KV mirror and the registry entries. A mirror stored by the code
   * before versions carried its registry entries inside; they get versions now, older than any
   * this instance gives later.
   */
  async #pending(): Promise<{ mirror?: Mirror; registry: RegistryEntry[] }> {
    const got = await this.ctx.storage.get<Mirror | RegistryEntry[]>([PENDING_MIRROR, PENDING_REGISTRY]);
    const mirror = got.get(PENDING_MIRROR) as Mirror | undefined;
    const registry = (got.get(PENDING_REGISTRY) as RegistryEntry[] | undefined) ?? [];
    if (!mirror?.registry) return { mirror, registry };
    const { registry: legacy, ...kv } = mirror;
    return { mirror: kv, registry: mergeRegistry(versioned(legacy), registry) };
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
      const pending = await this.#pending();
      const mirror = mergeMirrors(pending.mirror, {
        put: w.mirror.put ?? [],
        delete: [...(w.mirror.delete ?? []), ...stale],
      });
      const registry = mergeRegistry(pending.registry, versioned(w.mirror.registry));
      // One put: the cell, the keys it owns and what is still to mirror commit together.
      await this.#commit(
        {
          [w.key]: { json: w.json, version },
          ...(owned ? { [ownedKey]: owned } : {}),
        },
        mirror,
        registry,
      );
      await this.#land(mirror, registry);
      return version;
    });
  }

  /** Forget everything about this credential, here and in KV. */
  async drop(mirror: { delete: string[]; registry?: Array<[string, null]> }): Promise<void> {
    return this.#serial(async () => {
      const pending = await this.#pending();
      const kv = mergeMirrors(pending.mirror, { delete: mirror.delete });
      const registry = mergeRegistry(pending.registry, versioned(mirror.registry));
      await this.ctx.storage.deleteAll();
      await this.#commit({}, kv, registry);
      await this.#land(kv, registry);
    });
  }

  /**
   * The alarm set by #commit: what did not land is written now. A KV mirror that fails throws
   * (the runtime retries the alarm with backoff); registry entries Stats did not take set the
   * alarm again, MIRROR_REPAIR_MS on, for as long as Stats fails.
   */
  override async alarm(): Promise<void> {
    return this.#serial(async () => {
      const pending = await this.#pending();
      if (!(await this.#land(pending.mirror ?? {}, pending.registry))) {
        await this.ctx.storage.setAlarm(Date.now() + MIRROR_REPAIR_MS);
      }
    });
  }

  /**
   * Puts `cells` and, when there is mirroring to do, what is still owed and its repair alarm: no
   * await in between, so the Durable Object commits them as one atomic write.
   */
  async #commit(cells: Record<string, unknown>, mirror: Mirror, registry: RegistryEntry[]): Promise<void> {
    if (isEmpty(mirror) && !registry.length) {
      if (Object.keys(cells).length) await this.ctx.storage.put(cells);
      return;
    }
    const put = this.ctx.storage.put({
      ...cells,
      ...(isEmpty(mirror) ? {} : { [PENDING_MIRROR]: mirror }),
      ...(registry.length ? { [PENDING_REGISTRY]: registry } : {}),
    });
    const alarm = this.ctx.storage.setAlarm(Date.now() + MIRROR_REPAIR_MS);
    await Promise.all([put, alarm]);
  }

  /**
   * Writes the mirror to KV and the entries to Stats at once, then forgets what landed, and the
   * alarm once nothing is owed; true when nothing is. A KV failure throws (the write's caller
   * retries; the alarm repairs); a Stats failure does not (the header). The response waits
   * neither for the forgetting nor for it to be durable (`allowUnconfirmed`; storage still
   * applies it before any later operation here): if it is lost, the alarm writes the same again,
   * or the next write carries it along; both are idempotent. Awaiting it cost a second storage
   * commit per write.
   */
  async #land(mirror: Mirror, registry: RegistryEntry[]): Promise<boolean> {
    const [, registered] = await Promise.all([this.#mirror(mirror), this.#register(registry)]);
    // PENDING_MIRROR even when this mirror was empty: it may hold a pre-version mirror's registry part.
    const landed = [PENDING_MIRROR, ...(registered && registry.length ? [PENDING_REGISTRY] : [])];
    const unconfirmed = { allowUnconfirmed: true };
    Promise.all([
      this.ctx.storage.delete(landed, unconfirmed),
      ...(registered ? [this.ctx.storage.deleteAlarm(unconfirmed)] : []),
    ]).catch(() => undefined);
    return registered;
  }

  async #mirror(m: Mirror): Promise<void> {
    const kv = this.env.REKEY_KV;
    await Promise.all([
      ...(m.put ?? []).map(([k, v, metadata]) => (metadata ? kv.put(k, v, { metadata }) : kv.put(k, v))),
      ...(m.delete ?? []).map((k) => kv.delete(k)),
    ]);
  }

  /**
   * One call to the one Stats object (it keeps the newest version per id, so a repeat or a late
   * arrival is harmless): true once it took them, false when it failed or did not answer within
   * REGISTRY_TIMEOUT_MS. Never throws: see the header.
   */
  async #register(entries: RegistryEntry[]): Promise<boolean> {
    const stats = this.env.STATS;
    if (!stats || !entries.length) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const call = Promise.resolve().then(() => statsStub(stats).registryWrite(entries)).then(() => true, () => false);
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), REGISTRY_TIMEOUT_MS);
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}
