/**
 * The re-encryption job's faults (issue 16, item 3) on the real Worker: its consumer
 * (src/worker.ts `queue`), the real job cell, store, ledger and Queues:
 * - an isolate that dies mid-page, after some records of the page were rewritten: the batch is
 *   delivered again and the job finishes, every value opening under the new version;
 * - a redelivered batch, through the ledger and around it: the job moves on once;
 * - a stale batch (another job's, or one the job has moved past): nothing is rewritten;
 * - an isolate whose keyring is older than the job's target: the batch is retried, untouched, and
 *   a new isolate finishes it;
 * - an undecryptable value is counted in `remaining` by the job and by `maintenance.completed`.
 *
 * Each test file has a storage of its own, so the registry holds exactly the records these tests
 * seed, in order: counts below are exact.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { WorkersJobStore } from "../../src/adapters/workers-job-store.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import type { BusEvent, EventOf } from "../../src/core/bus/events.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { aadFor, CURRENT_VALUE } from "../../src/core/credentials/credential.ts";
import { decrypt, encrypt } from "../../src/core/crypto/envelope.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import type { ReencryptJob } from "../../src/core/maintenance/job.ts";
import { runReencryptBatch, startReencrypt } from "../../src/core/maintenance/reencrypt-job.ts";
import type { EngineServices } from "../../src/core/rotation/engine-services.ts";
import { call } from "../support/api.ts";
import { countingEnv } from "../support/counting-env.ts";
import { crashAfterWrite } from "../support/crashing-store.ts";
import { TEST_KEYS } from "../support/engine-harness.ts";
import { untilQuiet } from "../support/quiet.ts";
import { credentialRecord } from "../support/records.ts";

const keyring = (json: string) => {
  const k = parseKeyring(json);
  if (!k.ok) throw new Error("bad keyring");
  return k.value;
};
const V1_JSON = JSON.stringify({ "1": JSON.parse(TEST_KEYS)["1"] });
const V1 = keyring(V1_JSON);
const BOTH = keyring(TEST_KEYS);

const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
const jobs = new WorkersJobStore(env.CREDENTIAL_CELLS);

const logs: string[] = [];
beforeAll(() => {
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((line: unknown) => void logs.push(String(line)));
  }
});
afterAll(async () => {
  await untilQuiet(logs, { quietMs: 1_000 });
  vi.restoreAllMocks();
});

/** `n` records sealed under version 1, each with a value of its own: `{ id, value }`. */
async function seed(n: number, tag: string) {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const rec = credentialRecord();
    const value = `${tag}-value-${i}`;
    await store.putCredential({ ...rec, value: await encrypt(V1, value, aadFor(rec, CURRENT_VALUE)) }, null);
    return { id: rec.id, value };
  }));
}

/** Each record's value: its version, and whether it still opens to what was sealed. */
async function versions(seeded: Array<{ id: string; value: string }>) {
  return Promise.all(seeded.map(async ({ id, value }) => {
    const rec = (await store.getCredential(id))!.value;
    const opened = await decrypt(BOTH, rec.value, aadFor(rec, CURRENT_VALUE));
    expect(opened, id).toEqual({ ok: true, value });
    return rec.value.v;
  }));
}

const job = async () => (await jobs.getJob())!.value;

async function untilDone(id: string): Promise<ReencryptJob> {
  await vi.waitUntil(async () => {
    const j = await job();
    return j.id === id && j.state === "done";
  }, { timeout: 60_000, interval: 50 });
  return job();
}

/** A job started without publishing: its first batch is returned instead, for the test to deliver. */
async function startQuietly(batchSize: number) {
  const published: BusEvent[] = [];
  const deps = {
    jobs,
    bus: {
      publish: async (e: BusEvent) => void published.push(e),
      publishAll: async (es: readonly BusEvent[]) => void published.push(...es),
    },
    now: () => Date.now(),
  };
  const started = await startReencrypt(deps, { keyring: BOTH }, "admin", batchSize);
  expect(started.outcome).toBe("started");
  return { job: started.job, first: published[0] as EventOf<"maintenance.reencrypt">, deps };
}

/** The real Worker's consumer on `e`, one delivery; what it sent to rekey-events is captured. */
function consumer(e: Env) {
  const counting = countingEnv(e, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
  let n = 0;
  return async (body: BusEvent) => {
    const id = `m-${++n}`;
    const batch = createMessageBatch("rekey-events", [{ id, timestamp: new Date(), attempts: 1, body }]);
    const ctx = createExecutionContext();
    counting.begin(id);
    await worker.queue(batch, counting.env, ctx);
    const result = await getQueueResult(batch, ctx);
    counting.end();
    return {
      acked: result.explicitAcks.includes(id),
      retried: result.retryMessages.some((m) => m.msgId === id),
      sent: counting.take("rekey-events") as BusEvent[],
    };
  };
}

/** Delivers `first` and every batch it leads to, one after another; returns the other events sent. */
async function drain(deliver: ReturnType<typeof consumer>, first: BusEvent) {
  const others: BusEvent[] = [];
  for (const pending = [first]; pending.length > 0;) {
    const r = await deliver(pending.shift()!);
    expect(r.acked).toBe(true);
    for (const e of r.sent) (e.type === "maintenance.reencrypt" ? pending : others).push(e);
  }
  return others;
}

// Generous: on a loaded machine a queue hop can take seconds; unloaded, the file takes about 2 s.
describe("re-encryption", { timeout: 90_000 }, () => {
  it("finishes a page whose isolate died half way: the batch is delivered again through the real queue", async () => {
    const seeded = await seed(10, "crash");
    const { job: started, first, deps } = await startQuietly(4);
    // The isolate dies right after the page's second record was rewritten.
    const crashing = crashAfterWrite(store, 1);
    await expect(runReencryptBatch(deps, { store: crashing.store, keyring: BOTH } as unknown as EngineServices, first))
      .rejects.toThrow("crash");
    expect(crashing.fired()).toBe(true);
    expect(await job()).toMatchObject({ id: started.id, state: "running", cursor: null, batches: 0, scanned: 0 });
    expect((await versions(seeded)).filter((v) => v === 2)).toHaveLength(2);

    // Queues redelivers the batch; the Worker's consumer takes the job to the end.
    await env.EVENTS.send(first, { contentType: "json" });
    const done = await untilDone(started.id);
    expect(await versions(seeded)).toEqual(seeded.map(() => 2));
    // Every record scanned once, nothing left behind; `rewritten` counts what completed batches
    // rewrote, so not the two the dead isolate moved.
    expect(done).toMatchObject({ batches: 3, scanned: 10, rewritten: 8, remaining: 0 });
  });

  it("moves on once for a redelivered batch, whether the ledger or the job's cursor catches it", async () => {
    const seeded = await seed(6, "again");
    const { job: started, first, deps } = await startQuietly(4);
    const deliver = consumer({ ...env } as Env);
    const one = await deliver(first);
    expect(one.acked).toBe(true);
    const after = await job();
    expect(after).toMatchObject({ batches: 1, scanned: 4 });
    expect(after.cursor).not.toBeNull();
    const next = one.sent.filter((e) => e.type === "maintenance.reencrypt");
    expect(next).toHaveLength(1);

    // Queues delivers the same message again: the ledger has its handlers done.
    const again = await deliver(first);
    expect(again).toMatchObject({ acked: true, sent: [] });
    expect(logs.some((l) => l.includes(first.id) && l.includes("maintainer:skipped"))).toBe(true);
    // And if the ledger had forgotten it, the job is past its cursor: nothing happens either.
    await runReencryptBatch(deps, { store, keyring: BOTH } as unknown as EngineServices, first);
    expect(await job()).toEqual(after);

    await drain(deliver, next[0]!);
    expect(await versions(seeded)).toEqual(seeded.map(() => 2));
    // 16 records: this test's 6 and the previous test's 10 (already moved: scanned, not rewritten).
    expect(await untilDone(started.id)).toMatchObject({ batches: 4, scanned: 16, rewritten: 6, remaining: 0 });
  });

  it("ignores a stale batch, and an isolate with an older keyring leaves the batch for a new one", async () => {
    const previous = await job();
    const seeded = await seed(3, "stale");
    const { job: started, first } = await startQuietly(100);

    // A batch of the previous job, at the same (null) cursor, arriving late as a message of its own.
    const stale = newEvent("maintenance.reencrypt", { job_id: previous.id, cursor: null, batch_size: 100 }, {
      source: "/rekey/maintenance",
      now: Date.now(),
    });
    const current = consumer({ ...env } as Env);
    expect(await current(stale)).toMatchObject({ acked: true, sent: [] });
    expect(await job()).toEqual(started);
    expect(await versions(seeded)).toEqual([1, 1, 1]);

    // An isolate still on the old REKEY_ENCRYPTION_KEYS (version 1 only) gets the job's batch.
    const older = consumer({ ...env, REKEY_ENCRYPTION_KEYS: V1_JSON } as Env);
    expect(await older(first)).toMatchObject({ acked: false, retried: true, sent: [] });
    expect(await job()).toEqual(started);
    expect(await versions(seeded)).toEqual([1, 1, 1]);

    // Its retry lands on a new isolate, through the real queue.
    await env.EVENTS.send(first, { contentType: "json" });
    expect(await untilDone(started.id)).toMatchObject({ batches: 1, scanned: 19, rewritten: 3, remaining: 0 });
    expect(await versions(seeded)).toEqual([2, 2, 2]);
  });

  it("counts a value that will not open in remaining, in the job and in maintenance.completed, pass after pass", async () => {
    const seeded = await seed(2, "opens");
    const rec = credentialRecord();
    // Tampered: sealed for another record, so it never opens here; it must never be reported done.
    const bad = await encrypt(V1, "never opens", aadFor({ id: "cred_elsewhere", kind: rec.kind }, CURRENT_VALUE));
    await store.putCredential({ ...rec, value: bad }, null);

    for (const pass of [1, 2]) {
      const started = await call("POST", "/v1/maintenance/reencrypt", { batch_size: 5 });
      expect(started.status).toBe(202);
      const done = await untilDone(started.json.job.id);
      expect(done, `pass ${pass}`).toMatchObject({ scanned: 22, remaining: 1, rewritten: pass === 1 ? 2 : 0 });
      await vi.waitUntil(async () => {
        const audit = await call("GET", "/v1/audit?type=maintenance.completed&limit=100");
        return audit.json.entries.some((e: { data: { job_id: string } }) => e.data.job_id === done.id);
      }, { timeout: 30_000, interval: 50 });
      const audit = await call("GET", "/v1/audit?type=maintenance.completed&limit=100");
      const completed = audit.json.entries.find((e: { data: { job_id: string } }) => e.data.job_id === done.id);
      expect(completed.data).toMatchObject({ target_version: 2, scanned: 22, remaining: 1 });
    }
    expect(await versions(seeded)).toEqual([2, 2]);
    expect((await store.getCredential(rec.id))!.value.value).toEqual(bad);
  });
});
