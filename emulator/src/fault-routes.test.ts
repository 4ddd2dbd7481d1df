/**
 * The fault and reset control routes (/_emulator/faults, /_emulator/reset) of the Clarifai and
 * Cloudflare emulators, answer for answer: a contract that tests, demos and tools rely on
 * (emulator/README.md), so these pin the exact statuses, bodies and error messages of both.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { createCloudflareEmulator } from "./cloudflare/index.ts";
import { createEmulator } from "./index.ts";

type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

async function call(fetch: Fetch, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://e/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : {
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  });
  return { status: res.status, json: await res.json<any>() };
}

describe("the Clarifai emulator's fault and reset routes", () => {
  let emu: ReturnType<typeof createEmulator>;
  let pat: string;
  beforeEach(() => {
    emu = createEmulator();
    pat = emu.seed({ userId: "u1", appId: "a1" }).pat;
  });
  const MESSAGE = 'Body must be {"method","path","count","status","code","delay_ms","drop","drop_after","location"}';

  it("stores a fault as given (method case kept, count defaulted, unknown fields dropped) and echoes it", async () => {
    const res = await call(emu.fetch, "POST", "faults", { method: "get", path: "/v2/users/*", status: 503, x: 1 });
    expect(res).toEqual({
      status: 200,
      json: { fault: { method: "get", path: "/v2/users/*", count: 1, status: 503 } },
    });
    expect(await call(emu.fetch, "GET", "faults")).toEqual({
      status: 200,
      json: { faults: [{ method: "get", path: "/v2/users/*", count: 1, status: 503 }], held: [] },
    });
    const hit = await emu.fetch("http://e/v2/users/u1", { headers: { authorization: `Key ${pat}` } });
    expect(hit.status).toBe(503);
    expect((await call(emu.fetch, "GET", "faults")).json).toEqual({ faults: [], held: [] });
  });

  it.each([
    ["not JSON", "{"],
    ["a missing path", { method: "GET" }],
    ["a relative path", { method: "GET", path: "v2" }],
    ["a zero count", { method: "GET", path: "/v2", count: 0 }],
    ["a status out of range", { method: "GET", path: "/v2", status: 600 }],
    ["a location with a non-3xx status", { method: "GET", path: "/v2", status: 200, location: "https://x.test/" }],
    ["a location that is no URL", { method: "GET", path: "/v2", location: "nowhere" }],
  ])("refuses %s with 400 and the field list", async (_n, body) => {
    expect(await call(emu.fetch, "POST", "faults", body)).toEqual({ status: 400, json: { error: MESSAGE } });
    expect(emu.state.faults).toEqual([]);
  });

  it("keeps a redirect fault's location", async () => {
    const fault = { method: "GET", path: "/v2/users/*", status: 302, location: "https://x.test/" };
    expect(await call(emu.fetch, "POST", "faults", fault)).toEqual({
      status: 200,
      json: { fault: { ...fault, count: 1 } },
    });
  });

  it("clears pending faults, and a reset forgets users, keys, calls and faults", async () => {
    await call(emu.fetch, "POST", "faults", { method: "GET", path: "/v2/users/*", count: 3 });
    expect(await call(emu.fetch, "DELETE", "faults")).toEqual({ status: 200, json: { faults: [] } });
    expect(emu.state.faults).toEqual([]);
    await call(emu.fetch, "POST", "faults", { method: "GET", path: "/v2/users/*", count: 3 });
    await emu.fetch("http://e/v2/users/u1", { headers: { authorization: `Key ${pat}` } });
    expect(await call(emu.fetch, "POST", "reset")).toEqual({ status: 200, json: { reset: true } });
    expect(await call(emu.fetch, "GET", "state")).toEqual({
      status: 200,
      json: { users: [], apps: [], keys: [], secrets: [], calls: [] },
    });
    expect(emu.state.faults).toEqual([]);
  });
});

describe("the Cloudflare emulator's fault and reset routes", () => {
  let emu: ReturnType<typeof createCloudflareEmulator>;
  let seed: ReturnType<ReturnType<typeof createCloudflareEmulator>["seed"]>;
  beforeEach(() => {
    emu = createCloudflareEmulator();
    seed = emu.seed();
  });
  const MESSAGE = 'Body must be {"method","path","count","status","code","delay_ms","drop","drop_after"}';
  const secrets = () => `/client/v4/accounts/${seed.accountId}/workers/scripts/${seed.script}/secrets`;

  it("stores a fault with its method upper-cased (count defaulted, unknown fields dropped) and echoes it", async () => {
    const res = await call(emu.fetch, "POST", "faults", {
      method: "get",
      path: "/client/v4/accounts/*/workers/scripts/*/secrets",
      status: 429,
      code: 10013,
      location: "https://x.test/",
    });
    const fault = {
      method: "GET",
      path: "/client/v4/accounts/*/workers/scripts/*/secrets",
      count: 1,
      status: 429,
      code: 10013,
    };
    expect(res).toEqual({ status: 200, json: { fault } });
    expect(emu.state.faults).toEqual([fault]);
    const hit = await emu.fetch(`http://e${secrets()}`, { headers: { authorization: `Bearer ${seed.token}` } });
    expect(hit.status).toBe(429);
    expect(emu.state.faults).toEqual([]);
  });

  it("has no listing of faults", async () => {
    expect(await call(emu.fetch, "GET", "faults")).toEqual({ status: 404, json: { error: "Not found" } });
  });

  it.each([
    ["not JSON", "{"],
    ["a missing path", { method: "GET" }],
    ["an empty method", { method: "", path: "/client/v4" }],
    ["a zero count", { method: "GET", path: "/client/v4", count: 0 }],
    ["a delay over two minutes", { method: "GET", path: "/client/v4", delay_ms: 120_001 }],
  ])("refuses %s with 400 and the field list", async (_n, body) => {
    expect(await call(emu.fetch, "POST", "faults", body)).toEqual({ status: 400, json: { error: MESSAGE } });
    expect(emu.state.faults).toEqual([]);
  });

  it("clears pending faults, and a reset forgets tokens, scripts, calls and faults", async () => {
    await call(emu.fetch, "POST", "faults", { method: "PUT", path: "/client/v4/accounts/*", count: 2 });
    expect(await call(emu.fetch, "DELETE", "faults")).toEqual({ status: 200, json: { faults: [] } });
    expect(emu.state.faults).toEqual([]);
    await call(emu.fetch, "POST", "faults", { method: "PUT", path: "/client/v4/accounts/*", count: 2 });
    await emu.fetch(`http://e${secrets()}`, { headers: { authorization: `Bearer ${seed.token}` } });
    expect(await call(emu.fetch, "POST", "reset")).toEqual({ status: 200, json: { reset: true } });
    expect(await call(emu.fetch, "GET", "state")).toEqual({
      status: 200,
      json: { tokens: [], scripts: [], calls: [] },
    });
    expect(emu.state.faults).toEqual([]);
  });
});
