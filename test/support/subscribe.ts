/**
 * The bus handlers of src/core/subscribers/handlers.ts over an engine harness's dependencies, for
 * tests that drive a Dispatcher themselves: an in-memory audit log and job store, no notification
 * targets. `names` picks the handlers (e.g. the rotator and the sweeper).
 */
import type { Dispatcher, EventBus } from "../../src/core/bus/bus.ts";
import { MemoryAuditLog } from "../../src/core/audit/memory-audit-log.ts";
import { MemoryJobStore } from "../../src/core/maintenance/job.ts";
import { MemoryStats } from "../../src/core/summary/stats.ts";
import type { EngineServices } from "../../src/core/rotation/engine-services.ts";
import { subscribeHandlers } from "../../src/core/subscribers/handlers.ts";

export function subscribeEngineHandlers(
  d: Dispatcher,
  engine: EngineServices,
  bus: EventBus,
  names: readonly string[],
): void {
  subscribeHandlers(d, {
    engine: async () => engine,
    bus,
    now: engine.now,
    audit: new MemoryAuditLog(),
    jobs: new MemoryJobStore(),
    stats: new MemoryStats(),
    targets: [],
  }, names);
}
