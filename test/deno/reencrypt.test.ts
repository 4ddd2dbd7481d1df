/**
 * Re-encryption over Deno KV (the adapter src/deno.ts uses): records sealed before fields were
 * bound (the old AAD) and a settled rotation's chat reply are rewrapped by one pass, under the
 * current key version, and the pass counts exactly the value it could not open.
 */
import assert from "node:assert/strict";
import { DenoKvStore } from "../../src/adapters/deno-kv-store.ts";
import { openReplies, sealReply } from "../../src/core/chatops/reply.ts";
import { aadFor, CURRENT_VALUE, previousValue } from "../../src/core/credentials/credential.ts";
import { decrypt } from "../../src/core/crypto/envelope.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import { reencryptPage } from "../../src/core/maintenance/reencrypt.ts";
import type { EngineServices } from "../../src/core/rotation/engine-services.ts";
import { sealLegacy } from "../support/legacy-seal.ts";
import { credentialRecord, rotationRecord } from "../support/records.ts";

// Test-only keys (the same as vitest.config.ts): public, never used outside tests.
const KEYS = '{"1":"dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=","2":"dGVzdC1rZXktdmVyc2lvbi10d28tMzItYnl0ZXMhISE="}';

Deno.test("Deno KV: one re-encryption pass leaves nothing under the old AAD or an old version", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  const parsed = parseKeyring(KEYS);
  assert.ok(parsed.ok);
  const keyring = parsed.value;
  const v1 = parseKeyring(JSON.stringify({ 1: JSON.parse(KEYS)["1"] }));
  assert.ok(v1.ok);

  const rec = credentialRecord();
  const old = {
    ...rec,
    value: await sealLegacy(KEYS, 2, "current", rec),
    previous: [{
      fingerprint: "pf",
      value: await sealLegacy(KEYS, 1, "superseded", rec),
      rotation_id: "rot_x",
      superseded_at: rec.created_at,
      revoke_after: "2999-01-01T00:00:00.000Z",
      revoke_attempts: 0,
    }],
  };
  assert.notEqual(await store.putCredential(old, null), null);
  const target = { platform: "slack" as const, url: "https://hooks.slack.com/commands/T1/7/7" };
  const settled = rotationRecord(rec.id, { state: "done", step: "done" });
  const broken = await sealLegacy(KEYS, 1, "sealed for another record", { id: "cred_elsewhere", kind: rec.kind });
  assert.notEqual(
    await store.putRotation({ ...settled, replies: [await sealReply(v1.value, settled.id, target), broken] }, null),
    null,
  );

  const page = await reencryptPage({ store, keyring } as unknown as EngineServices, { limit: 100 });
  assert.equal(page.remaining, 1);
  const after = (await store.getCredential(rec.id))!.value;
  assert.deepEqual([after.value.v, after.value.aad, after.previous[0]!.value!.v, after.previous[0]!.value!.aad], [
    2,
    2,
    2,
    2,
  ]);
  assert.deepEqual(await decrypt(keyring, after.value, aadFor(after, CURRENT_VALUE)), { ok: true, value: "current" });
  assert.deepEqual(await decrypt(keyring, after.previous[0]!.value!, aadFor(after, previousValue("pf"))), {
    ok: true,
    value: "superseded",
  });
  const r = (await store.getRotation(rec.id, settled.id))!.value;
  assert.deepEqual([r.replies![0]!.v, r.replies![0]!.aad], [2, 2]);
  assert.deepEqual(r.replies![1], broken);
  assert.deepEqual(await openReplies(keyring, r), [target]);
});
