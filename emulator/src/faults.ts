/**
 * Fault injection: the next `count` calls matching a method and path answer with a chosen HTTP
 * status and Clarifai code, wait first, or lose the connection. `*` in a path matches one segment.
 * A drop is signalled by throwing DropConnection; the host decides what a dropped connection is
 * (a destroyed socket in Node, a rejected fetch in process).
 */
import type { FaultSpec } from "./fault-routes.ts";
import type { HeldCall, State } from "./state.ts";

export class DropConnection extends Error {
  override readonly name = "DropConnection";
}

/**
 * An emulator's app as a `fetch` for in-process use (tests, the matrices): a dropped connection
 * rejects as a real fetch would (a TypeError), which is what rekey's clients see in production.
 */
export function inProcessFetch(app: { fetch(req: Request): Response | Promise<Response> }): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request && !init ? input : new Request(input as RequestInfo, init);
    try {
      return await app.fetch(req);
    } catch (error) {
      if (error instanceof DropConnection) throw new TypeError("Network connection lost");
      throw error;
    }
  }) as typeof fetch;
}

function pathMatches(pattern: string, path: string): boolean {
  const p = pattern.split("/").filter(Boolean);
  const a = path.split("/").filter(Boolean);
  return p.length === a.length && p.every((seg, i) => seg === "*" || seg === a[i]);
}

/** Takes (and counts down) the first pending fault for this call, if any; methods match in any case. */
export function takeFault<F extends FaultSpec>(table: { faults: F[] }, method: string, path: string): F | undefined {
  const fault = table.faults.find((f) =>
    f.count > 0 && f.method.toUpperCase() === method.toUpperCase() && pathMatches(f.path, path)
  );
  if (!fault) return undefined;
  fault.count -= 1;
  table.faults = table.faults.filter((f) => f.count > 0);
  return fault;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits a fault's `delay_ms`, listed meanwhile in `state.held` (GET /_emulator/faults), so a test
 * can act while the call is open: kill the client mid-call, say. The call is then served as
 * usual even if its client has gone, as a server that is merely slow would.
 */
export async function hold(state: State, method: string, path: string, delayMs: number): Promise<void> {
  const held: HeldCall = { method, path, delay_ms: delayMs, since: state.timestamp() };
  state.held.push(held);
  try {
    await sleep(delayMs);
  } finally {
    state.held = state.held.filter((h) => h !== held);
  }
}
