/**
 * The Worker the workerd tests run (vitest.config.ts `main`): src/worker.ts as deployed, plus two
 * seams that exist only here, never in the deployed bundle (wrangler builds src/worker.ts):
 *
 * - `CredentialCell` is the real Durable Object with a fault injector at its KV binding:
 *   `loseNextMirror()` makes its next write commit in the object's storage and then lose every
 *   KV write of its mirror, as if the object died between the two (the one crash only the Workers
 *   store can have). Nothing else differs, and unarmed it is the deployed class.
 * - Queues named `rekey-test-*` (vitest.config.ts) are handed to the consumer a test registers in
 *   `testQueues`, so a test can run the real consumer (adapters/queue-consumer.ts) over real
 *   Queues with services of its own (a controlled clock, an in-process emulator). Every other
 *   queue goes to the Worker's own `queue()`.
 *
 *   `delayNextRegistry(ms)` makes its next call to the Stats object (the registry aggregate) arrive
 *   `ms` late, as an overloaded object would take it, and `delayedRegistry()` waits until it has.
 * The trade-off of the first seam, written down because it is a choice: a test-only subclass
 * cannot be switched on in production (the class is not in the deployed bundle), where a hook in
 * the deployed class gated by a binding could be, by anyone who sets that binding. The price is
 * that the workerd tests run a subclass of the shipped class; it overrides `write` only to arm
 * the injector, and wraps the KV binding only to refuse writes while armed.
 */
import worker from "../../src/worker.ts";
import { type CellWrite, CredentialCell as DeployedCredentialCell } from "../../src/adapters/credential-cell.ts";
import type { Stats } from "../../src/adapters/workers-stats.ts";

// Every Durable Object class wrangler.toml binds, as the deployed Worker exports them (the cell is wrapped below).
export { EventLedger, Stats } from "../../src/worker.ts";
// The pull path's entrypoint, for the consumer Workers of vitest.config.ts to bind to.
export { RekeyCredentials } from "../../src/worker.ts";

interface CellEnv {
  REKEY_KV: KVNamespace;
  STATS?: DurableObjectNamespace<Stats>;
}

/**
 * The STATS namespace as the cell sees it: the real binding, except that while `delayMs` is set
 * the next stub it gives is one whose `registryWrite` (the only method the cell calls) reaches
 * the real object that much later.
 */
function delayedStats(ns: DurableObjectNamespace<Stats>, state: { delayMs: number; late?: Promise<unknown> }) {
  return new Proxy(ns, {
    get(target, prop) {
      if (prop === "get" && state.delayMs) {
        const ms = state.delayMs;
        state.delayMs = 0;
        return (id: DurableObjectId) => ({
          registryWrite: (entries: Parameters<Stats["registryWrite"]>[0]) => {
            const late = scheduler.wait(ms).then(() => target.get(id).registryWrite(entries));
            state.late = late;
            return late;
          },
        });
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** KV as the cell sees it: the real binding, whose writes fail while `losing` is set. */
function lossyKv(kv: KVNamespace, state: { losing: boolean }): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      if ((prop === "put" || prop === "delete") && state.losing) {
        return () => Promise.reject(new Error("KV mirror lost (fault injected by the test)"));
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export class CredentialCell extends DeployedCredentialCell {
  readonly #fault: { armed: boolean; losing: boolean };
  readonly #stats: { delayMs: number; late?: Promise<unknown> };

  constructor(ctx: DurableObjectState, env: CellEnv) {
    const fault = { armed: false, losing: false };
    const stats = { delayMs: 0 };
    super(ctx, {
      ...env,
      REKEY_KV: lossyKv(env.REKEY_KV, fault),
      ...(env.STATS ? { STATS: delayedStats(env.STATS, stats) } : {}),
    });
    this.#fault = fault;
    this.#stats = stats;
  }

  /** Test seam: the next call to Stats reaches it `ms` late. */
  async delayNextRegistry(ms: number): Promise<void> {
    this.#stats.delayMs = ms;
  }

  /** Waits until the delayed call has reached Stats (and answered). */
  async delayedRegistry(): Promise<void> {
    await this.#stats.late;
  }

  /**
   * Test seam: the next `write` (or `drop`) commits, then loses its whole KV mirror and throws,
   * as the caller would see a crash between the two. Calls to one cell are expected one at a
   * time while armed (the mirror of a call queued behind it would be lost too).
   */
  async loseNextMirror(): Promise<void> {
    this.#fault.armed = true;
  }

  async #armed<T>(call: () => Promise<T>): Promise<T> {
    if (!this.#fault.armed) return call();
    this.#fault.armed = false;
    this.#fault.losing = true;
    try {
      return await call();
    } finally {
      this.#fault.losing = false;
    }
  }

  override write(w: CellWrite): Promise<number | null> {
    return this.#armed(() => super.write(w));
  }

  override drop(mirror: { delete: string[] }): Promise<void> {
    return this.#armed(() => super.drop(mirror));
  }
}

export type TestQueueConsumer = (batch: MessageBatch<unknown>, env: Cloudflare.Env) => Promise<void>;

/** Consumers of the `rekey-test-*` queues, by queue name, registered by the test that sends to them. */
export const testQueues = new Map<string, TestQueueConsumer>();

export default {
  ...worker,
  queue(batch, env, ctx) {
    const consumer = batch.queue.startsWith("rekey-test-") ? testQueues.get(batch.queue) : undefined;
    if (batch.queue.startsWith("rekey-test-")) {
      // Nobody listening (a file whose test ended): retried later rather than dropped.
      return consumer ? consumer(batch, env) : Promise.resolve(batch.retryAll({ delaySeconds: 1 }));
    }
    return worker.queue(batch, env, ctx);
  },
} satisfies ExportedHandler<Cloudflare.Env>;
