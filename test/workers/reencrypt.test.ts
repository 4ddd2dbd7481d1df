/**
 * Moving records to a new master-key version: records sealed under version 1 stay readable once
 * version 2 exists; a re-encrypt pass moves every record (current and previous values) to
 * version 2, and an interrupted pass resumes from its cursor. Runs over the Workers store (KV + DO).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { aadFor, CURRENT_VALUE, previousValue, rotationNewValue } from "../../src/core/credentials/credential.ts";
import { decrypt, encrypt } from "../../src/core/crypto/envelope.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import { reencryptPage } from "../../src/core/maintenance/reencrypt.ts";
import type { EngineServices } from "../../src/core/rotation/engine-services.ts";
import { credentialRecord, rotationRecord } from "../support/records.ts";
import { openReplies, sealReply } from "../../src/core/chatops/reply.ts";
import { moveSealed } from "../../src/core/rotation/values.ts";
import { MemoryJobStore } from "../../src/core/maintenance/job.ts";
import { runReencryptBatch, startReencrypt } from "../../src/core/maintenance/reencrypt-job.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { TEST_KEYS } from "../support/engine-harness.ts";

const V1_ONLY = JSON.stringify({ "1": JSON.parse(TEST_KEYS)["1"] });

function keyring(json: string) {
  const k = parseKeyring(json);
  if (!k.ok) throw new Error("bad keyring");
  return k.value;
}

describe("re-encryption under a new key version", () => {
  it("reads old versions, moves every record, and resumes after an interruption", async () => {
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const v1 = keyring(V1_ONLY);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const rec = credentialRecord();
      const prevValue = await encrypt(v1, `old-${i}`, aadFor(rec, previousValue(`p${rec.fingerprint}`)));
      const sealed = await encrypt(v1, `value-${i}`, aadFor(rec, CURRENT_VALUE));
      expect(sealed.v).toBe(1);
      await store.putCredential({
        ...rec,
        value: sealed,
        previous: [{
          fingerprint: `p${rec.fingerprint}`,
          value: prevValue,
          rotation_id: "rot_x",
          superseded_at: rec.created_at,
          revoke_after: rec.created_at,
          revoke_attempts: 0,
        }],
      }, null);
      ids.push(rec.id);
    }
    const both = keyring(TEST_KEYS); // version 2 now encrypts
    const engine = { store, keyring: both } as unknown as EngineServices;
    // Old-version records are still readable with the new keyring.
    const first = (await store.getCredential(ids[0]!))!.value;
    expect(await decrypt(both, first.value, aadFor(first, CURRENT_VALUE))).toEqual({ ok: true, value: "value-0" });

    // One page, then "crash": resume from the cursor it returned.
    const page1 = await reencryptPage(engine, { limit: 5 });
    expect(page1.cursor).toBeDefined();
    let cursor = page1.cursor;
    let rewritten = page1.rewritten;
    while (cursor) {
      const page = await reencryptPage(engine, { limit: 5, cursor });
      rewritten += page.rewritten;
      cursor = page.cursor;
    }
    expect(rewritten).toBeGreaterThanOrEqual(12);
    for (const [i, id] of ids.entries()) {
      const rec = (await store.getCredential(id))!.value;
      expect(rec.value.v).toBe(2);
      expect(rec.previous[0]!.value!.v).toBe(2);
      expect(await decrypt(both, rec.value, aadFor(rec, CURRENT_VALUE))).toEqual({ ok: true, value: `value-${i}` });
      expect(await decrypt(both, rec.previous[0]!.value!, aadFor(rec, previousValue(rec.previous[0]!.fingerprint))))
        .toEqual({ ok: true, value: `old-${i}` });
    }
    // A second full pass finds nothing left under the old version.
    let again = await reencryptPage(engine, { limit: 100 });
    let total = again.rewritten;
    while (again.cursor) total += (again = await reencryptPage(engine, { limit: 100, cursor: again.cursor })).rewritten;
    expect(total).toBe(0);
  });

  it("moves a running rotation's new value and chat replies too, so promoting later cannot bring v1 back", async () => {
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const v1 = keyring(V1_ONLY);
    const both = keyring(TEST_KEYS);
    const rec = credentialRecord();
    const rot = rotationRecord(rec.id, { state: "running", step: "verify" });
    const newValue = await encrypt(v1, "the-new-value", aadFor(rec, rotationNewValue(rot.id)));
    const reply = await sealReply(v1, rot.id, { platform: "slack", url: "https://hooks.slack.com/commands/T1/2/3" });
    await store.putCredential({
      ...rec,
      value: await encrypt(v1, "the-value", aadFor(rec, CURRENT_VALUE)),
      current_rotation: {
        id: rot.id,
        reason: "manual",
        mode: "rotate",
        requested_by: "test",
        created_at: rec.created_at,
      },
    }, null);
    await store.putRotation({ ...rot, new_value: newValue, new_fingerprint: "f".repeat(64), replies: [reply] }, null);
    const engine = { store, keyring: both } as unknown as EngineServices;

    const page = await reencryptPage(engine, { limit: 1000 });
    expect(page.remaining).toBe(0);
    const moved = (await store.getRotation(rec.id, rot.id))!.value;
    expect(moved.new_value!.v).toBe(2);
    expect(await decrypt(both, moved.new_value!, aadFor(rec, rotationNewValue(rot.id)))).toEqual({
      ok: true,
      value: "the-new-value",
    });
    expect(await openReplies(both, moved)).toEqual([{
      platform: "slack",
      url: "https://hooks.slack.com/commands/T1/2/3",
    }]);
    expect(moved.replies![0]!.v).toBe(2);

    // And a value still under v1 when it is promoted is rewrapped on the way into the record.
    const promoted = await moveSealed(engine, rec, newValue, rotationNewValue(rot.id), CURRENT_VALUE);
    expect(promoted.v).toBe(2);
    expect(await decrypt(both, promoted, aadFor(rec, CURRENT_VALUE))).toEqual({ ok: true, value: "the-new-value" });
  });

  it("counts a record it could not write as remaining, never as done", async () => {
    const inner = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const v1 = keyring(V1_ONLY);
    const rec = credentialRecord();
    await inner.putCredential({ ...rec, value: await encrypt(v1, "busy", aadFor(rec, CURRENT_VALUE)) }, null);
    // Every compare-and-swap loses, as if a rotation kept writing the record.
    const busy = new Proxy(inner, {
      get: (
        t,
        k,
      ) => (k === "putCredential" ? async () => null : (Reflect.get(t, k) as (...args: unknown[]) => unknown).bind(t)),
    });
    const page = await reencryptPage({ store: busy, keyring: keyring(TEST_KEYS) } as unknown as EngineServices, {
      limit: 1000,
    });
    expect(page.remaining).toBeGreaterThanOrEqual(1);
    expect((await inner.getCredential(rec.id))!.value.value.v).toBe(1);
  });

  it("moves the reply targets of settled rotations too, and every rotation of the credential", async () => {
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const v1 = keyring(V1_ONLY);
    const both = keyring(TEST_KEYS);
    const rec = credentialRecord();
    await store.putCredential({ ...rec, value: await encrypt(both, "current", aadFor(rec, CURRENT_VALUE)) }, null);
    const target = { platform: "slack" as const, url: "https://hooks.slack.com/commands/T1/9/9" };
    const done = rotationRecord(rec.id, { state: "done", step: "done" });
    const failed = rotationRecord(rec.id, { state: "failed", step: "create" });
    for (const r of [done, failed]) {
      await store.putRotation({ ...r, replies: [await sealReply(v1, r.id, target)] }, null);
    }

    const page = await reencryptPage({ store, keyring: both } as unknown as EngineServices, { limit: 1000 });
    expect(page.remaining).toBe(0);
    for (const r of [done, failed]) {
      const after = (await store.getRotation(rec.id, r.id))!.value;
      expect(after.replies![0]).toMatchObject({ v: 2, aad: 2 });
      expect(await openReplies(both, after)).toEqual([target]);
    }
  });

  it("counts exactly the values left behind, and still moves the ones of the same record that open", async () => {
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const v1 = keyring(V1_ONLY);
    const both = keyring(TEST_KEYS);
    const rec = credentialRecord();
    const rot = rotationRecord(rec.id, { state: "running", step: "verify" });
    const good = await encrypt(v1, "opens", aadFor(rec, CURRENT_VALUE));
    // Tampered: sealed for another record, so it will never open here.
    const bad = await encrypt(v1, "never opens", aadFor({ id: "cred_elsewhere", kind: rec.kind }, CURRENT_VALUE));
    const prev = {
      fingerprint: "pf",
      value: bad,
      rotation_id: "rot_x",
      superseded_at: rec.created_at,
      revoke_after: "2999-01-01T00:00:00.000Z",
      revoke_attempts: 0,
    };
    await store.putCredential({
      ...rec,
      value: good,
      previous: [prev],
      current_rotation: {
        id: rot.id,
        reason: "manual",
        mode: "rotate",
        requested_by: "test",
        created_at: rec.created_at,
      },
    }, null);
    const target = { platform: "slack" as const, url: "https://hooks.slack.com/commands/T1/8/8" };
    await store.putRotation({
      ...rot,
      new_value: bad,
      new_fingerprint: "f".repeat(64),
      replies: [await sealReply(v1, rot.id, target), bad],
    }, null);

    const page = await reencryptPage({ store, keyring: both } as unknown as EngineServices, { limit: 1000 });
    // Three values cannot open (the previous value, the rotation's new value, one reply): three remain.
    expect(page.remaining).toBe(3);
    const after = (await store.getCredential(rec.id))!.value;
    expect(after.value).toMatchObject({ v: 2, aad: 2 });
    expect(await decrypt(both, after.value, aadFor(after, CURRENT_VALUE))).toEqual({ ok: true, value: "opens" });
    expect(after.previous[0]!.value).toEqual(bad);
    const r = (await store.getRotation(rec.id, rot.id))!.value;
    expect(r.replies![0]).toMatchObject({ v: 2, aad: 2 });
    expect(r.replies![1]).toEqual(bad);
    expect(r.new_value).toEqual(bad);
  });

  it("refuses to run a batch from an isolate whose keyring is older than the job's target", async () => {
    const jobs = new MemoryJobStore();
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const services = { jobs, bus: { publish: async () => {}, publishAll: async () => {} }, now: () => Date.now() };
    const { job } = await startReencrypt(services, { keyring: keyring(TEST_KEYS) }, "admin");
    const old = { store, keyring: keyring(V1_ONLY) } as unknown as EngineServices;
    const event = newEvent("maintenance.reencrypt", { job_id: job.id, cursor: null, batch_size: 50 }, {
      source: "/rekey/maintenance",
      now: Date.now(),
    });
    await expect(runReencryptBatch(services, old, event)).rejects.toThrow(/targets 2/);
    expect((await jobs.getJob())!.value.batches).toBe(0);
  });
});
