/**
 * The fault and crash matrices (test/support/matrix/cases.ts) on the Workers store: real KV and
 * the real CredentialCell Durable Object (WorkersStore), the real EventLedger, and the real
 * Cloudflare Queues bus, delivered by the real consumer (adapters/queue-consumer.ts) with its
 * retries and dead-letter queue, in workerd. The queues are test-only copies of the production
 * pair (vitest.config.ts `rekey-test-*`), so the consumer runs with each case's services: its
 * clock and its in-process Clarifai emulator (test/support/worker-under-test.ts).
 *
 * Besides the crash points every store has, the one only this store has: the cell commits a
 * write and dies before its KV mirror (the cell's test seam loses the mirror's KV writes). The
 * cell's repair alarm (adapters/credential-cell.ts) must be due within one sweep; the case runs it,
 * as the runtime would at that time, and checks the sweep index and the fingerprint index are
 * whole before the next sweep lists them.
 *
 * `npm test` runs a bounded selection of every operation's cases (see `select`); `npm run
 * test:soak` runs every case.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MIRROR_REPAIR_MS } from "../../src/adapters/credential-cell.ts";
import { DurableEventLedger } from "../../src/adapters/event-ledger.ts";
import { QueueBus } from "../../src/adapters/queue-bus.ts";
import { handleQueueBatch } from "../../src/adapters/queue-consumer.ts";
import { WorkersAuditLog } from "../../src/adapters/workers-audit-log.ts";
import { WorkersJobStore } from "../../src/adapters/workers-job-store.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import type { Injection } from "../support/matrix/injection.ts";
import {
  BOUNDED_FAULTS,
  FULL,
  type MatrixOperation,
  type MatrixScale,
  type OperationReport,
  OPERATIONS,
  runOperation,
} from "../support/matrix/cases.ts";
import { DeliveryTracker, type OpenBacking, trackedBus } from "../support/matrix/world.ts";
import { vitestAssert } from "../support/vitest-assert.ts";
import type { CredentialCell } from "../support/worker-under-test.ts";
import { testQueues } from "../support/worker-under-test.ts";
import { SOAK, timeout } from "./soak.ts";

interface TestQueues {
  TEST_EVENTS: Queue;
  TEST_EVENTS_DLQ: Queue;
}
const bindings = env as typeof env & TestQueues;

const BOUNDED: MatrixScale = { faults: BOUNDED_FAULTS, faultCalls: "one", writeStride: 1, mirrorStride: 1 };

/**
 * What `npm test` runs here, every operation, where a case costs more than on the other stores
 * (each credential is a new Durable Object): its baseline, its own crash points (after Clarifai
 * answered a create, between two targets, mid re-encryption page), one crash after a store write,
 * one between commit and mirror (at every mirrored write of a routine rotation, the operation
 * everything else is a variant of) and one failure kind at one call. Deno and memory run more
 * cases per operation; `npm run test:soak` runs every case here too.
 */
const EVERY_MIRRORED_WRITE = "routine rotation, app key";

function select(op: MatrixOperation, offset: number) {
  return (cases: Injection[]): Injection[] => {
    const of = <K extends Injection["kind"]>(kind: K) =>
      cases.filter((c): c is Extract<Injection, { kind: K }> => c.kind === kind);
    const one = <T>(xs: T[]) => (xs.length ? [xs[offset % xs.length]!] : []);
    return [
      ...of("create_answered"),
      ...of("between_sinks"),
      // Two credentials a page: a crash after the first write of each page is one in its middle.
      ...(op.reencrypts ? of("after_write").filter((c) => c.k === 0 || c.k === 2) : one(of("after_write"))),
      ...(op.name === EVERY_MIRRORED_WRITE ? of("mirror_lost") : one(of("mirror_lost"))),
      ...one(of("fault")),
    ];
  };
}

const openWorkersBacking: OpenBacking = async (consumer) => {
  const tracker = new DeliveryTracker();
  const consume = (batch: MessageBatch<unknown>) =>
    handleQueueBatch(
      batch,
      { EVENT_LEDGER: env.EVENT_LEDGER, EVENTS_DLQ: bindings.TEST_EVENTS_DLQ },
      consumer.handlers(),
      {
        deadLetterQueue: "rekey-test-events-dlq",
        // No wait between redeliveries: the case's clock, not the queue's, decides when leases end.
        backoff: { baseSeconds: 0, maxSeconds: 0 },
        log: (record) => {
          if (record.msg === "bus.retry") consumer.retried(record.attempts);
          tracker.settled(record);
        },
      },
    );
  testQueues.set("rekey-test-events", consume);
  testQueues.set("rekey-test-events-dlq", consume);
  const cells = env.CREDENTIAL_CELLS;
  const cell = (id: string) => cells.get(cells.idFromName(id)) as unknown as DurableObjectStub<CredentialCell>;
  return {
    name: "Workers KV + Durable Objects",
    store: new WorkersStore(env.REKEY_KV, cells),
    ledger: new DurableEventLedger(env.EVENT_LEDGER),
    audit: new WorkersAuditLog(env.REKEY_KV),
    jobs: new WorkersJobStore(cells),
    bus: trackedBus(new QueueBus(bindings.TEST_EVENTS), tracker),
    quiesce: async () => {
      await tracker.idle();
      expect(tracker.consumerErrors, "the consumer itself failed").toEqual([]);
    },
    loseNextMirror: (id) => cell(id).loseNextMirror(),
    repairMirror: async (id) => {
      const stub = cell(id);
      const [owed, at] = await runInDurableObject(stub, async (_, state: DurableObjectState) => [
        await state.storage.get("mirror:pending"),
        await state.storage.getAlarm(),
      ]);
      // Already written by a later write of the same credential: nothing left to repair.
      if (owed === undefined) return null;
      expect(at, "a lost mirror without a repair alarm").not.toBeNull();
      if (at === null) return null;
      const due = Math.max(0, at - Date.now());
      expect(due, "the cell's repair alarm").toBeLessThanOrEqual(MIRROR_REPAIR_MS);
      expect(await runDurableObjectAlarm(stub), "the repair alarm ran").toBe(true);
      return due;
    },
    close: async () => {
      testQueues.delete("rekey-test-events");
      testQueues.delete("rekey-test-events-dlq");
    },
  };
};

const reports: OperationReport[] = [];

describe("fault and crash matrices on Workers KV + the CredentialCell Durable Object, the EventLedger and Queues", () => {
  OPERATIONS.forEach((op, i) => {
    it(op.name, { timeout: timeout(120_000, 3_600_000) }, async () => {
      const report = await runOperation(
        op,
        openWorkersBacking,
        vitestAssert,
        SOAK ? FULL : BOUNDED,
        SOAK ? { offset: i } : { offset: i, select: select(op, i) },
      );
      reports.push(report);
      console.info(JSON.stringify({ msg: "matrix", ...report }));
    });
  });
  it("ran every operation (case counts per store are printed as matrix.total)", () => {
    expect(OPERATIONS.some((op) => op.name === EVERY_MIRRORED_WRITE)).toBe(true);
    expect(reports).toHaveLength(OPERATIONS.length);
    console.info(JSON.stringify({
      msg: "matrix.total",
      store: reports[0]?.store,
      cases: reports.reduce((n, r) => n + r.cases, 0),
    }));
  });
});
