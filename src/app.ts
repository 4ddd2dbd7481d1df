/**
 * The rekey HTTP app, runtime-neutral: web APIs, Hono and zod only. Entry points build `Services`
 * and call `createApp`; see src/worker.ts and src/deno.ts.
 */
import type { Context } from "hono";
import { HonoBase as Hono } from "hono/hono-base";
import type { AppEnv } from "./app-env.ts";
import type { Services } from "./services.ts";
import type { ConfigCheck } from "./config-check.ts";
import { bodyLimit } from "./http/body-limit.ts";
import { StrictPatternRouter } from "./http/strict-router.ts";
import { configGate } from "./http/config-gate.ts";
import { notFound, onError } from "./http/on-error.ts";
import { health } from "./routes/health.ts";
import { v1 } from "./routes/v1/index.ts";
import { hooks } from "./routes/hooks/index.ts";
import { chatops } from "./routes/chatops/index.ts";
import { ui } from "./ui/routes.ts";

/**
 * 64 KiB for every route but GitHub's alerts, which may batch up to 10,000 tokens
 * (MAX_GITHUB_TOKENS in routes/hooks/github-alert.ts): 2 MiB holds 10,000 items of ~200 bytes (token,
 * type, a blob URL, source).
 */
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_GITHUB_ALERT_BYTES = 2 * 1024 * 1024;

export interface AppOptions {
  /**
   * The configuration's verdict (src/config-check.ts), enforced before anything else: 421 off
   * loopback in dev mode, 503 on a configuration problem. Entry points always pass it; tests that
   * build the app from ready services may leave it out.
   */
  config?: (c: Context) => ConfigCheck;
  /**
   * GET /openapi.json's document, as JSON text (src/openapi/document.ts). The app does not
   * generate it, so the generator stays out of the Worker's script: the Worker reads its static
   * asset (scripts/build-openapi.ts), Deno generates it on first use. Left out: the route is a 404.
   */
  openApi?: (c: Context) => Promise<ReadableStream | string> | string;
  /** Development only: `GET /__scheduled` fires the sweep, as `wrangler dev --test-scheduled` does. */
  scheduled?: () => Promise<unknown>;
}

/** `services` resolves the services for one request (an entry point may build them from `c.env`). */
export function createApp(services: Services | ((c: Context) => Services), opts: AppOptions = {}): Hono<AppEnv> {
  const resolve = typeof services === "function" ? services : () => services;
  const app = new Hono<AppEnv>({ router: new StrictPatternRouter() });
  if (opts.config) app.use("*", configGate(opts.config));
  app.use("*", async (c, next) => {
    c.set("services", resolve(c));
    await next();
  });
  const smallBodies = bodyLimit(MAX_BODY_BYTES);
  const githubBodies = bodyLimit(MAX_GITHUB_ALERT_BYTES);
  app.use(
    "*",
    (c, next) => (c.req.path === "/hooks/github/secret-scanning" ? githubBodies(c, next) : smallBodies(c, next)),
  );
  app.route("/", health);
  app.route("/v1", v1);
  app.route("/hooks", hooks);
  app.route("/chatops", chatops);
  app.route("/ui", ui);
  const openApi = opts.openApi;
  app.get(
    "/openapi.json",
    async (c) => (openApi ? c.body(await openApi(c), 200, { "content-type": "application/json" }) : notFound(c)),
  );
  const scheduled = opts.scheduled;
  if (scheduled) {
    app.get("/__scheduled", async (c) => {
      await scheduled();
      return c.text("Ran scheduled event");
    });
  }
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
