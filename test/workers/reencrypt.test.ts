/**
 * Moving records to a new master-key version: records sealed under version 1 stay readable once
 * version 2 exists; a re-encrypt pass moves every record (current and previous values) to
 * version 2, and an interrupted pass resumes from its cursor. Runs over the Workers store (KV + DO).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { aadFor } from "../../src/core/credentials/credential.ts";
import { decrypt, encrypt } from "../../src/core/crypto/envelope.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import { reencryptPage } from "../../src/core/maintenance/reencrypt.ts";
import type { EngineDeps } from "../../src/core/rotation/engine-deps.ts";
import { credentialRecord } from "../support/records.ts";
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
      const prevValue = await encrypt(v1, `old-${i}`, aadFor(rec));
      const sealed = await encrypt(v1, `value-${i}`, aadFor(rec));
      expect(sealed.v).toBe(1);
      await store.putCredential({ ...rec, value: sealed, previous: [{ fingerprint: `p${rec.fingerprint}`, value: prevValue, rotation_id: "rot_x", superseded_at: rec.created_at, revoke_after: rec.created_at, revoke_attempts: 0 }] }, null);
      ids.push(rec.id);
    }
    const both = keyring(TEST_KEYS); // version 2 now encrypts
    const deps = { store, keyring: both } as unknown as EngineDeps;
    // Old-version records are still readable with the new keyring.
    const first = (await store.getCredential(ids[0]!))!.value;
    expect(await decrypt(both, first.value, aadFor(first))).toEqual({ ok: true, value: "value-0" });

    // One page, then "crash": resume from the cursor it returned.
    const page1 = await reencryptPage(deps, { limit: 5 });
    expect(page1.cursor).toBeDefined();
    let cursor = page1.cursor;
    let rewritten = page1.rewritten;
    while (cursor) {
      const page = await reencryptPage(deps, { limit: 5, cursor });
      rewritten += page.rewritten;
      cursor = page.cursor;
    }
    expect(rewritten).toBeGreaterThanOrEqual(12);
    for (const [i, id] of ids.entries()) {
      const rec = (await store.getCredential(id))!.value;
      expect(rec.value.v).toBe(2);
      expect(rec.previous[0]!.value!.v).toBe(2);
      expect(await decrypt(both, rec.value, aadFor(rec))).toEqual({ ok: true, value: `value-${i}` });
      expect(await decrypt(both, rec.previous[0]!.value!, aadFor(rec))).toEqual({ ok: true, value: `old-${i}` });
    }
    // A second full pass finds nothing left under the old version.
    let again = await reencryptPage(deps, { limit: 100 });
    let total = again.rewritten;
    while (again.cursor) total += (again = await reencryptPage(deps, { limit: 100, cursor: again.cursor })).rewritten;
    expect(total).toBe(0);
  });
});
