/** The ownership rules (pure logic): markers, create-call windows, which candidate is adopted. */
import { describe, expect, it } from "vitest";
import { createdInWindow, earliestCreated, markerOf, mintedBy, orphanVerdict, recordCreateCall } from "./ownership.ts";
import type { Rotation } from "./rotation.ts";
import { withoutMarkers } from "./rotation.ts";

const T = Date.parse("2026-06-01T12:00:00Z");
const at = (ms: number) => new Date(ms).toISOString();
const rot = (calls: number[], extra: Partial<Rotation> = {}) =>
  ({ id: "rot_a1", state: "failed", create_calls: calls.map(at), ...extra }) as Rotation;

describe("ownership rules (pure logic)", () => {
  it("reads a marker only when the description carries exactly one well-formed marker", () => {
    expect(markerOf({ description: "workload [rekey:rot_a1]" })).toBe("rot_a1");
    expect(markerOf({ description: "workload [rekey:rot_old] [rekey:rot_a1]" })).toBeUndefined();
    expect(markerOf({ description: "[rekey:rot_A1]" })).toBeUndefined();
    expect(markerOf({ description: "workload" })).toBeUndefined();
    expect(withoutMarkers("workload [rekey:rot_old] [rekey:junk]")).toBe("workload");
  });

  it("counts a key as made during a create call only inside that call's own window", () => {
    const r = rot([T, T + 3_600_000]);
    expect(createdInWindow({ created_at: at(T + 1_000) }, r)).toBe(true);
    expect(createdInWindow({ created_at: at(T + 3_600_000 + 30_000) }, r)).toBe(true);
    // Between the two calls: outside both windows, although inside the span they cover.
    expect(createdInWindow({ created_at: at(T + 1_800_000) }, r)).toBe(false);
    expect(createdInWindow({ created_at: at(T - 10_000) }, r)).toBe(false);
    // Clarifai's microseconds are fine; a timestamp without an offset (read in the host's zone) is not.
    expect(createdInWindow({ created_at: "2026-06-01T12:00:01.123456Z" }, r)).toBe(true);
    expect(createdInWindow({ created_at: "2026-06-01T12:00:01" }, r)).toBe(false);
    expect(createdInWindow({}, r)).toBe(false);
    expect(recordCreateCall(rot([T]), T + 5).create_calls).toEqual([at(T), at(T + 5)]);
  });

  it("adopts the earliest created of several candidates: a copy is made after what it copies", () => {
    const genuine = { id: "k1", created_at: at(T + 900) };
    const copy = { id: "k2", created_at: at(T + 4_000) };
    expect(earliestCreated([copy, genuine])?.id).toBe("k1");
    expect(mintedBy({ description: "w [rekey:rot_a1]", created_at: genuine.created_at }, rot([T]))).toBe(true);
  });

  it("calls a key an orphan only for a settled rotation that did not record it, made inside a window", () => {
    const key = { description: "w [rekey:rot_a1]", created_at: at(T + 1_000) };
    expect(orphanVerdict(key, "fp1", rot([T]))).toEqual({ orphan: true });
    expect(orphanVerdict(key, "fp1", rot([T], { new_fingerprint: "fp1" }))).toEqual({ orphan: false });
    expect(orphanVerdict(key, "fp1", rot([T], { new_fingerprint: "fp1", rollback_incomplete: true }))).toEqual({
      orphan: true,
    });
    expect(orphanVerdict(key, "fp1", rot([T], { state: "running" }))).toEqual({
      orphan: false,
      leftAlone: "rotation_running",
    });
    expect(orphanVerdict(key, "fp1", null)).toEqual({ orphan: false, leftAlone: "rotation_unknown" });
    expect(orphanVerdict({ ...key, created_at: at(T + 7_200_000) }, "fp1", rot([T]))).toEqual({
      orphan: false,
      leftAlone: "outside_create_window",
    });
  });
});
