/**
 * The Store contract (src/core/store/store.ts), as cases any implementation must pass: memory,
 * Workers KV + Durable Objects, Deno KV. Runner-agnostic so that the same cases run in workerd
 * (test/workers/store-contract.test.ts, vitest) and in Deno (test/deno/store-contract.test.ts,
 * Deno.test): each runner wraps every case in its own test and hands it an `Assert`.
 */
import type { Store } from "../../src/core/store/store.ts";
import { recordSummary } from "../../src/core/summary/record-summary.ts";
import { credentialRecord, rotationRecord } from "./records.ts";

/** The subset of node:assert/strict the cases use; node:assert/strict itself satisfies it. */
export interface Assert {
  /** Same value (Object.is). */
  equal(actual: unknown, expected: unknown, message?: string): void;
  notEqual(actual: unknown, expected: unknown, message?: string): void;
  /** Same structure and values, recursively, with no extra or missing keys. */
  deepEqual(actual: unknown, expected: unknown, message?: string): void;
  ok(value: unknown, message?: string): void;
}

export interface StoreContractCase {
  name: string;
  /** `store` is fresh for the case, but may share a backing database with other cases. */
  run(store: Store, assert: Assert): Promise<void>;
}

export const storeContractCases: readonly StoreContractCase[] = [
  {
    name: "creates only when absent, then compare-and-swaps on the version",
    async run(store, assert) {
      const rec = credentialRecord();
      const v1 = await store.putCredential(rec, null);
      assert.notEqual(v1, null);
      assert.equal(await store.putCredential(rec, null), null);
      const got = await store.getCredential(rec.id);
      assert.deepEqual(got?.value, rec);
      assert.equal(got?.version, v1);
      const v2 = await store.putCredential({ ...rec, description: "changed" }, v1);
      assert.notEqual(v2, null);
      assert.equal(await store.putCredential({ ...rec, description: "stale" }, v1), null);
      assert.equal((await store.getCredential(rec.id))?.value.description, "changed");
    },
  },
  {
    name: "lets exactly one of many concurrent creators win",
    async run(store, assert) {
      const rec = credentialRecord();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.putCredential({ ...rec, description: `c${i}` }, null)),
      );
      const winners = results.flatMap((r, i) => (r === null ? [] : [i]));
      assert.equal(winners.length, 1);
      assert.equal((await store.getCredential(rec.id))?.value.description, `c${winners[0]}`);
    },
  },
  {
    name: "lets exactly one of many concurrent writers win a version",
    async run(store, assert) {
      const rec = credentialRecord();
      const v1 = (await store.putCredential(rec, null))!;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.putCredential({ ...rec, description: `w${i}` }, v1)),
      );
      assert.equal(results.filter((r) => r !== null).length, 1);
    },
  },
  {
    name: "indexes current and previous fingerprints, and forgets dropped ones",
    async run(store, assert) {
      const rec = credentialRecord();
      const v1 = (await store.putCredential(rec, null))!;
      assert.equal(await store.findCredentialByFingerprint(rec.fingerprint), rec.id);
      const rotated = {
        ...rec,
        fingerprint: `${rec.fingerprint}-new`,
        previous: [{
          fingerprint: rec.fingerprint,
          rotation_id: "rot_x",
          superseded_at: rec.created_at,
          revoke_after: rec.created_at,
          revoke_attempts: 0,
        }],
      };
      const v2 = (await store.putCredential(rotated, v1))!;
      assert.equal(await store.findCredentialByFingerprint(rec.fingerprint), rec.id);
      assert.equal(await store.findCredentialByFingerprint(rotated.fingerprint), rec.id);
      await store.putCredential({ ...rotated, previous: [] }, v2);
      assert.equal(await store.findCredentialByFingerprint(rec.fingerprint), null);
      assert.equal(await store.findCredentialByFingerprint("nope"), null);
    },
  },
  {
    name: "looks many fingerprints up at once: current and previous ones, found ones only",
    async run(store, assert) {
      const a = credentialRecord();
      const b = credentialRecord();
      const va = (await store.putCredential(a, null))!;
      await store.putCredential(b, null);
      const rotated = {
        ...a,
        fingerprint: `${a.fingerprint}-new`,
        previous: [{
          fingerprint: a.fingerprint,
          rotation_id: "rot_x",
          superseded_at: a.created_at,
          revoke_after: a.created_at,
          revoke_attempts: 0,
        }],
      };
      await store.putCredential(rotated, va);
      const found = await store.findCredentialsByFingerprints([
        a.fingerprint,
        "nope",
        rotated.fingerprint,
        b.fingerprint,
        b.fingerprint,
      ]);
      assert.deepEqual(
        [...found.entries()].sort(),
        [[a.fingerprint, a.id], [rotated.fingerprint, a.id], [b.fingerprint, b.id]].sort(),
      );
      assert.equal((await store.findCredentialsByFingerprints([])).size, 0);
    },
  },
  {
    name: "looks up more fingerprints than one bulk read takes (Workers 100, Deno KV 10)",
    async run(store, assert) {
      const recs = [credentialRecord(), credentialRecord(), credentialRecord()];
      for (const r of recs) await store.putCredential(r, null);
      // 250 fingerprints, 3 known: first, in the second hundred, last.
      const fps = Array.from({ length: 250 }, (_, i) => `unknown-${i}-${recs[0]!.id}`);
      fps[0] = recs[0]!.fingerprint;
      fps[137] = recs[1]!.fingerprint;
      fps[249] = recs[2]!.fingerprint;
      const found = await store.findCredentialsByFingerprints(fps);
      assert.equal(found.size, 3);
      for (const r of recs) assert.equal(found.get(r.fingerprint), r.id);
    },
  },
  {
    name: "lists every credential across pages with a cursor",
    async run(store, assert) {
      const made = new Set<string>();
      for (let i = 0; i < 7; i++) {
        const rec = credentialRecord();
        await store.putCredential(rec, null);
        made.add(rec.id);
      }
      const seen = new Set<string>();
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listCredentials({ limit: 3, ...(cursor ? { cursor } : {}) });
        page.items.forEach((r) => seen.add(r.id));
        cursor = page.cursor;
        pages++;
      } while (cursor && pages < 20);
      for (const id of made) assert.ok(seen.has(id), `listing misses "${id}"`);
      assert.ok(pages > 1, "one page only");
    },
  },
  {
    name: "pages the sweep index with each credential's next action time (null when nothing is due)",
    async run(store, assert) {
      const idle = credentialRecord({ policy: { grace_hours: 24, on_compromise: "rotate", generator: "none" } });
      const aging = credentialRecord({
        policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none" },
      });
      await store.putCredential(idle, null);
      await store.putCredential(aging, null);
      const seen = new Map<string, number | null | undefined>();
      let cursor: string | undefined;
      do {
        const page = await store.listIndex({ limit: 1, ...(cursor ? { cursor } : {}) });
        page.items.forEach((e) => seen.set(e.id, e.next_action_at));
        cursor = page.cursor;
      } while (cursor);
      assert.equal(seen.get(idle.id), null);
      const due = seen.get(aging.id);
      assert.equal(typeof due, "number");
      const maxAge = Date.parse(aging.value_created_at) + 30 * 86_400_000;
      assert.ok(
        Number(due) >= maxAge && Number(due) <= maxAge + 6 * 3_600_000,
        `next action ${due} is not within 6 h after max age`,
      );
    },
  },
  {
    name: "keeps each credential's dashboard summary in the index, rewritten with the record",
    async run(store, assert) {
      const rec = credentialRecord({
        policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none" },
      });
      const v1 = (await store.putCredential(rec, null))!;
      const summaryOf = async (id: string) => {
        let cursor: string | undefined;
        do {
          const page = await store.listIndex({ limit: 1000, ...(cursor ? { cursor } : {}) });
          const hit = page.items.find((e) => e.id === id);
          // The entry's summary may be the whole index metadata: its own fields only.
          if (hit?.summary) {
            const { s, f, r, x, g, k, l } = hit.summary;
            return JSON.parse(JSON.stringify({ s, f, r, x, g, k, l }));
          }
          if (hit) return undefined;
          cursor = page.cursor;
        } while (cursor);
        return undefined;
      };
      assert.deepEqual(await summaryOf(rec.id), recordSummary(rec));
      const revoked = { ...rec, state: "revoked" as const, revoked_at: rec.updated_at };
      await store.putCredential(revoked, v1);
      const after = await summaryOf(rec.id);
      assert.deepEqual(after, recordSummary(revoked));
      assert.equal(after?.s, "revoked");
      assert.equal(after?.r, undefined);
    },
  },
  {
    name: "keeps rotations per credential with compare-and-swap, findable by id",
    async run(store, assert) {
      const rec = credentialRecord();
      await store.putCredential(rec, null);
      const rot = rotationRecord(rec.id);
      const v1 = (await store.putRotation(rot, null))!;
      assert.equal(await store.putRotation(rot, null), null);
      assert.deepEqual((await store.getRotation(rec.id, rot.id))?.value, rot);
      assert.equal(await store.getRotation("cred_other", rot.id), null);
      await store.putRotation({ ...rot, step: "propagate" }, v1);
      assert.equal(await store.putRotation({ ...rot, step: "verify" }, v1), null);
      // By id alone: which credential, and (once settled) how it ended; progress in between may lag.
      assert.equal((await store.findRotation(rot.id))?.credential_id, rec.id);
      const v3 = (await store.getRotation(rec.id, rot.id))!.version;
      await store.putRotation({ ...rot, step: "done", state: "done" }, v3);
      assert.equal((await store.findRotation(rot.id))?.state, "done");
      assert.deepEqual((await store.listRotations(rec.id)).map((r) => r.id), [rot.id]);
    },
  },
  {
    name: "forgets a credential, its rotations and its index entries on delete",
    async run(store, assert) {
      const rec = credentialRecord();
      await store.putCredential(rec, null);
      const rot = rotationRecord(rec.id);
      await store.putRotation(rot, null);
      await store.deleteCredential(rec.id);
      assert.equal(await store.getCredential(rec.id), null);
      assert.equal(await store.findCredentialByFingerprint(rec.fingerprint), null);
      assert.equal((await store.findCredentialsByFingerprints([rec.fingerprint])).size, 0);
      assert.equal(await store.findRotation(rot.id), null);
      assert.deepEqual(await store.listRotations(rec.id), []);
      const indexed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listIndex({ limit: 1000, ...(cursor ? { cursor } : {}) });
        indexed.push(...page.items.map((e) => e.id));
        cursor = page.cursor;
      } while (cursor);
      assert.ok(!indexed.includes(rec.id), "the sweep index still lists the deleted credential");
      await store.deleteCredential(rec.id); // idempotent
    },
  },
  {
    name: "returns copies: mutating a read value does not change the store",
    async run(store, assert) {
      const rec = credentialRecord();
      await store.putCredential(rec, null);
      const got = (await store.getCredential(rec.id))!;
      got.value.scopes.push("Mutated");
      assert.deepEqual((await store.getCredential(rec.id))?.value.scopes, ["All"]);
    },
  },
];
