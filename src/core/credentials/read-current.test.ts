/** refresh_after, pure logic: how long a consumer may cache a value (read-current.ts). */
import { describe, expect, it } from "vitest";
import { credentialRecord } from "../../../test/support/records.ts";
import { jitterMs } from "../sweep/rules.ts";
import { MAX_CACHE_MS, refreshAfter } from "./read-current.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const DAY = 86_400_000;
const policy = { grace_hours: 24, on_compromise: "rotate" as const, generator: "none" as const };
const running = (reason: "compromise" | "manual" | "scheduled", mode: "rotate" | "revoke" = "rotate") => ({
  id: "rot_1",
  reason,
  mode,
  requested_by: "sweep",
  created_at: new Date(T0).toISOString(),
});

describe("refreshAfter (pure logic)", () => {
  it("caches for MAX_CACHE_MS when nothing is planned", () => {
    expect(refreshAfter(credentialRecord({ value_created_at: new Date(T0).toISOString() }), T0)).toBe(
      T0 + MAX_CACHE_MS,
    );
  });

  it("never past the value's planned replacement or its key's expiry", () => {
    const due = T0 + 60_000;
    const expiring = credentialRecord({ key_expires_at: new Date(due).toISOString() });
    expect(refreshAfter(expiring, T0)).toBe(due);
    const aged = credentialRecord({ policy: { ...policy, max_age_days: 30 } });
    // Due (max age plus the sweep's jitter) 90 s from now.
    aged.value_created_at = new Date(T0 - 30 * DAY - jitterMs(aged.id, 30) + 90_000).toISOString();
    expect(refreshAfter(aged, T0)).toBe(T0 + 90_000);
  });

  it("is seconds while a compromise or a revocation runs, half a minute while a routine rotation does", () => {
    expect(refreshAfter(credentialRecord({ current_rotation: running("compromise") }), T0)).toBe(T0 + 5_000);
    expect(refreshAfter(credentialRecord({ current_rotation: running("manual", "revoke") }), T0)).toBe(T0 + 5_000);
    expect(refreshAfter(credentialRecord({ current_rotation: running("scheduled") }), T0)).toBe(T0 + 30_000);
  });

  it("never past a replacement due within the half minute, and a second when it is overdue", () => {
    const soon = credentialRecord({ key_expires_at: new Date(T0 + 10_000).toISOString() });
    expect(refreshAfter(soon, T0)).toBe(T0 + 10_000);
    const overdue = credentialRecord({ policy: { ...policy, expires_at: new Date(T0 - 1).toISOString() } });
    expect(refreshAfter(overdue, T0)).toBe(T0 + 1_000);
  });
});
