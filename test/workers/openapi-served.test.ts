/**
 * GET /openapi.json on the real Worker answers exactly the document src/openapi/document.ts
 * generates from this tree's route table, as the same bytes and content type the route wrote
 * when it generated the document per request: serving it from a static asset changes nothing a
 * client sees, and a stale asset fails here.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/openapi/document.ts";

describe("GET /openapi.json", () => {
  it("is the generated document, byte for byte, as application/json", async () => {
    const res = await exports.default.fetch("http://rekey.test/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe(JSON.stringify(openApiDocument()));
  });
});
