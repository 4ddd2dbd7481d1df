import type { Deps } from "./deps.ts";

/** Hono environment shared by every route: the core's dependencies arrive as `c.var.deps`. */
export type AppEnv = { Variables: { deps: Deps } };
