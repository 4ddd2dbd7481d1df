/**
 * Counts what one Worker invocation spends against the Workers free plan's limits, on the real
 * bindings: wraps an env so that every KV operation, Durable Object call, queue send and outbound
 * fetch is counted, then forwarded to the real binding (queue sends to EVENTS / EVENTS_DLQ are
 * captured instead, so the test drives the consumer itself, one counted invocation at a time).
 *
 * Accounting, as the project counts it:
 * - kv_ops: get / getWithMetadata / put / delete / list on each KV namespace; a bulk get of an
 *   array of keys (≤ 100) is ONE operation.
 * - do_calls: each RPC method call or fetch on a stub from a namespace's get() / getByName(). A
 *   Durable Object's own storage and KV writes happen in its invocation, not the caller's.
 * - queue_sends: each send() and each sendBatch() (≤ 100 messages) on any queue binding.
 * - fetches: each call of globalThis.fetch while an invocation is being counted (see `during`).
 * - subrequests = do_calls + queue_sends + fetches (the free plan allows 50 per invocation).
 *
 * The Worker memoises its services per env object (src/worker.ts), so make one counting env and
 * reuse it, calling `begin()` before each invocation and `end()` after it has fully settled.
 * Invocations must not overlap: counts go to whichever invocation is open.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";

export interface InvocationCounts {
  label: string;
  kv_ops: number;
  do_calls: number;
  queue_sends: number;
  fetches: number;
  subrequests: number;
}

export interface CapturedMessage {
  queue: string;
  body: unknown;
}

export interface CountingEnv<E> {
  env: E;
  /** Opens an invocation's counters and wraps globalThis.fetch until `end()`. */
  begin(label: string): void;
  /** Closes the open invocation and returns (and records) its totals. */
  end(): InvocationCounts;
  /** Every closed invocation, in order. */
  readonly invocations: readonly InvocationCounts[];
  /** Takes (and clears) the messages sent to captured queues since the last take. */
  take(queue: string): unknown[];
}

type Counter = Omit<InvocationCounts, "label" | "subrequests">;

const isKv = (v: unknown): v is KVNamespace =>
  typeof v === "object" && v !== null && typeof (v as KVNamespace).getWithMetadata === "function" &&
  typeof (v as KVNamespace).list === "function";
const isDoNamespace = (v: unknown): v is DurableObjectNamespace =>
  typeof v === "object" && v !== null && typeof (v as DurableObjectNamespace).idFromName === "function";
const isQueue = (v: unknown): v is Queue =>
  typeof v === "object" && v !== null && typeof (v as Queue).sendBatch === "function";

/**
 * @param queues binding name → queue name, for the queue bindings whose messages are captured
 *   rather than sent (e.g. `{ EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" }`). Other
 *   queue bindings are counted and forwarded.
 */
export function countingEnv<E extends object>(inner: E, queues: Record<string, string> = {}): CountingEnv<E> {
  let open: (Counter & { label: string }) | null = null;
  const invocations: InvocationCounts[] = [];
  const captured = new Map<string, unknown[]>();
  const realFetch = globalThis.fetch;

  const count = (field: keyof Counter) => {
    if (!open) throw new Error(`counting env: a ${field} outside any invocation (call begin() first)`);
    open[field]++;
  };

  const kv = (ns: KVNamespace): KVNamespace =>
    new Proxy(ns, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== "function") return v;
        if (prop === "get" || prop === "getWithMetadata" || prop === "put" || prop === "delete" || prop === "list") {
          // A bulk get (an array of keys) is one operation, like a single get.
          return (...args: unknown[]) => (count("kv_ops"), (v as (...a: unknown[]) => unknown).apply(target, args));
        }
        return v.bind(target);
      },
    });

  const stub = (s: DurableObjectStub): DurableObjectStub =>
    new Proxy(s, {
      get(target, prop) {
        // Not RPC: identity, and `then` (so a stub is never mistaken for a promise).
        if (prop === "then" || prop === "id" || prop === "name" || typeof prop === "symbol") {
          return Reflect.get(target, prop, target);
        }
        const v = Reflect.get(target, prop, target);
        if (typeof v !== "function") {
          return v;
        }
        // Called as a method: an RPC property is not a plain function (its `apply` is RPC too).
        return (
          ...args: unknown[]
        ) => (count("do_calls"), (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!(...args));
      },
    });

  const doNamespace = (ns: DurableObjectNamespace): DurableObjectNamespace =>
    new Proxy(ns, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== "function") return v;
        if (prop === "get" || prop === "getByName") {
          return (...args: unknown[]) => stub((v as (...a: unknown[]) => DurableObjectStub).apply(target, args));
        }
        return v.bind(target);
      },
    });

  const queue = (q: Queue, name: string | undefined): Queue => {
    const keep = (bodies: unknown[]) => {
      const list = captured.get(name!) ?? [];
      list.push(...bodies);
      captured.set(name!, list);
    };
    return new Proxy(q, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (prop === "send") {
          return async (body: unknown, opts?: unknown) => {
            count("queue_sends");
            if (name) return keep([body]);
            return (v as Queue["send"]).call(target, body, opts as QueueSendOptions);
          };
        }
        if (prop === "sendBatch") {
          return async (messages: Iterable<MessageSendRequest>, opts?: unknown) => {
            count("queue_sends");
            const list = [...messages];
            if (list.length > 100) {
              throw new Error(`counting env: sendBatch of ${list.length} messages (Queues takes at most 100)`);
            }
            if (name) return keep(list.map((m) => m.body));
            return (v as Queue["sendBatch"]).call(target, list, opts as QueueSendBatchOptions);
          };
        }
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  };

  const env = {} as Record<string, unknown>;
  for (const [key, value] of Object.entries(inner)) {
    if (isQueue(value)) env[key] = queue(value, queues[key]);
    else if (isDoNamespace(value)) env[key] = doNamespace(value);
    else if (isKv(value)) env[key] = kv(value);
    else env[key] = value;
  }

  return {
    env: env as E,
    invocations,
    begin(label) {
      if (open) throw new Error(`counting env: "${open.label}" is still open`);
      open = { label, kv_ops: 0, do_calls: 0, queue_sends: 0, fetches: 0 };
      globalThis.fetch =
        ((input: RequestInfo | URL, init?: RequestInit) => (count("fetches"), realFetch(input, init))) as typeof fetch;
    },
    end() {
      if (!open) throw new Error("counting env: no invocation is open");
      globalThis.fetch = realFetch;
      const { label, ...c } = open;
      open = null;
      const totals = { label, ...c, subrequests: c.do_calls + c.queue_sends + c.fetches };
      invocations.push(totals);
      return totals;
    },
    take(name) {
      const list = captured.get(name) ?? [];
      captured.delete(name);
      return list;
    },
  };
}

/**
 * One counted invocation: `run` gets a fresh ExecutionContext and is awaited with its waitUntil
 * work before the counts close (they close when it throws too, so the next `begin()` can open).
 */
export async function invocation<E, T>(
  counting: CountingEnv<E>,
  label: string,
  run: (ctx: ExecutionContext) => Promise<T>,
): Promise<{ result: T; counts: InvocationCounts }> {
  counting.begin(label);
  try {
    const ctx = createExecutionContext();
    const result = await run(ctx);
    await waitOnExecutionContext(ctx);
    return { result, counts: counting.end() };
  } catch (error) {
    counting.end();
    throw error;
  }
}
