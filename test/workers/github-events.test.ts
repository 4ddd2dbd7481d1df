/**
 * POST /hooks/github/events end to end on the real Worker (KV, Durable Objects, Queues) against
 * the Clarifai and GitHub emulators: a signed `secret_scanning_alert` webhook for a managed key →
 * the key deleted at Clarifai → the replacement in the repository's Actions secret (opened by
 * libsodium in the emulator) → the alert resolved as `revoked`, naming the rotation and the
 * replacement's fingerprint prefix. And everything around it: forged signatures, redeliveries,
 * other events (payloads from @octokit/webhooks-examples), a secret matching nothing, GitHub down
 * when resolving (retried by the bus, resolved later), bad input.
 */
import examples from "@octokit/webhooks-examples";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { canary } from "../support/canary.ts";
import { freshTenant } from "../support/emulator-control.ts";
import { fingerprintWith } from "../support/fingerprint.ts";
import { freshOrg, GITHUB_WEBHOOK_SECRET, githubControl, githubUrl, postDelivery } from "../support/github.ts";
import { registerManager } from "../support/manager.ts";
import { received } from "../support/receiver.ts";
import { signGithubWebhook } from "../../src/core/inbound/github-webhook.ts";

let tenant: Awaited<ReturnType<typeof freshTenant>>;
let gh: Awaited<ReturnType<typeof freshOrg>>;
let managerId: string;
let leaks: ReturnType<typeof canary>;
/** The first test's alert, resolved: later tests redeliver and reopen it. */
let resolvedAlert: { number: number; delivery: { id: string; headers: Record<string, string>; body: string } };

const exampleOf = (event: string) => {
  const found = (examples as { name: string; examples: unknown[] }[]).find((e) => e.name === event);
  if (!found?.examples.length) throw new Error(`@octokit/webhooks-examples has no ${event} example`);
  return found.examples[0]!;
};

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A managed app key whose replacement goes to the repository's Actions secret CLARIFAI_KEY. */
async function managedKey(label: string) {
  const { key, id } = await registerAppKey(tenant, {
    managerId,
    label,
    secrets: leaks.secrets,
    policy: { grace_hours: 0, on_compromise: "rotate" },
    sinks: [{ type: "github_actions_secret", repository: gh.repository, name: "CLARIFAI_KEY" }],
  });
  return { keyId: key.id, credentialId: id };
}

beforeAll(async () => {
  leaks = canary();
  tenant = await freshTenant("ghevents");
  leaks.secrets.push(tenant.manager.id, GITHUB_WEBHOOK_SECRET);
  gh = await freshOrg("ghevents");
  managerId = await registerManager(tenant);
});

afterAll(() => {
  // Nothing rekey said (answers, headers, logs) holds a key, the manager PAT or the webhook secret.
  leaks.assertClean([], 3);
});

describe("POST /hooks/github/events", () => {
  it("a leak found in a repository: key deleted at Clarifai, replacement in the Actions secret, alert resolved as revoked", async () => {
    const { keyId, credentialId } = await managedKey("leaky");
    const alert = await gh.alert(keyId);
    resolvedAlert = alert;
    const res = await postDelivery(alert.delivery);
    expect(res.status, res.text).toBe(202);
    expect(res.json).toMatchObject({ status: "accepted", credential_id: credentialId, action: "rotation" });
    const rotation = await waitForRotation(res.json.rotation_id, 20_000);
    expect(rotation).toMatchObject({ state: "done", reason: "compromise" });

    // Clarifai: the leaked key is gone, one replacement carries the rotation's marker.
    const keys = (await tenant.state()).keys;
    expect(keys.some((k: any) => k.id === keyId)).toBe(false);
    const replacement = keys.find((k: any) => String(k.description).includes(rotation.id));
    expect(replacement).toBeDefined();
    leaks.secrets.push(replacement.id);

    // GitHub: the repository's secret holds the replacement (libsodium opened it).
    const secret = (await gh.state()).secrets.find((s: any) => s.scope === `repo:${gh.repository}`);
    expect(secret).toMatchObject({ name: "CLARIFAI_KEY", value: replacement.id });

    // The alert is resolved as revoked, naming the rotation and the replacement's fingerprint prefix only.
    const resolved = await until("the alert to be resolved", async () => {
      const a = (await gh.state()).alerts.find((x: any) => x.number === alert.number);
      return a?.state === "resolved" && a;
    });
    expect(resolved.resolution).toBe("revoked");
    const newPrefix = (await fingerprintWith(env.REKEY_FINGERPRINT_KEY, replacement.id)).slice(0, 8);
    expect(resolved.resolution_comment).toContain(rotation.id);
    expect(resolved.resolution_comment).toContain(newPrefix);
    expect(resolved.resolution_comment).not.toContain(replacement.id);
    expect(resolved.resolution_comment).not.toContain(keyId);

    // The audit trail: compromised → … → github.alert_resolved.
    const types = await until("github.alert_resolved in the audit trail", async () => {
      const t = ((await call("GET", `/v1/audit?credential_id=${credentialId}&limit=100`)).json.entries as any[]).map((
        e,
      ) => e.type);
      return t.includes("github.alert_resolved") && t;
    });
    expect(types).toEqual(
      expect.arrayContaining(["credential.compromised", "github.alert_linked", "credential.revoked"]),
    );
    const entry = ((await call("GET", `/v1/audit?credential_id=${credentialId}&type=github.alert_resolved`)).json
      .entries as any[])[0];
    expect(entry.data).toMatchObject({
      alert_number: alert.number,
      rotation_id: rotation.id,
      new_fingerprint_prefix: newPrefix,
    });
    // The record forgets a resolved alert. Two triggers (github.alert_linked, credential.revoked)
    // may both PATCH before either forgets it: resolving is idempotent, so at most that.
    const patches = (await gh.state()).calls.filter((c: any) =>
      c.method === "PATCH" && c.path.endsWith(`/alerts/${alert.number}`)
    );
    expect(patches.length).toBeGreaterThanOrEqual(1);
    expect(patches.length).toBeLessThanOrEqual(2);
    expect(patches.every((c: any) => c.status === 200)).toBe(true);
  });

  it("a redelivery (same X-GitHub-Delivery) is answered 200 without acting twice", async () => {
    const callsBefore = (await gh.state()).calls.length;
    const again = await postDelivery(resolvedAlert.delivery);
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ status: "duplicate" });
    // Not even fetched again.
    expect((await gh.state()).calls.length).toBe(callsBefore);
  });

  it("a forged signature, a missing one, or one over other bytes is 401 and changes nothing", async () => {
    const { keyId, credentialId } = await managedKey("forged");
    const alert = await gh.alert(keyId);
    const thisAlert = async () =>
      (await gh.state()).calls.filter((c: any) => c.path.endsWith(`/secret-scanning/alerts/${alert.number}`)).length;
    const callsBefore = await thisAlert();
    const forged = await signGithubWebhook("not-the-secret", alert.delivery.body);
    const otherBytes = await signGithubWebhook(GITHUB_WEBHOOK_SECRET, `${alert.delivery.body} `);
    for (const signature of [forged, otherBytes, "sha256=zz", "sha1=0123", ""]) {
      const res = await postDelivery(alert.delivery, { "x-hub-signature-256": signature });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe("invalid_signature");
    }
    expect(await thisAlert()).toBe(callsBefore);
    expect((await call("GET", `/v1/credentials/${credentialId}`)).json.credential.current_rotation_id).toBeNull();
    expect((await tenant.state()).keys.some((k: any) => k.id === keyId)).toBe(true);
  });

  it("ping answers 200; other events and actions 204 (payloads from @octokit/webhooks-examples)", async () => {
    const signed = async (event: string, payload: unknown) => {
      const body = JSON.stringify(payload);
      return postDelivery({
        id: crypto.randomUUID(),
        headers: {
          "content-type": "application/json",
          "x-github-event": event,
          "x-github-delivery": crypto.randomUUID(),
          "x-hub-signature-256": await signGithubWebhook(GITHUB_WEBHOOK_SECRET, body),
        },
        body,
      });
    };
    const ping = await signed("ping", exampleOf("ping"));
    expect(ping.status).toBe(200);
    expect(ping.json).toEqual({ status: "ping" });
    for (const event of ["push", "issues", "installation", "code_scanning_alert"]) {
      const res = await signed(event, exampleOf(event));
      expect(res.status, event).toBe(204);
      expect(res.text).toBe("");
    }
    // secret_scanning_alert actions other than created / reopened / publicly_leaked.
    const { keyId } = await managedKey("resolved-action");
    const alert = await gh.alert(keyId);
    for (const action of ["resolved", "validated", "assigned"]) {
      const d = await gh.deliver({ number: alert.number, action });
      expect((await postDelivery(d)).status, action).toBe(204);
    }
  });

  it("an alert whose secret matches no managed credential is left open and untouched", async () => {
    const stranger = `unmanaged-${crypto.randomUUID()}`;
    leaks.secrets.push(stranger);
    const alert = await gh.alert(stranger);
    const res = await postDelivery(alert.delivery);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "unmatched" });
    await new Promise((r) => setTimeout(r, 300));
    const s = await gh.state();
    expect(s.alerts.find((a: any) => a.number === alert.number)).toMatchObject({ state: "open", resolution: null });
    expect(s.calls.some((c: any) => c.method === "PATCH" && c.path.endsWith(`/alerts/${alert.number}`))).toBe(false);
  });

  it("an alert whose secret is longer than any Clarifai value is unmatched (200), not a GitHub failure", async () => {
    const alert = await gh.alert(`-----BEGIN PRIVATE KEY-----${"A".repeat(5000)}`);
    const res = await postDelivery(alert.delivery);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ status: "unmatched" });
  });

  it("publicly_leaked from a repository's webhook (no installation: the App finds it by repository) is handled like created", async () => {
    const { keyId } = await managedKey("publicly-leaked");
    const alert = await gh.alert(keyId);
    const leaked = await postDelivery(
      await gh.deliver({ number: alert.number, action: "publicly_leaked", installation: false } as any),
    );
    expect(leaked.status).toBe(202);
    await waitForRotation(leaked.json.rotation_id, 20_000);
    await until(
      `alert ${alert.number} resolved`,
      async () => (await gh.state()).alerts.find((a: any) => a.number === alert.number)?.state === "resolved",
    );
  });

  it("reopened by a human after rekey resolved it: the value is already dead, so it is resolved again at once", async () => {
    // A human reopens it in GitHub (as a personal token would through the API).
    const { token } = await githubControl("tokens", {});
    await fetch(`${githubUrl()}/repos/${gh.repository}/secret-scanning/alerts/${resolvedAlert.number}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", "user-agent": "a-human", authorization: `Bearer ${token}` },
      body: JSON.stringify({ state: "open" }),
    });
    expect((await gh.state()).alerts.find((a: any) => a.number === resolvedAlert.number).state).toBe("open");
    const res = await postDelivery(await gh.deliver({ number: resolvedAlert.number, action: "reopened" }));
    expect(res.status).toBe(202);
    expect(res.json.action).toBe("already_revoked");
    const again = await until("the reopened alert to be resolved again", async () => {
      const a = (await gh.state()).alerts.find((x: any) => x.number === resolvedAlert.number);
      return a?.state === "resolved" && a;
    });
    expect(again.resolution).toBe("revoked");
  });

  it("an alert a human already resolved (false_positive) keeps that resolution: rekey does not PATCH it", async () => {
    const { keyId } = await managedKey("human-resolved");
    const alert = await gh.alert(keyId);
    const path = `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`;
    const { token } = await githubControl("tokens", { installation: gh.installation });
    const human = await fetch(`${githubUrl()}${path}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "user-agent": "a-human" },
      body: JSON.stringify({ state: "resolved", resolution: "false_positive", resolution_comment: "test fixture" }),
    });
    expect(human.status).toBe(200);
    const res = await postDelivery(alert.delivery);
    expect(res.status, res.text).toBe(202);
    await waitForRotation(res.json.rotation_id, 20_000);
    // The resolver's GET (after the webhook's own) finds it resolved and stops there.
    await until(
      "the resolver to look at the alert",
      async () => (await gh.state()).calls.filter((c: any) => c.method === "GET" && c.path === path).length >= 2,
    );
    await new Promise((r) => setTimeout(r, 300));
    const s = await gh.state();
    expect(s.alerts.find((a: any) => a.number === alert.number)).toMatchObject({
      state: "resolved",
      resolution: "false_positive",
      resolution_comment: "test fixture",
    });
    expect(s.calls.filter((c: any) => c.method === "PATCH" && c.path === path)).toHaveLength(1);
  });

  it("a repository named like a Clarifai key (32 hex characters) is never put in the actor: GitHub's repository id is", async () => {
    const { keyId } = await managedKey("hex-repo");
    const repository = `${gh.org}/k${crypto.randomUUID().replace(/-/g, "")}`;
    const { repository: repo } = await githubControl("repos", { full_name: repository });
    const created = await githubControl(`repos/${repository}/alerts`, { secret: keyId, deliver: true });
    const res = await postDelivery(created.delivery);
    expect(res.status, res.text).toBe(202);
    const done = await waitForRotation(res.json.rotation_id, 20_000);
    expect(done.requested_by).toBe(`github:repo-id:${repo.id}#${created.alert.number}`);
    expect(JSON.stringify(done)).not.toMatch(/[0-9a-f]{32}/);
  });

  it("an alert for a value rekey revoked (revoke, no replacement) names the rotation that revoked it", async () => {
    const { keyId, credentialId } = await managedKey("revoked-first");
    const revoked = await call("POST", `/v1/credentials/${credentialId}/revoke`);
    expect(revoked.status, revoked.text).toBe(202);
    expect((await waitForRotation(revoked.json.rotation.id, 20_000)).state).toBe("done");
    const alert = await gh.alert(keyId);
    const res = await postDelivery(alert.delivery);
    expect(res.status, res.text).toBe(202);
    const resolved = await until("the alert to be resolved", async () => {
      const a = (await gh.state()).alerts.find((x: any) => x.number === alert.number);
      return a?.state === "resolved" && a;
    });
    expect(resolved.resolution_comment).toContain(`by rotation ${revoked.json.rotation.id}.`);
    expect(resolved.resolution_comment).toContain("It was not replaced.");
  });

  it("GitHub down when resolving: the bus retries, and the alert is resolved later", async () => {
    const { keyId } = await managedKey("github-down");
    const alert = await gh.alert(keyId);
    await gh.fault("PATCH", `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`, { status: 503 }, 1);
    const res = await postDelivery(alert.delivery);
    expect(res.status).toBe(202);
    await waitForRotation(res.json.rotation_id, 20_000);
    const resolved = await until("the alert to be resolved after GitHub came back", async () => {
      const a = (await gh.state()).alerts.find((x: any) => x.number === alert.number);
      return a?.state === "resolved" && a;
    }, 25_000);
    expect(resolved.resolution).toBe("revoked");
    const patches = (await gh.state()).calls.filter((c: any) =>
      c.method === "PATCH" && c.path.endsWith(`/alerts/${alert.number}`)
    );
    // The failed try, then success on the bus's retry (a second trigger may PATCH once more: idempotent).
    expect(patches.map((c: any) => c.status).slice(0, 2)).toEqual([503, 200]);
    expect(patches.slice(1).every((c: any) => c.status === 200)).toBe(true);
  });

  // Issue 17 M2: GitHub does not redeliver a failed delivery by itself, so the 503 this answered
  // before lost the leak (unless its repository was in GITHUB_ALERT_SCOPES).
  it(
    "GitHub down when fetching the alert: 202 queued, the rotator fetches it again after a retry and contains it",
    async () => {
      const { keyId, credentialId } = await managedKey("fetch-down");
      const alert = await gh.alert(keyId);
      const path = `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`;
      // The route's fetch and the rotator's first try fail; the bus's retry (its backoff) gets it.
      await gh.fault("GET", path, { status: 503 }, 2);
      const down = await postDelivery(alert.delivery);
      expect(down.status, down.text).toBe(202);
      expect(down.json).toEqual({ status: "queued" });
      // The claim was completed: a redelivery of the same delivery does not act (or fetch) again.
      const again = await postDelivery(alert.delivery);
      expect(again.status).toBe(200);
      expect(again.json).toEqual({ status: "duplicate" });

      await until(
        "the leaked key to be deleted at Clarifai",
        async () => !(await tenant.state()).keys.some((k: any) => k.id === keyId),
        40_000,
      );
      const done = await until("the compromise rotation to complete", async () => {
        const cred = (await call("GET", `/v1/credentials/${credentialId}`)).json.credential;
        return cred.last_rotation?.state === "done" && cred.last_rotation;
      }, 20_000);
      expect(done.reason).toBe("compromise");
      const rotation = await waitForRotation(done.id, 5_000);
      // Containment time counts from the webhook's arrival, the outage included.
      expect(rotation.requested_by).toBe(`github:${gh.repository}#${alert.number}`);
      const replacement = (await tenant.state()).keys.find((k: any) => String(k.description).includes(done.id));
      expect(replacement).toBeDefined();
      leaks.secrets.push(replacement.id);
      const gets = (await gh.state()).calls.filter((c: any) => c.method === "GET" && c.path === path);
      expect(gets.map((c: any) => c.status).slice(0, 3)).toEqual([503, 503, 200]);

      // The owed fetch in the audit trail names the alert, never its secret; so does every entry.
      const owed = await until("github.alert_fetch_owed in the audit trail", async () => {
        const entries = (await call("GET", "/v1/audit?type=github.alert_fetch_owed&limit=100")).json.entries as any[];
        return entries.find((e) => e.data.alert_number === alert.number && e.actor?.includes(gh.repository));
      });
      expect(owed.data).toMatchObject({
        actor: `github:${gh.repository}#${alert.number}`,
        installation_id: gh.installation,
        delivery_id: alert.delivery.headers["x-github-delivery"],
      });
      const trail = await until("credential.revoked in the audit trail", async () => {
        const entries = (await call("GET", `/v1/audit?credential_id=${credentialId}&limit=100`)).json.entries as any[];
        return entries.some((e) => e.type === "credential.revoked") && entries;
      });
      expect(trail.map((e: any) => e.type)).toEqual(
        expect.arrayContaining(["credential.compromised", "github.alert_linked", "credential.revoked"]),
      );
      for (const text of [JSON.stringify(owed), JSON.stringify(trail)]) {
        expect(text).not.toContain(keyId);
        expect(text).not.toContain(replacement.id);
      }
    },
    60_000,
  );

  it(
    "GitHub refusing the owed fetch for good (404): it dies at once, and the notice names the repository and alert",
    async () => {
      const { keyId, credentialId } = await managedKey("fetch-gone");
      const alert = await gh.alert(keyId);
      const path = `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`;
      await gh.fault("GET", path, { status: 503 }, 1);
      await gh.fault("GET", path, { status: 404 }, 5);
      const down = await postDelivery(alert.delivery);
      expect(down.status, down.text).toBe(202);
      expect(down.json).toEqual({ status: "queued" });
      const notice = await until("the owed fetch's dead letter notice", async () => {
        const entries = (await call("GET", "/v1/audit?type=event.dead_lettered&limit=100")).json.entries as any[];
        return entries.find((e) => e.data.github_alert === `github:${gh.repository}#${alert.number}`);
      });
      expect(notice.data).toMatchObject({
        event_type: "github.alert_fetch_owed",
        reason: "permanent",
        handler: "rotator",
        error_code: "github_not_found",
      });
      // Not retried: one 404, and nothing contained (the notice is what a human acts on).
      const gets = (await gh.state()).calls.filter((c: any) => c.method === "GET" && c.path === path);
      expect(gets.map((c: any) => c.status)).toEqual([503, 404]);
      expect((await tenant.state()).keys.some((k: any) => k.id === keyId)).toBe(true);
      expect((await call("GET", `/v1/credentials/${credentialId}`)).json.credential.current_rotation_id).toBeNull();
      // Slack's notice says which alert, never a secret.
      const slack = await until("the notice at Slack", async () => {
        const posts = await received("/slack/incoming");
        return posts.find((r) => r.body.includes(notice.data.event_id));
      });
      expect(slack.body).toContain(`GitHub alert \`${gh.repository}#${alert.number}\``);
      expect(slack.body).not.toContain(keyId);
      // Dead for good, so the delivery's claim was released: a redelivery from GitHub's UI is acted
      // on (fetched again: GitHub still answers 404, so the route's own 502), not a duplicate.
      const redelivered = await postDelivery(alert.delivery);
      expect(redelivered.status, redelivered.text).toBe(502);
      expect(redelivered.json.error.code).toBe("github_refused");
      const after = (await gh.state()).calls.filter((c: any) => c.method === "GET" && c.path === path);
      expect(after.map((c: any) => c.status)).toEqual([503, 404, 404]);
    },
    30_000,
  );

  it("GitHub refusing the fetch (404): 502 github_refused, and a redelivery after is acted on", async () => {
    const { keyId } = await managedKey("fetch-refused");
    const alert = await gh.alert(keyId);
    await gh.fault("GET", `/repos/${gh.repository}/secret-scanning/alerts/${alert.number}`, { status: 404 }, 1);
    const refused = await postDelivery(alert.delivery);
    expect(refused.status).toBe(502);
    expect(refused.json.error.code).toBe("github_refused");
    const later = await postDelivery(alert.delivery);
    expect(later.status).toBe(202);
    expect(later.json.action).toBe("rotation");
  });

  it("bad input: no event or delivery header, not JSON, no alert number, too large: 4xx with a code", async () => {
    const body = JSON.stringify({ action: "created", repository: { full_name: gh.repository } });
    const sig = await signGithubWebhook(GITHUB_WEBHOOK_SECRET, body);
    const base = {
      "content-type": "application/json",
      "x-hub-signature-256": sig,
      "x-github-delivery": crypto.randomUUID(),
    };
    const post = (headers: Record<string, string>, b = body) =>
      call("POST", "/hooks/github/events", b, { authorization: "", ...headers });
    expect((await post(base)).json.error.code).toBe("invalid_request"); // no X-GitHub-Event
    const noAlert = await post({ ...base, "x-github-event": "secret_scanning_alert" });
    expect(noAlert.status).toBe(400);
    expect(noAlert.json.error.code).toBe("invalid_request");
    const notJson = "{not json";
    const bad = await post(
      {
        ...base,
        "x-github-event": "secret_scanning_alert",
        "x-hub-signature-256": await signGithubWebhook(GITHUB_WEBHOOK_SECRET, notJson),
      },
      notJson,
    );
    expect(bad.status).toBe(400);
    const huge = "x".repeat(70 * 1024);
    const tooLarge = await post({ ...base, "x-github-event": "ping" }, huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json.error.code).toBe("payload_too_large");
  });
});
