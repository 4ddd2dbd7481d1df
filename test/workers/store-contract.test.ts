import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/core/store/memory-store.ts";
import type { Store } from "../../src/core/store/store.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { type Assert, storeContractCases } from "../support/store-contract.ts";

// node:assert is not available in workerd without nodejs_compat, which the Worker does not need.
const vitestAssert: Assert = {
  equal: (actual, expected, message) => expect(actual, message).toBe(expected),
  notEqual: (actual, expected, message) => expect(actual, message).not.toBe(expected),
  deepEqual: (actual, expected, message) => expect(actual, message).toStrictEqual(expected),
  ok(value, message) {
    expect(value, message).toBeTruthy();
  },
};

function storeContractSuite(name: string, makeStore: () => Store) {
  describe(`Store contract: ${name}`, () => {
    for (const c of storeContractCases) it(c.name, () => c.run(makeStore(), vitestAssert));
  });
}

storeContractSuite("memory", () => new MemoryStore());
storeContractSuite("Workers KV + Durable Object", () => new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS));
