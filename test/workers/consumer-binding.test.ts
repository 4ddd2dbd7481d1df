/**
 * The pull path (issue 18, item 1): consumer Workers in the same workerd as rekey
 * (vitest.config.ts `miniflare.workers`, test/fixtures/consumer-worker.ts with the helper from
 * clients/worker/) bind to the RekeyCredentials entrypoint with their own props and read a
 * credential's current value; rekey's Durable Objects, queues and the Clarifai emulator are real.
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { emulatorUrl, failNextKeyCreate, freshTenant, refuseKeyDeletes } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { adminSession } from "../support/dashboard-session.ts";
import { servicesFor } from "../../src/worker.ts";
import { payOwedRevocations } from "../../src/core/rotation/owed-revocations.ts";
import { MAX_CACHE_MS } from "../../src/core/credentials/read-current.ts";

type Consumer = "CONSUMER_BILLING" | "CONSUMER_INTRUDER" | "CONSUMER_NO_PROPS";
const consumerOf = (name: Consumer) => (env as unknown as Record<Consumer, Fetcher>)[name];

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let managerId: string;
let leaks: ReturnType<typeof canary>;
/** What the consumers answered: checked by the canary for everything but the values they were given. */
const consumerAnswers: string[] = [];

async function consumerGet(name: Consumer, path: string): Promise<{ status: number; json: any }> {
  const res = await consumerOf(name).fetch(`http://consumer${path}`);
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) };
}

const register = (extra: Record<string, unknown> = {}) =>
  registerAppKey(tenant, {
    managerId,
    secrets: leaks.secrets,
    fields: { consumers: ["billing-api"], policy: { grace_hours: 24 }, ...extra },
  });

async function auditOf(id: string, type: string): Promise<any[]> {
  return (await call("GET", `/v1/audit?credential_id=${id}&type=${type}`)).json.entries;
}

async function waitForAudit(id: string, type: string, n: number): Promise<any[]> {
  for (let i = 0; i < 200; i++) {
    const entries = await auditOf(id, type);
    if (entries.length >= n) return entries;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ${n} ${type} entries for ${id}`);
}

async function rotate(id: string, reason = "manual") {
  const started = await call("POST", `/v1/credentials/${id}/rotate`, { reason });
  expect(started.status).toBe(202);
  return waitForRotation(started.json.rotation.id);
}

/** The replacement key a rotation minted (it carries the rotation's marker). */
async function replacementOf(rotationId: string): Promise<string> {
  const key = (await tenant.state()).keys.find((k: any) => String(k.description).includes(rotationId));
  expect(key).toBeDefined();
  leaks.secrets.push(key.id);
  return key.id;
}

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("bind");
  leaks.secrets.push(tenant.manager.id);
  managerId = await registerManager(tenant);
});

afterAll(() => {
  // The consumers were given values (that is their job); rekey's own answers and logs never hold one.
  leaks.assertClean(consumerAnswers.filter((a) => !a.includes('"value"')), 2);
});

describe("RekeyCredentials.current over a service binding", () => {
  it("serves a listed consumer the current value, then the new one after a rotation", async () => {
    const { key, id, fingerprint } = await register();
    const before = Date.now();
    const first = await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ value: key.id, fingerprint_prefix: fingerprint });
    expect(Object.keys(first.json).sort()).toEqual(["fingerprint_prefix", "refresh_after", "rotated_at", "value"]);
    // No planned rotation: the longest cache, never longer.
    const refresh = Date.parse(first.json.refresh_after);
    expect(refresh).toBeGreaterThan(before);
    expect(refresh).toBeLessThanOrEqual(Date.now() + MAX_CACHE_MS);

    const done = await rotate(id);
    expect(done.state).toBe("done");
    const replacement = await replacementOf(done.id);
    const second = await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`);
    expect(second.json.value).toBe(replacement);
    expect(second.json.fingerprint_prefix).toBe(done.new_fingerprint);
    expect(Date.parse(second.json.rotated_at)).toBeGreaterThanOrEqual(before);
  });

  it("refuses a binding without props, a consumer not listed and an unknown credential, with a code and no value", async () => {
    const { key, id } = await register();
    const none = await consumerGet("CONSUMER_NO_PROPS", `/raw?credential=${id}`);
    // rekey's runtime predates enhanced_error_serialization (both ends need it): the error arrives
    // as a plain Error whose message leads with the code, and the helper reads it from there.
    expect(none).toMatchObject({ status: 403, json: { refused: "consumer_required", name: "Error" } });
    expect(none.json.message).toMatch(/^RekeyRefusal: consumer_required: /);
    const intruder = await consumerGet("CONSUMER_INTRUDER", `/raw?credential=${id}`);
    expect(intruder).toMatchObject({ status: 403, json: { refused: "consumer_not_allowed" } });
    const unknown = await consumerGet("CONSUMER_BILLING", "/raw?credential=cred_0000000000000000000000000");
    expect(unknown.json.refused).toBe("credential_not_found");
    const malformed = await consumerGet("CONSUMER_BILLING", "/raw?credential=not-an-id");
    expect(malformed.json.refused).toBe("credential_not_found");
    for (const r of [none, intruder, unknown, malformed]) {
      consumerAnswers.push(JSON.stringify(r.json));
      expect(JSON.stringify(r.json)).not.toContain(key.id);
    }
    // Refused reads leave no read behind.
    expect(await auditOf(id, "credential.read")).toEqual([]);
  });

  it("refuses a revoked credential, and a consumer dropped from the list by PATCH", async () => {
    const { id } = await register();
    expect((await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`)).status).toBe(200);
    const patched = await call("PATCH", `/v1/credentials/${id}`, { consumers: ["someone-else"] });
    expect(patched.status).toBe(200);
    expect((await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`)).json.refused).toBe("consumer_not_allowed");
    await call("PATCH", `/v1/credentials/${id}`, { consumers: ["billing-api"] });
    const revoked = await call("POST", `/v1/credentials/${id}/revoke`);
    await waitForRotation(revoked.json.rotation.id);
    const res = await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`);
    consumerAnswers.push(JSON.stringify(res.json));
    expect(res.json.refused).toBe("credential_revoked");
  });

  it("refuses a leaked current value whose delete Clarifai refused (owed), until it is gone and replaced", async () => {
    const { id } = await register();
    expect((await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`)).status).toBe(200);
    // A compromise whose delete is refused (permanent: 11102) and whose replacement cannot be minted
    // (403 at create): the rotation fails, and the current value stays leaked and owed.
    await refuseKeyDeletes(tenant.userId, 1);
    await failNextKeyCreate(tenant.userId);
    const started = await call("POST", `/v1/credentials/${id}/rotate`, { reason: "compromise" });
    expect(started.status).toBe(202);
    const rotation = await waitForRotation(started.json.rotation.id);
    expect(rotation.state).toBe("failed");
    const view = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(view).toMatchObject({ state: "active", leaked_live: true });
    const res = await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`);
    consumerAnswers.push(JSON.stringify(res.json));
    expect(res).toMatchObject({ status: 403, json: { refused: "value_leaked" } });
  });

  it("audits credential.read once per value and consumer, and shows who last read which value", async () => {
    const { id, fingerprint } = await register();
    for (let i = 0; i < 3; i++) {
      expect((await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`)).status).toBe(200);
    }
    const [read] = await waitForAudit(id, "credential.read", 1);
    expect(read).toMatchObject({
      actor: "consumer:billing-api",
      data: { credential_id: id, consumer: "billing-api", fingerprint_prefix: fingerprint },
    });
    const shown = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(shown.readers).toEqual([
      { consumer: "billing-api", fingerprint, read_at: expect.any(String), current: true, listed: true },
    ]);

    const done = await rotate(id);
    const stale = (await call("GET", `/v1/credentials/${id}`)).json.credential.readers[0];
    expect(stale).toMatchObject({ fingerprint, current: false });
    await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`);
    await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`);
    const reads = await waitForAudit(id, "credential.read", 2);
    // Let any duplicate land before counting.
    await new Promise((r) => setTimeout(r, 300));
    expect((await auditOf(id, "credential.read")).map((e) => e.data.fingerprint_prefix)).toEqual([
      fingerprint,
      done.new_fingerprint,
    ]);
    expect(reads).toHaveLength(2);

    // The dashboard's credential page says the same, after a token sign-in (its header: admin-token).
    const cookie = await adminSession();
    const page = await (await exports.default.fetch(`http://rekey.test/ui/credentials/${id}`, { headers: { cookie } }))
      .text();
    expect(page).toMatch(new RegExp(`data-consumer="billing-api"[^]*?${done.new_fingerprint}…</code> \\(current\\)`));
    expect(page).toMatch(/data-field="signed-in-as"[^>]*>\s*admin-token/);
    expect(page).toMatch(/data-field="actor"[^>]*>consumer:billing-api</);
  });

  it("caches by refresh_after and, when the upstream refuses the cached key, reads again and retries once", async () => {
    const { key, id } = await register();
    const upstream = encodeURIComponent(`${emulatorUrl()}/v2/myscopes`);
    const ok = await consumerGet("CONSUMER_BILLING", `/call?credential=${id}&upstream=${upstream}`);
    expect(ok.json).toEqual({ status: 200, calls: 1 });
    const cached = await consumerGet("CONSUMER_BILLING", `/cached?credential=${id}`);
    expect(cached.json.value).toBe(key.id);

    // A compromise revokes the cached value at once; the consumer's cache still holds it.
    const done = await rotate(id, "compromise");
    expect(done.state).toBe("done");
    const replacement = await replacementOf(done.id);
    expect((await consumerGet("CONSUMER_BILLING", `/cached?credential=${id}`)).json.value).toBe(key.id);
    const retried = await consumerGet("CONSUMER_BILLING", `/call?credential=${id}&upstream=${upstream}`);
    expect(retried.json).toEqual({ status: 200, calls: 2 });
    expect((await consumerGet("CONSUMER_BILLING", `/cached?credential=${id}`)).json.value).toBe(replacement);
  });
});

describe("policy.revoke_when_consumers_moved", () => {
  async function supersededAfterMove(flag: boolean) {
    const { key, id } = await register({
      consumers: ["billing-api"],
      policy: { grace_hours: 24, revoke_when_consumers_moved: flag },
    });
    await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`);
    const done = await rotate(id);
    const graceEnd = Date.parse((await call("GET", `/v1/credentials/${id}`)).json.credential.previous[0].revoke_after);
    expect(graceEnd).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const read = await consumerGet("CONSUMER_BILLING", `/raw?credential=${id}`);
    expect(read.json.fingerprint_prefix).toBe(done.new_fingerprint);
    const previous = (await call("GET", `/v1/credentials/${id}`)).json.credential.previous[0];
    return { key, id, done, previous };
  }

  it("ends a routine rotation's grace once every listed consumer read the new value; the sweep's rule revokes it", async () => {
    const { key, id, previous } = await supersededAfterMove(true);
    // Not at once: the consumer's other isolates may hold the old value until their refresh_after.
    const end = Date.parse(previous.revoke_after);
    expect(end).toBeLessThanOrEqual(Date.now() + MAX_CACHE_MS);
    expect(end).toBeGreaterThan(Date.now());
    expect(previous.revoked_at).toBeNull();
    expect((await tenant.state()).keys.some((k: any) => k.id === key.id)).toBe(true);

    // The owed-revocation rule the cron sweep runs, once that time has come (the real store and Clarifai).
    const engine = await servicesFor(env, createExecutionContext()).engine();
    const paid = await payOwedRevocations({ ...engine, now: () => end + 1_000 }, id);
    expect(paid.revoked).toHaveLength(1);
    expect((await tenant.state()).keys.some((k: any) => k.id === key.id)).toBe(false);
    const [revoked] = await waitForAudit(id, "credential.revoked", 1);
    expect(revoked).toMatchObject({ actor: "sweep", data: { reason: "consumers_moved" } });
  });

  it("leaves the grace period alone when off (the default)", async () => {
    const { previous } = await supersededAfterMove(false);
    expect(Date.parse(previous.revoke_after)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
  });
});
