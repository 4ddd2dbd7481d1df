// Types for tests that run inside workerd: `exports` from "cloudflare:workers" is the Worker's main
// module, `env` its bindings.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../../src/worker.ts");
  }
  interface Env extends import("../../src/worker.ts").Env {}
}
