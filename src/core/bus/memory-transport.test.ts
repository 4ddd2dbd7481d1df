import { describe, expect, it } from "vitest";
import { Dispatcher } from "./bus.ts";
import { handlerFailure } from "./errors.ts";
import type { BusEvent } from "./events.ts";
import { MemoryLedger } from "./memory-ledger.ts";
import { MemoryBus } from "./memory-transport.ts";
import { newEvent } from "./new-event.ts";
import { sampleData } from "../../../test/support/sample-events.ts";

const NOW = Date.parse("2026-08-22T10:00:00Z");
const event = () =>
  newEvent("credential.compromised", sampleData["credential.compromised"], { source: "/rekey/hooks/github", now: NOW });

function setup(opts: { maxRetries?: number } = {}) {
  const dispatcher = new Dispatcher({ ledger: new MemoryLedger() });
  const dead: BusEvent[] = [];
  const bus = new MemoryBus(dispatcher, { ...opts, onDeadLetter: async (e) => void dead.push(e) });
  return { dispatcher, bus, dead };
}

describe("MemoryBus", () => {
  it("delivers on publish, and a redelivered duplicate is skipped", async () => {
    const { dispatcher, bus } = setup();
    let n = 0;
    dispatcher.subscribe("credential.compromised", "rotator", () => void n++);
    const e = event();
    await bus.publish(e);
    await bus.redeliver(e);
    expect(n).toBe(1);
    expect(bus.published).toEqual([e]);
  });

  it("redelivers a transient failure after the backoff delay", async () => {
    const { dispatcher, bus } = setup();
    const attempts: number[] = [];
    dispatcher.subscribe("credential.compromised", "rotator", (_e, ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt < 3) throw new Error("Clarifai answered 503");
    });
    await bus.publish(event());
    expect(attempts).toEqual([1, 2, 3]);
    expect(bus.retries.map((r) => r.delaySeconds)).toEqual([10, 20]);
    expect(bus.clock).toBe(30);
    expect(bus.deadLetters).toEqual([]);
  });

  it("dead-letters an event that runs out of retries", async () => {
    const { dispatcher, bus, dead } = setup({ maxRetries: 5 });
    let n = 0;
    dispatcher.subscribe("credential.compromised", "rotator", () => {
      n++;
      throw new Error("still down");
    });
    const e = event();
    await bus.publish(e);
    expect(n).toBe(6);
    expect(bus.retries.map((r) => r.delaySeconds)).toEqual([10, 20, 40, 80, 160]);
    expect(bus.deadLetters).toEqual([{ event: e, attempts: 6, reason: "retries_exhausted" }]);
    expect(dead).toEqual([e]);
  });

  it("dead-letters a permanent failure at once", async () => {
    const { dispatcher, bus, dead } = setup();
    dispatcher.subscribe("credential.compromised", "notifier", () => {
      throw handlerFailure("unknown_target", 'Cannot notify "x": no such target', { retryable: false });
    });
    await bus.publish(event());
    expect(bus.retries).toEqual([]);
    expect(bus.deadLetters).toMatchObject([{ attempts: 1, reason: "permanent", failure: "notifier:unknown_target" }]);
    expect(dead).toHaveLength(1);
  });

  it("delivers events that handlers publish while draining", async () => {
    const { dispatcher, bus } = setup();
    const seen: string[] = [];
    dispatcher.subscribe("credential.compromised", "rotator", async (e) => {
      seen.push(e.type);
      const d = sampleData["rotation.requested"];
      await bus.publish(
        newEvent("rotation.requested", { ...d, credential_id: e.data.credential_id }, {
          source: "/rekey/engine",
          now: NOW,
        }),
      );
    });
    dispatcher.subscribe("rotation.requested", "auditor", (e) => void seen.push(e.type));
    await bus.publish(event());
    expect(seen).toEqual(["credential.compromised", "rotation.requested"]);
    expect(bus.pending).toBe(0);
  });

  it("holds messages until drain() when autoDrain is off", async () => {
    const dispatcher = new Dispatcher({ ledger: new MemoryLedger() });
    const bus = new MemoryBus(dispatcher, { autoDrain: false });
    let n = 0;
    dispatcher.subscribe("credential.compromised", "rotator", () => void n++);
    await bus.publishAll([event(), event()]);
    expect([n, bus.pending]).toEqual([0, 2]);
    await bus.drain();
    expect([n, bus.pending]).toEqual([2, 0]);
  });

  it("refuses an invalid envelope on publish", async () => {
    const { bus } = setup();
    const e = event();
    await expect(bus.publish({ ...e, data: { ...e.data, token: "x" } } as BusEvent)).rejects.toThrow(
      /^Cannot publish event: invalid "data"$/,
    );
  });
});
