/**
 * The one crash only the Workers store can have: the credential's Durable Object commits a write
 * and dies before its KV mirror (test/support/worker-under-test.ts loses the mirror's KV writes).
 * KV then describes the record before the write: a new credential is missing from the sweep index
 * and the fingerprint index. The cell committed the mirror it still owed with the write, and an
 * alarm (src/adapters/credential-cell.ts): the alarm, due within MIRROR_REPAIR_MS (well inside one
 * 15-minute sweep), writes it, and so does the next write of the same credential if it comes
 * first. The fault and crash matrices run this crash point at every mirrored write of the
 * operations (test/reliability/matrix-workers.test.ts); these are its mechanics, case by case.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MIRROR_REPAIR_MS } from "../../src/adapters/credential-cell.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { nextActionAt } from "../../src/core/sweep/rules.ts";
import { credentialRecord } from "../support/records.ts";
import type { CredentialCell } from "../support/worker-under-test.ts";

const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
const cell = (id: string) =>
  env.CREDENTIAL_CELLS.get(env.CREDENTIAL_CELLS.idFromName(id)) as unknown as DurableObjectStub<CredentialCell>;
const alarmIn = async (id: string) => {
  const at = await runInDurableObject(cell(id), (_, state: DurableObjectState) => state.storage.getAlarm());
  return at === null ? null : at - Date.now();
};
/** The mirror the cell still owes KV (src/adapters/credential-cell.ts PENDING_MIRROR), if any. */
const pendingOf = (id: string) =>
  runInDurableObject(cell(id), (_, state: DurableObjectState) => state.storage.get("mirror:pending"));

async function indexed(id: string): Promise<number | null | undefined | "absent"> {
  const entries = [];
  for (let cursor: string | undefined, first = true; first || cursor; first = false) {
    const page = await store.listIndex({ limit: 1000, ...(cursor ? { cursor } : {}) });
    entries.push(...page.items);
    cursor = page.cursor;
  }
  const e = entries.find((x) => x.id === id);
  return e ? e.next_action_at : "absent";
}

describe("CredentialCell: a commit whose KV mirror was lost", () => {
  it("is missing from the sweep and fingerprint indexes until the cell's alarm writes the mirror, due within a minute", async () => {
    const rec = credentialRecord({
      policy: { grace_hours: 0, on_compromise: "rotate", generator: "none", max_age_days: 30 },
    });
    await cell(rec.id).loseNextMirror();
    await expect(store.putCredential(rec, null)).rejects.toThrow();
    // Committed in the cell (strongly consistent reads see it) ...
    expect((await store.getCredential(rec.id))?.value).toStrictEqual(rec);
    // ... but KV, which the sweep and the alerts read, does not.
    expect(await indexed(rec.id)).toBe("absent");
    expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBeNull();
    const due = await alarmIn(rec.id);
    expect(due).not.toBeNull();
    expect(due!).toBeLessThanOrEqual(MIRROR_REPAIR_MS);
    expect(MIRROR_REPAIR_MS).toBeLessThan(15 * 60_000);

    expect(await runDurableObjectAlarm(cell(rec.id))).toBe(true);
    expect(await indexed(rec.id)).toBe(nextActionAt(rec));
    expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBe(rec.id);
    // Repaired: nothing left to do.
    expect(await pendingOf(rec.id)).toBeUndefined();
  });

  it("is written by the credential's next write, with that write's own mirror, if it comes first", async () => {
    const rec = credentialRecord();
    const v1 = await store.putCredential(rec, null);
    await cell(rec.id).loseNextMirror();
    const rotated = { ...rec, fingerprint: `${rec.fingerprint}-new`, previous: [] };
    await expect(store.putCredential(rotated, v1)).rejects.toThrow();
    // The lost mirror: the new fingerprint unknown to KV, the old one still there.
    expect(await store.findCredentialByFingerprint(rotated.fingerprint)).toBeNull();
    expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBe(rec.id);

    const v3 = await store.putCredential({ ...rotated, description: "later" }, String(Number(v1) + 1));
    expect(v3).not.toBeNull();
    expect(await store.findCredentialByFingerprint(rotated.fingerprint)).toBe(rec.id);
    // The dropped fingerprint's delete, owed by the lost mirror, was made too.
    expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBeNull();
    expect(JSON.parse((await env.REKEY_KV.get(`cred:${rec.id}`))!).description).toBe("later");
    expect(await pendingOf(rec.id)).toBeUndefined();
    expect(await alarmIn(rec.id)).toBeNull();
  });

  it("owes nothing, and leaves no alarm to fire, once a mirror landed", async () => {
    const rec = credentialRecord();
    await store.putCredential(rec, null);
    expect(await pendingOf(rec.id)).toBeUndefined();
    expect(await alarmIn(rec.id)).toBeNull();
  });

  it("unmanaging a credential whose KV deletes were lost: the alarm deletes them", async () => {
    const rec = credentialRecord();
    await store.putCredential(rec, null);
    await cell(rec.id).loseNextMirror();
    await expect(store.deleteCredential(rec.id)).rejects.toThrow();
    expect(await store.getCredential(rec.id)).toBeNull();
    // A ghost in KV: listed, and its fingerprint still names it.
    expect(await env.REKEY_KV.get(`cred:${rec.id}`)).not.toBeNull();
    expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBe(rec.id);
    expect(await alarmIn(rec.id)).not.toBeNull();
    expect(await runDurableObjectAlarm(cell(rec.id))).toBe(true);
    expect(await env.REKEY_KV.get(`cred:${rec.id}`)).toBeNull();
    expect(await store.findCredentialByFingerprint(rec.fingerprint)).toBeNull();
  });
});
