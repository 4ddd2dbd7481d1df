import type { Services } from "./services.ts";

/** Hono environment shared by every route: the core's dependencies arrive as `c.var.services`. */
export type AppEnv = { Variables: { services: Services } };
