/**
 * The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium), driven by playwright-core
 * (which downloads no browser), against the real local stack of `npm start` (wrangler dev + the
 * Clarifai emulator) on free ports with a fresh state directory. Sign in, see the registered
 * credentials, rotate one through the confirmation page, see its new state and audit entry; leak
 * one (a signed alert) and see the home page's charts draw exactly the figures GET /v1/summary
 * reports, its containment time among them; start a re-encryption from the maintenance page and
 * follow it to the end; sign out. Every page is screenshotted into test/browser/screenshots/
 * (gitignored).
 *
 * Skipped, saying why, only when Chromium is not installed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDevVars, loadLocalConfig } from "../../scripts/lib/local-config.ts";
import { root } from "../../scripts/lib/stack.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";

const CHROMIUM = "/usr/bin/chromium";
const installed = existsSync(CHROMIUM);
// In CI nothing skips silently: .ci/run installs Chromium, so its absence is a broken CI, not a reason to skip.
if (!installed && process.env.CI === "true") {
  throw new Error(
    `CI=true and Chromium is not installed at ${CHROMIUM}: the browser test cannot run (.ci/run installs it with apt-get install -y chromium)`,
  );
}
if (!installed) {
  console.warn(`Skipping the browser test: Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium).`);
}

const SHOTS = join(root, "test/browser/screenshots");
const COOKIE = "__Host-rekey_session";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!installed)("dashboard in Chromium against npm start", () => {
  let stack: ChildProcess | undefined;
  let stackLog = "";
  let base = "";
  let emulator = "";
  let token = "";
  let seedPat = "";
  let alertSecret = "";
  let context: BrowserContext | undefined;
  let page: Page;
  const dirs: string[] = [];
  const shown: string[] = [];
  const consoleErrors: string[] = [];
  let appKeyCredId = "";
  let managerCredId = "";
  let appKeyValue = "";

  async function api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json.error)}`);
    return json;
  }

  async function emu(path: string, body?: unknown, auth?: string): Promise<any> {
    const res = await fetch(`${emulator}${path}`, {
      method: body ? "POST" : "GET",
      headers: {
        ...(body ? { "content-type": "application/json" } : {}),
        ...(auth ? { authorization: `Key ${auth}` } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return res.json();
  }

  /** Screenshot of the whole page, and its HTML kept for the no-secret check at the end. */
  async function shot(name: string) {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    shown.push(await page.content());
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ensureDevVars(root);
    const { merged } = loadLocalConfig(root);
    token = merged.REKEY_ADMIN_TOKEN!;
    seedPat = merged.EMULATOR_SEED_PAT!;
    alertSecret = merged.ALERT_WEBHOOK_SECRET!;
    const [port, emulatorPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    emulator = `http://127.0.0.1:${emulatorPort}`;
    const persist = mkdtempSync(join(tmpdir(), "rekey-browser-state-"));
    dirs.push(persist);
    // Its own process group, so that stopping it stops wrangler and workerd too.
    stack = spawn(join(root, "node_modules/.bin/tsx"), [join(root, "scripts/start.ts")], {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PORT: String(port),
        EMULATOR_PORT: String(emulatorPort),
        // npm start's local GitHub too, away from a developer's own stack on 8789.
        GITHUB_EMULATOR_PORT: String(await freePort()),
        CLARIFAI_API_BASE: emulator,
        REKEY_PERSIST_TO: persist,
      },
    });
    stack.stdout!.on("data", (d) => (stackLog += d));
    stack.stderr!.on("data", (d) => (stackLog += d));
    for (let i = 0;; i++) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {
        // not listening yet
      }
      if (i > 800 || stack.exitCode !== null) {
        throw new Error(`npm start did not come up on ${base}:\n${stackLog.slice(-2000)}`);
      }
      await sleep(250);
    }

    // What `npm run demo` registers first: the emulator's manager PAT of user "demo", and a
    // workload app key whose value lives in a Clarifai secret.
    const manager = await api("POST", "/v1/credentials", {
      kind: "pat",
      user_id: "demo",
      value: seedPat,
      description: "demo manager",
    });
    const minted = (await emu("/_emulator/users/demo/keys", {
      type: "app_specific_key",
      scopes: ["Predict", "Inputs_Get"],
      apps: [{ id: "demo-app", user_id: "demo" }],
      description: "demo workload key",
    })).key;
    appKeyValue = minted.id;
    managerCredId = manager.credential.id;
    await emu("/v2/users/demo/secrets", { secrets: [{ id: "DEMO_APP_KEY", value: minted.id }] }, seedPat);
    const reg = await api("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: "demo",
      value: minted.id,
      manager_id: manager.credential.id,
      description: "demo workload key",
      policy: { max_age_days: 30, grace_hours: 0 },
      sinks: [{ type: "clarifai_secret", user_id: "demo", secret_id: "DEMO_APP_KEY" }],
    });
    appKeyCredId = reg.credential.id;

    const profile = mkdtempSync(join(tmpdir(), "rekey-chromium-profile-"));
    dirs.push(profile);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => {
      // The wrong-token sign-in answers 401 on purpose; Chromium logs that as a failed load.
      if (m.type() === "error" && !/status of 401/.test(m.text())) consoleErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await context?.close();
    if (stack?.pid) {
      try {
        process.kill(-stack.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await new Promise((r) => (stack!.exitCode !== null ? r(null) : stack!.once("exit", r)));
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("signs in, rotates a demo credential, sees the charts draw the summary's figures after a leak, re-encrypts from the maintenance page, signs out", async () => {
    // Not signed in: the dashboard sends the browser to the sign-in form.
    await page.goto(`${base}/ui`);
    expect(new URL(page.url()).pathname).toBe("/ui/sign-in");
    // The nonce'd stylesheet applied (the CSP would have blocked anything else).
    expect(await page.locator("header").evaluate((el) => getComputedStyle(el).display)).toBe("flex");
    await shot("01-sign-in");

    await page.fill("#token", "not-the-token");
    await page.click("button[type=submit]");
    await expect.poll(() => page.textContent("[role=alert]")).toContain("That token is not valid");
    await shot("02-sign-in-wrong-token");

    await page.fill("#token", token);
    await page.click("button[type=submit]");
    await page.waitForURL(`${base}/ui`);
    // Chromium treats http://127.0.0.1 as a secure context: it kept the Secure, __Host- cookie.
    const cookie = (await context!.cookies(base)).find((c) => c.name === COOKIE);
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
    expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000 + 29 * 60);
    expect(cookie!.expires).toBeLessThan(Date.now() / 1000 + 31 * 60);

    // The demo credentials, with the next scheduled action and its reason.
    await expect.poll(async () => (await page.reload(), await page.content())).toContain(appKeyCredId);
    const row = page.locator(`tr[data-credential="${appKeyCredId}"]`);
    await expect.poll(() => row.textContent()).toContain("demo workload key");
    expect(await row.textContent()).toContain("older than 30 days");
    expect(await page.content()).toContain("demo manager");
    await shot("03-credentials");

    await row.locator("a").first().click();
    await page.waitForURL(`${base}/ui/credentials/${appKeyCredId}`);
    const before = await page.locator("dd", { hasText: "fingerprint" }).first().locator("code").textContent();
    await shot("04-credential");

    await page.click("text=Rotate…");
    await page.waitForURL(`${base}/ui/credentials/${appKeyCredId}/rotate`);
    await shot("05-confirm-rotate");
    await page.click("text=Yes, rotate now");
    await page.waitForURL((u) => u.pathname === `/ui/credentials/${appKeyCredId}` && u.searchParams.has("started"));
    const rotationId = new URL(page.url()).searchParams.get("started")!;
    expect(await page.textContent("[role=status]")).toContain(`Rotation ${rotationId} started`);

    // The new state: the rotation done, a new fingerprint, and the audit trail's entries.
    await expect
      .poll(
        async () => (await page.reload(),
          await page.locator(`tr[data-rotation="${rotationId}"]`).getAttribute("data-state")),
        { timeout: 30_000, interval: 250 },
      )
      .toBe("done");
    await expect
      .poll(async () => (await page.reload(), await page.locator('tr[data-audit-type="rotation.completed"]').count()), {
        timeout: 30_000,
        interval: 250,
      })
      .toBeGreaterThan(0);
    // The person's request from the dashboard, and the rotator's continuation after promote (the
    // demo credential's grace is 0, so its old value's DELETE is a third invocation's).
    const requested = await page.locator('tr[data-audit-type="rotation.requested"]').allTextContents();
    expect(requested.map((t) => (t.includes("/rekey/ui") ? "ui" : t.includes("/rekey/rotator") ? "rotator" : t)).sort())
      .toEqual(["rotator", "ui"]);
    const after = await page.locator("dd", { hasText: "fingerprint" }).first().locator("code").textContent();
    expect(before).toMatch(/^[0-9a-f]{8}…$/);
    expect(after).toMatch(/^[0-9a-f]{8}…$/);
    expect(after).not.toBe(before);
    await shot("06-credential-rotated");

    // A second key whose rotation fails for good (an injected 403 on create), for the rotations page.
    const other = (await emu("/_emulator/users/demo/keys", {
      type: "app_specific_key",
      scopes: ["Predict"],
      apps: [{ id: "demo-app", user_id: "demo" }],
      description: "second workload key",
    })).key;
    const otherCred = (await api("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: "demo",
      value: other.id,
      manager_id: managerCredId,
      description: "second workload key",
      policy: { grace_hours: 0 },
    })).credential.id;
    await emu("/_emulator/faults", { method: "POST", path: "/v2/users/demo/keys", count: 1, status: 403, code: 11007 });
    const failing = (await api("POST", `/v1/credentials/${otherCred}/rotate`)).rotation.id;
    await expect.poll(async () => (await api("GET", `/v1/rotations/${failing}`)).rotation.state, { timeout: 30_000 })
      .toBe("failed");

    await page.click("text=Rotations");
    await page.waitForURL(`${base}/ui/rotations`);
    // Listed from the credential record, which settles after the rotation record: look again until it does.
    await expect
      .poll(
        async () => (await page.reload(),
          await page.locator(`tr[data-rotation="${failing}"]`).getAttribute("data-state")),
        { timeout: 10_000, interval: 250 },
      )
      .toBe("failed");
    await shot("07-rotations");
    await page.click("text=Next sweep");
    await page.waitForURL(`${base}/ui/plan`);
    await shot("08-plan");

    // A leak: a signed alert naming the second key's value (its rotation failed, the value is current).
    const alert = JSON.stringify({ value: other.id, source: "browser-test" });
    const webhookId = `msg_${crypto.randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const accepted = await api("POST", "/hooks/alerts", alert, {
      authorization: "",
      "webhook-id": webhookId,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signStandardWebhook({ secret: alertSecret, id: webhookId, timestamp, body: alert }),
    });
    const leakRotation = accepted.rotation_id as string;
    await expect.poll(async () => (await api("GET", `/v1/rotations/${leakRotation}`)).rotation.state, {
      timeout: 30_000,
    })
      .toBe("done");
    const ms = (await api("GET", `/v1/rotations/${leakRotation}`)).rotation.containment_ms as number;
    expect(ms).toBeGreaterThanOrEqual(0);
    // The history is counted from the queue: wait until the summary has all three rotations and the point.
    await expect.poll(async () => {
      const h = (await api("GET", "/v1/summary")).last_30_days;
      return [h.done, h.failed, h.containment.points.length];
    }, { timeout: 30_000, interval: 250 }).toEqual([2, 1, 1]);
    const summary = await api("GET", "/v1/summary");

    await page.click("text=Credentials");
    await page.waitForURL(`${base}/ui`);
    await shot("09-home-charts");
    for (
      const [name, value] of Object.entries({
        "credentials.active": summary.credentials.active,
        "credentials.revoked": summary.credentials.revoked,
        "rotations.failed": summary.rotations.failed,
        "owed_revocations.total": summary.owed_revocations.total,
      })
    ) {
      expect(await page.locator(`[data-figure="${name}"]`).textContent(), name).toBe(String(value));
    }
    // Every bar of the 30-day charts is the summary's, and drawn: a visible box, taller for more.
    // Every mark as the browser laid it out, read in one round trip: chart, day, series, count, height.
    const marks = await page.evaluate(() =>
      [...document.querySelectorAll("[data-chart] g[data-row] rect")].map((r) => ({
        key: `${r.closest("[data-chart]")!.getAttribute("data-chart")} ${r.parentElement!.getAttribute("data-row")} ${
          r.getAttribute("data-series")
        }`,
        count: Number(r.getAttribute("data-count")),
        height: r.getBoundingClientRect().height,
      }))
    );
    const drawn = (chart: string, row: string, series: string) =>
      marks.find((m) => m.key === `${chart} ${row} ${series}`) ?? { count: 0, height: 0 };
    let bars = 0;
    for (const d of summary.last_30_days.days) {
      for (const series of ["done", "failed"] as const) {
        const bar = drawn("rotations-by-outcome", d.date, series);
        expect(bar.count, `${d.date} ${series}`).toBe(d[series]);
        expect(bar.height > 0, `${d.date} ${series} drawn`).toBe(d[series] > 0);
        if (d[series] > 0) bars++;
      }
      for (const [reason, n] of Object.entries(d.by_reason as Record<string, number>)) {
        expect(drawn("rotations-by-reason", d.date, reason).count, `${d.date} ${reason}`).toBe(n);
      }
    }
    for (const d of summary.next_7_days) {
      for (const series of ["rotate", "revoke_previous", "expire"] as const) {
        expect(drawn("next-7-days", d.date, series).count, `${d.date} ${series}`).toBe(d[series]);
      }
    }
    // No mark the summary does not have.
    expect(marks.filter((m) => m.key.startsWith("rotations-by-outcome ")).length).toBe(bars);
    const today = summary.last_30_days.days.at(-1);
    expect([today.done, today.failed]).toEqual([2, 1]);
    const done = drawn("rotations-by-outcome", today.date, "done");
    const failed = drawn("rotations-by-outcome", today.date, "failed");
    expect(done.height).toBeCloseTo(2 * failed.height, 0);
    // The containment chart: one point for the leak, at its figure, with the median line on it.
    const point = page.locator(`[data-chart="containment"] circle[data-rotation="${leakRotation}"]`);
    expect(await point.getAttribute("data-ms")).toBe(String(ms));
    expect((await point.boundingBox())!.width).toBeGreaterThan(0);
    const median = page.locator('[data-chart="containment"] [data-line="median"]');
    expect(await median.getAttribute("data-ms")).toBe(String(summary.last_30_days.containment.median_ms));
    expect(await page.locator('[data-chart="containment"] figcaption').textContent()).toContain(`median ${ms} ms`);
    // The text equivalent of a chart is in the page for screen readers, with the same figures.
    const table = page.locator('[data-chart="rotations-by-outcome"] table.sr-only');
    expect(await table.locator("tbody tr").count()).toBe(30);
    expect(await table.locator("tbody tr").last().textContent()).toBe(`${today.date}21`);

    // Maintenance: the key version, the records under it, and a re-encryption followed to its end.
    await page.click("text=Maintenance");
    await page.waitForURL(`${base}/ui/maintenance`);
    expect(await page.locator('[data-field="current-version"]').textContent()).toBe("1");
    expect(await page.locator('tr[data-key-version="1"]').getAttribute("data-credentials")).toBe(
      String(summary.credentials.total),
    );
    await shot("10-maintenance");
    await page.click("text=Re-encrypt every value…");
    await page.waitForURL(`${base}/ui/maintenance/reencrypt`);
    await shot("11-confirm-reencrypt");
    await page.click("text=Yes, re-encrypt now");
    await page.waitForURL((u) => u.pathname === "/ui/maintenance" && u.searchParams.get("outcome") === "started");
    const jobId = new URL(page.url()).searchParams.get("started")!;
    expect(await page.textContent("[role=status]")).toContain(`Re-encryption ${jobId} started`);
    await expect
      .poll(async () => (await page.reload(), await page.locator(`[data-job="${jobId}"]`).getAttribute("data-state")), {
        timeout: 30_000,
        interval: 250,
      })
      .toBe("done");
    const bar = page.locator("progress#reencrypt-progress");
    expect(await bar.getAttribute("value")).toBe(await bar.getAttribute("max"));
    expect(await bar.getAttribute("value")).toBe(String(summary.credentials.total));
    await shot("12-maintenance-done");

    await page.click("text=Sign out");
    await page.waitForURL(`${base}/ui/sign-in?signed_out=1`);
    expect(await page.textContent("[role=status]")).toContain("Signed out");
    expect((await context!.cookies(base)).find((c) => c.name === COOKIE)).toBeUndefined();
    await shot("13-signed-out");
    await page.goto(`${base}/ui`);
    expect(new URL(page.url()).pathname).toBe("/ui/sign-in");

    // No CSP violation (or any other error) in the console, and no secret value on any page:
    // the admin token, the manager PAT, the old app key and the one the rotation minted.
    expect(consoleErrors).toEqual([]);
    const keys = ((await emu("/v2/users/demo/keys?per_page=1000", undefined, seedPat)).keys as { id: string }[]).map((
      k,
    ) => k.id);
    const secrets = [token, seedPat, appKeyValue, other.id, ...keys];
    expect(keys.length).toBeGreaterThan(1);
    for (const html of shown) {
      for (const s of secrets) expect(html.includes(s), "a secret value is on a page").toBe(false);
    }
  });
});
