/**
 * Development secrets are refused outside development (issue 14, item 2), on the real Worker
 * (src/worker.ts) and its bindings, configured with the committed .dev.vars.example (read by
 * vitest.config.ts) instead of the test secrets.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { parseDotenv } from "../../src/adapters/dotenv.ts";
import { DEV_SECRETS } from "../../src/dev-secrets.ts";

// What worker.fetch takes; a test builds a plain Request.
type IncomingRequest = Request<unknown, IncomingRequestCfProperties>;

const example = parseDotenv(inject("devVarsExample"));
// What .dev.vars.example holds that is not a secret (EMULATOR_SEED_PAT is the emulator's, not rekey's).
const NOT_SECRET = [
  "CLARIFAI_API_BASE",
  "REKEY_DEV_MODE",
  "SLACK_ALLOWED_USERS",
  "CHATOPS_TWO_PERSON",
  "SLACK_RESPONSE_ORIGINS",
  "EMULATOR_SEED_PAT",
  "GITHUB_API_BASE",
  "GITHUB_APP_ID",
];

const withVars = (vars: Record<string, string | undefined>) => {
  const e: Record<string, unknown> = { ...env, CLARIFAI_API_BASE: env.CLARIFAI_API_BASE };
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return e as unknown as Env;
};
const devStack = (mode: string | undefined) =>
  withVars({ ...example, CLARIFAI_API_BASE: env.CLARIFAI_API_BASE, REKEY_DEV_MODE: mode });

async function get(e: Env, url: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { headers }) as IncomingRequest, e, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

describe("REKEY_DEV_MODE", () => {
  it(".dev.vars.example sets it, and every secret it commits is one the Worker knows to refuse", () => {
    expect(example.REKEY_DEV_MODE).toBe("true");
    const secrets = Object.keys(example).filter((n) => !NOT_SECRET.includes(n));
    expect(secrets.sort()).toEqual(Object.keys(DEV_SECRETS).sort());
  });

  it("without it, the committed development secrets get 503 dev_secrets_refused on every route, naming them", async () => {
    for (const mode of [undefined, "false", ""]) {
      const e = devStack(mode);
      for (
        const path of ["/healthz", "/v1/credentials", "/ui", "/hooks/github/secret-scanning", "/hooks/github/events"]
      ) {
        const res = await get(e, `http://127.0.0.1:8787${path}`, {
          authorization: `Bearer ${example.REKEY_ADMIN_TOKEN}`,
        });
        expect(res.status, `${mode} ${path}`).toBe(503);
        expect(res.json.error.code).toBe("dev_secrets_refused");
        expect(res.json.error.variables).toEqual([
          "REKEY_ADMIN_TOKEN",
          "REKEY_ENCRYPTION_KEYS",
          "REKEY_FINGERPRINT_KEY",
          "GITHUB_SECRET_SCANNING_KEYS",
          "ALERT_WEBHOOK_SECRET",
          "SLACK_SIGNING_SECRET",
          "GITHUB_WEBHOOK_SECRET",
          "GITHUB_APP_PRIVATE_KEY",
        ]);
        for (const name of Object.keys(DEV_SECRETS)) expect(res.text).not.toContain(example[name]!.slice(0, 12));
      }
    }
  });

  it("refuses one committed value among real ones, e.g. the demo GitHub key beside a real key list", async () => {
    const keys = JSON.parse(example.GITHUB_SECRET_SCANNING_KEYS!) as { public_keys: unknown[] };
    const real = JSON.parse(env.GITHUB_SECRET_SCANNING_KEYS) as { public_keys: unknown[] };
    const mixed = JSON.stringify({ public_keys: [...real.public_keys, ...keys.public_keys] });
    const res = await get(withVars({ GITHUB_SECRET_SCANNING_KEYS: mixed }), "http://rekey.test/healthz");
    expect(res.status).toBe(503);
    expect(res.json.error).toMatchObject({ code: "dev_secrets_refused", variables: ["GITHUB_SECRET_SCANNING_KEYS"] });
  });

  it("with it set to true, the same configuration serves loopback hosts, any port", async () => {
    const e = devStack("true");
    for (const host of ["127.0.0.1:8787", "localhost:8787", "[::1]:8787", "127.0.0.1", "LOCALHOST:1"]) {
      const res = await get(e, `http://${host}/healthz`);
      expect(res.status, host).toBe(200);
      expect(res.json).toEqual({ status: "ok", version: expect.any(String), clarifai_emulator: true });
    }
  });

  it("with it set to true, answers 421 misdirected_request to any other Host (DNS rebinding)", async () => {
    const e = devStack("true");
    const cases: [string, Record<string, string>][] = [
      ["http://rekey.test/healthz", {}],
      ["http://evil.example:8787/v1/credentials", {}],
      ["http://127.0.0.1.evil.example/healthz", {}],
      ["http://127.0.0.1:8787/healthz", { host: "evil.example:8787" }],
      ["http://127.0.0.1:8787/healthz", { host: "localhost.evil.example" }],
    ];
    for (const [url, headers] of cases) {
      const res = await get(e, url, headers);
      expect(res.status, `${url} ${JSON.stringify(headers)}`).toBe(421);
      expect(res.json.error.code).toBe("misdirected_request");
    }
  });

  it("is exactly true or false: anything else is config_invalid, and dev secrets stay refused", async () => {
    const res = await get(devStack("yes"), "http://127.0.0.1:8787/healthz");
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe("dev_secrets_refused");
    const alone = await get(withVars({ REKEY_DEV_MODE: "1" }), "http://rekey.test/healthz");
    expect(alone.json.error).toMatchObject({ code: "config_invalid", variables: ["REKEY_DEV_MODE"] });
  });
});

describe("REKEY_ADMIN_TOKEN outside dev mode", () => {
  it("must be at least 32 characters (503 config_invalid), and may be shorter only in dev mode", async () => {
    const short = "a-real-but-short-token-31-chars";
    expect(short).toHaveLength(31);
    const res = await get(withVars({ REKEY_ADMIN_TOKEN: short }), "http://rekey.test/healthz");
    expect(res.status).toBe(503);
    expect(res.json.error).toMatchObject({ code: "config_invalid", variables: ["REKEY_ADMIN_TOKEN"] });
    expect(res.text).not.toContain(short);
    expect((await get(withVars({ REKEY_ADMIN_TOKEN: `${short}x` }), "http://rekey.test/healthz")).status).toBe(200);
    expect(
      (await get(withVars({ REKEY_ADMIN_TOKEN: short, REKEY_DEV_MODE: "true" }), "http://127.0.0.1/healthz")).status,
    ).toBe(200);
  });

  it("the test Worker's own token qualifies", () => {
    expect(env.REKEY_ADMIN_TOKEN.length).toBeGreaterThanOrEqual(32);
  });
});
