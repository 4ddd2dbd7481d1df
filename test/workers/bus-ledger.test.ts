import { env } from "cloudflare:workers";
import {
  evictDurableObject,
  listDurableObjectIds,
  reset,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DurableEventLedger, type EventLedger, shardOf } from "../../src/adapters/event-ledger.ts";
import { Dispatcher } from "../../src/core/bus/bus.ts";
import { ledgerKey } from "../../src/core/bus/ledger.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";

afterEach(() => reset());

const stubFor = (key: string) => env.EVENT_LEDGER.get(env.EVENT_LEDGER.idFromName(shardOf(key)));
const event = () =>
  newEvent("credential.compromised", sampleData["credential.compromised"], {
    source: "/rekey/hooks/github",
    now: Date.now(),
  });

describe("EventLedger (Durable Object)", () => {
  it("gives exactly one of 100 concurrent claims of a key", async () => {
    const ledger = new DurableEventLedger(env.EVENT_LEDGER);
    const key = ledgerKey(event(), "rotator");
    const claims = await Promise.all(
      Array.from({ length: 100 }, (_, i) => ledger.claim(key, { owner: `o${i}`, leaseMs: 60_000 })),
    );
    expect(claims.filter((c) => c === "new")).toHaveLength(1);
    expect(claims.filter((c) => c === "in_progress")).toHaveLength(99);
  });

  it("once: exactly one of 100 concurrent first sightings, remembered as done, free again after holdMs", async () => {
    const ledger = new DurableEventLedger(env.EVENT_LEDGER);
    const firsts = await Promise.all(Array.from({ length: 100 }, () => ledger.once("hooks-alerts:msg_1", 60_000)));
    expect(firsts.filter(Boolean)).toHaveLength(1);
    expect(await ledger.claim("hooks-alerts:msg_1", { owner: "x", leaseMs: 1_000 })).toBe("done");
    expect(await ledger.once("short", 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(await ledger.once("short", 1)).toBe(true);
  });

  it("runs a handler once for 100 concurrent deliveries of one event", async () => {
    const dispatcher = new Dispatcher({ ledger: new DurableEventLedger(env.EVENT_LEDGER) });
    let runs = 0;
    dispatcher.subscribe("credential.compromised", "rotator", async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 20));
    });
    const e = event();
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => dispatcher.dispatch(structuredClone(e))));
    expect(runs).toBe(1);
    const statuses = outcomes.map((o) => o.results[0]!.status);
    expect(statuses.filter((s) => s === "ran")).toHaveLength(1);
    // The rest found it running (retry later) or, if they arrived after it finished, done.
    expect(statuses.filter((s) => s === "in_progress" || s === "skipped")).toHaveLength(99);
    // Redelivered later: already done.
    expect(await dispatcher.dispatch(e)).toEqual({
      verdict: "ack",
      results: [{ handler: "rotator", status: "skipped" }],
    });
  });

  it("forgets a released claim, but only for its owner, and remembers completion across eviction", async () => {
    const ledger = new DurableEventLedger(env.EVENT_LEDGER);
    const key = ledgerKey(event(), "notifier");
    expect(await ledger.claim(key, { owner: "a", leaseMs: 60_000 })).toBe("new");
    await ledger.release(key, "someone-else");
    expect(await ledger.claim(key, { owner: "b", leaseMs: 60_000 })).toBe("in_progress");
    await ledger.release(key, "a");
    expect(await ledger.claim(key, { owner: "b", leaseMs: 60_000 })).toBe("new");
    await ledger.complete(key, "b");
    await evictDurableObject(stubFor(key));
    expect(await ledger.claim(key, { owner: "c", leaseMs: 60_000 })).toBe("done");
    // A completed entry is its completer's to release (the owed GitHub fetch's final death), no one else's.
    await ledger.release(key, "c");
    expect(await ledger.claim(key, { owner: "d", leaseMs: 60_000 })).toBe("done");
    await ledger.release(key, "b");
    expect(await ledger.claim(key, { owner: "d", leaseMs: 60_000 })).toBe("new");
  });

  it("lets a new delivery take over a claim whose lease ended", async () => {
    const ledger = new DurableEventLedger(env.EVENT_LEDGER);
    const key = ledgerKey(event(), "rotator");
    expect(await ledger.claim(key, { owner: "crashed", leaseMs: 60_000 })).toBe("new");
    await runInDurableObject(stubFor(key), (_: EventLedger, state) => {
      state.storage.sql.exec("UPDATE processed SET until = ? WHERE key = ?", Date.now() - 1, key);
    });
    expect(await ledger.claim(key, { owner: "next", leaseMs: 60_000 })).toBe("new");
  });

  it("spreads keys over at most 16 shards", async () => {
    const ledger = new DurableEventLedger(env.EVENT_LEDGER);
    const keys = Array.from({ length: 200 }, () => ledgerKey(event(), "auditor"));
    await Promise.all(keys.map((k) => ledger.claim(k, { owner: "o", leaseMs: 60_000 })));
    const shards = new Set(keys.map(shardOf));
    expect(shards.size).toBe(16);
    expect((await listDurableObjectIds(env.EVENT_LEDGER)).length).toBe(16);
  });

  it("deletes expired entries when its alarm runs", async () => {
    const ledger = new DurableEventLedger(env.EVENT_LEDGER);
    const key = ledgerKey(event(), "auditor");
    await ledger.claim(key, { owner: "o", leaseMs: 60_000 });
    await ledger.complete(key, "o");
    const stub = stubFor(key);
    const peek = () => runInDurableObject(stub, (instance: EventLedger) => instance.peek(key));
    expect((await peek())?.state).toBe("done");
    // Not expired yet: the alarm keeps it and schedules itself again.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await peek())?.state).toBe("done");
    await runInDurableObject(stub, (_: EventLedger, state) => {
      state.storage.sql.exec("UPDATE processed SET until = ? WHERE key = ?", Date.now() - 1, key);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await peek()).toBeNull();
  });
});
