/**
 * No change without its audit entry (issue 18): a `PATCH /v1/credentials/:id` whose
 * `credential.updated` cannot be published is undone, so the record is as it was and the caller's
 * retry starts clean. The real Worker, KV and Durable Objects; only the Queue producer binding
 * refuses (the one fault this needs), as a Queue that is down would.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/worker.ts";
import { ADMIN_TOKEN, call } from "../support/api.ts";
import { freshTenant } from "../support/emulator-control.ts";

/** The Worker's bindings with an `EVENTS` Queue that refuses every send. */
function queueDown(): typeof env {
  const refuse = () => Promise.reject(new Error("queue unavailable (fault injected by the test)"));
  return { ...env, EVENTS: { send: refuse, sendBatch: refuse } as unknown as Queue };
}

async function patchWith(bindings: typeof env, id: string, body: unknown) {
  const ctx = createExecutionContext();
  const res = await worker.fetch!(
    new Request(`http://rekey.test/v1/credentials/${id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }) as Parameters<NonNullable<typeof worker.fetch>>[0],
    bindings as never,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("PATCH /v1/credentials/:id and its audit entry", () => {
  it("undoes the change when credential.updated cannot be published, and applies it on the retry", async () => {
    const tenant = await freshTenant("patch-audit");
    const reg = await call("POST", "/v1/credentials", {
      kind: "pat",
      user_id: tenant.userId,
      value: tenant.manager.id,
      description: "before",
      consumers: ["billing-api"],
    });
    expect(reg.status).toBe(201);
    const id = reg.json.credential.id as string;
    const change = { description: "after", consumers: ["billing-api", "search-api"] };

    const failed = await patchWith(queueDown(), id, change);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const unchanged = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(unchanged).toMatchObject({ description: "before", consumers: ["billing-api"] });
    expect(unchanged.updated_at).toBe(reg.json.credential.updated_at);

    const retried = await call("PATCH", `/v1/credentials/${id}`, change);
    expect(retried.status).toBe(200);
    expect(retried.json.updated.sort()).toEqual(["consumers", "description"]);
    expect(retried.json.credential).toMatchObject(change);
  });
});
