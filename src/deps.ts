/**
 * What routes see as `c.var.deps`: the runtime-neutral services an entry point built from its
 * bindings (src/services.ts).
 */
export type { Services as Deps } from "./services.ts";
