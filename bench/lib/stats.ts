/** Nearest-rank percentile (no interpolation: with 200 samples p99 is the 198th smallest). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (xs: number[]) => percentile(xs, 50);
export const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/**
 * Fixed-concurrency load: `concurrency` workers each send the next prepared request as soon as
 * their previous one answered, until all are sent. Requests are prepared (signed) beforehand so
 * the generator's own crypto is not timed.
 */
export async function load(
  requests: Array<() => Promise<Response>>,
  concurrency: number,
): Promise<{ seconds: number; rps: number; statuses: Record<number, number> }> {
  const statuses: Record<number, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const res = await requests[next++]!();
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { seconds, rps: requests.length / seconds, statuses };
}
