/**
 * Re-keying the master key: 1,000 records sealed under version 1 are moved to version 2 (the
 * Worker's newest key) by POST /v1/maintenance/reencrypt, through the real queue, with progress in
 * GET; and a job whose chain of batches is cut half way is finished by starting it again.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { WorkersJobStore } from "../../src/adapters/workers-job-store.ts";
import { aadFor, CURRENT_VALUE } from "../../src/core/credentials/credential.ts";
import { decrypt, encrypt } from "../../src/core/crypto/envelope.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import type { BusEvent, EventOf } from "../../src/core/bus/events.ts";
import { runReencryptBatch, startReencrypt } from "../../src/core/maintenance/reencrypt-job.ts";
import type { EngineServices } from "../../src/core/rotation/engine-services.ts";
import { call } from "../support/api.ts";
import { credentialRecord } from "../support/records.ts";
import { TEST_KEYS } from "../support/engine-harness.ts";

const keyring = (json: string) => {
  const k = parseKeyring(json);
  if (!k.ok) throw new Error("bad keyring");
  return k.value;
};
const V1 = keyring(JSON.stringify({ "1": JSON.parse(TEST_KEYS)["1"] }));
const BOTH = keyring(TEST_KEYS);

async function seed(store: WorkersStore, n: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < n; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - start) }, async (_, j) => {
        const rec = credentialRecord();
        await store.putCredential({
          ...rec,
          value: await encrypt(V1, `${tag}-${start + j}`, aadFor(rec, CURRENT_VALUE)),
        }, null);
        ids.push(rec.id);
      }),
    );
  }
  return ids;
}

async function allMoved(store: WorkersStore, ids: string[]) {
  for (const id of ids) {
    const rec = (await store.getCredential(id))!.value;
    expect(rec.value.v).toBe(2);
    expect((await decrypt(BOTH, rec.value, aadFor(rec, CURRENT_VALUE))).ok).toBe(true);
  }
}

describe("POST /v1/maintenance/reencrypt", () => {
  it("moves 1,000 records to the newest key version through the bus, with progress in GET", async () => {
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const ids = await seed(store, 1000, "bulk");
    const before = await call("GET", "/v1/maintenance/reencrypt");
    expect(before.json).toEqual({ job: null, current_version: 2, versions: [2, 1] });

    const started = await call("POST", "/v1/maintenance/reencrypt", { batch_size: 100 });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({
      outcome: "started",
      job: { state: "running", target_version: 2, batch_size: 100 },
    });

    let job: any;
    for (const until = Date.now() + 90_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      job = (await call("GET", "/v1/maintenance/reencrypt")).json.job;
      if (job.state === "done") break;
    }
    expect(job).toMatchObject({ state: "done", scanned: 1000, rewritten: 1000, remaining: 0, cursor: null });
    expect(job.batches).toBe(10);
    await allMoved(store, ids);
    const audit = await call("GET", "/v1/audit?type=maintenance.completed");
    expect(audit.json.entries.map((e: any) => e.data)).toContainEqual({
      job_id: job.id,
      target_version: 2,
      scanned: 1000,
      rewritten: 1000,
      remaining: 0,
      actor: "admin-token",
    });
  }, 180_000);

  it("refuses a malformed body with 400 and changes nothing", async () => {
    const res = await call("POST", "/v1/maintenance/reencrypt", { batch_size: 0 });
    expect(res.status).toBe(400);
    const junk = await call("POST", "/v1/maintenance/reencrypt", { batch_size: 10, extra: true });
    expect(junk.status).toBe(400);
  });
});

describe("an interrupted job", () => {
  it("finishes when started again, from where it stopped, rewriting nothing twice", async () => {
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    // The real job cell: the HTTP test's finished job is replaced by this one.
    const fresh = new WorkersJobStore(env.CREDENTIAL_CELLS);
    const ids = await seed(store, 120, "cut");
    const queue: BusEvent[] = [];
    const services = {
      jobs: fresh,
      bus: {
        publish: async (e: BusEvent) => void queue.push(e),
        publishAll: async (es: readonly BusEvent[]) => void queue.push(...es),
      },
      now: () => Date.now(),
    };
    const engine = { store, keyring: BOTH } as unknown as EngineServices;
    const drain = async (max: number) => {
      for (let n = 0; n < max && queue.length; n++) {
        const e = queue.shift()!;
        if (e.type === "maintenance.reencrypt") {
          await runReencryptBatch(services, engine, e as EventOf<"maintenance.reencrypt">);
        }
      }
    };
    await startReencrypt(services, engine, "admin", 40);
    await drain(2);
    const halfway = (await fresh.getJob())!.value;
    expect(halfway).toMatchObject({ state: "running", batches: 2 });
    expect(halfway.cursor).not.toBeNull();
    // The crash: the pending batch is lost.
    queue.length = 0;

    // A batch delivered again after the crash is a no-op: the job is already past its cursor.
    const again = await startReencrypt(services, engine, "admin", 40);
    expect(again.outcome).toBe("resumed");
    expect(queue).toHaveLength(1);
    await drain(1000);
    const done = (await fresh.getJob())!.value;
    expect(done.state).toBe("done");
    // Only this test's 120 were rewritten (the other test's records, if it ran, are already at
    // version 2), and every record was visited exactly once: the cut and restart repeated no batch.
    expect(done).toMatchObject({ rewritten: 120, remaining: 0 });
    let total = 0;
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = await store.listCredentials({ limit: 500, ...(cursor ? { cursor } : {}) });
      total += page.items.length;
      cursor = page.cursor;
    }
    expect(done.scanned).toBe(total);
    await allMoved(store, ids);
  }, 120_000);
});
