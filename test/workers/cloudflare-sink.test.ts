/**
 * Cloudflare Worker secrets as sinks (issue 18, item 2): the real Worker against the Node-hosted
 * Clarifai and Cloudflare API emulators. Registration pre-flights the sink; a rotation writes the
 * new value (PUT …/secrets), verifies the secret's name and type, and a rotation that fails after
 * writing puts the old value back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { postAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { cloudflareControl, freshAccount } from "../support/cloudflare-control.ts";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let managerId: string;
let leaks: ReturnType<typeof canary>;

const sink = (a: { accountId: string; script: string }, name = "CLARIFAI_KEY") => ({
  type: "cloudflare_worker_secret",
  account_id: a.accountId,
  script: a.script,
  name,
});

const register = (sinks: unknown[]) =>
  postAppKey(tenant, { managerId, secrets: leaks.secrets, policy: { grace_hours: 0 }, sinks });

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("cfsink");
  leaks.secrets.push(tenant.manager.id);
  managerId = await registerManager(tenant);
});

afterAll(() => leaks.assertClean([], 3));

describe("registration pre-flight", () => {
  it("refuses a Worker that does not exist, and an account the token may not touch, changing nothing", async () => {
    const account = await freshAccount();
    const missing = await register([{ ...sink(account), script: "no-such-worker" }]);
    expect(missing.res.status).toBe(422);
    expect(missing.res.json.error).toMatchObject({ code: "sink_not_found" });
    expect(missing.res.json.error.message).toContain("sinks.0");
    const foreign = await register([{ ...sink(account), account_id: "f".repeat(32) }]);
    expect(foreign.res.status).toBe(422);
    expect(foreign.res.json.error.code).toBe("sink_unauthorized");
    const stored = (await call("GET", "/v1/credentials?limit=100")).json.credentials;
    expect(stored.filter((c: any) => c.user_id === tenant.userId && c.kind === "app_key")).toEqual([]);
    // Nothing was written to Cloudflare: the pre-flight only lists.
    expect((await account.calls()).every((c: any) => c.method === "GET")).toBe(true);
  });

  it.each([
    ["an account id that is not 32 hex", { account_id: "acct" }],
    ["a secret name that is not an identifier", { name: "MY-KEY" }],
    ["a Worker name with capitals", { script: "Billing" }],
    ["an unknown field", { text: "x" }],
  ])("refuses %s with 400", async (_name, over) => {
    const account = await freshAccount();
    const { res } = await register([{ ...sink(account), ...over }]);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_request");
  });
});

describe("rotation", () => {
  it("writes the new value to the Worker's secret and verifies it is there as secret_text", async () => {
    const account = await freshAccount();
    const { key, res } = await register([sink(account)]);
    expect(res.status).toBe(201);
    const id = res.json.credential.id;
    // The secret is created by the first rotation; registration does not write it.
    expect(await account.secret("CLARIFAI_KEY")).toBeUndefined();

    const started = await call("POST", `/v1/credentials/${id}/rotate`);
    const done = await waitForRotation(started.json.rotation.id);
    expect(done.state).toBe("done");
    const secret = await account.secret("CLARIFAI_KEY");
    expect(secret).toMatchObject({ name: "CLARIFAI_KEY", type: "secret_text", version: 1 });
    leaks.secrets.push(secret!.text);
    expect(secret!.text).not.toBe(key.id);
    const fresh = (await tenant.state()).keys.find((k: any) => String(k.description).includes(done.id));
    expect(secret!.text).toBe(fresh.id);
    const calls = await account.calls();
    expect(calls.map((c: any) => `${c.method} ${c.status}`)).toEqual(["GET 200", "PUT 200", "GET 200"]);
  });

  it("puts the old value back when the rotation fails after writing it (rollback)", async () => {
    const account = await freshAccount();
    const { key, res } = await register([sink(account)]);
    const id = res.json.credential.id;
    // Seed the secret with the current value, as a team would before handing it to rekey.
    const seeded = await call("POST", `/v1/credentials/${id}/rotate`);
    await waitForRotation(seeded.json.rotation.id);
    const before = (await account.secret("CLARIFAI_KEY"))!;
    leaks.secrets.push(before.text, key.id);
    // verify's read-back is refused for good (403): the rotation fails after propagate wrote.
    await cloudflareControl("faults", {
      method: "GET",
      path: `/client/v4/accounts/${account.accountId}/workers/scripts/${account.script}/secrets/CLARIFAI_KEY`,
      status: 403,
      code: 10000,
      count: 5,
    });
    const started = await call("POST", `/v1/credentials/${id}/rotate`);
    const failed = await waitForRotation(started.json.rotation.id);
    expect(failed).toMatchObject({ state: "failed", error: { code: "cloudflare_unauthorized", step: "verify" } });
    const after = (await account.secret("CLARIFAI_KEY"))!;
    // Written twice more (the new value, then the old one back): the Worker holds the old value.
    expect(after.version).toBe(before.version + 2);
    expect(after.text).toBe(before.text);
    // And the key the failed rotation minted is gone at Clarifai; the record still holds the old value.
    expect((await tenant.state()).keys.some((k: any) => String(k.description).includes(failed.id))).toBe(false);
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.fingerprint).toBe(failed.old_fingerprint);
    await cloudflareControl("faults", undefined, "DELETE");
  });

  it("retries a Cloudflare outage during propagate and completes once it answers", async () => {
    const account = await freshAccount();
    const { res } = await register([sink(account)]);
    const id = res.json.credential.id;
    await cloudflareControl("faults", {
      method: "PUT",
      path: `/client/v4/accounts/${account.accountId}/workers/scripts/${account.script}/secrets`,
      status: 503,
      count: 2,
    });
    const started = await call("POST", `/v1/credentials/${id}/rotate`);
    const done = await waitForRotation(started.json.rotation.id);
    expect(done.state).toBe("done");
    const puts = (await account.calls()).filter((c: any) => c.method === "PUT").map((c: any) => c.status);
    expect(puts).toEqual([503, 503, 200]);
    leaks.secrets.push((await account.secret("CLARIFAI_KEY"))!.text);
  });
});
