/**
 * The GitHub emulator checked against GitHub's own published artefacts, not against itself:
 * - GitHub's official client, `@octokit/rest`, drives every endpoint rekey uses, as a GitHub App
 *   (JWT → installation token) and with a personal token;
 * - every answer it gets validates against GitHub's OpenAPI description (`@octokit/openapi`) for
 *   that operation and status, and so does every webhook payload it delivers;
 * - values are sealed with libsodium (`libsodium-wrappers`, as GitHub's docs do) and the emulator
 *   opens them with libsodium too; signatures are checked with node:crypto.
 * Runs in Node (vitest.node.config.ts).
 */
import { Octokit } from "@octokit/rest";
import sodium from "libsodium-wrappers";
import { createHmac, generateKeyPairSync, timingSafeEqual } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createGithubEmulator, type GithubEmulator } from "../../emulator/github/index.ts";
import { libsodiumOpener } from "../../emulator/node/serve-github.ts";
import { importAppKey, signAppJwt } from "../../src/core/github/app-jwt.ts";
import { githubSpecVersion, responseErrors, webhookErrors } from "./github-openapi.ts";

const BASE = "http://github.emulator";
const APP_ID = "424242";
const ORG = "octo-org";
const REPO = "octo-org/app";
const ENV = "production";
const WEBHOOK_SECRET = "emulator-test-webhook-secret";

/** The spec's path templates for the endpoints the emulator serves. */
const TEMPLATES = [
  "/app/installations/{installation_id}/access_tokens",
  "/repos/{owner}/{repo}/installation",
  "/orgs/{org}/installation",
  "/repos/{owner}/{repo}/secret-scanning/alerts/{alert_number}",
  "/repos/{owner}/{repo}/secret-scanning/alerts",
  "/orgs/{org}/secret-scanning/alerts",
  "/repos/{owner}/{repo}/actions/secrets/public-key",
  "/repos/{owner}/{repo}/environments/{environment_name}/secrets/public-key",
  "/orgs/{org}/actions/secrets/public-key",
  "/repos/{owner}/{repo}/actions/secrets/{secret_name}",
  "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}",
  "/orgs/{org}/actions/secrets/{secret_name}",
];
const matcher = TEMPLATES.map((t) => ({
  t,
  re: new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  // A literal segment (public-key) must win over a parameter ({secret_name}).
  literals: t.split("/").filter((s) => s && !s.startsWith("{")).length,
}));
const templateOf = (path: string) =>
  matcher.filter((m) => m.re.test(path)).sort((a, b) => b.literals - a.literals)[0]?.t;

let emu: GithubEmulator;
let appJwt: () => Promise<string>;
let installationId: number;
const checked: string[] = [];
const invalid: string[] = [];

/** The emulator's fetch, with every answer validated against GitHub's OpenAPI description. */
const validating: typeof fetch = async (input, init) => {
  const req = new Request(input as RequestInfo, init);
  const res = await emu.fetch(req.clone());
  const path = new URL(req.url).pathname;
  const template = templateOf(path);
  if (template) {
    const text = await res.clone().text();
    const body = text === "" ? undefined : JSON.parse(text);
    const errors = responseErrors(req.method, template, res.status, body);
    checked.push(`${req.method} ${template} ${res.status}`);
    if (errors.length) invalid.push(`${req.method} ${template} ${res.status}: ${errors.slice(0, 5).join("; ")}`);
  }
  return res;
};

const control = async (path: string, body?: unknown) => {
  const res = await emu.fetch(`${BASE}/_emulator/${path}`, {
    method: body === undefined ? "GET" : "POST",
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  expect(res.status, `control ${path}`).toBe(200);
  return res.json() as Promise<any>;
};

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const octokit = (auth: string) => new Octokit({ baseUrl: BASE, auth, request: { fetch: validating }, log: quiet });

beforeAll(async () => {
  await sodium.ready;
  emu = createGithubEmulator({ openSealedBox: await libsodiumOpener(), webhook: { secret: WEBHOOK_SECRET } });
  // The PEM GitHub issues for an App: PKCS#1.
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  await control("app", { id: APP_ID, public_key: publicKey.export({ type: "spki", format: "pem" }).toString() });
  const key = await importAppKey(pem);
  appJwt = () => signAppJwt(key, APP_ID, Date.now());
  await control("repos", { full_name: REPO, environments: [ENV] });
  installationId = (await control("installations", { account: ORG, repositories: "all" })).installation.id;
});

describe("the GitHub emulator against @octokit/rest and GitHub's OpenAPI description", () => {
  it("reads GitHub's description", () => {
    expect(githubSpecVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("App: installation lookup by repository and organization, then an installation token", async () => {
    const app = octokit(await appJwt());
    const byRepo = await app.rest.apps.getRepoInstallation({ owner: ORG, repo: "app" });
    const byOrg = await app.rest.apps.getOrgInstallation({ org: ORG });
    expect(byRepo.data.id).toBe(installationId);
    expect(byOrg.data.id).toBe(installationId);
    const token = await app.rest.apps.createInstallationAccessToken({ installation_id: installationId });
    expect(token.status).toBe(201);
    expect(token.data.token).toMatch(/^ghs_/);
    expect(Date.parse(token.data.expires_at)).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it("refuses a JWT it cannot verify, one of another App and an expired one, as GitHub does (401)", async () => {
    const forged = await importAppKey(
      generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" })
        .toString(),
    );
    for (const jwt of [await signAppJwt(forged, APP_ID, Date.now()), "not.a.jwt"]) {
      await expect(octokit(jwt).rest.apps.getOrgInstallation({ org: ORG })).rejects.toMatchObject({ status: 401 });
    }
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await control("app", { id: APP_ID, public_key: publicKey.export({ type: "spki", format: "pem" }).toString() });
    const good = await importAppKey(privateKey.export({ type: "pkcs1", format: "pem" }).toString());
    // The right key, but another App's id, or made 20 minutes ago (expired): refused.
    await expect(octokit(await signAppJwt(good, "7", Date.now())).rest.apps.getOrgInstallation({ org: ORG })).rejects
      .toMatchObject({ status: 401 });
    await expect(
      octokit(await signAppJwt(good, APP_ID, Date.now() - 20 * 60_000)).rest.apps.getOrgInstallation({ org: ORG }),
    ).rejects.toMatchObject({ status: 401 });
    expect(
      (await octokit(await signAppJwt(good, APP_ID, Date.now())).rest.apps.getOrgInstallation({ org: ORG })).status,
    )
      .toBe(200);
    appJwt = () => signAppJwt(good, APP_ID, Date.now());
  });

  it("secret scanning: get, list (repository and organization, paged) and resolve an alert", async () => {
    const app = octokit(await appJwt());
    const { token } = (await app.rest.apps.createInstallationAccessToken({ installation_id: installationId })).data;
    const gh = octokit(token);
    for (let i = 0; i < 3; i++) await control(`repos/${REPO}/alerts`, { secret: `leaked-value-${i}` });
    const one = await gh.rest.secretScanning.getAlert({ owner: ORG, repo: "app", alert_number: 1 });
    expect(one.data).toMatchObject({ number: 1, state: "open", secret: "leaked-value-0" });
    const page1 = await gh.rest.secretScanning.listAlertsForRepo({
      owner: ORG,
      repo: "app",
      state: "open",
      per_page: 2,
    });
    expect(page1.data).toHaveLength(2);
    expect(page1.headers.link).toMatch(/rel="next"/);
    const page2 = await gh.rest.secretScanning.listAlertsForRepo({
      owner: ORG,
      repo: "app",
      state: "open",
      per_page: 2,
      page: 2,
    });
    expect(page2.data).toHaveLength(1);
    expect(page2.headers.link ?? "").not.toMatch(/rel="next"/);
    const all = await gh.paginate(gh.rest.secretScanning.listAlertsForOrg, { org: ORG, state: "open", per_page: 2 });
    expect(all.map((a) => a.repository?.full_name)).toEqual([REPO, REPO, REPO]);
    const resolved = await gh.rest.secretScanning.updateAlert({
      owner: ORG,
      repo: "app",
      alert_number: 1,
      state: "resolved",
      resolution: "revoked",
      resolution_comment: "rekey revoked it",
    });
    expect(resolved.data).toMatchObject({
      state: "resolved",
      resolution: "revoked",
      resolution_comment: "rekey revoked it",
    });
    const open = await gh.rest.secretScanning.listAlertsForRepo({ owner: ORG, repo: "app", state: "open" });
    expect(open.data.map((a) => a.number).sort()).toEqual([2, 3]);
    await expect(gh.rest.secretScanning.getAlert({ owner: ORG, repo: "app", alert_number: 99 })).rejects.toMatchObject({
      status: 404,
    });
  });

  it("Actions secrets: libsodium-sealed values for a repository, an environment and an organization", async () => {
    const { token } = (await octokit(await appJwt()).rest.apps.createInstallationAccessToken({
      installation_id: installationId,
    })).data;
    const gh = octokit(token);
    const seal = (key: string, value: string) =>
      sodium.to_base64(
        sodium.crypto_box_seal(sodium.from_string(value), sodium.from_base64(key, sodium.base64_variants.ORIGINAL)),
        sodium.base64_variants.ORIGINAL,
      );
    const repoKey = (await gh.rest.actions.getRepoPublicKey({ owner: ORG, repo: "app" })).data;
    const envKey =
      (await gh.rest.actions.getEnvironmentPublicKey({ owner: ORG, repo: "app", environment_name: ENV })).data;
    const orgKey = (await gh.rest.actions.getOrgPublicKey({ org: ORG })).data;
    const repoPut = { owner: ORG, repo: "app", secret_name: "CLARIFAI_PAT", key_id: repoKey.key_id };
    expect(
      (await gh.rest.actions.createOrUpdateRepoSecret({ ...repoPut, encrypted_value: seal(repoKey.key, "v1") })).status,
    )
      .toBe(201);
    expect(
      (await gh.rest.actions.createOrUpdateRepoSecret({ ...repoPut, encrypted_value: seal(repoKey.key, "v2") })).status,
    )
      .toBe(204);
    await gh.rest.actions.createOrUpdateEnvironmentSecret({
      owner: ORG,
      repo: "app",
      environment_name: ENV,
      secret_name: "CLARIFAI_PAT",
      key_id: envKey.key_id,
      encrypted_value: seal(envKey.key, "env-value"),
    });
    await gh.rest.actions.createOrUpdateOrgSecret({
      org: ORG,
      secret_name: "CLARIFAI_PAT",
      key_id: orgKey.key_id,
      encrypted_value: seal(orgKey.key, "org-value"),
      visibility: "private",
    });
    expect((await gh.rest.actions.getRepoSecret({ owner: ORG, repo: "app", secret_name: "clarifai_pat" })).data.name)
      .toBe("CLARIFAI_PAT");
    await gh.rest.actions.getEnvironmentSecret({
      owner: ORG,
      repo: "app",
      environment_name: ENV,
      secret_name: "CLARIFAI_PAT",
    });
    expect((await gh.rest.actions.getOrgSecret({ org: ORG, secret_name: "CLARIFAI_PAT" })).data.visibility).toBe(
      "private",
    );
    const secrets = (await control("state")).secrets as { scope: string; name: string; value: string | null }[];
    expect(secrets.filter((s) => s.name === "CLARIFAI_PAT").map((s) => [s.scope, s.value]).sort()).toEqual([
      [`env:${REPO}:${ENV}`, "env-value"],
      [`org:${ORG}`, "org-value"],
      [`repo:${REPO}`, "v2"],
    ]);
    // A box sealed for another key does not open: refused, nothing stored.
    const other = sodium.crypto_box_keypair();
    await expect(
      gh.rest.actions.createOrUpdateRepoSecret({
        ...repoPut,
        encrypted_value: sodium.to_base64(sodium.crypto_box_seal(sodium.from_string("x"), other.publicKey), 1),
      }),
    ).rejects.toMatchObject({ status: 422 });
  });

  it("a personal token (GITHUB_TOKEN) works; a token of another installation or without the permission does not", async () => {
    const { token: pat } = await control("tokens", {});
    expect((await octokit(pat).rest.actions.getRepoPublicKey({ owner: ORG, repo: "app" })).status).toBe(200);
    await control("repos", { full_name: "other-org/elsewhere" });
    const otherInstallation = (await control("installations", { account: "other-org" })).installation.id;
    const readOnly = (await control("installations", {
      account: "ro-org",
      repositories: ["ro-org/app"],
      permissions: { metadata: "read", secret_scanning_alerts: "read", secrets: "read" },
    })).installation.id;
    const app = octokit(await appJwt());
    const tokenOf = async (id: number) =>
      (await app.rest.apps.createInstallationAccessToken({ installation_id: id })).data.token;
    // Not this installation's repository: GitHub does not confirm it exists.
    await expect(octokit(await tokenOf(otherInstallation)).rest.actions.getRepoPublicKey({ owner: ORG, repo: "app" }))
      .rejects.toMatchObject({ status: 404 });
    const ro = octokit(await tokenOf(readOnly));
    const key = (await ro.rest.actions.getRepoPublicKey({ owner: "ro-org", repo: "app" })).data;
    await expect(
      ro.rest.actions.createOrUpdateRepoSecret({
        owner: "ro-org",
        repo: "app",
        secret_name: "X",
        key_id: key.key_id,
        encrypted_value: sodium.to_base64(
          sodium.crypto_box_seal(sodium.from_string("x"), sodium.from_base64(key.key, 1)),
          1,
        ),
      }),
    ).rejects.toMatchObject({ status: 403 });
    await control(`repos/ro-org/app/alerts`, { secret: "ro-secret" });
    await expect(
      ro.rest.secretScanning.updateAlert({
        owner: "ro-org",
        repo: "app",
        alert_number: 1,
        state: "resolved",
        resolution: "revoked",
      }),
    ).rejects.toMatchObject({ status: 403 });
    await expect(octokit("ghs_unknown_token_0123456789").rest.actions.getRepoPublicKey({ owner: ORG, repo: "app" }))
      .rejects.toMatchObject({ status: 401 });
  });

  it("every answer matched GitHub's OpenAPI description", () => {
    expect(checked.length).toBeGreaterThan(20);
    expect(new Set(checked.map((c) => c.split(" ").slice(0, 2).join(" "))).size).toBe(16);
    expect(invalid).toEqual([]);
  });
});

describe("webhook deliveries, as GitHub signs them", () => {
  it("a secret_scanning_alert delivery validates against GitHub's webhook schema and its signature verifies", async () => {
    const created = await control(`repos/${REPO}/alerts`, { secret: "leaked-for-webhook", deliver: true });
    const d = created.delivery as { id: string; headers: Record<string, string>; body: string };
    expect(d.headers["x-github-event"]).toBe("secret_scanning_alert");
    expect(d.headers["x-github-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
    const expected = `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(d.body).digest("hex")}`;
    expect(timingSafeEqual(Buffer.from(d.headers["x-hub-signature-256"]!), Buffer.from(expected))).toBe(true);
    const payload = JSON.parse(d.body);
    expect(webhookErrors("webhook-secret-scanning-alert-created", payload)).toEqual([]);
    expect(payload).toMatchObject({
      action: "created",
      installation: { id: installationId },
      repository: { full_name: REPO },
    });
    // The payload carries no secret: a receiver fetches the alert.
    expect(d.body).not.toContain("leaked-for-webhook");
    for (const action of ["reopened", "publicly_leaked"] as const) {
      const again = await control("deliveries", { repository: REPO, number: created.alert.number, action });
      expect(
        webhookErrors(`webhook-secret-scanning-alert-${action.replace("_", "-")}`, JSON.parse(again.delivery.body)),
      )
        .toEqual([]);
    }
    const redelivered = await control(`deliveries/${d.id}/redeliver`, {});
    expect(redelivered.delivery.id).toBe(d.id);
    expect(redelivered.delivery.body).toBe(d.body);
  });
});
