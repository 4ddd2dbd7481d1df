/** The processed-events ledger on Deno KV: the claims test/workers/bus-ledger.test.ts makes of the Durable Object. */
import assert from "node:assert/strict";
import { DenoKvLedger } from "../../src/adapters/deno-kv-ledger.ts";
import { Dispatcher } from "../../src/core/bus/bus.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";

const event = () =>
  newEvent("credential.compromised", sampleData["credential.compromised"], {
    source: "/rekey/hooks/github",
    now: Date.now(),
  });

Deno.test("Deno KV ledger gives exactly one of 100 concurrent claims of a key", async () => {
  using kv = await Deno.openKv(":memory:");
  const ledger = new DenoKvLedger(kv);
  const claims = await Promise.all(
    Array.from({ length: 100 }, (_, i) => ledger.claim("k", { owner: `o${i}`, leaseMs: 60_000 })),
  );
  assert.equal(claims.filter((c) => c === "new").length, 1);
  assert.equal(claims.filter((c) => c === "in_progress").length, 99);
});

Deno.test("Deno KV ledger: done after complete, free again after release by the owner only, taken over after the lease", async () => {
  using kv = await Deno.openKv(":memory:");
  let now = 1_000_000;
  const ledger = new DenoKvLedger(kv, () => now);
  assert.equal(await ledger.claim("a", { owner: "o1", leaseMs: 1_000 }), "new");
  await ledger.release("a", "someone-else");
  assert.equal(await ledger.claim("a", { owner: "o2", leaseMs: 1_000 }), "in_progress");
  await ledger.release("a", "o1");
  assert.equal(await ledger.claim("a", { owner: "o2", leaseMs: 1_000 }), "new");
  now += 1_001;
  assert.equal(await ledger.claim("a", { owner: "o3", leaseMs: 1_000 }), "new", "an expired lease is taken over");
  await ledger.complete("a", "o3");
  assert.equal(await ledger.claim("a", { owner: "o4", leaseMs: 1_000 }), "done");
  // A completed entry is its completer's to release (the owed GitHub fetch's final death), no one else's.
  await ledger.release("a", "o4");
  assert.equal(await ledger.claim("a", { owner: "o5", leaseMs: 1_000 }), "done");
  await ledger.release("a", "o3");
  assert.equal(await ledger.claim("a", { owner: "o5", leaseMs: 1_000 }), "new");
});

Deno.test("Deno KV ledger once: exactly one of 100 concurrent first sightings, then done until holdMs ends", async () => {
  using kv = await Deno.openKv(":memory:");
  let now = 1_000_000;
  const ledger = new DenoKvLedger(kv, () => now);
  const firsts = await Promise.all(Array.from({ length: 100 }, () => ledger.once("hooks-alerts:msg_1", 60_000)));
  assert.equal(firsts.filter(Boolean).length, 1);
  assert.equal(await ledger.claim("hooks-alerts:msg_1", { owner: "x", leaseMs: 1_000 }), "done");
  now += 60_001;
  assert.equal(await ledger.once("hooks-alerts:msg_1", 60_000), true, "forgotten after holdMs");
});

Deno.test("Deno KV ledger runs a handler once for 100 concurrent deliveries of one event", async () => {
  using kv = await Deno.openKv(":memory:");
  const dispatcher = new Dispatcher({ ledger: new DenoKvLedger(kv) });
  let runs = 0;
  dispatcher.subscribe("credential.compromised", "rotator", async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 20));
  });
  const e = event();
  await Promise.all(Array.from({ length: 100 }, () => dispatcher.dispatch(structuredClone(e))));
  assert.equal(runs, 1);
  assert.deepEqual(await dispatcher.dispatch(e), {
    verdict: "ack",
    results: [{ handler: "rotator", status: "skipped" }],
  });
});
