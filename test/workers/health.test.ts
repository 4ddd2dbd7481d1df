import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import pkg from "../../package.json";
import { VERSION } from "../../src/version.ts";

// What worker.fetch takes; a test builds a plain Request.
type IncomingRequest = Request<unknown, IncomingRequestCfProperties>;

describe("GET /healthz", () => {
  it("answers with its status, the version and whether Clarifai is the local emulator, nothing more", async () => {
    const res = await exports.default.fetch("http://rekey.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: pkg.version, clarifai_emulator: true });
  });

  it("never shows CLARIFAI_API_BASE, which may carry userinfo or an internal host name", async () => {
    const e = {
      ...env,
      CLARIFAI_API_BASE: "https://rekey-proxy:hunter2-proxy-password@clarifai.internal.example:8443/api",
    } as Env;
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("http://rekey.test/healthz") as IncomingRequest, e, ctx);
    await waitOnExecutionContext(ctx);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: "ok", version: pkg.version, clarifai_emulator: false });
    for (const part of ["hunter2", "rekey-proxy", "clarifai.internal", "8443"]) expect(text).not.toContain(part);
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
