/**
 * The cron backstop for missed webhooks (core/github/backstop.ts), on the real Worker and bindings
 * against the emulators, every invocation counted against the Workers free plan's limits
 * (test/support/counting-env.ts: at most 50 subrequests and 1,000 KV operations): alerts whose
 * webhook never came, in an organization scope (two pages of open alerts, most of them secrets
 * rekey does not manage) and a repository scope, are found by one sweep, contained and resolved
 * as revoked; a second sweep finds nothing left to do.
 *
 * The Worker runs with GITHUB_ALERT_SCOPES set for this file only (a copy of the test env); the
 * test drives the cron tick and the consumer itself, one counted invocation at a time, and follows
 * only the backstop's events and what they cause (the registry sweep of the tick is dropped: other
 * files' credentials are not this file's business).
 */
import { env } from "cloudflare:workers";
import { createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { call } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { type CountingEnv, countingEnv, invocation, type InvocationCounts } from "../support/counting-env.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { freshOrg, githubControl } from "../support/github.ts";
import { registerManager } from "../support/manager.ts";

const LIMITS = { subrequests: 50, kv_ops: 1_000 };
const NOISE = 130; // unmanaged secrets in the organization: two pages of 100

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let gh: Awaited<ReturnType<typeof freshOrg>>;
let other: Awaited<ReturnType<typeof freshOrg>>;
let leaks: ReturnType<typeof canary>;
let managerId: string;
const managed: { credentialId: string; keyId: string; repository: string; number: number }[] = [];

let minute = Math.floor(Date.now() / 60_000) + 5_000_000 + Math.floor(Math.random() * 1_000_000);

/** One cron tick and everything the backstop's events cause, each invocation counted. */
async function sweep(counting: CountingEnv<Env>, opts: { dead?: number } = {}) {
  const dead: unknown[] = [];
  const first = counting.invocations.length;
  await invocation(
    counting,
    "cron",
    async (ctx) =>
      worker.scheduled(
        createScheduledController({ scheduledTime: minute++ * 60_000, cron: "*/15 * * * *" }),
        counting.env,
        ctx,
      ),
  );
  const pending: { id: string; timestamp: number; attempts: number; body: unknown }[] = [];
  const enqueue = (bodies: unknown[]) => {
    for (const b of bodies) {
      // The registry sweep belongs to every file's credentials: not followed here.
      if ((b as { type: string }).type === "sweep.batch") continue;
      pending.push({ id: crypto.randomUUID(), timestamp: Date.now(), attempts: 1, body: b });
    }
  };
  enqueue(counting.take("rekey-events"));
  const types = new Map<string, number>();
  for (let n = 0; pending.length > 0; n++) {
    expect(n, "the consumer never drained the queue").toBeLessThan(500);
    const m = pending.shift()!;
    const type = (m.body as { type: string }).type;
    if (m.attempts === 1) types.set(type, (types.get(type) ?? 0) + 1);
    const batch = createMessageBatch("rekey-events", [m]);
    const { result } = await invocation(counting, `queue#${n}:${type}`, async (ctx) => {
      await worker.queue(batch, counting.env, ctx);
      return getQueueResult(batch, ctx);
    });
    if (result.retryMessages.length) pending.push({ ...m, id: crypto.randomUUID(), attempts: m.attempts + 1 });
    dead.push(...counting.take("rekey-events-dlq"));
    expect(dead.length, "an event went to the dead-letter queue").toBeLessThanOrEqual(opts.dead ?? 0);
    enqueue(counting.take("rekey-events"));
  }
  expect(dead.length).toBe(opts.dead ?? 0);
  return { invocations: counting.invocations.slice(first), types };
}

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("ghbackstop");
  leaks.secrets.push(tenant.manager.id);
  gh = await freshOrg("ghbackstop");
  other = await freshOrg("ghbackstop-repo");
  await githubControl("repos", { full_name: `${gh.org}/second` });
  managerId = await registerManager(tenant);
  const register = async (label: string, sinks: unknown[] = []) => {
    const { key, id } = await registerAppKey(tenant, {
      managerId,
      label,
      secrets: leaks.secrets,
      policy: { grace_hours: 0 },
      sinks,
    });
    return { credentialId: id, keyId: key.id };
  };
  // Alerts created without their webhook: the backstop must find them. Managed values sit among
  // many unmanaged ones, in both of the organization's repositories and in the repository scope.
  const noise = async (repository: string, n: number) => {
    for (let i = 0; i < n; i++) {
      await githubControl(`repos/${repository}/alerts`, {
        secret: `unmanaged-${repository}-${i}-${crypto.randomUUID()}`,
      });
    }
  };
  await noise(gh.repository, NOISE - 20);
  for (
    const [i, repository] of [
      gh.repository,
      gh.repository,
      `${gh.org}/second`,
      other.repository,
      gh.repository,
      `${gh.org}/second`,
      gh.repository,
    ].entries()
  ) {
    const sinks = i === 0 ? [{ type: "github_actions_secret", repository: gh.repository, name: "BACKSTOP_KEY" }] : [];
    const m = await register(`backstop-${i}`, sinks);
    const number = (await githubControl(`repos/${repository}/alerts`, { secret: m.keyId })).alert.number as number;
    managed.push({ ...m, repository, number });
    await noise(`${gh.org}/second`, 3);
  }
}, 120_000);

describe("the webhook's request invocation", () => {
  it("contains a leak (rotation with a GitHub sink driven in waitUntil up to containment, finished by the consumer) within the free plan's limits", async () => {
    const counting = countingEnv(env as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
    // An organization of its own: the backstop's counts below are about the other one.
    const budget = await freshOrg("ghbudget");
    const { key, id } = await registerAppKey(tenant, {
      managerId,
      label: "webhook-budget",
      secrets: leaks.secrets,
      policy: { grace_hours: 0 },
      sinks: [{ type: "github_actions_secret", repository: budget.repository, name: "BUDGET_KEY" }],
    });
    const { delivery } = await budget.alert(key.id);
    // Twice: the first request of an isolate also exchanges the App's JWT for a token.
    for (const label of ["cold", "warm"]) {
      const d = label === "cold"
        ? delivery
        : await budget.deliver({ number: (await budget.alert(`other-${crypto.randomUUID()}`)).number });
      const req = new Request("http://rekey.test/hooks/github/events", {
        method: "POST",
        headers: d.headers,
        body: d.body,
      });
      const { result, counts } = await invocation(
        counting,
        `webhook ${label}`,
        async (ctx) => worker.fetch(req as Request<unknown, IncomingRequestCfProperties>, counting.env, ctx),
      );
      expect(result.status).toBe(label === "cold" ? 202 : 200);
      console.log(`github webhook request (${label}): ${JSON.stringify(counts)}`);
      expect(counts.subrequests, JSON.stringify(counts)).toBeLessThanOrEqual(LIMITS.subrequests);
      expect(counts.kv_ops).toBeLessThanOrEqual(LIMITS.kv_ops);
    }
    // The request's own invocation stops at containment (core/alerts/contain.ts): the leaked key
    // is dead, and the rotator's replay of credential.compromised, in a consumer invocation of its
    // own, makes and delivers the replacement.
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(key.id);
    const contained = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(contained.current_rotation_id).not.toBeNull();
    const pending = counting.take("rekey-events");
    for (let n = 0; pending.length > 0; n++) {
      expect(n, "the consumer never drained the queue").toBeLessThan(100);
      const body = pending.shift();
      const batch = createMessageBatch("rekey-events", [
        { id: crypto.randomUUID(), timestamp: Date.now(), attempts: 1, body },
      ]);
      const { result, counts } = await invocation(
        counting,
        `queue#${n}:${(body as { type: string }).type}`,
        async (ctx) => {
          await worker.queue(batch, counting.env, ctx);
          return getQueueResult(batch, ctx);
        },
      );
      expect(result.retryMessages, counts.label).toEqual([]);
      expect(counts.subrequests, JSON.stringify(counts)).toBeLessThanOrEqual(LIMITS.subrequests);
      expect(counts.kv_ops).toBeLessThanOrEqual(LIMITS.kv_ops);
      expect(counting.take("rekey-events-dlq")).toEqual([]);
      pending.push(...counting.take("rekey-events"));
    }
    const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(cred.last_rotation).toMatchObject({ state: "done", reason: "compromise" });
  });
});

describe("the GitHub backstop over GITHUB_ALERT_SCOPES", () => {
  it("finds alerts whose webhook never came, contains and resolves them, within the free plan's limits", async () => {
    const counting = countingEnv(
      { ...(env as Env), GITHUB_ALERT_SCOPES: `org:${gh.org}, ${other.repository}` } as Env,
      { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" },
    );
    const first = await sweep(counting);
    const scans = first.invocations.filter((i) => i.label.includes("github.alerts_scan"));
    // Organization: 137 open alerts, 100 a page → 2 pages, 6 managed (5 a page at most → an offset
    // continuation); then the repository scope: 1 page.
    expect(scans.length).toBeGreaterThanOrEqual(3);
    expect(first.types.get("credential.compromised")).toBe(managed.length);

    const keys = new Set((await tenant.state()).keys.map((k: any) => k.id as string));
    for (const m of managed) {
      expect(keys.has(m.keyId), `${m.repository}#${m.number}: the leaked key still works`).toBe(false);
      const cred = (await call("GET", `/v1/credentials/${m.credentialId}`)).json.credential;
      expect(cred.last_rotation, m.credentialId).toMatchObject({ state: "done", reason: "compromise" });
    }
    const alerts = [...(await gh.state()).alerts, ...(await other.state()).alerts];
    for (const m of managed) {
      const a = alerts.find((x: any) => x.repository === m.repository && x.number === m.number);
      expect(a, `${m.repository}#${m.number}`).toMatchObject({ state: "resolved", resolution: "revoked" });
    }
    // Unmanaged secrets are left open and untouched.
    const open = alerts.filter((a: any) => a.state === "open");
    expect(open.length).toBe(NOISE - 20 + 3 * managed.length);
    const patched = new Set(
      [...(await gh.state()).calls, ...(await other.state()).calls]
        .filter((c: any) => c.method === "PATCH").map((c: any) => c.path),
    );
    expect(patched.size).toBe(managed.length);
    // The sink of the first one holds its replacement.
    const sink = (await gh.state()).secrets.find((s: any) => s.name === "BACKSTOP_KEY");
    expect(sink?.value).toBeTruthy();
    expect(sink.value).not.toBe(managed[0]!.keyId);
    leaks.secrets.push(sink.value);

    // A second sweep: what is still open is unmanaged, so nothing is contained or resolved.
    const second = await sweep(counting);
    expect(second.types.get("credential.compromised") ?? 0).toBe(0);
    expect(second.types.get("github.alert_linked") ?? 0).toBe(0);

    const all = [...first.invocations, ...second.invocations];
    const worst = (f: keyof Omit<InvocationCounts, "label">) => all.reduce((a, b) => (b[f] > a[f] ? b : a));
    console.log(
      `github backstop: ${managed.length} managed among ${alerts.length} alerts; ${first.invocations.length} + ${second.invocations.length} invocations; ` +
        `scan pages ${JSON.stringify(scans.map((s) => ({ sub: s.subrequests, kv: s.kv_ops })))}; ` +
        `max subrequests ${worst("subrequests").subrequests} (${worst("subrequests").label}), max KV ops ${
          worst("kv_ops").kv_ops
        } (${worst("kv_ops").label})`,
    );
    for (const inv of all) {
      expect(inv.subrequests, `${inv.label}: ${JSON.stringify(inv)}`).toBeLessThanOrEqual(LIMITS.subrequests);
      expect(inv.kv_ops, `${inv.label}: ${JSON.stringify(inv)}`).toBeLessThanOrEqual(LIMITS.kv_ops);
    }
    leaks.assertClean([], 3);
  }, 240_000);

  it("a scope it can never list, or an alert too long to be a Clarifai value, stops nothing after it", async () => {
    const bad = await freshOrg("ghbackstop-bad");
    await githubControl(`repos/${bad.repository}/alerts`, { secret: `-----BEGIN PRIVATE KEY-----${"A".repeat(5000)}` });
    const { key, id } = await registerAppKey(tenant, {
      managerId,
      label: "backstop-after-bad",
      secrets: leaks.secrets,
      policy: { grace_hours: 0 },
    });
    await githubControl(`repos/${bad.repository}/alerts`, { secret: key.id });
    const counting = countingEnv(
      // The first scope is a repository that does not exist (404 for good, on every sweep).
      { ...(env as Env), GITHUB_ALERT_SCOPES: `${bad.org}/gone-${crypto.randomUUID()}, ${bad.repository}` } as Env,
      { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" },
    );
    const run = await sweep(counting); // asserts nothing was dead-lettered
    expect(run.types.get("github.alerts_scan")).toBe(2);
    expect(run.types.get("credential.compromised")).toBe(1);
    const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(cred.last_rotation).toMatchObject({ state: "done", reason: "compromise" });
    const alerts = (await bad.state()).alerts;
    expect(alerts.filter((a: any) => a.state === "open")).toHaveLength(1);
  }, 60_000);

  it(
    "an alert GitHub will not let it resolve (403) is dead-lettered once, then left alone by later sweeps",
    async () => {
      // An App installed with read-only access to alerts: GitHub answers the PATCH 403, for good.
      const ro = { org: `ghbackstop-ro-${crypto.randomUUID().slice(0, 8)}` } as { org: string; repository: string };
      ro.repository = `${ro.org}/app`;
      await githubControl("repos", { full_name: ro.repository });
      await githubControl("installations", { account: ro.org, permissions: { secret_scanning_alerts: "read" } });
      const roState = async () => (await githubControl(`state?owner=${encodeURIComponent(ro.org)}`)) as any;
      const { key } = await registerAppKey(tenant, {
        managerId,
        label: "backstop-read-only",
        secrets: leaks.secrets,
        policy: { grace_hours: 0 },
      });
      const number = (await githubControl(`repos/${ro.repository}/alerts`, { secret: key.id })).alert.number;
      const path = `/repos/${ro.repository}/secret-scanning/alerts/${number}`;
      const counting = countingEnv(
        { ...(env as Env), GITHUB_ALERT_SCOPES: ro.repository } as Env,
        { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" },
      );
      const first = await sweep(counting, { dead: 1 });
      expect(first.types.get("credential.compromised")).toBe(1);
      const second = await sweep(counting); // no dead letter, no PATCH
      expect(second.types.get("credential.compromised") ?? 0).toBe(0);
      const patches = (await roState()).calls.filter((c: any) => c.method === "PATCH" && c.path === path);
      expect(patches.map((c: any) => c.status)).toEqual([403]);
    },
    60_000,
  );
});
