/**
 * P4 self-check (run by `npm test` as `npm run test:p4`): the two ways P4 runs the consumer count
 * the same on a small scenario (bench/p4-sweep.ts P4_TINY, 400 credentials, 2 crashed rotations).
 * - real: scheduled() → local Queues → the runtime calls the consumer (as `--short`);
 * - captured: the bench hands the captured messages to the same consumer in batches of ≤ 10 (full mode).
 * Batches form differently, so what must agree is everything that does not depend on how the
 * messages were grouped: totals of every counter, what was due and done, and the orphans.
 */
import { readFileSync } from "node:fs";
import { P4_TINY, type P4Result, runP4 } from "./p4-sweep.ts";

// The bench Worker must consume as the deployed one does: the cost of one invocation depends on
// how many messages it takes. Compare the [[queues.consumers]] blocks of both wrangler.toml files.
const consumers = (path: string) =>
  readFileSync(new URL(path, import.meta.url), "utf8").split("[[queues.consumers]]").slice(1).map((b) =>
    b.split("\n[").at(0)!.split("\n").filter((l) => /^\w+ = /.test(l)).join("; ")
  );
const deployed = consumers("../wrangler.toml");
const benched = consumers("./fixtures/p4-worker/wrangler.toml");
if (JSON.stringify(deployed) !== JSON.stringify(benched)) {
  console.error(
    `P4 self-check FAILED: the bench Worker's queue consumers differ from wrangler.toml's:\n  deployed ${
      JSON.stringify(deployed)
    }\n  bench    ${JSON.stringify(benched)}`,
  );
  process.exit(1);
}
const captureBatch = /\[MAIN\]: \{ maxBatch: (\d+)/.exec(
  readFileSync(new URL("./fixtures/p4-worker/src/index.ts", import.meta.url), "utf8"),
)?.[1];
if (!deployed[0]?.includes(`max_batch_size = ${captureBatch}`)) {
  console.error(
    `P4 self-check FAILED: the captured-queue batch (${captureBatch}) is not wrangler.toml's max_batch_size (${
      deployed[0]
    })`,
  );
  process.exit(1);
}

const started = performance.now();
const quiet = () => {};
const [real, captured] = await Promise.all([
  runP4({ size: P4_TINY, queue: "real", log: quiet, name: "p4-check-real" }),
  runP4({ size: P4_TINY, queue: "captured", log: quiet, name: "p4-check-captured" }),
]);

const pick = (r: P4Result) => {
  const d = r.details as any;
  return {
    p4_credentials: r.p4_credentials,
    p4_upstream_keys_max_user: r.p4_upstream_keys_max_user,
    p4_total_subrequests: r.p4_total_subrequests,
    p4_clarifai_calls_idle_sweep: r.p4_clarifai_calls_idle_sweep,
    p4_due: r.p4_due,
    p4_done: r.p4_done,
    p4_orphans_deleted: r.p4_orphans_deleted,
    p4_orphans_left_alone: r.p4_orphans_left_alone,
    total_kv_ops: d.total.kv_ops,
    total_do_calls: d.total.do_calls,
    total_queue_sends: d.total.queue_sends,
    total_clarifai_calls: d.total.clarifai_calls,
    events: d.total.events,
    clarifai_ops: d.total.clarifai_ops,
  };
};
const a = pick(real);
const b = pick(captured);
const diffs = Object.keys(a).filter((k) =>
  JSON.stringify(a[k as keyof typeof a]) !== JSON.stringify(b[k as keyof typeof b])
);
const secs = ((performance.now() - started) / 1000).toFixed(1);
if (diffs.length) {
  console.error(`P4 self-check FAILED (${secs} s): real and captured queues counted differently:`);
  for (const k of diffs) {
    console.error(
      `  ${k}: real ${JSON.stringify(a[k as keyof typeof a])} vs captured ${JSON.stringify(b[k as keyof typeof b])}`,
    );
  }
  process.exit(1);
}
console.log(
  `P4 self-check passed (${secs} s): both queue modes counted ${a.p4_total_subrequests} subrequests, ${a.total_kv_ops} KV operations, ${a.p4_due} due / ${a.p4_done} done.`,
);
