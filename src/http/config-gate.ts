/**
 * The first middleware of every route: the configuration's verdict (src/config-check.ts).
 * A configuration problem answers 503 with its code (`config_invalid`) and the variables' names,
 * on every route, /healthz included: fail closed, and visibly.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { ConfigCheck } from "../config-check.ts";
import { AppError } from "./app-error.ts";

export function configGate(check: (c: Context) => ConfigCheck): MiddlewareHandler {
  return async function configGate(c, next) {
    const state = check(c);
    if (!state.ok) {
      c.header("Retry-After", "60");
      throw new AppError(503, state.problem.code, state.problem.message, { variables: state.problem.variables });
    }
    await next();
  };
}
