// Types for tests that run inside workerd: `exports` from "cloudflare:workers" is the Worker's main
// module, `env` its bindings.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../../src/worker.ts");
  }
  interface Env {
    REKEY_KV: KVNamespace;
    CREDENTIAL_CELLS: DurableObjectNamespace<import("../../src/adapters/credential-cell.ts").CredentialCell>;
    EVENTS: Queue;
    EVENTS_DLQ: Queue;
    EVENT_LEDGER: DurableObjectNamespace<import("../../src/adapters/event-ledger.ts").EventLedger>;
  }
}
