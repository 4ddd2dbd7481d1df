/**
 * The event bus: typed CloudEvents envelopes, a dispatcher that runs each handler once per event,
 * and the in-memory transport. Durable transports live with their runtime (src/adapters/).
 *
 * Runtime-neutral.
 */
export * from "./backoff.ts";
export * from "./bus.ts";
export * from "./engine-events.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./fields.ts";
export * from "./ledger.ts";
export * from "./memory-ledger.ts";
export * from "./memory-transport.ts";
export * from "./new-event.ts";
