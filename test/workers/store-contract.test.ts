import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { MemoryStore } from "../../src/core/store/memory-store.ts";
import type { Store } from "../../src/core/store/store.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { storeContractCases } from "../support/store-contract.ts";
import { vitestAssert } from "../support/vitest-assert.ts";

function storeContractSuite(name: string, makeStore: () => Store) {
  describe(`Store contract: ${name}`, () => {
    for (const c of storeContractCases) it(c.name, () => c.run(makeStore(), vitestAssert));
  });
}

storeContractSuite("memory", () => new MemoryStore());
storeContractSuite("Workers KV + Durable Object", () => new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS));
