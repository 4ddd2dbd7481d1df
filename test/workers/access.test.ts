/**
 * Cloudflare Access as the identity of admins (issue 18, item 3), on the real Worker: its
 * bindings, with CF_ACCESS_TEAM_DOMAIN pointing at the local receiver, which serves the team's
 * certs (a key pair made for this file) at <team>/cdn-cgi/access/certs as Access does. A loopback
 * http:// team domain needs dev mode (outside it only https:// is accepted, tested below), so the
 * requests go to 127.0.0.1.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { ADMIN_TOKEN } from "../support/api.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { received, receiverUrl, serve } from "../support/receiver.ts";
import { CLOCK_SKEW_SECONDS, REFETCH_AFTER_MS, verifyAccessJwt } from "../../src/core/inbound/access-jwt.ts";

type IncomingRequest = Request<unknown, IncomingRequestCfProperties>;
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

const AUD = "5a8c3f0e9b1d4a7c2e6f8b0d3a5c7e9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a";
let keys: KeyPair;
let other: KeyPair;

/** A team of its own per test: its certs path, and an env (hence a configuration check) of its own. */
async function team(vars: Record<string, string> = {}, certs?: { keys: unknown[] }) {
  const path = `/access-${crypto.randomUUID().slice(0, 8)}`;
  const domain = `${receiverUrl()}${path}`;
  await serve(`${path}/cdn-cgi/access/certs`, certs ?? (await certsOf([["k1", keys]])));
  const e = {
    ...env,
    REKEY_DEV_MODE: "true",
    CF_ACCESS_TEAM_DOMAIN: domain,
    CF_ACCESS_AUD: AUD,
    ...vars,
  } as unknown as Env;
  return { domain, path, env: e };
}

async function certsOf(entries: [string, KeyPair][]) {
  const jwks = await Promise.all(
    entries.map(async ([kid, pair]) => ({ ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" })),
  );
  // Access serves the same keys as PEM certificates too; rekey reads only `keys`.
  return { keys: jwks, public_cert: { kid: entries[0]![0], cert: "-----BEGIN CERTIFICATE-----…" }, public_certs: [] };
}

interface Claims {
  email?: string;
  common_name?: string;
  iss?: string;
  aud?: string[];
  exp?: number;
  nbf?: number;
  kid?: string;
  key?: KeyPair;
}

async function assertion(domain: string, c: Claims = { email: "alice@example.com" }) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    ...(c.email ? { email: c.email, identity_nonce: "nonce" } : {}),
    ...(c.common_name ? { common_name: c.common_name } : {}),
    type: "app",
  })
    .setProtectedHeader({ alg: "RS256", kid: c.kid ?? "k1" })
    .setIssuer(c.iss ?? domain)
    .setAudience(c.aud ?? [AUD])
    .setIssuedAt(now)
    .setNotBefore(c.nbf ?? now)
    .setExpirationTime(c.exp ?? now + 300)
    .setSubject("7335d417-61da-459d-899c-0a01c76a0ee4");
  return jwt.sign((c.key ?? keys).privateKey);
}

async function send(e: Env, method: string, path: string, headers: Record<string, string>, body?: string) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://127.0.0.1:8787${path}`, { method, headers, ...(body ? { body } : {}) }) as IncomingRequest,
    e,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

const access = (jwt: string) => ({ "cf-access-jwt-assertion": jwt });
const json = { "content-type": "application/json" };

async function waitForAudit(e: Env, headers: Record<string, string>, id: string, type: string) {
  for (let i = 0; i < 200; i++) {
    const res = await send(e, "GET", `/v1/audit?credential_id=${id}&type=${type}`, headers);
    if (res.json?.entries?.length) return res.json.entries as any[];
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ${type} for ${id}`);
}

beforeAll(async () => {
  keys = await generateKeyPair("RS256", { extractable: true });
  other = await generateKeyPair("RS256", { extractable: true });
});

describe("a valid Cf-Access-Jwt-Assertion", () => {
  it("opens the admin API and names its email as the actor of what it does", async () => {
    const t = await team();
    const jwt = await assertion(t.domain);
    expect((await send(t.env, "GET", "/v1/credentials", access(jwt))).status).toBe(200);

    const tenant = await freshTenant("access");
    const reg = await send(
      t.env,
      "POST",
      "/v1/credentials",
      { ...access(jwt), ...json },
      JSON.stringify({ kind: "pat", user_id: tenant.userId, value: tenant.manager.id, description: "manager" }),
    );
    expect(reg.status).toBe(201);
    const id = reg.json.credential.id;
    const [registered] = await waitForAudit(t.env, access(jwt), id, "credential.registered");
    expect(registered).toMatchObject({ actor: "alice@example.com", data: { actor: "alice@example.com" } });

    const rotate = await send(t.env, "POST", `/v1/credentials/${id}/rotate`, access(jwt));
    expect(rotate.status).toBe(202);
    expect(rotate.json.rotation.requested_by).toBe("alice@example.com");
    const [requested] = await waitForAudit(t.env, access(jwt), id, "rotation.requested");
    expect(requested.data.actor).toBe("alice@example.com");
  });

  it("names a service token by its common_name", async () => {
    const t = await team();
    const jwt = await assertion(t.domain, { common_name: "88bf3b6d86161464f6509f7219099e57.access" });
    const tenant = await freshTenant("svc");
    const reg = await send(
      t.env,
      "POST",
      "/v1/credentials",
      { ...access(jwt), ...json },
      JSON.stringify({ kind: "pat", user_id: tenant.userId, value: tenant.manager.id }),
    );
    expect(reg.status).toBe(201);
    const [registered] = await waitForAudit(t.env, access(jwt), reg.json.credential.id, "credential.registered");
    expect(registered.actor).toBe("88bf3b6d86161464f6509f7219099e57.access");
  });

  it("an empty email does not hide a service token's common_name", async () => {
    const t = await team();
    const jwt = await new SignJWT({ email: "", common_name: "88bf3b6d86161464f6509f7219099e57.access" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(t.domain).setAudience([AUD]).setIssuedAt()
      .setExpirationTime("5m").sign(keys.privateKey);
    expect((await send(t.env, "GET", "/v1/credentials", access(jwt))).status).toBe(200);
  });

  it("opens the dashboard, which shows who is signed in, and names them on what they do there", async () => {
    const t = await team();
    const jwt = await assertion(t.domain, { email: "bob@example.com" });
    const home = await send(t.env, "GET", "/ui", access(jwt));
    expect(home.status).toBe(200);
    expect(home.text).toMatch(/data-field="signed-in-as"[^>]*>\s*bob@example\.com/);
    // Signed in already: the token form is not offered.
    expect((await send(t.env, "GET", "/ui/sign-in", access(jwt))).status).toBe(303);

    const tenant = await freshTenant("accessui");
    const reg = await send(
      t.env,
      "POST",
      "/v1/credentials",
      { ...access(jwt), ...json },
      JSON.stringify({ kind: "pat", user_id: tenant.userId, value: tenant.manager.id }),
    );
    const id = reg.json.credential.id;
    const confirm = await send(t.env, "GET", `/ui/credentials/${id}/rotate`, access(jwt));
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
    const started = await send(
      t.env,
      "POST",
      `/ui/credentials/${id}/rotate`,
      { ...access(jwt), "content-type": "application/x-www-form-urlencoded" },
      new URLSearchParams({ csrf, reason: "manual" }).toString(),
    );
    expect(started.status).toBe(303);
    const [requested] = await waitForAudit(t.env, access(jwt), id, "rotation.requested");
    expect(requested).toMatchObject({ actor: "bob@example.com", source: "/rekey/ui" });
    const page = await send(t.env, "GET", `/ui/credentials/${id}`, access(jwt));
    expect(page.text).toMatch(/data-field="actor"[^>]*>bob@example\.com</);
    // A CSRF token is bound to the assertion: another one (another session) cannot use it.
    const later = await assertion(t.domain, { email: "bob@example.com", exp: Math.floor(Date.now() / 1000) + 600 });
    const foreign = await send(
      t.env,
      "POST",
      `/ui/credentials/${id}/revoke`,
      { ...access(later), "content-type": "application/x-www-form-urlencoded" },
      new URLSearchParams({ csrf, reason: "manual" }).toString(),
    );
    expect(foreign.status).toBe(403);
  });
});

describe("an assertion that does not verify is refused with 401", () => {
  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ["a wrong aud", (d: string) => assertion(d, { email: "eve@example.com", aud: ["someone-elses-app"] })],
    ["a wrong iss", () => assertion("https://evil.cloudflareaccess.com", { email: "eve@example.com" })],
    [
      "an expired token",
      (d: string) => assertion(d, { email: "eve@example.com", exp: now() - CLOCK_SKEW_SECONDS - 5 }),
    ],
    ["a token not valid yet", (d: string) => assertion(d, { email: "eve@example.com", nbf: now() + 600 })],
    ["an unknown kid", (d: string) => assertion(d, { email: "eve@example.com", kid: "k9", key: other })],
    ["another key's signature", (d: string) => assertion(d, { email: "eve@example.com", key: other })],
    ["a tampered signature", async (d: string) => {
      const jwt = await assertion(d, { email: "eve@example.com" });
      const sig = jwt.split(".")[2]!;
      return `${jwt.slice(0, -sig.length)}${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`;
    }],
    ["a tampered payload", async (d: string) => {
      const [h, , s] = (await assertion(d, { email: "eve@example.com" })).split(".");
      const forged = btoa(JSON.stringify({ email: "root@example.com", iss: d, aud: [AUD], exp: now() + 300 }))
        .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
      return `${h}.${forged}.${s}`;
    }],
    ["alg none", (d: string) =>
      Promise.resolve(
        `${btoa(JSON.stringify({ alg: "none", kid: "k1" })).replace(/=+$/, "")}.${
          btoa(JSON.stringify({ email: "eve@example.com", iss: d, aud: [AUD], exp: now() + 300 })).replace(/=+$/, "")
        }.`,
      )],
    ["no identity", (d: string) => assertion(d, {})],
    // A system actor's name in the email claim: never an Access identity (no audit entry in its name).
    ["a system actor as the email", (d: string) => assertion(d, { email: "sweep" })],
    ["a repository alert actor as the email", (d: string) => assertion(d, { email: "github:acme/api#1" })],
    // jose's algorithm pinning itself, past the format check: HS256 under a secret anyone could
    // pick (the classic confusion with an RSA public key), ES256 under a key of its own.
    [
      "HS256",
      (d: string) =>
        new SignJWT({ email: "eve@example.com" }).setProtectedHeader({ alg: "HS256", kid: "k1" }).setIssuer(d)
          .setAudience([AUD]).setIssuedAt().setExpirationTime("5m")
          .sign(new TextEncoder().encode("a-shared-secret-anyone-could-pick-0123456789")),
    ],
    [
      "ES256",
      async (d: string) =>
        new SignJWT({ email: "eve@example.com" }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(d)
          .setAudience([AUD]).setIssuedAt().setExpirationTime("5m")
          .sign((await generateKeyPair("ES256")).privateKey),
    ],
  ])("%s", async (_name, make) => {
    const t = await team();
    const res = await send(t.env, "GET", "/v1/credentials", access(await make(t.domain)));
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("unauthorized");
    // Even beside a valid admin token: an assertion is judged by itself.
    const both = await send(t.env, "GET", "/v1/credentials", {
      ...access(await make(t.domain)),
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(both.status).toBe(401);
    const ui = await send(t.env, "GET", "/ui", access(await make(t.domain)));
    expect(ui.status).toBe(401);
  });
});

describe("CF_ACCESS_REQUIRED=true", () => {
  it("refuses the bearer token and the token sign-in; an Access identity still gets in", async () => {
    const t = await team({ CF_ACCESS_REQUIRED: "true" });
    const bearer = await send(t.env, "GET", "/v1/credentials", { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(bearer.status).toBe(401);
    expect(bearer.json.error.code).toBe("access_required");
    const signIn = await send(
      t.env,
      "POST",
      "/ui/sign-in",
      { "content-type": "application/x-www-form-urlencoded" },
      new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
    );
    expect(signIn.status).toBe(401);
    expect(signIn.headers.get("set-cookie")).toBeNull();
    expect((await send(t.env, "GET", "/ui", {})).status).toBe(401);
    expect((await send(t.env, "GET", "/v1/credentials", access(await assertion(t.domain)))).status).toBe(200);
  });

  it("without it, the bearer token still works beside Access, as admin-token", async () => {
    const t = await team();
    expect((await send(t.env, "GET", "/v1/credentials", { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
  });
});

describe("configuration", () => {
  it.each([
    ["an http:// team domain outside dev mode", { REKEY_DEV_MODE: "false" }, ["CF_ACCESS_TEAM_DOMAIN"]],
    ["a team domain without an AUD", { CF_ACCESS_AUD: "" }, ["CF_ACCESS_AUD"]],
    ["an AUD without a team domain", { CF_ACCESS_TEAM_DOMAIN: "" }, ["CF_ACCESS_TEAM_DOMAIN"]],
    [
      "CF_ACCESS_REQUIRED without Access",
      { CF_ACCESS_TEAM_DOMAIN: "", CF_ACCESS_AUD: "", CF_ACCESS_REQUIRED: "true" },
      [
        "CF_ACCESS_REQUIRED",
      ],
    ],
    ["a team domain that is not a URL", { CF_ACCESS_TEAM_DOMAIN: "acme" }, ["CF_ACCESS_TEAM_DOMAIN"]],
  ])("refuses %s (503 config_invalid)", async (_name, vars, variables) => {
    const t = await team(vars);
    const res = await send(t.env, "GET", "/healthz", {});
    expect(res.status).toBe(503);
    expect(res.json.error).toMatchObject({ code: "config_invalid", variables });
  });
});

describe("the team's keys", () => {
  it("are fetched once, refetched on an unknown kid at most once a minute, and pick up a rotated key", async () => {
    const t = await team();
    const config = { teamDomain: t.domain, aud: AUD };
    const certs = async () => (await received(`${t.path}/cdn-cgi/access/certs`)).length;
    const T = Date.now();
    const k1 = await assertion(t.domain);
    expect(await verifyAccessJwt(k1, config, T)).toEqual({ ok: true, value: "alice@example.com" });
    expect(await verifyAccessJwt(k1, config, T + 1_000)).toMatchObject({ ok: true });
    expect(await certs()).toBe(1);

    // Access rotates its keys: a token signed with the new one (k2) is the first rekey sees of it.
    await serve(`${t.path}/cdn-cgi/access/certs`, await certsOf([["k1", keys], ["k2", other]]));
    const k2 = await assertion(t.domain, { email: "alice@example.com", kid: "k2", key: other });
    const T2 = T + REFETCH_AFTER_MS + 1_000;
    expect(await verifyAccessJwt(k2, config, T2)).toEqual({ ok: true, value: "alice@example.com" });
    expect(await certs()).toBe(2);
    // Made-up kids cannot make rekey fetch again within the minute: refused from the cache.
    for (const kid of ["x1", "x2", "x3"]) {
      expect(await verifyAccessJwt(await assertion(t.domain, { email: "alice@example.com", kid }), config, T2 + 1_000))
        .toMatchObject({ ok: false, error: { code: "access_denied" } });
    }
    expect(await certs()).toBe(2);
    // The next rotation's key is refused until a minute has passed since the last fetch, then found.
    const third = await generateKeyPair("RS256", { extractable: true });
    await serve(`${t.path}/cdn-cgi/access/certs`, await certsOf([["k2", other], ["k3", third]]));
    const k3 = await assertion(t.domain, { email: "alice@example.com", kid: "k3", key: third });
    expect(await verifyAccessJwt(k3, config, T2 + 2_000)).toMatchObject({ ok: false });
    expect(await verifyAccessJwt(k3, config, T2 + REFETCH_AFTER_MS)).toMatchObject({ ok: true });
    expect(await certs()).toBe(3);
  });

  it("that cannot be fetched at all make the request a 503, not a way in", async () => {
    const t = await team({}, { keys: [] });
    const res = await send(t.env, "GET", "/v1/credentials", access(await assertion(t.domain)));
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe("access_keys_unavailable");
  });
});
