/**
 * The OpenAPI document is generated from the route table, and the route table is checked against
 * what the app really serves: a route added without documentation fails here.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { routeDocs } from "../../src/openapi/route-docs.ts";
import { routeExamples } from "../../src/openapi/examples.ts";

const served = () => {
  const app = createApp(() => {
    throw new Error("not called");
  });
  const seen = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue; // middleware
    seen.add(`${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
  }
  return seen;
};

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document listing every route the app serves, and nothing it does not", async () => {
    const res = await exports.default.fetch("http://rekey.test/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<any>();
    expect(doc.openapi).toBe("3.1.0");
    const documented = new Set(
      Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => `${m} ${p}`)
      ),
    );
    expect([...served()].sort()).toEqual([...documented].sort());
  });

  it("describes the security schemes and uses them on every protected route", async () => {
    const doc = await (await exports.default.fetch("http://rekey.test/openapi.json")).json<any>();
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      "admin",
      "cloudflare_access",
      "discord_signature",
      "github_signature",
      "github_webhook_signature",
      "slack_signature",
      "standard_webhooks",
      "ui_session",
    ]);
    // The admin token, or the Cloudflare Access assertion instead (issue 18).
    expect(doc.paths["/v1/credentials"].post.security).toEqual([{ admin: [] }, { cloudflare_access: [] }]);
    expect(doc.paths["/v1/credentials/{id}"].patch.security).toEqual([{ admin: [] }, { cloudflare_access: [] }]);
    expect(doc.paths["/hooks/alerts"].post.security).toEqual([{ standard_webhooks: [] }]);
    expect(doc.paths["/hooks/github/events"].post.security).toEqual([{ github_webhook_signature: [] }]);
    expect(doc.paths["/v1/credentials"].post.requestBody.content["application/json"].schema.additionalProperties).toBe(
      false,
    );
  });

  it("keeps each documented request schema the one the route validates with", () => {
    const register = routeDocs.find((r) => r.path === "/v1/credentials" && r.method === "post")!;
    expect(register.body!.safeParse({ kind: "pat", user_id: "u", value: "x" }).success).toBe(true);
    expect(register.body!.safeParse({ kind: "pat", user_id: "u", value: "x", extra: 1 }).success).toBe(false);
  });

  it("validates every documented example against the schema it illustrates, and shows it in the document", async () => {
    const doc = await (await exports.default.fetch("http://rekey.test/openapi.json")).json<any>();
    let checked = 0;
    for (const [route, ex] of Object.entries(routeExamples)) {
      const r = routeDocs.find((d) => `${d.method} ${d.path}` === route);
      expect(r, `example for undocumented route ${route}`).toBeDefined();
      const op = doc.paths[r!.path][r!.method];
      if (ex.body !== undefined) {
        const parsed = r!.body!.safeParse(ex.body);
        expect(parsed.success, `${route} body example: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
        expect(Object.values(op.requestBody.content as Record<string, { example: unknown }>)[0]!.example).toEqual(
          ex.body,
        );
        checked++;
      }
      for (const [status, example] of Object.entries(ex.responses ?? {})) {
        const schema = r!.responses[Number(status)]?.schema;
        expect(schema, `${route} ${status} has no schema`).toBeDefined();
        expect(schema!.safeParse(example).success, `${route} ${status} example`).toBe(true);
        expect(op.responses[status].content["application/json"].example).toEqual(example);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
    // A wrong example would be caught: the register example minus a required field fails.
    const register = routeDocs.find((d) => d.method === "post" && d.path === "/v1/credentials")!;
    const { kind: _, ...incomplete } = routeExamples["post /v1/credentials"]!.body as Record<string, unknown>;
    expect(register.body!.safeParse(incomplete).success).toBe(false);
  });
});
