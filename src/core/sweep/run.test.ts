/**
 * Pure logic on the in-memory store: what a sweep pass hands the dashboard's registry aggregate
 * (./run.ts `reconcileRegistry`), and that the aggregate never fails or holds up a batch. The
 * aggregate here only records or misbehaves; the real one (adapters/workers-stats.ts) is tested
 * on workerd in test/workers/registry-sweep.test.ts.
 */
import { describe, expect, it } from "vitest";
import { credentialRecord } from "../../../test/support/records.ts";
import { Dispatcher } from "../bus/bus.ts";
import type { BusEvent } from "../bus/events.ts";
import { MemoryLedger } from "../bus/memory-ledger.ts";
import { MemoryBus } from "../bus/memory-transport.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { MemoryStore } from "../store/memory-store.ts";
import type { RegistryAggregate, SweptPage } from "../summary/stats.ts";
import { processSweepBatch, SWEEP_REGISTRY_TIMEOUT_MS } from "./run.ts";

const T0 = Date.parse("2026-06-01T00:00:00.000Z");
const policy = (expiresAt: number) => ({
  grace_hours: 24,
  on_compromise: "rotate" as const,
  generator: "none" as const,
  expires_at: new Date(expiresAt).toISOString(),
});
type Batch = Parameters<typeof processSweepBatch>[2];

async function setup(credentials: number, due: number) {
  const store = new MemoryStore();
  for (let i = 0; i < credentials; i++) {
    await store.putCredential(credentialRecord({ policy: policy(i < due ? T0 - 1000 : T0 + 86_400_000) }), null);
  }
  const bus = new MemoryBus(new Dispatcher({ ledger: new MemoryLedger() }), { autoDrain: false });
  const engine = { store, now: () => T0 } as unknown as EngineServices;
  return { store, bus, engine };
}

/** Runs a whole pass, batch after batch, as the queue would; returns the batches run. */
async function pass(s: Awaited<ReturnType<typeof setup>>, registry: RegistryAggregate | undefined) {
  const batches: Batch[] = [];
  let next: Batch | undefined = { sweep_id: "swp_test1", cursor: null, batch_size: 10 };
  while (next) {
    batches.push(next);
    const seen = s.bus.published.length;
    await processSweepBatch(s.engine, s.bus, next, { registry });
    const out: BusEvent[] = s.bus.published.slice(seen);
    next = out.find((e) => e.type === "sweep.batch")?.data as Batch | undefined;
  }
  return batches;
}

const unused = () => Promise.reject(new Error("not used by the sweep"));
const aggregateWith = (swept: (page: SweptPage) => Promise<void>): RegistryAggregate => ({
  figures: unused,
  seed: unused,
  withDays: unused,
  swept,
});

describe("a sweep pass and the registry aggregate", () => {
  it("pure logic, in-memory store: each index page goes to it once, saying where it starts, the last that it ends the index", async () => {
    // 2,100 credentials: three pages of 1,000; 15 due on the first, so it takes two batches.
    const s = await setup(2_100, 15);
    const pages: SweptPage[] = [];
    const batches = await pass(s, aggregateWith(async (p) => void pages.push(structuredClone(p))));
    expect(batches).toHaveLength(4);
    expect(batches[1]).toMatchObject({ cursor: null, after: expect.any(String) });
    expect(pages).toHaveLength(3); // the first page's second batch sends nothing again
    const listed = (await s.store.listIndex({ limit: 5_000 })).items;
    expect(pages.flatMap((p) => p.entries.map(([id]) => id))).toEqual(listed.map((e) => e.id));
    expect(pages.map((p) => [p.sweep, p.after, p.complete])).toEqual([
      ["swp_test1", "", false],
      ["swp_test1", listed[999]!.id, false],
      ["swp_test1", listed[1999]!.id, true],
    ]);
    expect(pages[0]!.entries[0]![1]).toEqual(listed[0]!.summary);
  });

  it("pure logic, in-memory store: an aggregate that fails or never answers neither fails a batch nor holds it past SWEEP_REGISTRY_TIMEOUT_MS", async () => {
    const s = await setup(30, 3);
    const failing = aggregateWith(() => Promise.reject(new Error("Stats is down")));
    expect(await pass(s, failing)).toHaveLength(1);
    const throwing = aggregateWith(() => {
      throw new Error("Stats is down");
    });
    expect(await pass(s, throwing)).toHaveLength(1);
    const t0 = Date.now();
    const result = await processSweepBatch(
      s.engine,
      s.bus,
      { sweep_id: "swp_test2", cursor: null, batch_size: 10 },
      { registry: aggregateWith(() => new Promise<void>(() => {})) },
    );
    const waited = Date.now() - t0;
    expect(result.requested).toBe(3); // the batch's own work done
    expect(waited).toBeGreaterThanOrEqual(SWEEP_REGISTRY_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(SWEEP_REGISTRY_TIMEOUT_MS + 1_000);
  });
});
