/**
 * CPU time per request of a Worker under `wrangler dev --local`, from V8's sampling profiler over
 * the inspector (Chrome DevTools protocol: `Profiler.start` / `Profiler.stop`). Workers limit
 * CPU time, not wall time, and local workerd enforces and reports neither; inside the Worker
 * `Date.now()` and `performance.now()` do not advance while it computes (Spectre mitigation).
 *
 * Method (see BENCHMARKS.md, P5): requests are sent one at a time, each stamped with a window
 * [sent, answered + GRACE] on the monotonic clock (`process.hrtime`, CLOCK_MONOTONIC, the clock
 * V8 stamps its samples with). V8 takes a sample only while the isolate is locked, i.e. while JS
 * (or V8 itself: compile, GC) runs for it; so a request's CPU is the number of its window's
 * samples that are not "(idle)", times the sampler's real period. The period is not the one
 * asked for (the kernel's timer is coarser on a loaded machine): it is measured from the profile
 * itself, as the median gap between consecutive samples inside busy stretches. Summing the gaps
 * instead would count every KV or Durable Object wait since the previous sample: wall time.
 * Locally, Durable Objects run in the Worker's isolate; their share is reported apart.
 */

/** Samples are assigned to a request until this long after its answer (its last bytes, logs). */
const GRACE_US = 3_000;
/** Gaps above this are waits (the isolate unlocked), not the sampling period. */
const BUSY_GAP_US = 1_000;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Window {
  label: string;
  from: number;
  to: number;
}

export interface CpuFigures {
  /** Per window: CPU ms, and the part of it under a frame named one of `doMethods`. */
  windows: Array<{ label: string; cpu_ms: number; do_ms: number; samples: number }>;
  /** The sampler's real period (µs), measured from the profile. */
  period_us: number;
  /** Per label: where its CPU went, the functions with the most samples of their own (self time). */
  top: Record<string, Array<{ fn: string; ms: number }>>;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export class CpuProfiler {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  readonly windows: Window[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (e) => {
      const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: unknown };
      const waiting = msg.id === undefined ? undefined : this.#pending.get(msg.id);
      if (!waiting) return;
      this.#pending.delete(msg.id!);
      if (msg.error) waiting.reject(new Error(`Inspector: ${JSON.stringify(msg.error)}`));
      else waiting.resolve(msg.result);
    });
  }

  /** Connects to `wrangler dev --inspector-port <port>`. */
  static async connect(port: number): Promise<CpuProfiler> {
    if (typeof WebSocket === "undefined") {
      throw new Error("No WebSocket client: Node 20 needs --experimental-websocket (bench/run.ts passes it)");
    }
    // wrangler's inspector proxy refuses a client that says neither its Origin nor nothing at
    // all; Node's WebSocket sends a User-Agent, so it says the Origin (undici's init takes headers).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { origin: "http://127.0.0.1" } } as never);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", () => reject(new Error(`Cannot reach the inspector on port ${port}`)), {
        once: true,
      });
    });
    return new CpuProfiler(ws);
  }

  #send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async start(intervalUs = 50): Promise<void> {
    await this.#send("Profiler.enable");
    await this.#send("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.#send("Profiler.start");
  }

  /** Runs one request in a window of its own. */
  async measure<T>(label: string, run: () => Promise<T>): Promise<T> {
    const from = nowUs();
    const out = await run();
    this.windows.push({ label, from, to: nowUs() + GRACE_US });
    // Nothing of this request may fall into the next one's window.
    await new Promise((r) => setTimeout(r, (2 * GRACE_US) / 1000));
    return out;
  }

  async stop(doMethods: readonly string[]): Promise<CpuFigures> {
    const { profile } = (await this.#send("Profiler.stop")) as { profile: Profile };
    this.#ws.close();
    return analyse(profile, this.windows, doMethods);
  }
}

function analyse(profile: Profile, windows: Window[], doMethods: readonly string[]): CpuFigures {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inDo = new Map<number, boolean>();
  const underDo = (id: number): boolean => {
    const known = inDo.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const yes = (node !== undefined && doMethods.includes(node.callFrame.functionName)) ||
      (up !== undefined && underDo(up));
    inDo.set(id, yes);
    return yes;
  };
  const idle = (id: number) => byId.get(id)?.callFrame.functionName === "(idle)";
  let t = profile.startTime;
  const stamps = profile.timeDeltas.map((d) => (t += d));
  // V8 and process.hrtime read the same monotonic clock; if they did not, windows would miss.
  const outside = windows.filter((w) => w.from < profile.startTime || w.to > profile.endTime + GRACE_US);
  if (outside.length) {
    throw new Error(
      `The profile [${profile.startTime}, ${profile.endTime}] µs does not contain ${outside.length} request windows: the clocks do not line up`,
    );
  }
  // The period: gaps between consecutive busy samples, where the isolate stayed locked.
  const gaps: number[] = [];
  for (let i = 1; i < stamps.length; i++) {
    const gap = stamps[i]! - stamps[i - 1]!;
    if (!idle(profile.samples[i]!) && !idle(profile.samples[i - 1]!) && gap > 0 && gap < BUSY_GAP_US) gaps.push(gap);
  }
  gaps.sort((a, b) => a - b);
  const period = gaps.length ? gaps[Math.floor(gaps.length / 2)]! : 0;
  const self = new Map<string, Map<string, number>>();
  const out = windows.map((w) => {
    let busy = 0;
    let inDoCount = 0;
    const mine = self.get(w.label) ?? new Map<string, number>();
    self.set(w.label, mine);
    for (let i = 0; i < stamps.length; i++) {
      const at = stamps[i]!;
      if (at < w.from || at > w.to) continue;
      const id = profile.samples[i]!;
      if (idle(id)) continue;
      busy++;
      if (underDo(id)) inDoCount++;
      const f = byId.get(id)!.callFrame;
      const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").at(-1) ?? ""}`.trim();
      mine.set(name, (mine.get(name) ?? 0) + 1);
    }
    return { label: w.label, cpu_ms: (busy * period) / 1000, do_ms: (inDoCount * period) / 1000, samples: busy };
  });
  const top = Object.fromEntries(
    [...self].map(([label, fns]) => {
      const runs = windows.filter((w) => w.label === label).length;
      const ranked = [...fns].sort((a, b) => b[1] - a[1]).slice(0, 12);
      return [label, ranked.map(([fn, n]) => ({ fn, ms: Number(((n * period) / 1000 / runs).toFixed(3)) }))];
    }),
  );
  return { windows: out, period_us: period, top };
}
