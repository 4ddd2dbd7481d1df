/**
 * The emulator's wire behaviour, checked where the client contract suite (test/support/
 * clarifai-contract.ts) cannot see it: exact envelopes, HTTP statuses, the control surface.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { createEmulator, type Emulator } from "./index.ts";

let emu: Emulator;
let pat: string;
const get = (path: string, auth: string | null = `Key ${pat}`, headers: Record<string, string> = {}) =>
  emu.fetch(`http://e${path}`, { headers: { ...(auth ? { authorization: auth } : {}), ...headers } });
const send = (method: string, path: string, body: unknown, auth: string | null = `Key ${pat}`) =>
  emu.fetch(`http://e${path}`, {
    method,
    headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify(body),
  });
const control = async (path: string, body?: unknown) =>
  (await emu.fetch(
    `http://e/_emulator/${path}`,
    body === undefined
      ? {}
      : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  )).json() as Promise<any>;

beforeEach(() => {
  emu = createEmulator();
  pat = emu.seed({ userId: "u1", appId: "a1" }).pat;
});

describe("authentication", () => {
  it.each([
    ["missing", null],
    ["lowercase key", `key ${"0".repeat(32)}`],
    ["Bearer", `Bearer ${"0".repeat(32)}`],
    ["two tokens", "Key a b"],
  ])("answers a %s Authorization header with 11102, keys list included", async (_n, auth) => {
    const res = await get("/v2/users/me/keys", auth);
    expect(res.status).toBe(400);
    const body = await res.json<any>();
    expect(body.status.code).toBe(11102);
    expect(body.status.description).toBe("Invalid request");
    expect(body.keys).toEqual([]);
  });

  it("answers an unknown token with 11008 and HTTP 401, as observed from Clarifai", async () => {
    const res = await get("/v2/users/me", `Key ${"0".repeat(32)}`);
    expect(res.status).toBe(401);
    const body = await res.json<any>();
    expect(body.status).toMatchObject({
      code: 11008,
      description: "Invalid API key or Invalid API key/application pair",
    });
    expect(body.status.req_id).toMatch(/^[0-9a-f]{32}$/);
    expect(body.user).toBeUndefined();
  });

  it("refuses a deleted key when it is used again", async () => {
    const made = await (await send("POST", "/v2/users/me/keys", {
      keys: [{ type: "personal_access_token", scopes: ["All"], description: "x" }],
    })).json<any>();
    const other = made.keys[0].id;
    expect((await get("/v2/users/me", `Key ${other}`)).status).toBe(200);
    expect(
      (await emu.fetch(`http://e/v2/users/me/keys/${other}`, {
        method: "DELETE",
        headers: { authorization: `Key ${pat}` },
      })).status,
    ).toBe(200);
    const again = await get("/v2/users/me", `Key ${other}`);
    expect(again.status).toBe(401);
    expect((await again.json<any>()).status.code).toBe(11008);
  });

  it("refuses an app key on key endpoints and a PAT without Keys scopes with 11007 / 403", async () => {
    const appKey = (await control("users/u1/keys", {
      type: "app_specific_key",
      scopes: ["All"],
      apps: [{ id: "a1", user_id: "u1" }],
    })).key.id;
    const r1 = await get("/v2/users/me/keys", `Key ${appKey}`);
    expect(r1.status).toBe(403);
    expect((await r1.json<any>()).status.code).toBe(11007);
    const weak = (await control("users/u1/keys", { type: "personal_access_token", scopes: ["Predict"] })).key.id;
    const r2 = await get("/v2/users/me/keys", `Key ${weak}`);
    const body = await r2.json<any>();
    expect(body.status.code).toBe(11007);
    expect(body.status.details).toContain("Keys_Get");
    const colon = (await control("users/u1/keys", { type: "personal_access_token", scopes: ["Keys:Get"] })).key.id;
    expect((await get("/v2/users/me/keys", `Key ${colon}`)).status).toBe(200);
  });
});

describe("key restrictions", () => {
  it("refuses a key outside its endpoints with 11007 / 403, both spellings, and lets MyScopes through", async () => {
    const made = await (await send("POST", "/v2/users/me/keys", {
      keys: [{
        type: "personal_access_token",
        scopes: ["All"],
        endpoints: ["/clarifai.api.V2/ListKeys", "GetKey"],
        description: "narrow",
      }],
    })).json<any>();
    const narrow = made.keys[0];
    expect(narrow.endpoints).toEqual(["/clarifai.api.V2/ListKeys", "GetKey"]);
    expect((await get("/v2/users/me/keys", `Key ${narrow.id}`)).status).toBe(200);
    expect((await get(`/v2/users/me/keys/${narrow.id}`, `Key ${narrow.id}`)).status).toBe(200);
    for (const path of ["/v2/users/me", "/v2/users/me/secrets"]) {
      const refused = await get(path, `Key ${narrow.id}`);
      expect(refused.status).toBe(403);
      expect((await refused.json<any>()).status.code).toBe(11007);
    }
    const scopes = await (await get("/v2/users/me/myscopes", `Key ${narrow.id}`)).json<any>();
    expect(scopes.endpoints).toEqual(["/clarifai.api.V2/ListKeys", "GetKey"]);
    expect((await get("/v2/users/me", `Key ${pat}`)).status).toBe(200); // no endpoints: no restriction
  });

  it("refuses a key once its expires_at has passed (11008), and an expires_at that is not RFC 3339 (11100)", async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const past = new Date(Date.now() - 1_000).toISOString();
    const live =
      (await control("users/u1/keys", { type: "personal_access_token", scopes: ["All"], expires_at: soon })).key;
    const dead =
      (await control("users/u1/keys", { type: "personal_access_token", scopes: ["All"], expires_at: past })).key;
    expect(live.expires_at).toBe(soon);
    expect((await get("/v2/users/me", `Key ${live.id}`)).status).toBe(200);
    const refused = await get("/v2/users/me", `Key ${dead.id}`);
    expect(refused.status).toBe(401);
    expect((await refused.json<any>()).status.code).toBe(11008);
    const bad = await send("POST", "/v2/users/me/keys", {
      keys: [{ type: "personal_access_token", scopes: ["All"], expires_at: "tomorrow" }],
    });
    expect((await bad.json<any>()).status.code).toBe(11100);
  });

  it("keeps authorized_idp_ids and organization_id as given", async () => {
    const made = await (await send("POST", "/v2/users/me/keys", {
      keys: [{
        type: "personal_access_token",
        scopes: ["All"],
        authorized_idp_ids: ["idp1"],
        organization_id: "org1",
      }],
    })).json<any>();
    expect(made.keys[0]).toMatchObject({ authorized_idp_ids: ["idp1"], organization_id: "org1" });
  });
});

describe("envelopes and resources", () => {
  it("prefixes req_id with X-Clarifai-Request-ID-Prefix", async () => {
    const body = await (await get("/v2/users/me", `Key ${pat}`, { "x-clarifai-request-id-prefix": "rekey" })).json<
      any
    >();
    expect(body.status.req_id).toMatch(/^rekey-[0-9a-f]{32}$/);
  });

  it("gives secrets version 1 and the epoch expiry, and keeps the version on a new value", async () => {
    const made = await (await send("POST", "/v2/users/me/secrets", { secrets: [{ id: "S1", value: "v1" }] })).json<
      any
    >();
    expect(made.secrets[0]).toMatchObject({
      id: "S1",
      value: "v1",
      version: 1,
      expires_at: "1970-01-01T00:00:00Z",
      user_id: "u1",
    });
    expect(made.secrets[0].created_at).toMatch(/\.\d{6}Z$/);
    await send("PATCH", "/v2/users/me/secrets", { secret: [{ id: "S1", value: "v2" }], action: "overwrite" });
    expect((await (await get("/v2/users/me/secrets/S1")).json<any>()).secret).toMatchObject({
      value: "v2",
      version: 1,
    });
  });

  it("answers malformed JSON with 11100 and an unknown path with 11101", async () => {
    const bad = await emu.fetch("http://e/v2/users/me/secrets", {
      method: "POST",
      headers: { authorization: `Key ${pat}` },
      body: "{",
    });
    expect((await bad.json<any>()).status.code).toBe(11100);
    const none = await get("/v2/nothing/here");
    expect(none.status).toBe(404);
    expect((await none.json<any>()).status.code).toBe(11101);
  });
});

describe("control surface", () => {
  it("logs every Clarifai call without its Authorization value, and resets", async () => {
    await get("/v2/users/me");
    await get("/v2/users/me", "Key nope");
    const state = await control("state");
    expect(state.calls.map((c: any) => [c.method, c.path, c.status, c.code])).toEqual([
      ["GET", "/v2/users/me", 200, 10000],
      ["GET", "/v2/users/me", 401, 11008],
    ]);
    expect(JSON.stringify(state.calls)).not.toContain(pat);
    expect(Object.keys(state).sort()).toEqual(["apps", "calls", "keys", "secrets", "users"]);
    await control("reset", {});
    const empty = await control("state");
    expect([empty.users, empty.keys, empty.calls]).toEqual([[], [], []]);
  });

  it("injects `count` faults on a method and a path with * segments, then serves normally", async () => {
    await control("faults", { method: "GET", path: "/v2/users/*/keys", count: 2, status: 503, code: 98004 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get("/v2/users/me/keys")).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect((await get("/v2/users/me")).status).toBe(200); // other paths untouched
  });

  it("delays without failing when a fault has only delay_ms, and drops when asked", async () => {
    await control("faults", { method: "GET", path: "/v2/users/me", count: 1, delay_ms: 30 });
    const t = Date.now();
    expect((await get("/v2/users/me")).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(25);
    await control("faults", { method: "GET", path: "/v2/users/me", count: 1, drop: true });
    await expect(get("/v2/users/me")).rejects.toThrow(TypeError);
  });

  it("lists a call a delay holds open, on its endpoint only, and serves it when the delay ends", async () => {
    await control("faults", { method: "POST", path: "/v2/users/u1/keys", count: 1, delay_ms: 200 });
    expect(await control("faults")).toMatchObject({ faults: [{ path: "/v2/users/u1/keys", count: 1 }], held: [] });
    const created = send("POST", "/v2/users/u1/keys", {
      keys: [{ type: "personal_access_token", scopes: ["All"], description: "held" }],
    });
    await new Promise((r) => setTimeout(r, 20));
    // Taken by that call and holding it; other endpoints, and the same path with another method, go through.
    expect(await control("faults")).toMatchObject({
      faults: [],
      held: [{ method: "POST", path: "/v2/users/u1/keys", delay_ms: 200, since: expect.any(String) }],
    });
    expect((await get("/v2/users/u1/keys")).status).toBe(200);
    expect((await control("state")).keys.filter((k: any) => k.description === "held")).toEqual([]);
    expect((await created).status).toBe(200);
    expect((await control("faults")).held).toEqual([]);
    expect((await control("state")).keys.filter((k: any) => k.description === "held")).toHaveLength(1);
  });

  it("mints keys without auth, shaped like Clarifai's Key", async () => {
    const { key } = await control("users/u1/keys", {
      type: "app_specific_key",
      scopes: ["Predict"],
      apps: [{ id: "a1", user_id: "u1" }],
      description: "d",
    });
    expect(key).toMatchObject({
      type: "app_specific_key",
      scopes: ["Predict"],
      apps: [{ id: "a1", user_id: "u1" }],
      description: "d",
    });
    expect(key.id).toMatch(/^[0-9a-f]{32}$/);
    expect((await control("users/nobody/keys", { type: "personal_access_token" })).error).toBeDefined();
  });

  it("mints a key with the created_at it is given, and refuses one that is not RFC 3339", async () => {
    const { key } = await control("users/u1/keys", {
      type: "personal_access_token",
      scopes: ["All"],
      created_at: "2020-01-02T03:04:05.678901Z",
    });
    expect(key.created_at).toBe("2020-01-02T03:04:05.678901Z");
    expect((await control("users/u1/keys", { type: "personal_access_token", created_at: "yesterday" })).error)
      .toBeDefined();
  });

  it("with drop_after, serves the call (the key is created) and then loses the answer", async () => {
    const before = (await control("state")).keys.length;
    await control("faults", { method: "POST", path: "/v2/users/u1/keys", count: 1, drop_after: true });
    await expect(
      send("POST", "/v2/users/u1/keys", {
        keys: [{ type: "personal_access_token", scopes: ["All"], description: "lost" }],
      }),
    ).rejects.toThrow(TypeError);
    const keys = (await control("state")).keys;
    expect(keys).toHaveLength(before + 1);
    expect(keys.at(-1).description).toBe("lost");
  });
});
