/**
 * The admin API end to end: the real Worker (KV + Durable Objects) against the Node-hosted
 * Clarifai emulator. Ends with the canary check: no secret value in any response.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, responses, waitForRotation } from "../support/api.ts";
import { postAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import {
  credentialListResponseSchema,
  credentialResponseSchema,
  errorResponseSchema,
  rotationResponseSchema,
} from "../../src/routes/v1/views.ts";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let managerId: string;
let secrets: string[] = [];
let leaks: ReturnType<typeof canary>;

beforeAll(async () => {
  leaks = canary();
  ({ secrets } = leaks);
  tenant = await freshTenant("api");
  secrets.push(tenant.manager.id);
  managerId = await registerManager(tenant);
});

/** A workload key, posted: each test checks the answer. */
const workloadKey = () =>
  postAppKey(tenant, { managerId, scopes: ["Predict", "Inputs_Get"], secrets, policy: { grace_hours: 0 } });

describe("authentication", () => {
  it.each([
    ["no header", {}],
    ["wrong token", { authorization: "Bearer nope" }],
    ["wrong scheme", { authorization: "Basic dGVzdA==" }],
  ])("refuses %s with 401", async (_name, headers) => {
    const res = await call("GET", "/v1/credentials", undefined, { authorization: "", ...headers });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("unauthorized");
  });
});

describe("registration", () => {
  it("registers an app key, reading scopes and apps from Clarifai, showing only a fingerprint prefix", async () => {
    const { key, res } = await workloadKey();
    expect(res.status).toBe(201);
    const cred = res.json.credential;
    expect(cred).toMatchObject({
      kind: "app_key",
      state: "active",
      user_id: tenant.userId,
      app_id: "app1",
      manager_id: managerId,
    });
    expect(cred.scopes).toEqual(key.scopes);
    expect(cred.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(res.text).not.toContain(key.id);
  });

  it("refuses the same value twice with 409", async () => {
    const { key } = await workloadKey();
    const again = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: tenant.userId,
      value: key.id,
      manager_id: managerId,
    });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("already_registered");
  });

  it("refuses, changing nothing, when the manager lacks scopes the rotation needs", async () => {
    const weak = await tenant.mint("personal_access_token", ["Keys_Get", "Apps_Get"], "weak");
    secrets.push(weak.id);
    const before = await call("GET", "/v1/credentials?limit=100");
    const res = await call("POST", "/v1/credentials", { kind: "pat", user_id: tenant.userId, value: weak.id });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("manager_insufficient_scopes");
    expect(res.json.error.message).toContain("Keys_Delete");
    const after = await call("GET", "/v1/credentials?limit=100");
    expect(after.json.credentials.length).toBe(before.json.credentials.length);
  });

  it("refuses a key Clarifai does not know", async () => {
    const res = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: tenant.userId,
      value: "0".repeat(32),
      manager_id: managerId,
    });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("not_found_upstream");
  });

  it.each([
    ["unknown field", { kind: "pat", user_id: "u", value: "x", extra: 1 }, 400, "invalid_request"],
    ["wrong type", { kind: "pat", user_id: 5, value: "x" }, 400, "invalid_request"],
    ["bad kind", { kind: "api", user_id: "u", value: "x" }, 400, "invalid_request"],
    ["broken JSON", '{"kind":', 400, "invalid_json"],
  ])("answers %s with a 4xx code and no echo", async (_n, body, status, code) => {
    const res = await call("POST", "/v1/credentials", body);
    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
    expect(res.text).not.toContain('"x"');
  });

  it("refuses a non-JSON content type with 415", async () => {
    const res = await call("POST", "/v1/credentials", "kind=pat", { "content-type": "text/plain" });
    expect(res.status).toBe(415);
  });
});

describe("listing and reading", () => {
  it("pages through every credential with a cursor", async () => {
    for (let i = 0; i < 3; i++) expect((await workloadKey()).res.status).toBe(201);
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call("GET", `/v1/credentials?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      res.json.credentials.forEach((c: { id: string }) => seen.add(c.id));
      cursor = res.json.next_cursor;
      pages++;
    } while (cursor && pages < 50);
    expect(seen.size).toBeGreaterThanOrEqual(4);
    expect(pages).toBeGreaterThan(1);
  });

  it("answers an unknown id with 404 and a bad limit with 400", async () => {
    expect((await call("GET", "/v1/credentials/cred_nope")).status).toBe(404);
    expect((await call("GET", "/v1/rotations/rot_nope")).status).toBe(404);
    expect((await call("GET", "/v1/credentials?limit=0")).status).toBe(400);
  });
});

describe("rotation and revocation through the API", () => {
  it("rotates: a new key with the same scopes, the old one gone, the record decrypting to the new", async () => {
    const { key, res } = await workloadKey();
    const id = res.json.credential.id;
    const started = await call("POST", `/v1/credentials/${id}/rotate`);
    expect(started.status).toBe(202);
    expect(started.json.rotation).toMatchObject({ credential_id: id, state: "running", reason: "manual" });
    const done = await waitForRotation(started.json.rotation.id);
    expect(done.state).toBe("done");
    const state = await tenant.state();
    const ids = state.keys.map((k: any) => k.id);
    expect(ids).not.toContain(key.id);
    const fresh = state.keys.filter((k: any) => String(k.description).includes(done.id));
    expect(fresh).toHaveLength(1);
    expect(fresh[0].scopes).toEqual(key.scopes);
    secrets.push(fresh[0].id);
    const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(cred.previous).toHaveLength(1);
    expect(cred.last_rotation).toMatchObject({ id: done.id, state: "done" });
  });

  it("joins 50 concurrent rotate requests into one rotation and one new key", async () => {
    const { res } = await workloadKey();
    const id = res.json.credential.id;
    const started = await Promise.all(Array.from({ length: 50 }, () => call("POST", `/v1/credentials/${id}/rotate`)));
    expect(started.every((r) => r.status === 202)).toBe(true);
    const rotationIds = new Set(started.map((r) => r.json.rotation.id));
    expect(rotationIds.size).toBe(1);
    const [rotationId] = [...rotationIds];
    expect((await waitForRotation(rotationId!)).state).toBe("done");
    const created = (await tenant.state()).calls.filter((c: any) => c.method === "POST" && c.path.endsWith("/keys"));
    const marked = (await tenant.state()).keys.filter((k: any) => String(k.description).includes(rotationId!));
    expect(marked).toHaveLength(1);
    expect(created.length).toBeGreaterThanOrEqual(1);
    secrets.push(...marked.map((k: any) => k.id));
  });

  it("revokes: the key is deleted at Clarifai and the record stays as revoked", async () => {
    const { key, res } = await workloadKey();
    const id = res.json.credential.id;
    const started = await call("POST", `/v1/credentials/${id}/revoke`);
    expect(started.status).toBe(202);
    expect((await waitForRotation(started.json.rotation.id)).state).toBe("done");
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(key.id);
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.state).toBe("revoked");
    const again = await call("POST", `/v1/credentials/${id}/rotate`);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("credential_revoked");
  });

  it("stops managing without revoking anything", async () => {
    const { key, res } = await workloadKey();
    const id = res.json.credential.id;
    expect((await call("DELETE", `/v1/credentials/${id}`)).status).toBe(200);
    expect((await call("GET", `/v1/credentials/${id}`)).status).toBe(404);
    expect((await tenant.state()).keys.map((k: any) => k.id)).toContain(key.id);
  });
});

afterAll(() => {
  // Every admin response matches its strict schema: nothing outside it (a value) can appear.
  let checked = 0;
  for (const r of responses.filter((x) => x.path.startsWith("/v1/"))) {
    const schema = r.status >= 400
      ? errorResponseSchema
      : r.json?.credential
      ? credentialResponseSchema
      : r.json?.credentials
      ? credentialListResponseSchema
      : r.json?.rotation
      ? rotationResponseSchema
      : null;
    if (!schema) continue;
    const parsed = schema.safeParse(r.json);
    expect(parsed.success, `${r.method} ${r.path} → ${r.status} does not match its schema`).toBe(true);
    checked++;
  }
  expect(checked).toBeGreaterThan(30);

  // The canary: no secret value used in this file appears in any response or log line.
  leaks.assertClean();
});
