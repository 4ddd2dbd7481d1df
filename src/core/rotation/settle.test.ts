/**
 * `readSettled` (in-memory unit test of its logic on the memory store): the credential is taken as
 * its rotation's settlement leaves it only from a copy read after the rotation was seen settled.
 */
import { describe, expect, it } from "vitest";
import { credentialRecord, rotationRecord } from "../../../test/support/records.ts";
import { MemoryStore } from "../store/memory-store.ts";
import { asSettled, readSettled } from "./settle.ts";

const marker = (id: string) => ({
  id,
  reason: "compromise" as const,
  mode: "rotate" as const,
  requested_by: "t",
  created_at: "2026-01-01T00:00:00.000Z",
});

describe("readSettled (in-memory unit test)", () => {
  it("reads the credential again once the rotation is seen settled: a salvaged compromise is active on its new value, not revoked", async () => {
    const store = new MemoryStore();
    const stale = credentialRecord({ fingerprint: "fp-leaked" });
    // The compromise deleted the leaked value, failed after its create, and its rollback promoted the
    // replacement (rollback.ts, the salvage) before the rotation settled failed.
    const r = rotationRecord(stale.id, {
      reason: "compromise",
      state: "failed",
      step: "verify",
      old_fingerprint: "fp-leaked",
      old_revoked: true,
      finished_at: "2026-01-01T00:01:00.000Z",
    });
    stale.current_rotation = marker(r.id);
    const salvaged = { ...stale, fingerprint: "fp-new" };
    expect(await store.putCredential(salvaged, null)).not.toBeNull();
    expect(await store.putRotation(r, null)).not.toBeNull();

    // The copy read before the salvage says the only value is dead; the fresh one does not.
    expect(asSettled(stale, r).state).toBe("revoked");
    const { rec, rotation } = await readSettled(store, stale);
    expect(rotation?.id).toBe(r.id);
    expect(rec).toMatchObject({ state: "active", fingerprint: "fp-new", last_rotation: { id: r.id, state: "failed" } });
    expect(rec.current_rotation).toBeUndefined();
  });

  it("leaves a credential whose rotation still runs as it is, and reads nothing without a marker", async () => {
    const store = new MemoryStore();
    const rec = credentialRecord();
    const r = rotationRecord(rec.id);
    rec.current_rotation = marker(r.id);
    await store.putRotation(r, null);
    expect(await readSettled(store, rec)).toEqual({ rec, rotation: r });
    const plain = credentialRecord();
    expect(await readSettled(store, plain)).toEqual({ rec: plain, rotation: null });
  });
});
