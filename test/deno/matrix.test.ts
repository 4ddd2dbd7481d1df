/**
 * The fault and crash matrices (test/support/matrix/cases.ts) on the Deno KV store, in Deno: the
 * store, ledger, audit trail and job record of src/adapters/deno-kv-*.ts over one Deno KV
 * database (a fresh in-memory one per case), events on its own queue (DenoKvBus) delivered by
 * the real consumer (adapters/deno-kv-consumer.ts) through `kv.listenQueue`, with its retries and
 * dead letters. The same case table runs on Workers KV + Durable Objects in workerd
 * (test/reliability/matrix-workers.test.ts) and in memory (test/reliability/fault-matrix.test.ts).
 *
 * Deno KV writes a credential, its sweep index entry and its fingerprints in one atomic
 * operation, so there is no mirror to lose: the Workers-only crash point does not apply here.
 *
 * `deno task test` runs every crash point and each failure kind at one upstream call per
 * operation; with REKEY_SOAK=1 (`npm run test:soak`, which grants the variable) every case.
 */
import assert from "node:assert/strict";
import { DenoKvAuditLog } from "../../src/adapters/deno-kv-audit-log.ts";
import { DenoKvBus } from "../../src/adapters/deno-kv-bus.ts";
import { createMessageHandler } from "../../src/adapters/deno-kv-consumer.ts";
import { DenoKvJobStore } from "../../src/adapters/deno-kv-job-store.ts";
import { DenoKvLedger } from "../../src/adapters/deno-kv-ledger.ts";
import { DenoKvStore } from "../../src/adapters/deno-kv-store.ts";
import {
  atMost,
  BOUNDED_FAULTS,
  FULL,
  type MatrixScale,
  type OperationReport,
  OPERATIONS,
  runOperation,
} from "../support/matrix/cases.ts";
import { DeliveryTracker, type OpenBacking, trackedBus } from "../support/matrix/world.ts";

const SOAK = Deno.permissions.querySync({ name: "env", variable: "REKEY_SOAK" }).state === "granted" &&
  Deno.env.get("REKEY_SOAK") === "1";

const BOUNDED: MatrixScale = { faults: BOUNDED_FAULTS, faultCalls: "one", writeStride: 1, mirrorStride: 1 };

const openDenoBacking: OpenBacking = async (consumer) => {
  const kv = await Deno.openKv(":memory:");
  const tracker = new DeliveryTracker();
  const ledger = new DenoKvLedger(kv);
  const opts = {
    // No wait between redeliveries: the case's clock, not the queue's, decides when leases end.
    backoff: { baseSeconds: 0, maxSeconds: 0 },
    log: (record: Parameters<typeof tracker.settled>[0]) => {
      if (record.msg === "bus.retry") consumer.retried(record.attempts);
      tracker.settled(record);
    },
  };
  // One handler per delivery, as one invocation: it takes the case's current handlers when it starts.
  const listening = kv.listenQueue((raw) => createMessageHandler(kv, ledger, consumer.handlers(), opts)(raw));
  return {
    name: "Deno KV",
    store: new DenoKvStore(kv),
    ledger,
    audit: new DenoKvAuditLog(kv),
    jobs: new DenoKvJobStore(kv),
    bus: trackedBus(new DenoKvBus(kv), tracker),
    quiesce: async () => {
      await tracker.idle();
      assert.deepEqual(tracker.consumerErrors, [], "the consumer itself failed");
    },
    close: async () => {
      kv.close();
      await listening;
    },
  };
};

// Each case has a database and queue of its own, and waits mostly on the queue's polling: the
// operations run at once, 24 cases at a time. One test, so that they can: a failure names its
// operation and case.
Deno.test("fault and crash matrices on Deno KV: every operation, every case", async () => {
  const schedule = atMost(24);
  const reports: OperationReport[] = await Promise.all(
    OPERATIONS.map((op, i) =>
      runOperation(op, openDenoBacking, assert, SOAK ? FULL : BOUNDED, { offset: i, schedule })
    ),
  );
  for (const report of reports) console.info(JSON.stringify({ msg: "matrix", ...report }));
  assert.equal(reports.length, OPERATIONS.length);
  console.info(
    JSON.stringify({ msg: "matrix.total", store: "Deno KV", cases: reports.reduce((n, r) => n + r.cases, 0) }),
  );
});
