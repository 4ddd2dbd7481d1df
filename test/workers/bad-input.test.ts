/**
 * Issue 14 item 4: every bad input gets a 4xx with a machine-readable code, and nothing of it is
 * echoed or logged. Over-long path ids are not found before storage is read (a 512-byte rotation
 * id was a 500 that logged the raw path); a lone surrogate in any string field is a 400 (a secret's
 * new value was a 500); messages name fields, never the values sent (`manager_id` was echoed).
 *
 * On the real Worker: `exports.default.fetch` (test/support/api.ts), and `worker.fetch` from
 * src/worker.ts with a counting env where storage access is counted.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";
import { ADMIN_TOKEN, call } from "../support/api.ts";
import { countingEnv } from "../support/counting-env.ts";
import { emulatorUrl, freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";

const LONG_ROTATION = `rot_${"a".repeat(508)}`;
const LONG_CREDENTIAL = `cred_${"b".repeat(507)}`;
const LONE = "\\ud800"; // as JSON text: a lone high surrogate once parsed

/** Every console line written while a test runs, to prove no path or body reaches a log. */
let logged: string[] = [];
beforeEach(() => {
  logged = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
  }
});
afterEach(() => vi.restoreAllMocks());

describe("over-long path ids", () => {
  const routes: [string, string, string][] = [
    ["GET", `/v1/rotations/${LONG_ROTATION}`, "rotation_not_found"],
    ["GET", `/v1/credentials/${LONG_CREDENTIAL}`, "credential_not_found"],
    ["DELETE", `/v1/credentials/${LONG_CREDENTIAL}`, "credential_not_found"],
    ["POST", `/v1/credentials/${LONG_CREDENTIAL}/rotate`, "credential_not_found"],
    ["POST", `/v1/credentials/${LONG_CREDENTIAL}/revoke`, "credential_not_found"],
    ["GET", `/v1/rotations/${encodeURIComponent("rot_../../x")}`, "rotation_not_found"],
  ];
  for (const [method, path, code] of routes) {
    it(`${method} ${path.slice(0, 24)}… is 404 ${code} without reading storage, and logs nothing of the path`, async () => {
      const counting = countingEnv(env as Env);
      const ctx = createExecutionContext();
      counting.begin(path);
      const res = await worker.fetch(
        new Request(`http://rekey.test${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
        counting.env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      const counts = counting.end();
      expect(res.status).toBe(404);
      const text = await res.text();
      expect(JSON.parse(text).error.code).toBe(code);
      expect(counts).toMatchObject({ kv_ops: 0, do_calls: 0 });
      const id = path.split("/")[3]!;
      expect(text).not.toContain(id);
      for (const line of logged) expect(line).not.toContain(id.slice(0, 40));
    });
  }
});

describe("lone surrogates and echoed values", () => {
  let tenant: Awaited<ReturnType<typeof freshTenant>>;
  let managerId: string;
  let secretCredential: string;

  beforeAll(async () => {
    tenant = await freshTenant("badinput");
    managerId = await registerManager(tenant);
    await fetch(`${emulatorUrl()}/v2/users/${tenant.userId}/secrets`, {
      method: "POST",
      headers: { authorization: `Key ${tenant.manager.id}`, "content-type": "application/json" },
      body: JSON.stringify({ secrets: [{ id: "BAD_INPUT_SECRET", value: "initial-value-0123456789" }] }),
    });
    const s = await call("POST", "/v1/credentials", {
      kind: "secret",
      user_id: tenant.userId,
      secret_id: "BAD_INPUT_SECRET",
      manager_id: managerId,
    });
    expect(s.status).toBe(201);
    secretCredential = s.json.credential.id;
  });

  it("a secret's new value with a lone surrogate is 400 invalid_unicode, and the secret is untouched", async () => {
    const before = (await tenant.state()).secrets.find((x: { id: string }) => x.id === "BAD_INPUT_SECRET");
    const res = await call(
      "POST",
      `/v1/credentials/${secretCredential}/rotate`,
      `{"value":"new-value-${LONE}-0123456789"}`,
    );
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({
      code: "invalid_request",
      issues: [{ path: "value", code: "invalid_unicode" }],
    });
    expect(res.text).not.toContain("new-value");
    const after = (await tenant.state()).secrets.find((x: { id: string }) => x.id === "BAD_INPUT_SECRET");
    expect(after).toEqual(before);
    expect((await call("GET", `/v1/credentials/${secretCredential}`)).json.credential.current_rotation).toBeUndefined();
  });

  const registrations: [string, string][] = [
    ["value", `{"kind":"pat","user_id":"u1","value":"abc${LONE}"}`],
    ["description", `{"kind":"pat","user_id":"u1","value":"abc","description":"x${LONE}"}`],
    ["user_id", `{"kind":"pat","user_id":"${LONE}","value":"abc"}`],
    ["policy.*", `{"kind":"pat","user_id":"u1","value":"abc","policy":{"${LONE}":1}}`],
    [
      "sinks.0.secret_id",
      `{"kind":"pat","user_id":"u1","value":"abc","sinks":[{"user_id":"u1","secret_id":"S${LONE}"}]}`,
    ],
  ];
  for (const [field, body] of registrations) {
    it(`registering with a lone surrogate in ${field} is 400 invalid_unicode naming the field`, async () => {
      const res = await call("POST", "/v1/credentials", body);
      expect(res.status).toBe(400);
      expect(res.json.error.issues).toEqual([{ path: field, code: "invalid_unicode" }]);
    });
  }

  it("a signed alert with a lone surrogate is 400, not a 500", async () => {
    const body = `{"value":"leak${LONE}"}`;
    const id = `msg_${crypto.randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signStandardWebhook({ secret: env.ALERT_WEBHOOK_SECRET as string, id, timestamp, body });
    const res = await call("POST", "/hooks/alerts", body, {
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_request");
  });

  it("a manager_id that is not a credential id is refused by field name, never echoed", async () => {
    const token = "0123456789abcdef0123456789abcdef";
    const res = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: tenant.userId,
      value: "a".repeat(32),
      manager_id: token,
    });
    expect(res.status).toBe(400);
    expect(res.json.error.issues).toEqual([expect.objectContaining({ path: "manager_id" })]);
    expect(res.text).not.toContain(token);
  });

  it("an unknown manager_id is 422 manager_not_found, never echoed", async () => {
    const unknown = "cred_0000000000zzzzzzzzzzzzzz";
    const key = await tenant.mint("app_specific_key", ["Predict"], "workload");
    const res = await call("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: tenant.userId,
      value: key.id,
      manager_id: unknown,
    });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("manager_not_found");
    expect(res.json.error.message).toContain('"manager_id"');
    expect(res.text).not.toContain(unknown);
    expect(res.text).not.toContain(key.id);
  });

  it("Clarifai ids in refusals are named by field, not quoted", async () => {
    const res = await call("POST", "/v1/credentials", {
      kind: "secret",
      user_id: tenant.userId,
      secret_id: "NO_SUCH_SECRET_XYZ",
      manager_id: managerId,
    });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("not_found_upstream");
    expect(res.text).not.toContain("NO_SUCH_SECRET_XYZ");
  });
});
