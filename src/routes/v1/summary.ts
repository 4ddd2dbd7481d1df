/**
 * GET /v1/summary: the dashboard's figures as JSON (core/summary/summary.ts), so teams can chart
 * them in their own tools: credentials by state, owed and overdue revocations, rotations running
 * or failed, the last 30 days (rotations by outcome and reason, containment times), the sweep's
 * next 7 days, and credentials by key version.
 */
import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { buildSummary } from "../../core/summary/summary.ts";
import { query } from "../../http/validate.ts";

/** No parameters: the figures are for now (UTC days); an unknown one is refused, not ignored. */
export const summaryQuerySchema = z.strictObject({});

export const summary = new Hono<AppEnv>().get("/", async (c) => {
  query(c, summaryQuerySchema);
  const { store, stats, now } = c.var.services;
  return c.json(await buildSummary({ store, stats }, now()));
});
