/**
 * GitHub Actions secrets as sinks (`github_actions_secret`), on the real Worker against the
 * Clarifai and GitHub emulators: a repository's, an environment's and an organization's secret
 * each rotate (the value sealed for the target's key; the emulator opens it with libsodium),
 * verify (by `updated_at`), and roll back to the old value; registration pre-flights each sink
 * and validates names as GitHub does.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { postAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { freshOrg, githubControl } from "../support/github.ts";
import { registerManager } from "../support/manager.ts";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let gh: Awaited<ReturnType<typeof freshOrg>>;
let managerId: string;
let leaks: ReturnType<typeof canary>;

const sinksFor = (name: string) => [
  { type: "github_actions_secret", repository: gh.repository, name },
  { type: "github_actions_secret", repository: gh.repository, environment: "production", name },
  { type: "github_actions_secret", organization: gh.org, name },
];
const scopes = () =>
  [`repo:${gh.repository}`, `env:${gh.repository}:production`, `org:${gh.org}`].map((s) => s.toLowerCase());

async function register(name: string, sinks: unknown[] = sinksFor(name)) {
  const { key, res } = await postAppKey(tenant, {
    managerId,
    label: name,
    secrets: leaks.secrets,
    policy: { grace_hours: 0 },
    sinks,
  });
  return { res, keyId: key.id };
}

/** Each scope's value of secret `name`, as libsodium opened it in the emulator. */
async function values(name: string) {
  const secrets = (await gh.state()).secrets.filter((s: any) => s.name === name);
  return Object.fromEntries(scopes().map((scope) => [scope, secrets.find((s: any) => s.scope === scope)?.value]));
}

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("ghsinks");
  leaks.secrets.push(tenant.manager.id);
  gh = await freshOrg("ghsinks");
  managerId = await registerManager(tenant);
});

describe("github_actions_secret sinks", () => {
  it("a repository's, an environment's and an organization's secret all get the new value, verified", async () => {
    const { res } = await register("ROTATED_KEY");
    expect(res.status, res.text).toBe(201);
    const id = res.json.credential.id;
    const started = await call("POST", `/v1/credentials/${id}/rotate`);
    expect(started.status).toBe(202);
    const done = await waitForRotation(started.json.rotation.id, 20_000);
    expect(done.state, JSON.stringify(done)).toBe("done");
    const replacement = (await tenant.state()).keys.find((k: any) => String(k.description).includes(done.id));
    leaks.secrets.push(replacement.id);
    const now = await values("ROTATED_KEY");
    expect(Object.values(now)).toEqual([replacement.id, replacement.id, replacement.id]);
    // A new organization secret is private.
    expect((await gh.state()).secrets.find((s: any) => s.scope === `org:${gh.org.toLowerCase()}`).visibility).toBe(
      "private",
    );
    leaks.assertClean([], 2);
  });

  it("an existing organization secret keeps its visibility and selected repositories", async () => {
    await githubControl("secrets", {
      organization: gh.org,
      name: "SHARED_KEY",
      visibility: "selected",
      selected_repository_ids: [11, 22],
    });
    const { res } = await register("SHARED_KEY", [{
      type: "github_actions_secret",
      organization: gh.org,
      name: "SHARED_KEY",
    }]);
    expect(res.status, res.text).toBe(201);
    const started = await call("POST", `/v1/credentials/${res.json.credential.id}/rotate`);
    expect((await waitForRotation(started.json.rotation.id, 20_000)).state).toBe("done");
    const org = (await gh.state()).secrets.find((s: any) => s.name === "SHARED_KEY");
    expect(org).toMatchObject({ visibility: "selected", selected_repository_ids: [11, 22] });
    expect(org.value).toBeTruthy();
  });

  it("rolls back: a write GitHub refuses for good puts the old value back into every secret, and the new key goes", async () => {
    const { res, keyId } = await register("ROLLED_BACK");
    expect(res.status, res.text).toBe(201);
    // The organization's write (the last) is refused once: propagate fails for good after two writes.
    await gh.fault("PUT", `/orgs/${gh.org}/actions/secrets/ROLLED_BACK`, { status: 422 }, 1);
    const started = await call("POST", `/v1/credentials/${res.json.credential.id}/rotate`);
    const failed = await waitForRotation(started.json.rotation.id, 20_000);
    expect(failed).toMatchObject({ state: "failed", error: { code: "github_invalid", step: "propagate" } });
    // Every target holds the old (still current) value; the minted key is deleted at Clarifai.
    expect(Object.values(await values("ROLLED_BACK"))).toEqual([keyId, keyId, keyId]);
    const keys = (await tenant.state()).keys;
    expect(keys.some((k: any) => String(k.description).includes(failed.id))).toBe(false);
    expect(keys.some((k: any) => k.id === keyId)).toBe(true);
    expect((await call("GET", `/v1/credentials/${res.json.credential.id}`)).json.credential.state).toBe("active");
  });

  it("a write GitHub answered but lost is caught by verify (updated_at older than the PUT): never promoted", async () => {
    // The secret exists from before (a day old); the next PUT answers 204 and changes nothing.
    await githubControl("secrets", {
      repository: gh.repository,
      name: "LOST_WRITE",
      updated_at: new Date(Date.now() - 86_400_000).toISOString(),
    });
    const { res, keyId } = await register("LOST_WRITE", [{
      type: "github_actions_secret",
      repository: gh.repository,
      name: "LOST_WRITE",
    }]);
    expect(res.status, res.text).toBe(201);
    const id = res.json.credential.id;
    await gh.fault("PUT", `/repos/${gh.repository}/actions/secrets/LOST_WRITE`, { swallow: true }, 1);
    const started = await call("POST", `/v1/credentials/${id}/rotate`);
    const rotationId = started.json.rotation.id;
    let r: any;
    for (let i = 0; i < 100; i++) {
      r = (await call("GET", `/v1/rotations/${rotationId}`)).json.rotation;
      if (r.step === "verify" && r.attempts > 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(r).toMatchObject({ state: "running", step: "verify" });
    const cred = (await call("GET", `/v1/credentials/${id}`)).json.credential;
    expect(cred.fingerprint).toBe(res.json.credential.fingerprint); // the old value is still the current one
    expect((await tenant.state()).keys.some((k: any) => k.id === keyId)).toBe(true);
    // Nothing in GitHub holds the new value, so the old one stays current (the rotation retries
    // verify on the bus, and the sweep resumes it, until a human looks: rotation.failed).
  });

  it("registration pre-flights each sink: a repository, environment or organization rekey cannot reach is a 422 naming it", async () => {
    const cases: [unknown, string][] = [
      [{ type: "github_actions_secret", repository: `${gh.org}/missing`, name: "X" }, "sinks.1"],
      [{ type: "github_actions_secret", repository: gh.repository, environment: "staging", name: "X" }, "sinks.1"],
      [{ type: "github_actions_secret", organization: "no-such-org-anywhere", name: "X" }, "sinks.1"],
    ];
    for (const [sink, path] of cases) {
      const { res } = await register("PREFLIGHT", [{
        type: "github_actions_secret",
        repository: gh.repository,
        name: "OK",
      }, sink]);
      expect(res.status, JSON.stringify(sink)).toBe(422);
      expect(res.json.error.code).toBe("sink_not_found");
      expect(res.json.error.message).toContain(path);
    }
  });

  it("names are validated as GitHub does, before anything is called", async () => {
    const bad = [
      { type: "github_actions_secret", repository: gh.repository, name: "GITHUB_TOKEN" },
      { type: "github_actions_secret", repository: gh.repository, name: "github_lower" },
      { type: "github_actions_secret", repository: gh.repository, name: "1STARTS_WITH_DIGIT" },
      { type: "github_actions_secret", repository: gh.repository, name: "HAS-DASH" },
      { type: "github_actions_secret", repository: gh.repository, name: "" },
      { type: "github_actions_secret", repository: "no-slash", name: "X" },
      { type: "github_actions_secret", repository: "../etc/passwd", name: "X" },
      { type: "github_actions_secret", repository: gh.repository, organization: gh.org, name: "X" },
      { type: "github_actions_secret", environment: "production", organization: gh.org, name: "X" },
      { type: "github_actions_secret", name: "X" },
    ];
    const before = (await gh.state()).calls.length;
    for (const sink of bad) {
      const { res } = await register("NAMES", [sink]);
      expect(res.status, JSON.stringify(sink)).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
    }
    expect((await gh.state()).calls.length).toBe(before);
  });
});
