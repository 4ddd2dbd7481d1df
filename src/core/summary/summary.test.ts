/**
 * The dashboard's figures, pure logic over the in-memory store and history (the real adapters
 * are exercised through the Worker in test/workers/dashboard.test.ts and on Deno in
 * test/deno/dashboard.test.ts): the schedule agrees with the sweep's rules, the index summary
 * survives its 1 KiB metadata and comes back intact, and the figures add up.
 */
import { describe, expect, it } from "vitest";
import { credentialRecord } from "../../../test/support/records.ts";
import type { CredentialRecord } from "../credentials/credential.ts";
import { MemoryStore } from "../store/memory-store.ts";
import { indexMetadata } from "../store/index-metadata.ts";
import { dueActions, scheduledActions } from "../sweep/rules.ts";
import { FLAGS, isRecordSummary, recordSummary } from "./record-summary.ts";
import { addFact, factOf, MAX_POINTS_PER_DAY, MemoryStats } from "./stats.ts";
import { buildSummary, percentile } from "./summary.ts";

const T0 = Date.parse("2026-12-10T12:00:00.000Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const sealed = (v = 2) => ({ v, aad: 2 as const, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" });
const policy = (over: Partial<CredentialRecord["policy"]> = {}): CredentialRecord["policy"] => ({
  grace_hours: 24,
  on_compromise: "rotate",
  generator: "none",
  ...over,
});
const previous = (over: Partial<CredentialRecord["previous"][number]> = {}) => ({
  fingerprint: Math.random().toString(16).slice(2).padEnd(64, "0"),
  value: sealed(),
  rotation_id: "rot_1",
  superseded_at: new Date(T0 - DAY).toISOString(),
  revoke_after: new Date(T0 + 2 * DAY).toISOString(),
  revoke_attempts: 0,
  ...over,
});

/** Records covering every rule the schedule charts, and the states around them. */
function variety(): CredentialRecord[] {
  const at = (ms: number) => new Date(ms).toISOString();
  return [
    credentialRecord({ value_created_at: at(T0 - 27 * DAY), policy: policy({ max_age_days: 30 }) }),
    credentialRecord({ value_created_at: at(T0 - 40 * DAY), policy: policy({ max_age_days: 30 }) }), // overdue rotation
    credentialRecord({
      policy: policy({ max_age_days: 30, expires_at: at(T0 + 3 * DAY) }),
      value_created_at: at(T0 - 29 * DAY),
    }),
    credentialRecord({ policy: policy({ expires_at: at(T0 + 5 * DAY) }) }),
    credentialRecord({ previous: [previous()] }),
    credentialRecord({ previous: [previous({ revoke_after: at(T0 - 8 * HOUR), retry_at: at(T0 + HOUR) })] }),
    credentialRecord({ previous: [previous({ leaked: true, revoke_after: at(T0 - HOUR) })] }), // a leaked superseded value
    credentialRecord({
      state: "revoked",
      policy: policy({ max_age_days: 1 }),
      previous: [previous({ value: undefined, revoked_at: at(T0 - DAY) })],
    }),
    credentialRecord({
      policy: policy({ max_age_days: 1 }),
      current_rotation: { id: "rot_x", reason: "manual", mode: "rotate", requested_by: "admin", created_at: at(T0) },
    }),
  ];
}

describe("scheduledActions (pure logic)", () => {
  it("names exactly what dueActions reports from each action's time on, and nothing before it", () => {
    for (const rec of variety()) {
      for (const a of scheduledActions(rec)) {
        const at = Math.max(a.at, 0);
        expect(dueActions(rec, at).map((d) => d.rule), `${rec.id} at its ${a.rule} time`).toContain(a.rule);
        if (a.at > T0) expect(dueActions(rec, a.at - 1).map((d) => d.rule)).not.toContain(a.rule);
      }
      // And the other way round: whatever the rules find due later is scheduled.
      for (const later of [T0, T0 + 3 * DAY, T0 + 40 * DAY]) {
        for (const d of dueActions(rec, later)) {
          if (d.rule === "max_age" || d.rule === "grace_expired" || d.rule === "expired") {
            expect(scheduledActions(rec).map((a) => a.rule), `${rec.id}: ${d.rule} due at ${later}`).toContain(d.rule);
          }
        }
      }
    }
  });
});

describe("the index summary (pure logic)", () => {
  it("round-trips through index metadata, which stays within KV's 1 KiB even at the most owed values it keeps", () => {
    const many = credentialRecord({
      policy: policy({ max_age_days: 30, expires_at: new Date(T0 + 9 * DAY).toISOString() }),
      previous: Array.from({ length: 40 }, () => previous({ leaked: true })),
      left_alone: Array.from({ length: 50 }, (_, i) => ({
        fingerprint: "ab".repeat(32),
        rotation_id: `rot_${i}`,
        reason: "rotation_unknown" as const,
        found_at: new Date(T0).toISOString(),
      })),
      value: { v: 1, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" },
      current_rotation: {
        id: "rot_y",
        reason: "manual",
        mode: "rotate",
        requested_by: "admin",
        created_at: new Date(T0).toISOString(),
        new_value: sealed(3),
      },
      last_rotation: { id: "rot_z", state: "failed", reason: "scheduled", finished_at: new Date(T0).toISOString() },
      needs_manager: { since: new Date(T0).toISOString(), rotation_id: "rot_z" },
    });
    for (const rec of [...variety(), many]) {
      const meta = indexMetadata(rec);
      expect(new TextEncoder().encode(JSON.stringify(meta)).length).toBeLessThanOrEqual(1024);
      const back: unknown = JSON.parse(JSON.stringify(meta));
      expect(isRecordSummary(back)).toBe(true);
      const { n: _, a: __, ...summary } = back as typeof meta;
      expect(summary).toEqual(recordSummary(rec));
    }
    const s = recordSummary(many);
    expect(s.f).toBe(FLAGS.rotating | FLAGS.leakedLive | FLAGS.needsManager);
    expect(s.l).toBe(1);
    expect(s.k).toEqual([1, 2, 3]);
    expect(s.g).toHaveLength(16);
  });

  it("reads an entry written before the summary existed, or a malformed one, as no summary", () => {
    expect(isRecordSummary({ n: 5 })).toBe(false);
    expect(isRecordSummary(null)).toBe(false);
    expect(isRecordSummary({ s: "active", k: ["2"] })).toBe(false);
    expect(isRecordSummary({ s: "active", k: [2], g: [["x", 1, 0]] })).toBe(false);
    expect(isRecordSummary({ s: "active", k: [2], f: "1" })).toBe(false);
    expect(isRecordSummary({ n: null, ...recordSummary(credentialRecord()) })).toBe(true);
  });
});

describe("buildSummary (pure logic, memory store and history)", () => {
  it("counts states, owed and overdue revocations, running and failed rotations and the next 7 days by UTC day", async () => {
    const store = new MemoryStore();
    for (const rec of variety()) expect(await store.putCredential(rec, null)).not.toBeNull();
    const s = await buildSummary({ store, stats: new MemoryStats() }, T0);
    expect(s.credentials).toEqual({ total: 9, active: 8, revoked: 1, leaked_live: 1, needs_manager: 0 });
    // Past their grace end: the retried one (8 h past: overdue) and the leaked one (overdue at once).
    expect(s.owed_revocations).toEqual({ total: 2, overdue: 2 });
    expect(s.rotations).toEqual({ running: 1, failed: 0 });
    expect(s.next_7_days.map((d) => d.date)).toEqual(
      Array.from({ length: 7 }, (_, i) => new Date(T0 + i * DAY).toISOString().slice(0, 10)),
    );
    const col = (k: "rotate" | "revoke_previous" | "expire") => s.next_7_days.map((d) => d[k]);
    // Today: the overdue max-age rotation and the two owed revocations; then the rest on their days.
    expect(col("rotate")).toEqual([1, 1, 0, 1, 0, 0, 0]);
    expect(col("revoke_previous")).toEqual([2, 0, 1, 0, 0, 0, 0]);
    expect(col("expire")).toEqual([0, 0, 0, 1, 0, 1, 0]);
    expect(s.key_versions).toEqual([{ version: 1, credentials: 9 }, { version: 2, credentials: 3 }]);
    expect(s.legacy_sealed).toBe(9);
    expect(s.coverage).toEqual({ credentials: 9, partial: false, not_summarised: 0 });
  });

  it("says its figures are partial when the registry is larger than it reads", async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 3; i++) await store.putCredential(credentialRecord(), null);
    const listIndex = store.listIndex.bind(store);
    store.listIndex = (opts) => listIndex({ ...opts, limit: 1 });
    const s = await buildSummary({ store, stats: new MemoryStats() }, T0, { maxIndexPages: 2 });
    expect(s.coverage).toEqual({ credentials: 2, partial: true, not_summarised: 0 });
  });

  it("lays the last 30 days out oldest first, counts each fact once, and takes nearest-rank percentiles", async () => {
    const stats = new MemoryStats();
    const day = (ago: number) => new Date(T0 - ago * DAY).toISOString().slice(0, 10);
    await stats.record({ id: "rotation:a", day: day(0), kind: "rotation", outcome: "done", reason: "scheduled" });
    await stats.record({ id: "rotation:a", day: day(0), kind: "rotation", outcome: "done", reason: "scheduled" });
    await stats.record({ id: "rotation:b", day: day(3), kind: "rotation", outcome: "failed", reason: "compromise" });
    await stats.record({ id: "event:c", day: day(3), kind: "rotation", outcome: "failed" });
    await stats.record({ id: "rotation:old", day: day(30), kind: "rotation", outcome: "done", reason: "manual" });
    for (const [i, ms] of [12, 14, 15, 400, 9].entries()) {
      await stats.record({
        id: `contained:${i}`,
        day: day(i),
        kind: "containment",
        at: T0 - i * DAY,
        ms,
        credentialId: "cred_a",
        rotationId: `rot_${i}`,
      });
    }
    const s = await buildSummary({ store: new MemoryStore(), stats }, T0);
    const h = s.last_30_days;
    expect(h.days).toHaveLength(30);
    expect(h.from).toBe(day(29));
    expect(h.to).toBe(day(0));
    expect(h.days.at(-1)).toEqual({
      date: day(0),
      done: 1,
      failed: 0,
      by_reason: { scheduled: 1, manual: 0, compromise: 0, expiry: 0 },
    });
    expect(h.days.at(-4)).toEqual({
      date: day(3),
      done: 0,
      failed: 2,
      by_reason: { scheduled: 0, manual: 0, compromise: 1, expiry: 0 },
    });
    expect([h.done, h.failed]).toEqual([1, 2]);
    expect(h.containment).toMatchObject({ count: 5, median_ms: 14, p95_ms: 400, max_ms: 400 });
    expect(h.containment.points.map((p) => p.containment_ms)).toEqual([9, 400, 15, 14, 12]); // oldest first
    expect(percentile([], 50)).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it("keeps at most MAX_POINTS_PER_DAY points a day but counts them all", () => {
    let d = undefined as ReturnType<typeof addFact> | undefined;
    for (let i = 0; i < MAX_POINTS_PER_DAY + 5; i++) {
      d = addFact(d, { id: `c${i}`, day: "2026-12-10", kind: "containment", at: T0, ms: i, credentialId: "cred_a" });
    }
    expect(d!.containment).toHaveLength(MAX_POINTS_PER_DAY);
    expect(d!.containment_count).toBe(MAX_POINTS_PER_DAY + 5);
  });

  it("takes its facts from finished rotations and from a compromise's credential.revoked only", () => {
    const base = {
      specversion: "1.0",
      id: "evt_AAAAAAAAAAAAAAAAAAAAAA",
      source: "/rekey/engine",
      time: new Date(T0).toISOString(),
      datacontenttype: "application/json",
    } as const;
    expect(
      factOf({
        ...base,
        type: "rotation.completed",
        data: {
          credential_id: "cred_a",
          rotation_id: "rot_a",
          reason: "manual",
          mode: "rotate",
          old_fingerprint_prefix: "abcdef01",
        },
      }),
    )
      .toEqual({ id: "rotation:rot_a", day: "2026-12-10", kind: "rotation", outcome: "done", reason: "manual" });
    expect(factOf({ ...base, type: "rotation.failed", data: { credential_id: "cred_a", error_code: "dead_letter" } }))
      .toEqual({ id: `event:${base.id}`, day: "2026-12-10", kind: "rotation", outcome: "failed" });
    expect(
      factOf({
        ...base,
        type: "credential.revoked",
        data: { credential_id: "cred_a", fingerprint_prefix: "abcdef01", reason: "compromise", containment_ms: 14 },
      }),
    )
      .toMatchObject({ kind: "containment", ms: 14, at: T0 });
    expect(
      factOf({
        ...base,
        type: "credential.revoked",
        data: { credential_id: "cred_a", fingerprint_prefix: "abcdef01", reason: "grace_expired" },
      }),
    ).toBeNull();
  });
});
