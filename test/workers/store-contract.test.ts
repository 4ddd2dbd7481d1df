import { env } from "cloudflare:workers";
import { MemoryStore } from "../../src/core/store/memory-store.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { storeContractSuite } from "../support/store-contract.ts";

storeContractSuite("memory", () => new MemoryStore());
storeContractSuite("Workers KV + Durable Object", () => new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS));
