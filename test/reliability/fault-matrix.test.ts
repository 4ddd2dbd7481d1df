/**
 * The fault and crash matrices of test/support/matrix/cases.ts on the memory store, ledger and
 * bus: the in-memory unit test of the engine's logic, with every case (each failure kind at every
 * upstream call, a crash after every store write, the crash points of ./cases.ts). The same case
 * table runs on the real stores: Workers KV + Durable Objects + Queues in workerd
 * (./matrix-workers.test.ts) and Deno KV in Deno (test/deno/matrix.test.ts).
 */
import { describe, expect, it } from "vitest";
import { atMost, EVERY_CALL, FULL, type OperationReport, OPERATIONS, runOperation } from "../support/matrix/cases.ts";
import { openMemoryBacking } from "../support/matrix/memory-backing.ts";
import { vitestAssert } from "../support/vitest-assert.ts";
import { SOAK, timeout } from "./soak.ts";

const reports: OperationReport[] = [];

describe("fault and crash matrices (in-memory unit test of the engine's logic: memory store, ledger and bus)", () => {
  OPERATIONS.forEach((op, i) => {
    it(op.name, { timeout: timeout(60_000, 1_800_000) }, async () => {
      const report = await runOperation(op, openMemoryBacking, vitestAssert, SOAK ? FULL : EVERY_CALL, {
        offset: i,
        schedule: atMost(8),
      });
      expect(report.cases).toBeGreaterThan(1);
      reports.push(report);
      console.info(JSON.stringify({ msg: "matrix", ...report }));
    });
  });
  it("ran every operation (case counts per store are printed as matrix.total)", () => {
    expect(reports).toHaveLength(OPERATIONS.length);
    console.info(
      JSON.stringify({ msg: "matrix.total", store: "memory", cases: reports.reduce((n, r) => n + r.cases, 0) }),
    );
  });
});
