import { describe, expect, it } from "vitest";
import { credentialRecord } from "../../../test/support/records.ts";
import { MemoryStore } from "../store/memory-store.ts";
import { planSweepReport } from "./plan.ts";

const T0 = Date.parse("2026-06-01T00:00:00.000Z");
const policy = (expires_at?: string) => ({
  grace_hours: 24,
  on_compromise: "rotate" as const,
  generator: "none" as const,
  ...(expires_at ? { expires_at } : {}),
});

describe("planSweepReport", () => {
  it("reads only the records whose time has come, and says when it stopped early", async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 5; i++) {
      await store.putCredential(credentialRecord({ policy: policy(new Date(T0 - 1000).toISOString()) }), null);
    }
    for (let i = 0; i < 20; i++) {
      await store.putCredential(credentialRecord({ policy: policy(new Date(T0 + 86_400_000).toISOString()) }), null);
    }
    let reads = 0;
    const counting = new Proxy(store, {
      get: (
        t,
        k,
      ) => (k === "getCredential"
        ? (id: string) => (reads++, t.getCredential(id))
        : (Reflect.get(t, k) as (...args: unknown[]) => unknown).bind(t)),
    });

    const full = await planSweepReport(counting, T0);
    expect(full.truncated).toBe(false);
    expect(full.actions.map((a) => a.rule)).toEqual(Array(5).fill("expired"));
    expect(reads).toBe(5); // not the 20 that are not due

    const capped = await planSweepReport(store, T0, { maxRecords: 3 });
    expect(capped).toMatchObject({ truncated: true });
    expect(capped.actions).toHaveLength(3);
  });
});
