/**
 * The rekey HTTP app, runtime-neutral: web APIs, Hono and zod only. Entry points build `Deps`
 * and call `createApp`; see src/worker.ts and src/deno.ts.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "./app-env.ts";
import type { Deps } from "./deps.ts";
import { bodyLimit } from "./http/body-limit.ts";
import { notFound, onError } from "./http/on-error.ts";
import { health } from "./routes/health.ts";
import { v1 } from "./routes/v1/index.ts";

/** 64 KiB: the largest legitimate body (a GitHub alert batch) is far smaller. */
export const MAX_BODY_BYTES = 64 * 1024;

/** `deps` resolves the services for one request (an entry point may build them from `c.env`). */
export function createApp(deps: Deps | ((c: Context) => Deps)): Hono<AppEnv> {
  const resolve = typeof deps === "function" ? deps : () => deps;
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("deps", resolve(c));
    await next();
  });
  app.use("*", bodyLimit(MAX_BODY_BYTES));
  app.route("/", health);
  app.route("/v1", v1);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
