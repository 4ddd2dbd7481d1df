/**
 * The cron sweep seeds and reconciles the dashboard's registry aggregate (src/core/sweep/run.ts →
 * src/adapters/workers-stats.ts `registrySweep`), on the real bindings: each `sweep.batch` is one
 * invocation of the real Worker's queue consumer, its next batch taken from the captured queue
 * (test/support/counting-env.ts) and delivered in turn, until the pass ends.
 *
 * Records meant as written before the aggregate existed go into KV as the CredentialCell mirrors
 * them (record and index metadata), not through their Durable Objects, so no cell told the
 * aggregate of them (as test/workers/dashboard-reads.test.ts does). More of them than one view may
 * list (`maxIndexPages: 1`, one page of 1,000): a view alone never seeds the aggregate then.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Stats, statsStub, WorkersStats } from "../../src/adapters/workers-stats.ts";
import { kvKeys, WorkersStore } from "../../src/adapters/workers-store.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import { indexMetadata } from "../../src/core/store/index-metadata.ts";
import { buildSummary, registryFigures } from "../../src/core/summary/summary.ts";
import type { Env } from "../../src/worker.ts";
import { queueInvocation } from "../support/counted-worker.ts";
import { countingEnv, type InvocationCounts } from "../support/counting-env.ts";
import { credentialRecord } from "../support/records.ts";

const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
const stats = new WorkersStats(env.STATS);
const aggregate = stats.registry;
const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
/** More than the one page of 1,000 a view may list here: two sweep pages. */
const CREDENTIALS = 1_050;
const VIEW = { maxIndexPages: 1 };

const statsSql = <T>(f: (sql: SqlStorage) => T) =>
  runInDurableObject(
    statsStub(env.STATS as DurableObjectNamespace<Stats>),
    (_, state: DurableObjectState) => f(state.storage.sql),
  );
/** Stats failing as a storage error would: every registry call throws (no such table), until mended. */
const breakStats = () => statsSql((sql) => sql.exec("ALTER TABLE registry RENAME TO registry_broken"));
const mendStats = () => statsSql((sql) => sql.exec("ALTER TABLE registry_broken RENAME TO registry"));
const rowOf = (id: string) =>
  statsSql((sql) => sql.exec<{ v: number }>("SELECT v FROM registry WHERE id = ?", id).toArray()[0]);

/** A record as code before the aggregate wrote it: into KV only, nothing due (no max age). */
const writtenBefore = (r: CredentialRecord) =>
  env.REKEY_KV.put(kvKeys.credential(r.id), JSON.stringify(r), { metadata: indexMetadata(r) });

async function inBatches<T>(items: T[], width: number, run: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(run));
}

type Captured = { type: string; data: Record<string, unknown> };
let sweeps = 0;

/**
 * One sweep pass, as the queue consumer runs it: its batches in order, each one invocation.
 * `between` runs after the first batch (the pass under way). Returns each batch's counts.
 */
async function sweepPass(between?: () => Promise<void>): Promise<InvocationCounts[]> {
  const sweepId = `swp_test${(++sweeps).toString(36)}`;
  let next: Captured | undefined = newEvent("sweep.batch", { sweep_id: sweepId, cursor: null, batch_size: 10 }, {
    source: "/rekey/cron",
    now: Date.now(),
  }) as unknown as Captured;
  const counts: InvocationCounts[] = [];
  while (next) {
    counting.begin(`sweep.batch ${counts.length}`);
    let published: Captured[];
    try {
      const result = await queueInvocation(counting.env, "rekey-events", next);
      expect(result.retryMessages).toEqual([]);
      expect(counting.take("rekey-events-dlq")).toEqual([]);
      published = counting.take("rekey-events") as Captured[];
    } finally {
      counts.push(counting.end());
    }
    next = published.find((e) => e.type === "sweep.batch");
    if (counts.length === 1) await between?.();
  }
  return counts;
}

describe("the cron sweep seeds and reconciles the registry aggregate", () => {
  it("past what one view may list, a sweep pass seeds it: the overview then gives full figures from it", async () => {
    const records = Array.from(
      { length: CREDENTIALS },
      (_, i) => credentialRecord(i % 7 === 0 ? { state: "revoked" as const } : {}),
    );
    await inBatches(records, 250, writtenBefore);
    const now = Date.now();
    // Before: every view lists its one page, says it is partial and seeds nothing.
    const before = await buildSummary({ store, stats }, now, VIEW);
    expect(before.coverage).toMatchObject({ partial: true, credentials: 1_000 });
    expect(await aggregate.figures(now)).toBeNull();

    const counts = await sweepPass();
    expect(counts).toHaveLength(2); // two index pages, nothing due

    const after = await buildSummary({ store, stats }, now, VIEW);
    expect(after.coverage).toEqual({ credentials: CREDENTIALS, partial: false, not_summarised: 0 });
    expect(after.credentials).toMatchObject({ total: CREDENTIALS, revoked: 150, active: CREDENTIALS - 150 });
    // The same figures as a complete listing of the index (no aggregate, no page limit).
    expect(await aggregate.figures(now)).toEqual(await registryFigures({ store }, now));
    // Each batch: the page's listing; the event ledger's claim and settle (adapters/event-ledger.ts)
    // and the one Durable Object call more that hands the page to Stats.
    for (const c of counts) expect(c).toMatchObject({ kv_ops: 1, do_calls: 3, fetches: 0 });
  }, 120_000);

  it(
    "a seed-only row whose credential the index no longer lists is removed by the next pass; a cell's row written during it is kept",
    async () => {
      // A credential written before the aggregate, listed by the seed or by a pass: a row only a
      // listing told of (version 0).
      const gone = credentialRecord();
      await writtenBefore(gone);
      const now = Date.now();
      await registryFigures({ store, stats }, now); // seeded (by the test above, or by this listing)
      await sweepPass();
      expect(await rowOf(gone.id)).toEqual({ v: 0 });
      // Deleted since by code without the aggregate: gone from the index, no tombstone.
      await env.REKEY_KV.delete(kvKeys.credential(gone.id));
      const total = (await aggregate.figures(now))!.credentials.total;

      // Registered through its cell while the pass runs, and missing from the pass's listing (as a
      // listing lagging the registration would): its id sorts last, inside the last page's key
      // range, and it is not in the page.
      const during = credentialRecord({ state: "revoked" });
      // Written through its cell, then listed with what an older write said (as a listing lagging
      // that write would): the page must not undo the cell's entry.
      const edited = credentialRecord();
      await store.putCredential(edited, null);
      await writtenBefore({ ...edited, state: "revoked" });
      const editedRow = await rowOf(edited.id);
      expect(editedRow!.v).toBeGreaterThan(0);
      await sweepPass(async () => {
        await store.putCredential(during, null);
        await env.REKEY_KV.delete(kvKeys.credential(during.id));
      });

      expect(await rowOf(gone.id)).toBeUndefined();
      expect((await rowOf(during.id))!.v).toBeGreaterThan(0);
      expect(await rowOf(edited.id)).toEqual(editedRow);
      const editedState = await statsSql((sql) =>
        JSON.parse(sql.exec<{ json: string }>("SELECT json FROM registry WHERE id = ?", edited.id).one().json).s
      );
      expect(editedState).toBe("active");
      const figures = (await aggregate.figures(now))!;
      expect(figures.credentials.total).toBe(total - 1 + 1 + 1); // `gone` out, `during` and `edited` in
      // What the index lists, plus the one credential the listing lags behind (revoked), with
      // `edited` as its cell wrote it (active) where the listing says revoked.
      const listed = await registryFigures({ store }, now);
      expect(figures.credentials).toMatchObject({
        total: listed.credentials.total + 1,
        revoked: listed.credentials.revoked + 1 - 1,
      });
      await store.deleteCredential(during.id);
      await store.deleteCredential(edited.id);
    },
    120_000,
  );

  it("a failing Stats object does not fail a sweep batch; the next pass, with Stats working, reconciles", async () => {
    const gone = credentialRecord();
    await writtenBefore(gone);
    const now = Date.now();
    await registryFigures({ store, stats }, now);
    await sweepPass();
    expect(await rowOf(gone.id)).toEqual({ v: 0 });
    await env.REKEY_KV.delete(kvKeys.credential(gone.id));
    await breakStats();
    const counts = await (async () => {
      try {
        // Every batch acked, nothing dead-lettered, the next batch published (sweepPass checks).
        return await sweepPass();
      } finally {
        await mendStats();
      }
    })();
    // The call was made, and failed, in each batch: the ledger's two Durable Object calls and Stats'.
    for (const c of counts) expect(c).toMatchObject({ kv_ops: 1, do_calls: 3 });
    expect(await rowOf(gone.id)).toEqual({ v: 0 }); // not reconciled while Stats failed
    await sweepPass();
    expect(await rowOf(gone.id)).toBeUndefined();
    expect(await aggregate.figures(now)).toEqual(await registryFigures({ store }, now));
  }, 120_000);
});
