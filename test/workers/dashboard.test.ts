/**
 * Issue 19 through the real Worker (KV, Durable Objects including Stats, Queues, cron) against the
 * Node-hosted emulator: containment time recorded on compromise rotations and carried by the
 * event, Slack, the signed webhook and chat; GET /v1/summary's figures over a registry built here
 * (each test file has storage of its own); the home page's charts drawing those same figures; the
 * maintenance page and its confirmed, CSRF-protected re-encryption form. Ends with the canary
 * check: no secret value in any page, response, log line, audit entry or outbound message.
 */
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signedAlert } from "../support/signed-alert.ts";
import { summarySchema } from "../../src/core/summary/summary-schema.ts";
import { jitterMs } from "../../src/core/sweep/rules.ts";
import { ADMIN_TOKEN, call, responses, waitForRotation } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { ALICE, responseUrl, slackSigned, slashCommand } from "../support/chat.ts";
import { cronTick } from "../support/cron.ts";
import { failNextKeyCreate, freshTenant, refuseKeyDeletes } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";
import { received } from "../support/receiver.ts";

const COOKIE = "__Host-rekey_session";
const DAY = 86_400_000;

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let managerId: string;
let leaks: ReturnType<typeof canary>;
let cookie: string;

async function ui(method: string, path: string, form?: Record<string, string>) {
  const res = await exports.default.fetch(`http://rekey.test${path}`, {
    method,
    redirect: "manual",
    headers: {
      ...(cookie ? { cookie: `${COOKIE}=${cookie}` } : {}),
      ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
    },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  const text = await res.text();
  responses.push({ method, path, status: res.status, headers: Object.fromEntries(res.headers), text, json: undefined });
  return { status: res.status, text, location: res.headers.get("location"), headers: res.headers };
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

const appKey = (description: string, policy: Record<string, unknown> = {}) =>
  registerAppKey(tenant, {
    managerId,
    label: description,
    secrets: leaks.secrets,
    policy: { grace_hours: 0, ...policy },
    fields: { description },
  });

/** GET /v1/summary, parsed with its strict response schema (nothing else can ride along). */
const summary = async () => {
  const res = await call("GET", "/v1/summary");
  expect(res.status).toBe(200);
  summarySchema.parse(res.json);
  return res.json;
};

/** The bars of one chart on a page: row (date) → series → count, as the SVG draws them. */
function bars(html: string, chart: string): Map<string, Record<string, number>> {
  const start = html.indexOf(`data-chart="${chart}"`);
  expect(start, `chart ${chart} on the page`).toBeGreaterThan(0);
  const body = html.slice(start, html.indexOf("</figure>", start));
  const out = new Map<string, Record<string, number>>();
  for (const g of body.matchAll(/<g data-row="([^"]+)" data-total="(\d+)">(.*?)<\/g>/gs)) {
    const values: Record<string, number> = {};
    for (const r of g[3]!.matchAll(/data-series="([^"]+)" data-count="(\d+)"/g)) values[r[1]!] = Number(r[2]);
    expect(Object.values(values).reduce((a, b) => a + b, 0)).toBe(Number(g[2]));
    out.set(g[1]!, values);
  }
  return out;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const index7 = (at: number, now: number) => Math.floor((at - Math.floor(now / DAY) * DAY) / DAY);

beforeAll(async () => {
  leaks = canary();
  leaks.secrets.push(ADMIN_TOKEN);
  tenant = await freshTenant("dash");
  leaks.secrets.push(tenant.manager.id);
  managerId = await registerManager(tenant);
  const signIn = await exports.default.fetch("http://rekey.test/ui/sign-in", {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
  });
  cookie = new RegExp(`${COOKIE}=([^;]*)`).exec(signIn.headers.get("set-cookie") ?? "")![1]!;
});

afterAll(async () => {
  const state = await tenant.state();
  for (const k of state.keys) leaks.secrets.push(k.id);
  const audit = (await call("GET", "/v1/audit?limit=1000")).text;
  const outbound = (await received("/")).map((r) => r.body + JSON.stringify(r.headers)).join("\n");
  leaks.assertClean([audit, outbound]);
});

describe("GET /v1/summary and the home page", () => {
  // First in this file: the registry holds the manager and exactly what this test registers.
  it("counts this registry's credentials, rotations and schedule, and the home page draws the same figures", async () => {
    const now = Date.now();
    const aging = await appKey("rotates in 3 days", { max_age_days: 3 });
    const graced = await appKey("rotated, old value lives 24 h", { grace_hours: 24 });
    const expiring = await appKey("expires in 2 days", { expires_at: new Date(now + 2 * DAY).toISOString() });
    const revoked = await appKey("revoked");
    const failing = await appKey("rotation fails");
    const rotated = await call("POST", `/v1/credentials/${graced.credential.id}/rotate`, {});
    expect((await waitForRotation(rotated.json.rotation.id)).state).toBe("done");
    const revoke = await call("POST", `/v1/credentials/${revoked.credential.id}/revoke`, {});
    expect((await waitForRotation(revoke.json.rotation.id)).state).toBe("done");
    await failNextKeyCreate(tenant.userId);
    const fails = await call("POST", `/v1/credentials/${failing.credential.id}/rotate`, {});
    expect((await waitForRotation(fails.json.rotation.id)).state).toBe("failed");

    // The history is counted by the stats handler on the queue: wait for its three facts.
    await vi.waitUntil(async () => {
      const h = (await summary()).last_30_days;
      return h.done === 2 && h.failed === 1;
    }, { timeout: 15_000, interval: 100 });
    const s = await summary();
    expect(s.credentials).toEqual({ total: 6, active: 5, revoked: 1, leaked_live: 0, needs_manager: 0 });
    expect(s.owed_revocations).toEqual({ total: 0, overdue: 0 });
    expect(s.rotations).toEqual({ running: 0, failed: 1 });
    expect(s.key_versions).toEqual([{ version: 2, credentials: 6 }]);
    expect(s.legacy_sealed).toBe(0);
    expect(s.coverage).toEqual({ credentials: 6, partial: false, not_summarised: 0 });
    const today = s.last_30_days.days.at(-1);
    expect(today).toEqual({
      date: day(Date.now()),
      done: 2,
      failed: 1,
      by_reason: { scheduled: 0, manual: 3, compromise: 0, expiry: 0 },
    });
    expect(s.last_30_days.days).toHaveLength(30);
    expect(s.last_30_days.containment).toMatchObject({ count: 0, median_ms: null, points: [] });

    // The next 7 days, by the sweep's own rules: the max-age rotation (with its jitter), the
    // grace revocation of the rotated key's old value, the hard expiry.
    const expected = Array.from({ length: 7 }, () => ({ rotate: 0, revoke_previous: 0, expire: 0 }));
    const agingDue = Date.parse(aging.credential.value_created_at) + 3 * DAY + jitterMs(aging.credential.id, 3);
    expected[index7(agingDue, now)]!.rotate++;
    const graceView = (await call("GET", `/v1/credentials/${graced.credential.id}`)).json.credential;
    expected[index7(Date.parse(graceView.previous[0].revoke_after), now)]!.revoke_previous++;
    expected[index7(Date.parse(expiring.credential.policy.expires_at), now)]!.expire++;
    expect(s.next_7_days.map(({ date: _, ...counts }: { date: string }) => counts)).toEqual(expected);
    expect(s.next_7_days[0].date).toBe(day(Date.now()));

    // The home page: headline figures and every chart's bars are the summary's.
    const page = await ui("GET", "/ui");
    expect(page.status).toBe(200);
    for (
      const [name, value] of [
        ["credentials.active", 5],
        ["credentials.revoked", 1],
        ["rotations.failed", 1],
        ["owed_revocations.overdue", 0],
      ] as const
    ) {
      expect(page.text).toContain(`data-figure="${name}">${value}<`);
    }
    const outcome = bars(page.text, "rotations-by-outcome");
    expect(outcome.size).toBe(30);
    for (const d of s.last_30_days.days) {
      expect(outcome.get(d.date)).toEqual(
        Object.fromEntries(Object.entries({ done: d.done, failed: d.failed }).filter(([, v]) => v)),
      );
    }
    expect(bars(page.text, "rotations-by-reason").get(today.date)).toEqual({ manual: 3 });
    const next = bars(page.text, "next-7-days");
    for (const d of s.next_7_days) {
      const { date, ...counts } = d;
      expect(next.get(date)).toEqual(Object.fromEntries(Object.entries(counts).filter(([, v]) => v)));
    }
    // Each chart has its text equivalent: a table of the same figures, and the SVG hidden from screen readers.
    expect(page.text).toMatch(/<svg[^>]*aria-hidden="true"/);
    expect((page.text.match(/<table class="sr-only"/g) ?? []).length).toBe(4);
    expect(page.text).toContain("3 rotations from");
    expect(page.text).not.toMatch(/<script|style="|https?:\/\/(?!rekey\.test)/);
    // The table of credentials is still there, under the overview.
    expect(page.text.indexOf('data-chart="next-7-days"')).toBeLessThan(
      page.text.indexOf(`data-credential="${aging.credential.id}"`),
    );
  });

  it("refuses unknown parameters and unauthenticated callers", async () => {
    const bad = await call("GET", "/v1/summary?days=90");
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_request");
    expect(bad.text).not.toContain("90");
    const anon = await call("GET", "/v1/summary", undefined, { authorization: "" });
    expect(anon.status).toBe(401);
  });
});

describe("containment time", () => {
  it("is recorded on a compromise rotation and carried by the event, Slack, the signed webhook, chat status, the summary and the home page's chart", async () => {
    const { key, credential } = await appKey("leaks");
    const body = JSON.stringify({ value: key.id, source: "scanner" });
    const before = Date.now();
    const res = await call("POST", "/hooks/alerts", body, await signedAlert(body));
    expect(res.status).toBe(202);
    const rotation = await waitForRotation(res.json.rotation_id);
    expect(rotation).toMatchObject({ state: "done", reason: "compromise" });
    const received_at = Date.parse(rotation.alert_received_at);
    const contained_at = Date.parse(rotation.contained_at);
    expect(received_at).toBeGreaterThanOrEqual(before - 1000);
    expect(contained_at).toBeGreaterThanOrEqual(received_at);
    expect(rotation.containment_ms).toBe(contained_at - received_at);
    expect(rotation.containment_ms).toBeLessThan(10_000);
    const ms = rotation.containment_ms as number;
    expect((await tenant.state()).keys.map((k: { id: string }) => k.id)).not.toContain(key.id);

    // The compromise's credential.revoked event, in the audit trail and to the signed webhook.
    await vi.waitUntil(
      async () =>
        ((await call("GET", `/v1/audit?credential_id=${credential.id}&type=credential.revoked`)).json.entries ?? [])
          .length > 0,
      { timeout: 15_000, interval: 100 },
    );
    const revokedEvent = (await call("GET", `/v1/audit?credential_id=${credential.id}&type=credential.revoked`)).json
      .entries[0];
    expect(revokedEvent.data).toMatchObject({ reason: "compromise", rotation_id: rotation.id, containment_ms: ms });
    await vi.waitUntil(
      async () =>
        (await received("/slack/incoming")).some((r) =>
          r.body.includes(credential.id) && r.body.includes("contained in")
        ),
      { timeout: 15_000, interval: 100 },
    );
    const slack = (await received("/slack/incoming")).find((r) =>
      r.body.includes(credential.id) && r.body.includes("contained in")
    )!;
    expect(JSON.parse(slack.body).text).toContain(`contained in ${ms} ms`);
    await vi.waitUntil(
      async () =>
        (await received("/outbound/siem")).some((r) =>
          r.body.includes(credential.id) && r.body.includes("credential.revoked")
        ),
      { timeout: 15_000, interval: 100 },
    );
    const hook = (await received("/outbound/siem")).find((r) =>
      r.body.includes(credential.id) && r.body.includes("credential.revoked")
    )!;
    expect(JSON.parse(hook.body).data.containment_ms).toBe(ms);
    expect(hook.headers["webhook-signature"]).toMatch(/^v1,/);

    // Chat status shows it for the last rotation.
    const status = await slackSigned(
      "/chatops/slack/commands",
      slashCommand(ALICE, `status ${credential.id}`, responseUrl("dash")),
    );
    expect(status.status).toBe(200);
    expect(JSON.stringify(status.json)).toContain(`contained in ${ms} ms`);

    // The summary has a point for it, and the home page's containment chart draws it.
    await vi.waitUntil(
      async () =>
        (await summary()).last_30_days.containment.points.some((p: { rotation_id: string }) =>
          p.rotation_id === rotation.id
        ),
      { timeout: 15_000, interval: 100 },
    );
    const c = (await summary()).last_30_days.containment;
    expect(c.points).toEqual([{
      at: expect.any(String),
      containment_ms: ms,
      credential_id: credential.id,
      rotation_id: rotation.id,
    }]);
    expect(c).toMatchObject({ count: 1, median_ms: ms, p95_ms: ms, max_ms: ms });
    const page = await ui("GET", "/ui");
    expect(page.text).toMatch(new RegExp(`<circle[^>]*data-rotation="${rotation.id}" data-ms="${ms}"`));
    expect(page.text).toMatch(new RegExp(`data-line="median" data-ms="${ms}"`));
    expect(page.text).toMatch(new RegExp(`data-line="p95" data-ms="${ms}"`));
    // And the credential's page, in its rotation table.
    expect((await ui("GET", `/ui/credentials/${credential.id}`)).text).toContain(`data-containment-ms="${ms}"`);
  });

  it("is recorded when the sweep finally deletes a leaked value Clarifai first refused to delete", async () => {
    const { key, credential } = await appKey("leak refused once");
    await refuseKeyDeletes(tenant.userId, 1);
    const res = await call("POST", `/v1/credentials/${credential.id}/rotate`, { reason: "compromise" });
    expect(res.status).toBe(202);
    const first = await waitForRotation(res.json.rotation.id);
    expect(first.state).toBe("done");
    expect(first.alert_received_at).not.toBeNull();
    expect(first).toMatchObject({ contained_at: null, containment_ms: null });
    await cronTick();
    await vi.waitUntil(
      async () => (await call("GET", `/v1/rotations/${first.id}`)).json.rotation.contained_at !== null,
      { timeout: 20_000, interval: 100 },
    );
    const later = (await call("GET", `/v1/rotations/${first.id}`)).json.rotation;
    expect(later.containment_ms).toBe(Date.parse(later.contained_at) - Date.parse(later.alert_received_at));
    expect((await tenant.state()).keys.map((k: { id: string }) => k.id)).not.toContain(key.id);
    await vi.waitUntil(
      async () =>
        ((await call("GET", `/v1/audit?credential_id=${credential.id}&type=credential.revoked`)).json.entries ?? [])
          .some((e: { data: { containment_ms?: number } }) => e.data.containment_ms === later.containment_ms),
      { timeout: 15_000, interval: 100 },
    );
  });

  it("is absent from routine rotations", async () => {
    const { credential } = await appKey("routine");
    const res = await call("POST", `/v1/credentials/${credential.id}/rotate`, {});
    const r = await waitForRotation(res.json.rotation.id);
    expect(r).toMatchObject({ state: "done", alert_received_at: null, contained_at: null, containment_ms: null });
  });
});

describe("the maintenance page", () => {
  it("shows the key versions and credentials under each, starts a re-encryption through a confirmed CSRF form, and shows its progress", async () => {
    const s = await summary();
    const page = await ui("GET", "/ui/maintenance");
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-field="current-version">2<');
    expect(page.text).toContain("holds versions 1, 2");
    for (const k of s.key_versions) {
      expect(page.text).toContain(`data-key-version="${k.version}" data-credentials="${k.credentials}"`);
    }
    expect(page.text).toContain('data-field="behind" data-count="0"');
    expect(page.text).toContain('href="/ui/maintenance/reencrypt"');

    const confirm = await ui("GET", "/ui/maintenance/reencrypt");
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('action="/ui/maintenance/reencrypt"');
    const csrf = csrfOf(confirm.text);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const noToken = await ui("POST", "/ui/maintenance/reencrypt", {});
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain("csrf_invalid");
    const extra = await ui("POST", "/ui/maintenance/reencrypt", { csrf, batch_size: "1" });
    expect(extra.status).toBe(400);
    expect(extra.text).toContain("invalid_request");
    expect((await ui("GET", "/ui/maintenance?started=job_NOT-AN-ID")).status).toBe(400);
    expect((await call("GET", "/v1/maintenance/reencrypt")).json.job).toBeNull();

    const started = await ui("POST", "/ui/maintenance/reencrypt", { csrf });
    expect(started.status).toBe(303);
    const url = new URL(started.location!, "http://rekey.test");
    expect(url.pathname).toBe("/ui/maintenance");
    expect(url.searchParams.get("outcome")).toBe("started");
    const jobId = url.searchParams.get("started")!;
    expect(jobId).toMatch(/^job_/);
    await vi.waitUntil(async () => (await call("GET", "/v1/maintenance/reencrypt")).json.job?.state === "done", {
      timeout: 20_000,
      interval: 100,
    });
    const job = (await call("GET", "/v1/maintenance/reencrypt")).json.job;
    expect(job).toMatchObject({ id: jobId, requested_by: "admin-token", target_version: 2 });
    const after = await ui("GET", `${url.pathname}${url.search}`);
    expect(after.text).toContain(`Re-encryption ${jobId} started`);
    expect(after.text).toContain(`data-job="${jobId}" data-state="done"`);
    expect(after.text).toMatch(
      new RegExp(`<progress[^>]*max="${s.coverage.credentials}" value="${job.scanned}"`),
    );
    expect(after.text).toContain('data-field="eta">finished<');
  });
});
