import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { VERSION } from "../version.ts";

/** Liveness plus the two facts an operator checks first: which build, which Clarifai. */
export const health = new Hono<AppEnv>().get("/healthz", (c) => {
  const upstream = c.var.deps.config.CLARIFAI_API_BASE;
  return c.json({ ok: true, name: "rekey", version: VERSION, upstream });
});
