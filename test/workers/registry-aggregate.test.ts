/**
 * The registry aggregate the home page counts instead of listing the index
 * (src/adapters/workers-stats.ts, fed by src/adapters/credential-cell.ts): on the real bindings,
 * every write through a credential's Durable Object updates it before the write returns, so its
 * figures equal a fresh listing of the index right after each registration, edit, revocation and
 * unmanage; and the one-time seed from a listing (an aggregate deployed over an existing registry)
 * neither brings back a credential deleted meanwhile nor overwrites what a later write said. And a
 * failing Stats never fails a credential write: the cell keeps the entry pending and its alarm
 * lands it; an entry arriving late (a call the cell stopped waiting for) changes nothing.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MIRROR_REPAIR_MS, REGISTRY_TIMEOUT_MS } from "../../src/adapters/credential-cell.ts";
import { type Stats, statsStub, WorkersStats } from "../../src/adapters/workers-stats.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import type { CredentialRecord } from "../../src/core/credentials/credential.ts";
import { recordSummary } from "../../src/core/summary/record-summary.ts";
import { registryFigures } from "../../src/core/summary/summary.ts";
import { credentialRecord } from "../support/records.ts";
import type { CredentialCell } from "../support/worker-under-test.ts";

const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
const stats = new WorkersStats(env.STATS);
const aggregate = stats.registry;
const DAY = 86_400_000;
/** The figures as a listing of the index counts them (no aggregate). */
const listed = (now: number) => registryFigures({ store }, now);

const varied = (i: number, now: number): CredentialRecord =>
  credentialRecord({
    value_created_at: new Date(now - (i % 9) * 5 * DAY).toISOString(),
    value: { v: 1 + (i % 2), ...(i % 3 ? { aad: 2 as const } : {}), iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" },
    policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none" },
    ...(i % 4 === 1
      ? {
        previous: [{
          fingerprint: `${i}`.padStart(64, "0"),
          value: { v: 1, aad: 2, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" },
          rotation_id: "rot_seeded",
          superseded_at: new Date(now - DAY).toISOString(),
          revoke_after: new Date(now + ((i % 5) - 2) * DAY).toISOString(),
          revoke_attempts: 0,
          ...(i % 8 === 1 ? { leaked: true } : {}),
        }],
      }
      : {}),
  });

describe("the registry aggregate (Stats Durable Object), fed by the credential cells", () => {
  it("is seeded once from a listing, which neither revives a credential deleted since nor undoes a later write", async () => {
    const now = Date.now();
    const [kept, gone] = [varied(1, now), varied(2, now)];
    await store.putCredential(kept, null);
    await store.putCredential(gone, null);
    const before = await aggregate.figures(now);
    expect(before).toBeNull(); // not seeded: the page lists the index instead
    // A listing made before these two changes, arriving after them.
    const stale = [
      [kept.id, recordSummary(kept)],
      [gone.id, recordSummary(gone)],
    ] as Array<[string, ReturnType<typeof recordSummary>]>;
    const revoked = { ...kept, state: "revoked" as const };
    await store.putCredential(revoked, "1");
    await store.deleteCredential(gone.id);
    const only = varied(3, now);
    await aggregate.seed([...stale, [only.id, recordSummary(only)]]);
    const seeded = await aggregate.figures(now);
    expect(seeded?.credentials).toMatchObject({ total: 2, revoked: 1, active: 1 });
    // Seeded once: a later seed (another view's older listing) changes nothing.
    await aggregate.seed([[gone.id, recordSummary(gone)]]);
    expect((await aggregate.figures(now))?.credentials.total).toBe(2);
    // `only` was never written through a cell: the listing is what it knows of it; gone now.
    await env.REKEY_KV.delete(`cred:${only.id}`);
    await store.deleteCredential(only.id);
    await store.deleteCredential(kept.id);
    expect((await aggregate.figures(now))?.credentials.total).toBe(0);
  });

  it("equals a fresh listing of the index after each registration, edit, revocation and unmanage", async () => {
    const now = Date.now();
    await registryFigures({ store, stats }, now); // seeds the aggregate if the test above did not
    const recs: CredentialRecord[] = [];
    const agree = async () => {
      const figures = await aggregate.figures(now);
      expect(figures).toEqual(await listed(now));
      return figures!;
    };
    for (let i = 0; i < 12; i++) {
      const rec = varied(i, now);
      await store.putCredential(rec, null);
      recs.push(rec);
      expect((await agree()).credentials.total).toBe(recs.length);
    }
    // Edits: a rotation running, a revocation, a re-sealing under v2 with no owed value left.
    const edits: Array<(r: CredentialRecord) => CredentialRecord> = [
      (r) => ({
        ...r,
        current_rotation: {
          id: "rot_running",
          reason: "manual",
          mode: "rotate",
          requested_by: "test",
          created_at: r.created_at,
        },
      } as CredentialRecord),
      (r) => ({ ...r, state: "revoked" }),
      (r) => ({ ...r, value: { v: 2, aad: 2, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" }, previous: [] }),
    ];
    for (const [k, edit] of edits.entries()) {
      const next = edit(recs[k]!);
      expect(await store.putCredential(next, "1")).toBe("2");
      recs[k] = next;
      await agree();
    }
    for (const gone of [recs[5]!, recs[0]!]) {
      await store.deleteCredential(gone.id);
      recs.splice(recs.indexOf(gone), 1);
      expect((await agree()).credentials.total).toBe(recs.length);
    }
    const page = await stats.registry.withDays("2026-01-01", "2026-01-02", now);
    expect(page.figures).toEqual(await listed(now));
  });
});

const cell = (id: string) =>
  env.CREDENTIAL_CELLS.get(env.CREDENTIAL_CELLS.idFromName(id)) as unknown as DurableObjectStub<CredentialCell>;
const inCell = <T>(id: string, f: (storage: DurableObjectStorage) => Promise<T>) =>
  runInDurableObject(cell(id), (_, state: DurableObjectState) => f(state.storage));
const statsObject = () => statsStub(env.STATS as DurableObjectNamespace<Stats>);
/** Stats' own SQL, on the real object. */
const statsSql = <T>(f: (sql: SqlStorage) => T) =>
  runInDurableObject(statsObject(), (_, state: DurableObjectState) => f(state.storage.sql));
/** Stats failing as a storage error would: every registryWrite throws (no such table), until mended. */
const breakStats = () => statsSql((sql) => sql.exec("ALTER TABLE registry RENAME TO registry_broken"));
const mendStats = () => statsSql((sql) => sql.exec("ALTER TABLE registry_broken RENAME TO registry"));
const versionOf = (id: string) =>
  statsSql((sql) => sql.exec<{ v: number }>("SELECT v FROM registry WHERE id = ?", id).one().v);

describe("the registry aggregate when Stats fails or answers late", () => {
  it("with Stats failing, writes succeed; the cell's alarm lands the entries once Stats works again", async () => {
    const now = Date.now();
    await registryFigures({ store, stats }, now); // seeded, so the page would count the aggregate
    const [rec, other] = [varied(7, now), varied(8, now)];
    await store.putCredential(other, null);
    await breakStats();
    try {
      expect(await store.putCredential(rec, null)).toBe("1");
      expect(await store.putCredential({ ...other, state: "revoked" }, "1")).toBe("2");
      await store.deleteCredential(other.id);
    } finally {
      await mendStats();
    }
    // Committed and mirrored to KV: readable, listed, nothing owed to KV ...
    expect((await store.getCredential(rec.id))?.value).toStrictEqual(rec);
    expect(await env.REKEY_KV.get(`cred:${rec.id}`)).not.toBeNull();
    expect(await inCell(rec.id, (s) => s.get("mirror:pending"))).toBeUndefined();
    // ... only the registry part is pending, with the alarm.
    expect(await inCell(rec.id, (s) => s.get("registry:pending"))).toHaveLength(1);
    expect(await inCell(other.id, (s) => s.get("registry:pending"))).toHaveLength(1);
    expect(await aggregate.figures(now)).not.toEqual(await listed(now));
    const due = (await inCell(rec.id, (s) => s.getAlarm()))! - Date.now();
    expect(due).toBeLessThanOrEqual(MIRROR_REPAIR_MS);

    // An alarm while Stats still fails sets itself again.
    await breakStats();
    try {
      expect(await runDurableObjectAlarm(cell(rec.id))).toBe(true);
    } finally {
      await mendStats();
    }
    expect(await inCell(rec.id, (s) => s.getAlarm())).not.toBeNull();
    expect(await inCell(rec.id, (s) => s.get("registry:pending"))).toHaveLength(1);

    for (const id of [rec.id, other.id]) expect(await runDurableObjectAlarm(cell(id))).toBe(true);
    expect(await aggregate.figures(now)).toEqual(await listed(now));
    expect(await inCell(rec.id, (s) => s.get("registry:pending"))).toBeUndefined();
    expect(await inCell(rec.id, (s) => s.getAlarm())).toBeNull();
    await store.deleteCredential(rec.id);
  });

  it("an entry older than the one Stats holds changes nothing: neither undoes a later write nor revives a deletion", async () => {
    const now = Date.now();
    await registryFigures({ store, stats }, now);
    const rec = varied(9, now);
    await store.putCredential(rec, null);
    const v1 = await versionOf(rec.id);
    const revoked = { ...rec, state: "revoked" as const };
    await store.putCredential(revoked, "1");
    const v2 = await versionOf(rec.id);
    expect(v2).toBeGreaterThan(v1);
    const before = await aggregate.figures(now); // the figures as Stats keeps them in memory
    expect(before).toEqual(await listed(now));
    // The first write's call, which its cell stopped waiting for, arriving now.
    await statsObject().registryWrite([[rec.id, recordSummary(rec), v1]]);
    expect(await aggregate.figures(now)).toEqual(before);
    expect(await versionOf(rec.id)).toBe(v2);

    await store.deleteCredential(rec.id);
    const gone = await versionOf(rec.id); // the deletion's row
    expect(gone).toBeGreaterThan(v2);
    const after = await aggregate.figures(now);
    expect(after).toEqual(await listed(now));
    await statsObject().registryWrite([[rec.id, recordSummary(revoked), v2]]);
    expect(await aggregate.figures(now)).toEqual(after);
    // The deletion's row stays, to stop a later late arrival too.
    expect(await statsSql((sql) => sql.exec("SELECT json FROM registry WHERE id = ?", rec.id).one().json)).toBeNull();
  });

  it("a Stats call slower than REGISTRY_TIMEOUT_MS: the write answers without it, and its late arrival changes nothing", async () => {
    const now = Date.now();
    await registryFigures({ store, stats }, now);
    const rec = varied(10, now);
    await store.putCredential(rec, null);
    const revokedBefore = (await aggregate.figures(now))?.credentials.revoked;
    await cell(rec.id).delayNextRegistry(REGISTRY_TIMEOUT_MS + 1_500);
    const revoked = { ...rec, state: "revoked" as const };
    const t0 = Date.now();
    expect(await store.putCredential(revoked, "1")).toBe("2");
    expect(Date.now() - t0).toBeLessThan(REGISTRY_TIMEOUT_MS + 1_000);
    expect(await inCell(rec.id, (s) => s.get("registry:pending"))).toHaveLength(1);
    // A newer write lands (carrying the pending entry along) before the late call arrives.
    const edited = { ...revoked, description: "edited", state: "active" as const };
    expect(await store.putCredential(edited, "2")).toBe("3");
    expect(await inCell(rec.id, (s) => s.get("registry:pending"))).toBeUndefined();
    await cell(rec.id).delayedRegistry(); // the revocation's entry reaches Stats now
    const figures = await aggregate.figures(now);
    expect(figures).toEqual(await listed(now));
    expect(figures?.credentials.revoked).toBe(revokedBefore);
    await store.deleteCredential(rec.id);
  });

  it("an object deployed before versions: its registry table gets the column, its rows count as version 0", async () => {
    const legacy = env.STATS.get(env.STATS.idFromName("legacy-schema"));
    const now = Date.now();
    const rec = varied(11, now);
    await runInDurableObject(legacy, (instance: Stats, state: DurableObjectState) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE registry");
      sql.exec("CREATE TABLE registry (id TEXT PRIMARY KEY, json TEXT)");
      sql.exec("INSERT INTO registry (id, json) VALUES (?, ?)", rec.id, JSON.stringify(recordSummary(rec)));
      sql.exec("INSERT INTO flags (name) VALUES ('seeded')");
      // The new code starting over that storage.
      const Class = instance.constructor as new (ctx: DurableObjectState, env: object) => Stats;
      const upgraded = new Class(state, {});
      expect(upgraded.registryFigures(now)?.credentials.total).toBe(1);
      upgraded.registryWrite([[rec.id, recordSummary({ ...rec, state: "revoked" }), 1]]);
      expect(upgraded.registryFigures(now)?.credentials.revoked).toBe(1);
      expect(sql.exec<{ v: number }>("SELECT v FROM registry WHERE id = ?", rec.id).one().v).toBe(1);
    });
  });
});
