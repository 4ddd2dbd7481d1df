import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import pkg from "../../package.json";
import { VERSION } from "../../src/version.ts";

describe("GET /healthz", () => {
  it("answers with the version and the upstream it points at", async () => {
    const res = await exports.default.fetch("http://rekey.test/healthz");
    expect(res.status).toBe(200);
    const body = await res.json<{ ok: boolean; version: string; upstream: string }>();
    expect(body.ok).toBe(true);
    expect(body.version).toBe(pkg.version);
    expect(body.upstream).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
  });

  it("keeps VERSION in step with package.json", () => {
    expect(VERSION).toBe(pkg.version);
  });

  it("answers unknown routes with a machine-readable 404", async () => {
    const res = await exports.default.fetch("http://rekey.test/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No route for GET on this path" } });
  });

  it("refuses bodies over the limit with 413 before any route runs", async () => {
    const res = await exports.default.fetch("http://rekey.test/healthz", {
      method: "POST",
      body: "x".repeat(70 * 1024),
    });
    expect(res.status).toBe(413);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("payload_too_large");
  });
});
