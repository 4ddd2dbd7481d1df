/**
 * Re-keying rekey's own master key as a resumable job on the bus: `startReencrypt` (POST
 * /v1/maintenance/reencrypt) records a job and publishes its first `maintenance.reencrypt` batch;
 * each batch re-encrypts one page of the registry (./reencrypt.ts), advances the job by
 * compare-and-swap and publishes the next, until the listing ends and `maintenance.completed`
 * is published.
 *
 * Resumable: a batch's event id is derived from (job, cursor), so a redelivered batch is one batch
 * to the handlers, and a batch that finds the job already past its cursor does nothing. If the
 * chain breaks (a batch dead-lettered, a deploy mid-run), starting again republishes the batch at
 * the job's saved cursor and the job carries on where it stopped.
 */
import type { EventBus } from "../bus/bus.ts";
import type { EventOf } from "../bus/events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { randomId } from "../crypto/random.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { JobStore, ReencryptJob } from "./job.ts";
import { reencryptPage } from "./reencrypt.ts";
import { iso } from "../time.ts";
import { type Actor, actorOf } from "../audit/actor.ts";

/**
 * Records per batch (one `maintenance.reencrypt` message, one consumer invocation) unless the
 * operator asks for another size. Each record costs about 0.9 ms of the batch invocation's CPU
 * (its reads, write, decrypt and encrypt, each record parsed; bench P5 measured 9.0-12.6 ms for a
 * batch of 10, over the Workers Free plan's 10 ms per invocation on a loaded machine) and 3
 * Durable Object calls, so 5 keeps a batch at about half the CPU limit and 15 of the 50
 * subrequests (50 records measured 15-25 ms and made 150 DO calls). The price: ten times as many
 * batches as 50 would make, each one queue message and a job read and write (2 DO calls) more.
 */
export const REENCRYPT_BATCH_SIZE = 5;
const SOURCE = "/rekey/maintenance";

export interface JobServices {
  jobs: JobStore;
  bus: EventBus;
  now(): number;
}

export type StartResult = { job: ReencryptJob; outcome: "started" | "resumed" };

/** Starts a job, or resumes the running one from its saved cursor. */
export async function startReencrypt(
  services: JobServices,
  engine: Pick<EngineServices, "keyring">,
  requestedBy: string,
  batchSize = REENCRYPT_BATCH_SIZE,
): Promise<StartResult> {
  for (let i = 0; i < 10; i++) {
    const cur = await services.jobs.getJob();
    if (cur?.value.state === "running") {
      await publishBatch(services, cur.value);
      return { job: cur.value, outcome: "resumed" };
    }
    const at = iso(services.now());
    const job: ReencryptJob = {
      id: randomId("job", services.now()),
      state: "running",
      target_version: engine.keyring.currentVersion,
      cursor: null,
      batch_size: batchSize,
      batches: 0,
      scanned: 0,
      rewritten: 0,
      remaining: 0,
      requested_by: requestedBy,
      started_at: at,
      updated_at: at,
      finished_at: null,
    };
    if ((await services.jobs.putJob(job, cur?.version ?? null)) === null) continue;
    await publishBatch(services, job);
    return { job, outcome: "started" };
  }
  throw new Error("Cannot start re-encryption: the job record kept changing");
}

/** The `maintenance.reencrypt` handler. */
export async function runReencryptBatch(
  services: JobServices,
  engine: EngineServices,
  event: EventOf<"maintenance.reencrypt">,
): Promise<void> {
  const { job_id, cursor, batch_size } = event.data;
  const before = await services.jobs.getJob();
  // Another job, a finished one, or a batch this job already moved past: nothing to do.
  if (!before || before.value.id !== job_id || before.value.state !== "running" || before.value.cursor !== cursor) {
    return;
  }
  // An isolate still on the old REKEY_ENCRYPTION_KEYS (a deploy rolling out) would judge old
  // values current and report them done: it fails retryably, and the batch waits for a new isolate.
  if (engine.keyring.currentVersion !== before.value.target_version) {
    throw new Error(
      `Cannot run re-encryption batch: this isolate seals under version ${engine.keyring.currentVersion}, the job targets ${before.value.target_version}`,
    );
  }
  const page = await reencryptPage(engine, {
    limit: batch_size,
    target: before.value.target_version,
    ...(cursor ? { cursor } : {}),
  });
  for (let i = 0; i < 10; i++) {
    const cur = i === 0 ? before : await services.jobs.getJob();
    if (!cur || cur.value.id !== job_id || cur.value.cursor !== cursor || cur.value.state !== "running") return;
    const finished = page.cursor === undefined;
    const at = iso(services.now());
    const next: ReencryptJob = {
      ...cur.value,
      cursor: page.cursor ?? null,
      batches: cur.value.batches + 1,
      scanned: cur.value.scanned + page.scanned,
      rewritten: cur.value.rewritten + page.rewritten,
      remaining: cur.value.remaining + page.remaining,
      state: finished ? "done" : "running",
      updated_at: at,
      finished_at: finished ? at : null,
    };
    if ((await services.jobs.putJob(next, cur.version)) === null) continue;
    if (finished) {
      const { target_version, scanned, rewritten, remaining } = next;
      await services.bus.publish(
        newEvent("maintenance.completed", {
          job_id,
          target_version,
          scanned,
          rewritten,
          remaining,
          ...actorOfJob(next),
        }, {
          source: SOURCE,
          id: await deriveId("evt", "maintenance.completed", job_id),
          now: services.now(),
        }),
      );
    } else {
      await publishBatch(services, next);
    }
    return;
  }
}

async function publishBatch(services: JobServices, job: ReencryptJob): Promise<void> {
  await services.bus.publish(
    newEvent(
      "maintenance.reencrypt",
      { job_id: job.id, cursor: job.cursor, batch_size: job.batch_size, ...actorOfJob(job) },
      {
        source: SOURCE,
        id: await deriveId("evt", "maintenance.reencrypt", job.id, job.cursor ?? ""),
        now: services.now(),
      },
    ),
  );
}

/** The job's requester as an audit actor (jobs started before actors existed name it the old way). */
function actorOfJob(job: ReencryptJob): { actor?: Actor } {
  const actor = actorOf(job.requested_by);
  return actor ? { actor } : {};
}
