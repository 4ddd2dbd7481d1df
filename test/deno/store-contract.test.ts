/**
 * The Store contract cases that test/workers/store-contract.test.ts runs against Workers KV +
 * Durable Objects, run by Deno against Deno KV (and the memory store, as there).
 */
import assert from "node:assert/strict";
import { DenoKvStore } from "../../src/adapters/deno-kv-store.ts";
import { MemoryStore } from "../../src/core/store/memory-store.ts";
import type { Store } from "../../src/core/store/store.ts";
import { storeContractCases } from "../support/store-contract.ts";

function storeContractSuite(name: string, open: () => Promise<{ store: Store; close(): void }>) {
  for (const c of storeContractCases) {
    Deno.test(`Store contract: ${name}: ${c.name}`, async () => {
      const { store, close } = await open();
      try {
        await c.run(store, assert);
      } finally {
        close();
      }
    });
  }
}

storeContractSuite("memory", async () => ({ store: new MemoryStore(), close: () => {} }));
storeContractSuite("Deno KV", async () => {
  const kv = await Deno.openKv(":memory:");
  return { store: new DenoKvStore(kv), close: () => kv.close() };
});

Deno.test("Deno KV store: the sweep index pages 1,000 entries per list, the rest on the next page", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  const { credentialRecord } = await import("../support/records.ts");
  const ids = new Set<string>();
  for (let i = 0; i < 1_001; i++) {
    const rec = credentialRecord();
    ids.add(rec.id);
    await store.putCredential(rec, null);
  }
  const first = await store.listIndex({ limit: 1_000 });
  assert.equal(first.items.length, 1_000);
  assert.ok(first.cursor);
  const second = await store.listIndex({ limit: 1_000, cursor: first.cursor });
  assert.equal(second.items.length, 1);
  assert.equal(second.cursor, undefined);
  assert.deepEqual(new Set([...first.items, ...second.items].map((e) => e.id)), ids);
});
