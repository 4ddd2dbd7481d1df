import type { Actor } from "./core/bus/fields.ts";
import type { Services } from "./services.ts";

/**
 * Hono environment shared by every route: the core's dependencies arrive as `c.var.services`; an
 * authenticated admin route also has its caller as `c.var.actor` (src/http/admin-auth.ts).
 */
export type AppEnv = { Variables: { services: Services; actor?: Actor } };
