/**
 * The Store contract (src/core/store/store.ts), as a suite any implementation must pass:
 * memory, Workers KV + Durable Objects, Deno KV.
 */
import { describe, expect, it } from "vitest";
import type { Store } from "../../src/core/store/store.ts";
import { credentialRecord, rotationRecord } from "./records.ts";

export function storeContractSuite(name: string, makeStore: () => Store | Promise<Store>) {
  describe(`Store contract: ${name}`, () => {
    it("creates only when absent, then compare-and-swaps on the version", async () => {
      const store = await makeStore();
      const rec = credentialRecord();
      const v1 = await store.putCredential(rec, null);
      expect(v1).not.toBeNull();
      expect(await store.putCredential(rec, null)).toBeNull();
      const got = await store.getCredential(rec.id);
      expect(got?.value).toEqual(rec);
      expect(got?.version).toBe(v1);
      const v2 = await store.putCredential({ ...rec, description: "changed" }, v1);
      expect(v2).not.toBeNull();
      expect(await store.putCredential({ ...rec, description: "stale" }, v1)).toBeNull();
      expect((await store.getCredential(rec.id))?.value.description).toBe("changed");
    });

    it("lets exactly one of many concurrent writers win a version", async () => {
      const store = await makeStore();
      const rec = credentialRecord();
      const v1 = (await store.putCredential(rec, null))!;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.putCredential({ ...rec, description: `w${i}` }, v1)),
      );
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it("indexes current and previous fingerprints, and forgets dropped ones", async () => {
      const store = await makeStore();
      const rec = credentialRecord();
      const v1 = (await store.putCredential(rec, null))!;
      expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBe(rec.id);
      const rotated = {
        ...rec,
        fingerprint: `${rec.fingerprint}-new`,
        previous: [{ fingerprint: rec.fingerprint, rotation_id: "rot_x", superseded_at: rec.created_at, revoke_after: rec.created_at, revoke_attempts: 0 }],
      };
      const v2 = (await store.putCredential(rotated, v1))!;
      expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBe(rec.id);
      expect(await store.findCredentialByFingerprint(rotated.fingerprint)).toBe(rec.id);
      await store.putCredential({ ...rotated, previous: [] }, v2);
      expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBeNull();
      expect(await store.findCredentialByFingerprint("nope")).toBeNull();
    });

    it("lists every credential across pages with a cursor", async () => {
      const store = await makeStore();
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
      for (const id of made) expect(seen.has(id)).toBe(true);
      expect(pages).toBeGreaterThan(1);
    });

    it("indexes every credential with its next sweep action time, without reading records", async () => {
      const store = await makeStore();
      const idle = credentialRecord({ policy: { grace_hours: 24, on_compromise: "rotate", generator: "none" } });
      const aging = credentialRecord({ policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none" } });
      await store.putCredential(idle, null);
      await store.putCredential(aging, null);
      const seen = new Map<string, number | null | undefined>();
      let cursor: string | undefined;
      do {
        const page = await store.listIndex({ limit: 1, ...(cursor ? { cursor } : {}) });
        page.items.forEach((e) => seen.set(e.id, e.next_action_at));
        cursor = page.cursor;
      } while (cursor);
      expect(seen.get(idle.id)).toBeNull();
      const due = seen.get(aging.id)!;
      expect(due).toBeGreaterThanOrEqual(Date.parse(aging.value_created_at) + 30 * 86_400_000);
      expect(due).toBeLessThanOrEqual(Date.parse(aging.value_created_at) + 30 * 86_400_000 + 6 * 3_600_000);
    });

    it("keeps rotations per credential with compare-and-swap, findable by id", async () => {
      const store = await makeStore();
      const rec = credentialRecord();
      await store.putCredential(rec, null);
      const rot = rotationRecord(rec.id);
      const v1 = (await store.putRotation(rot, null))!;
      expect(await store.putRotation(rot, null)).toBeNull();
      expect((await store.getRotation(rec.id, rot.id))?.value).toEqual(rot);
      expect(await store.getRotation("cred_other", rot.id)).toBeNull();
      await store.putRotation({ ...rot, step: "propagate" }, v1);
      expect(await store.putRotation({ ...rot, step: "verify" }, v1)).toBeNull();
      expect((await store.findRotation(rot.id))?.step).toBe("propagate");
      expect((await store.listRotations(rec.id)).map((r) => r.id)).toEqual([rot.id]);
    });

    it("forgets a credential, its rotations and its index entries on delete", async () => {
      const store = await makeStore();
      const rec = credentialRecord();
      await store.putCredential(rec, null);
      const rot = rotationRecord(rec.id);
      await store.putRotation(rot, null);
      await store.deleteCredential(rec.id);
      expect(await store.getCredential(rec.id)).toBeNull();
      expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBeNull();
      expect(await store.findRotation(rot.id)).toBeNull();
      expect(await store.listRotations(rec.id)).toEqual([]);
      await store.deleteCredential(rec.id); // idempotent
    });

    it("returns copies: mutating a read value does not change the store", async () => {
      const store = await makeStore();
      const rec = credentialRecord();
      await store.putCredential(rec, null);
      const got = (await store.getCredential(rec.id))!;
      got.value.scopes.push("Mutated");
      expect((await store.getCredential(rec.id))?.value.scopes).toEqual(["All"]);
    });
  });
}
