import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app-env.ts";
import { VERSION } from "../version.ts";

export const healthSchema = z.strictObject({ ok: z.literal(true), name: z.literal("rekey"), version: z.string(), upstream: z.string() });

/** Liveness plus the two facts an operator checks first: which build, which Clarifai. */
export const health = new Hono<AppEnv>().get("/healthz", (c) => {
  const upstream = c.var.deps.config.CLARIFAI_API_BASE;
  return c.json({ ok: true, name: "rekey", version: VERSION, upstream });
});
