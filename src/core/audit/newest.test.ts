import { describe, expect, it } from "vitest";
import { MemoryAuditLog } from "./memory-audit-log.ts";
import { newestAudit } from "./newest.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");

async function logWith(count: number, credentialId = "cred_a"): Promise<MemoryAuditLog> {
  const log = new MemoryAuditLog();
  for (let i = 0; i < count; i++) {
    await log.append({
      id: `evt_${String(i).padStart(6, "0")}`,
      time: new Date(T0 + i * 1000).toISOString(),
      type: "rotation.step",
      source: "/rekey/engine",
      credential_id: credentialId,
      data: { n: i },
    });
  }
  return log;
}

const ns = (trail: Awaited<ReturnType<typeof newestAudit>>) => trail.entries.map((e) => e.data.n);

describe("newestAudit over the memory audit log (pure logic)", () => {
  it("shows all of a short trail, newest first, and hides nothing at exactly 100 entries", async () => {
    const trail = await newestAudit(await logWith(100), "cred_a", 100);
    expect(trail.total).toBe(100);
    expect(ns(trail)[0]).toBe(99);
    expect(ns(trail).at(-1)).toBe(0);
    expect(trail).toMatchObject({ olderHidden: false, newerMayBeMissing: false });
  });

  it("shows the newest 100 of a long trail and says older ones are hidden", async () => {
    const trail = await newestAudit(await logWith(2_500), "cred_a", 100);
    expect(trail.total).toBe(2_500);
    expect(ns(trail)).toEqual(Array.from({ length: 100 }, (_, i) => 2_499 - i));
    expect(trail).toMatchObject({ olderHidden: true, newerMayBeMissing: false });
  });

  it("keeps the newest few of a trail longer than one page of 100 would reach (chat's status)", async () => {
    const trail = await newestAudit(await logWith(600), "cred_a", 5);
    expect(ns(trail)).toEqual([599, 598, 597, 596, 595]);
    expect(trail).toMatchObject({ total: 600, olderHidden: true, newerMayBeMissing: false });
  });

  it("says newer entries may be missing when the read stops with a cursor left", async () => {
    const trail = await newestAudit(await logWith(10_001), "cred_a", 100);
    expect(trail.total).toBe(10_000);
    expect(trail).toMatchObject({ olderHidden: true, newerMayBeMissing: true });
  });
});
