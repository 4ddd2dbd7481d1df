/**
 * The matrices' in-memory backing (./world.ts): the memory store, ledger, audit trail, job record
 * and bus of src/core, for the fast in-memory unit test of the engine's logic. The bus delivers
 * each message to a Dispatcher of its own, subscribed when the delivery starts, as the queue
 * consumers of Workers and Deno do per invocation.
 */
import { MemoryAuditLog } from "../../../src/core/audit/memory-audit-log.ts";
import { Dispatcher } from "../../../src/core/bus/bus.ts";
import { MemoryLedger } from "../../../src/core/bus/memory-ledger.ts";
import { MemoryBus } from "../../../src/core/bus/memory-transport.ts";
import { MemoryJobStore } from "../../../src/core/maintenance/job.ts";
import { MemoryStore } from "../../../src/core/store/memory-store.ts";
import type { OpenBacking } from "./world.ts";

export const openMemoryBacking: OpenBacking = async (consumer) => {
  const ledger = new MemoryLedger();
  const maxRetries = 5;
  // MemoryBus dispatches through `dispatch` only: one Dispatcher per delivery.
  const perDelivery = {
    dispatch: async (...[event, ctx]: Parameters<Dispatcher["dispatch"]>) => {
      const d = new Dispatcher({ ledger });
      consumer.handlers().subscribe(d);
      const outcome = await d.dispatch(event, ctx);
      if (outcome.verdict === "retry" && (ctx?.attempt ?? 1) <= maxRetries) consumer.retried(ctx?.attempt ?? 1);
      return outcome;
    },
  } as Dispatcher;
  const bus = new MemoryBus(perDelivery, {
    autoDrain: false,
    maxRetries,
    backoff: { baseSeconds: 0, maxSeconds: 0 },
    onDeadLetter: (event, info) => consumer.handlers().onDeadLetter(event, info),
  });
  return {
    name: "memory",
    store: new MemoryStore(),
    ledger,
    audit: new MemoryAuditLog(),
    jobs: new MemoryJobStore(),
    bus,
    quiesce: () => bus.drain(),
    close: async () => {},
  };
};
