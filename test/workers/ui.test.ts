/**
 * The dashboard (src/ui) through the real Worker: sign-in, sessions, CSRF, headers, pages and
 * the rotate/revoke confirmations, against the Node-hosted Clarifai emulator. Ends with the
 * canary check: no secret value (admin token, PATs, app keys old and new) in any page.
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { parseConfig } from "../../src/config.ts";
import { issueSession, SESSION_TTL_MS, uiKeys } from "../../src/ui/session.ts";
import { ADMIN_TOKEN, call, responses, waitForRotation } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { failNextKeyCreate, freshTenant } from "../support/emulator-control.ts";
import { registerManager } from "../support/manager.ts";

const COOKIE = "__Host-rekey_session";

interface Page {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

async function ui(
  method: string,
  path: string,
  opts: {
    cookie?: string;
    form?: Record<string, string> | string;
    headers?: Record<string, string>;
    /** Bindings other than the test ones (a fresh env object: the Worker reads its configuration once per env). */
    env?: Env;
  } = {},
): Promise<Page> {
  const body = opts.form === undefined
    ? undefined
    : typeof opts.form === "string"
    ? opts.form
    : new URLSearchParams(opts.form).toString();
  const request = new Request(`http://rekey.test${path}`, {
    method,
    redirect: "manual",
    headers: {
      ...(opts.cookie ? { cookie: `${COOKIE}=${opts.cookie}` } : {}),
      ...(body !== undefined ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      ...opts.headers,
    },
    ...(body !== undefined ? { body } : {}),
  });
  let res: Response;
  if (opts.env) {
    const ctx = createExecutionContext();
    res = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, opts.env, ctx);
    await waitOnExecutionContext(ctx);
  } else {
    res = await exports.default.fetch(request);
  }
  const text = await res.text();
  responses.push({ method, path, status: res.status, headers: Object.fromEntries(res.headers), text, json: undefined });
  return { status: res.status, headers: res.headers, text, location: res.headers.get("location") };
}

/** The session cookie's value from a Set-Cookie header. */
function sessionFrom(res: Page): string {
  const m = new RegExp(`${COOKIE}=([^;]*)`).exec(res.headers.get("set-cookie") ?? "");
  if (!m?.[1]) throw new Error("no session cookie set");
  return m[1];
}

async function signIn(): Promise<string> {
  const res = await ui("POST", "/ui/sign-in", { form: { token: ADMIN_TOKEN } });
  expect(res.status).toBe(303);
  return sessionFrom(res);
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let managerId: string;
let keyCredId: string;
let failingCredId: string;
let leaks: ReturnType<typeof canary>;

beforeAll(async () => {
  leaks = canary();
  leaks.secrets.push(ADMIN_TOKEN);
  tenant = await freshTenant("ui");
  leaks.secrets.push(tenant.manager.id);
  managerId = await registerManager(tenant, "ui manager");
  const register = async (description: string) =>
    (await registerAppKey(tenant, {
      managerId,
      label: description,
      secrets: leaks.secrets,
      policy: { grace_hours: 0, max_age_days: 30 },
      fields: { description },
    })).id;
  keyCredId = await register("ui workload key");
  failingCredId = await register("ui key whose rotation fails");
});

afterAll(async () => {
  // Every key this user ever had, including the ones rotations minted, is a secret too.
  const state = await tenant.state();
  for (const k of state.keys) leaks.secrets.push(k.id);
  leaks.assertClean();
});

const SECURITY_HEADERS = new Set([
  "content-security-policy",
  "cross-origin-embedder-policy",
  "cross-origin-opener-policy",
  "cross-origin-resource-policy",
  "origin-agent-cluster",
  "permissions-policy",
  "referrer-policy",
  "strict-transport-security",
  "x-content-type-options",
  "x-dns-prefetch-control",
  "x-download-options",
  "x-frame-options",
  "x-permitted-cross-domain-policies",
  "x-powered-by",
  "x-xss-protection",
]);

describe("headers", () => {
  it("sets a strict CSP whose style nonce is the page's, and the other security headers, on every response", async () => {
    const pages = [
      await ui("GET", "/ui/sign-in"),
      await ui("GET", "/ui"),
      await ui("POST", "/ui/sign-in", { form: { token: "nope" } }),
      await ui("GET", "/ui/credentials/BAD!"),
      await ui("GET", "/ui/no-such-page"),
    ];
    for (const res of pages) {
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/script-src|unsafe-inline/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    const page = pages[0]!;
    const nonce = /style-src 'nonce-([^']+)'/.exec(page.headers.get("content-security-policy")!)?.[1];
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    // The whole set, exactly (src/ui/headers.ts writes it; hono/secure-headers did until issue 20).
    for (const res of pages) {
      expect(Object.fromEntries([...res.headers].filter(([k]) => SECURITY_HEADERS.has(k)))).toEqual({
        "content-security-policy": expect.stringMatching(
          /^default-src 'none'; style-src 'nonce-[A-Za-z0-9+/]{22}=='; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/,
        ),
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
        "origin-agent-cluster": "?1",
        "referrer-policy": "no-referrer",
        "strict-transport-security": "max-age=15552000; includeSubDomains",
        "x-content-type-options": "nosniff",
        "x-dns-prefetch-control": "off",
        "x-download-options": "noopen",
        "x-frame-options": "DENY",
        "x-permitted-cross-domain-policies": "none",
        "x-xss-protection": "0",
      });
    }
    expect(new Set(pages.map((p) => p.headers.get("content-security-policy"))).size).toBe(pages.length);
    expect(page.text).toContain(`<style nonce="${nonce}">`);
    expect(page.text.startsWith("<!doctype html>")).toBe(true);
    expect(page.text).not.toMatch(/<script|https?:\/\/(?!rekey\.test)/);
  });
});

describe("sign-in", () => {
  it("sends a visitor without a session to the sign-in form", async () => {
    const res = await ui("GET", "/ui");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/ui/sign-in");
  });

  it("refuses a wrong token with 401 and sets no cookie", async () => {
    const res = await ui("POST", "/ui/sign-in", { form: { token: "wrong-token" } });
    expect(res.status).toBe(401);
    expect(res.text).toContain("invalid_token");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("refuses what is not a well-formed form with a 4xx and a code", async () => {
    const json = await exports.default.fetch("http://rekey.test/ui/sign-in", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    expect(json.status).toBe(415);
    expect(await json.text()).toContain("unsupported_media_type");
    const extra = await ui("POST", "/ui/sign-in", { form: { token: ADMIN_TOKEN, admin: "1" } });
    expect(extra.status).toBe(400);
    expect(extra.text).toContain("invalid_request");
    const twice = await ui("POST", "/ui/sign-in", { form: `token=a&token=${ADMIN_TOKEN}` });
    expect(twice.status).toBe(400);
    const empty = await ui("POST", "/ui/sign-in", { form: "" });
    expect(empty.status).toBe(400);
    expect((await ui("GET", "/ui/sign-in?next=https://evil.example")).status).toBe(400);
  });

  it("issues an HttpOnly, Secure, SameSite=Strict, __Host- session cookie that expires in 30 minutes", async () => {
    const res = await ui("POST", "/ui/sign-in", { form: { token: ADMIN_TOKEN } });
    expect(res.status).toBe(303);
    expect(res.location).toBe("/ui");
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(new RegExp(`^${COOKIE}=v1\\.`));
    for (const attr of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", `Max-Age=${SESSION_TTL_MS / 1000}`]) {
      expect(cookie).toContain(attr);
    }
    expect(cookie).not.toContain("Domain=");
    const page = await ui("GET", "/ui", { cookie: sessionFrom(res) });
    expect(page.status).toBe(200);
  });

  it("refuses a tampered, foreign or expired session", async () => {
    const good = await signIn();
    const [v, payload, mac] = good.split(".");
    const tampered = `${v}.${payload}.${mac!.slice(0, -2)}${mac!.endsWith("AA") ? "AB" : "AA"}`;
    expect((await ui("GET", "/ui", { cookie: tampered })).location).toBe("/ui/sign-in");
    expect((await ui("GET", "/ui", { cookie: "v1.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })).location).toBe(
      "/ui/sign-in",
    );

    const keys = await uiKeys(parseConfig(env as unknown as Record<string, unknown>));
    const expired = await issueSession(keys, Date.now() - SESSION_TTL_MS - 1000);
    const get = await ui("GET", "/ui", { cookie: expired });
    expect(get.status).toBe(303);
    expect(get.location).toBe("/ui/sign-in?expired=1");
    expect(get.headers.get("set-cookie")).toMatch(new RegExp(`^${COOKIE}=;.*Max-Age=0`));
    const post = await ui("POST", `/ui/credentials/${keyCredId}/rotate`, {
      cookie: expired,
      form: { csrf: "x".repeat(43) },
    });
    expect(post.status).toBe(401);
    expect(post.text).toContain("session_expired");
    const notice = await ui("GET", "/ui/sign-in?expired=1");
    expect(notice.text).toContain("Your session has expired");
  });

  it("ends every session, and its CSRF tokens, once REKEY_ADMIN_TOKEN changes", async () => {
    const session = await signIn();
    const confirm = await ui("GET", `/ui/credentials/${failingCredId}/rotate`, { cookie: session });
    const csrf = csrfOf(confirm.text)!;
    expect((await ui("GET", "/ui", { cookie: session })).status).toBe(200);

    // The same deployment after `wrangler secret put REKEY_ADMIN_TOKEN`.
    const newToken = "test-admin-token-rotated-9876543210-zyxwv";
    leaks.secrets.push(newToken);
    const rotated = { ...env, REKEY_ADMIN_TOKEN: newToken } as Env;
    const page = await ui("GET", "/ui", { cookie: session, env: rotated });
    expect(page.status).toBe(303);
    expect(page.location).toBe("/ui/sign-in");
    const post = await ui("POST", `/ui/credentials/${failingCredId}/rotate`, {
      cookie: session,
      form: { csrf },
      env: rotated,
    });
    expect(post.status).toBe(401);
    expect(post.text).toContain("session_required");
    expect((await call("GET", `/v1/credentials/${failingCredId}`)).json.credential.current_rotation_id).toBeNull();

    // The old token no longer signs in; the new one does, and its session is the new token's only.
    expect((await ui("POST", "/ui/sign-in", { form: { token: ADMIN_TOKEN }, env: rotated })).status).toBe(401);
    const signedIn = await ui("POST", "/ui/sign-in", { form: { token: newToken }, env: rotated });
    expect(signedIn.status).toBe(303);
    const fresh = sessionFrom(signedIn);
    expect((await ui("GET", "/ui", { cookie: fresh, env: rotated })).status).toBe(200);
    expect((await ui("GET", "/ui", { cookie: fresh })).location).toBe("/ui/sign-in");
  });
});

describe("pages", () => {
  let session: string;
  beforeAll(async () => {
    session = await signIn();
  });

  it("lists the credentials with kind, owner, age, state and the next scheduled action with its reason", async () => {
    let text = "";
    // Listing may lag a write (KV); the page is read-only, so just look again.
    for (let i = 0; i < 50 && !text.includes(failingCredId); i++) {
      text = (await ui("GET", "/ui", { cookie: session })).text;
    }
    expect(text).toContain(keyCredId);
    expect(text).toContain(managerId);
    const row = new RegExp(`<tr data-credential="${keyCredId}">([\\s\\S]*?)</tr>`).exec(text)?.[1] ?? "";
    expect(row).toContain("app_key");
    expect(row).toContain(`${tenant.userId} / app1`);
    expect(row).toContain("active");
    expect(row).toMatch(/<strong>rotate<\/strong>.*in (29|30)d/);
    expect(row).toContain("older than 30 days");
    const managerRow = new RegExp(`<tr data-credential="${managerId}">([\\s\\S]*?)</tr>`).exec(text)?.[1] ?? "";
    // No policy: nothing scheduled (no sweep visits a manager PAT to list its user's keys).
    expect(managerRow).toContain("nothing scheduled");
  });

  it("shows a due credential on the plan of the next sweep", async () => {
    // A key past its hard expiry: the next sweep would revoke it (no sweep runs in this test).
    const { id: expiredId } = await registerAppKey(tenant, {
      managerId,
      label: "ui expired key",
      secrets: leaks.secrets,
      policy: { expires_at: "2020-01-01T00:00:00.000Z" },
      fields: { description: "ui expired key" },
    });
    const row = new RegExp(`<tr data-credential="${expiredId}" data-rule="expired">([\\s\\S]*?)</tr>`);
    let text = "";
    // The plan reads the registry index, which may lag a write (KV): look again.
    for (let i = 0; i < 50 && !row.test(text); i++) text = (await ui("GET", "/ui/plan", { cookie: session })).text;
    const cells = row.exec(text)?.[1] ?? "";
    expect(cells).toContain("<strong>revoke</strong>");
    expect(cells).toContain("hard expiry passed");
  });

  it("answers bad ids and unknown credentials with 4xx pages", async () => {
    const bad = await ui("GET", "/ui/credentials/..%2F..%2Fv1", { cookie: session });
    expect(bad.status).toBe(400);
    const missing = await ui("GET", "/ui/credentials/cred_doesnotexist", { cookie: session });
    expect(missing.status).toBe(404);
    expect(missing.text).toContain("credential_not_found");
    expect(missing.headers.get("content-type")).toContain("text/html");
  });
});

describe("rotate and revoke", () => {
  let session: string;
  let csrf: string;
  beforeAll(async () => {
    session = await signIn();
    const confirm = await ui("GET", `/ui/credentials/${keyCredId}/rotate`, { cookie: session });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain("Yes, rotate now");
    csrf = csrfOf(confirm.text)!;
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  const unchanged = async () => {
    const r = await call("GET", `/v1/credentials/${keyCredId}`);
    expect(r.json.credential.current_rotation_id).toBeNull();
    expect(r.json.credential.last_rotation).toBeNull();
  };

  it("refuses a form without the CSRF token, with a wrong one, or with another session's", async () => {
    const none = await ui("POST", `/ui/credentials/${keyCredId}/rotate`, {
      cookie: session,
      form: { reason: "manual" },
    });
    expect(none.status).toBe(403);
    expect(none.text).toContain("csrf_invalid");
    const wrong = await ui("POST", `/ui/credentials/${keyCredId}/rotate`, {
      cookie: session,
      form: { csrf: "A".repeat(43) },
    });
    expect(wrong.status).toBe(403);
    const other = await signIn();
    const foreign = await ui("POST", `/ui/credentials/${keyCredId}/revoke`, { cookie: other, form: { csrf } });
    expect(foreign.status).toBe(403);
    const noSession = await ui("POST", `/ui/credentials/${keyCredId}/rotate`, { form: { csrf } });
    expect(noSession.status).toBe(401);
    const crossSite = await ui("POST", `/ui/credentials/${keyCredId}/rotate`, {
      cookie: session,
      form: { csrf },
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.text).toContain("cross_site_request");
    const badReason = await ui("POST", `/ui/credentials/${keyCredId}/rotate`, {
      cookie: session,
      form: { csrf, reason: "scheduled" },
    });
    expect(badReason.status).toBe(400);
    await unchanged();
  });

  it("rotates after the confirmation, then shows the new state, the history and the audit entries", async () => {
    const res = await ui("POST", `/ui/credentials/${keyCredId}/rotate`, {
      cookie: session,
      form: { csrf, reason: "manual" },
      headers: { "sec-fetch-site": "same-origin" },
    });
    expect(res.status).toBe(303);
    const location = new URL(res.location!, "http://rekey.test");
    expect(location.pathname).toBe(`/ui/credentials/${keyCredId}`);
    const rotationId = location.searchParams.get("started")!;
    expect((await waitForRotation(rotationId)).state).toBe("done");
    let page = "";
    for (let i = 0; i < 100 && !page.includes("rotation.completed"); i++) {
      page = (await ui("GET", `${location.pathname}${location.search}`, { cookie: session })).text;
      if (!page.includes("rotation.completed")) await new Promise((r) => setTimeout(r, 50));
    }
    expect(page).toContain(`Rotation ${rotationId} started`);
    expect(page).toMatch(new RegExp(`<tr data-rotation="${rotationId}" data-state="done">`));
    expect(page).toContain('data-audit-type="rotation.requested"');
    expect(page).toContain('data-audit-type="rotation.completed"');
    expect(page).toContain("/rekey/ui");
  });

  it("lists a failed rotation on the rotations page", async () => {
    // A permanent failure of the create step, for this test's user only (the emulator is shared).
    await failNextKeyCreate(tenant.userId);
    const confirm = await ui("GET", `/ui/credentials/${failingCredId}/rotate`, { cookie: session });
    const res = await ui("POST", `/ui/credentials/${failingCredId}/rotate`, {
      cookie: session,
      form: { csrf: csrfOf(confirm.text)! },
    });
    expect(res.status).toBe(303);
    const rotationId = new URL(res.location!, "http://rekey.test").searchParams.get("started")!;
    expect((await waitForRotation(rotationId)).state).toBe("failed");
    // The page lists from credential records, which settle after the rotation record (and the KV
    // listing may lag): look again until the failure shows.
    const row = new RegExp(`<tr data-rotation="${rotationId}" data-state="failed">([\\s\\S]*?)</tr>`);
    let text = "";
    for (
      const until = Date.now() + 10_000;
      !row.test(text) && Date.now() < until;
      await new Promise((r) => setTimeout(r, 25))
    ) {
      text = (await ui("GET", "/ui/rotations", { cookie: session })).text;
    }
    expect(row.exec(text)?.[1]).toContain(failingCredId);
  });

  it("revokes after the confirmation; a revoked credential offers no more actions", async () => {
    const confirm = await ui("GET", `/ui/credentials/${failingCredId}/revoke`, { cookie: session });
    expect(confirm.text).toContain("Yes, revoke now");
    const res = await ui("POST", `/ui/credentials/${failingCredId}/revoke`, {
      cookie: session,
      form: { csrf: csrfOf(confirm.text)!, reason: "manual" },
    });
    expect(res.status).toBe(303);
    const rotationId = new URL(res.location!, "http://rekey.test").searchParams.get("started")!;
    expect((await waitForRotation(rotationId)).state).toBe("done");
    // The engine settles the rotation record first, then the credential's: wait for the latter.
    for (
      const until = Date.now() + 10_000;
      (await call("GET", `/v1/credentials/${failingCredId}`)).json.credential.state !== "revoked";
    ) {
      if (Date.now() > until) throw new Error("credential not revoked");
      await new Promise((r) => setTimeout(r, 25));
    }
    const page = await ui("GET", `/ui/credentials/${failingCredId}`, { cookie: session });
    expect(page.text).toContain("revoked");
    expect(page.text).not.toContain("Revoke…");
    expect((await ui("GET", `/ui/credentials/${failingCredId}/rotate`, { cookie: session })).status).toBe(409);
  });
});

describe("sign-out", () => {
  it("needs the CSRF token, then clears the cookie", async () => {
    const session = await signIn();
    const page = await ui("GET", "/ui", { cookie: session });
    const csrf = csrfOf(page.text)!;
    expect((await ui("POST", "/ui/sign-out", { cookie: session, form: {} })).status).toBe(403);
    const out = await ui("POST", "/ui/sign-out", { cookie: session, form: { csrf } });
    expect(out.status).toBe(303);
    expect(out.location).toBe("/ui/sign-in?signed_out=1");
    expect(out.headers.get("set-cookie")).toMatch(new RegExp(`^${COOKIE}=;.*Max-Age=0`));
  });
});
