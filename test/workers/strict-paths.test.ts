/**
 * Paths are strict: a documented path with a trailing slash added is an unknown path (404
 * `not_found`), as under Hono's default router. The app routes with hono/tiny's PatternRouter,
 * which on its own would answer `/healthz/` as `/healthz` (src/http/strict-router.ts).
 */
import { describe, expect, it } from "vitest";
import { routeDocs } from "../../src/openapi/route-docs.ts";
import { call } from "../support/api.ts";

const ID = "cred_01jd8v6m4q0z5x7c9b2n4m6k8a";

describe("strict paths", () => {
  it("answers every documented route with a trailing slash added as an unknown path, even with the admin token", async () => {
    for (const r of routeDocs) {
      const path = r.path.replace("{id}", ID);
      const res = await call(r.method.toUpperCase(), `${path}/`, r.method === "get" ? undefined : {});
      expect(res.status, `${r.method} ${path}/`).toBe(404);
      expect(res.json?.error?.code, `${r.method} ${path}/`).toBe("not_found");
      if (!r.path.includes("{id}")) {
        expect(
          (await call(r.method.toUpperCase(), path, r.method === "get" ? undefined : {})).status,
          `${r.method} ${path}`,
        ).not.toBe(404);
      }
    }
  });
});
