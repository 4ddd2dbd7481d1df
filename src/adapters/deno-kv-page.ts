/**
 * One page of a Deno KV prefix listing in the Store's `Page` shape: a cursor only when more
 * entries follow, as the memory and Workers stores answer. Deno KV's own cursor cannot tell that
 * (it is set after every entry), so one entry more than the page is read to find out.
 */
import type { Page } from "../core/store/store.ts";

/** Deno KV refuses a batch larger than this. */
const MAX_BATCH = 1000;

export async function listPage<V, T>(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  opts: { cursor?: string | undefined; limit: number },
  map: (entry: Deno.KvEntry<V>) => T | undefined,
): Promise<Page<T>> {
  const limit = Math.max(1, Math.floor(opts.limit));
  const iter = kv.list<V>({ prefix }, {
    limit: limit + 1,
    batchSize: Math.min(limit + 1, MAX_BATCH),
    ...(opts.cursor ? { cursor: opts.cursor } : {}),
  });
  const items: T[] = [];
  let seen = 0;
  let cursor: string | undefined;
  for await (const entry of iter) {
    if (seen === limit) return { items, cursor: cursor! };
    seen++;
    const item = map(entry);
    if (item !== undefined) items.push(item);
    if (seen === limit) cursor = iter.cursor;
  }
  return { items };
}
