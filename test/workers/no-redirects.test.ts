/**
 * Issue 14 item 3: no outbound call follows a redirect. A followed redirect sends the request to the
 * host the `Location` names: for Clarifai that is the key id (the token) in the URL path, and the
 * other host's 404 read as "already deleted"; for notifications and chat replies it is the signed
 * event or the channel's message. Every 3xx is a permanent failure with code `unexpected_redirect`.
 *
 * The Clarifai case runs on the real Worker against the Node-hosted emulator. The posters (webhooks,
 * Slack, Discord) and the GitHub keys fetch are called directly, over loopback to the local receiver
 * (test/setup/receiver.ts), on paths of their own so parallel test files are not disturbed.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { GithubKeys } from "../../src/core/alerts/github-keys.ts";
import { postReply } from "../../src/core/chatops/reply.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";
import { deliver } from "../../src/core/notify/deliver.ts";
import { Failure } from "../../src/core/failure.ts";
import type { Target } from "../../src/core/notify/targets.ts";
import { call, waitForRotation } from "../support/api.ts";
import { registerAppKey } from "../support/app-key.ts";
import { registerManager } from "../support/manager.ts";
import { control, freshTenant } from "../support/emulator-control.ts";
import { received, receiverUrl } from "../support/receiver.ts";

const run = crypto.randomUUID().slice(0, 8);

/** The next request to `from` on the receiver answers `status` with a Location naming `to`. */
async function redirect(from: string, to: string, status: number) {
  await fetch(`${receiverUrl()}/_status`, {
    method: "POST",
    body: JSON.stringify({ path: from, status, location: `${receiverUrl()}${to}` }),
  });
}

describe("Clarifai redirects, on the real Worker", () => {
  let tenant: Awaited<ReturnType<typeof freshTenant>>;
  let managerId: string;

  beforeAll(async () => {
    tenant = await freshTenant("noredirect");
    managerId = await registerManager(tenant);
  });

  it("a redirected delete fails the revocation with unexpected_redirect, the key stays live and is not recorded as revoked", async () => {
    const { key, id } = await registerAppKey(tenant, { managerId, policy: { grace_hours: 0 } });
    // The Location is the receiver: if fetch followed it, the key id would arrive there in the path
    // and the receiver's 404 would be taken for "already deleted".
    const trap = `/redirect-trap/${run}/clarifai`;
    await fetch(`${receiverUrl()}/_status`, {
      method: "POST",
      body: JSON.stringify({ path: trap, status: 404, count: 10 }),
    });
    // Scoped to this file's own user, so parallel files are not disturbed.
    await control("faults", {
      method: "DELETE",
      path: `/v2/users/${tenant.userId}/keys/*`,
      status: 307,
      location: `${receiverUrl()}${trap}`,
    });

    const started = await call("POST", `/v1/credentials/${id}/revoke`);
    expect(started.status).toBe(202);
    const rotation = await waitForRotation(started.json.rotation.id);

    expect(rotation.state).toBe("failed");
    expect(rotation.error.code).toBe("unexpected_redirect");
    expect(await received(trap)).toEqual([]);
    expect((await tenant.state()).keys.map((k: { id: string }) => k.id)).toContain(key.id);
    expect((await call("GET", `/v1/credentials/${id}`)).json.credential.state).not.toBe("revoked");
  });
});

describe("outbound posters and the GitHub keys fetch, over loopback to the local receiver", () => {
  const event = newEvent("rotation.completed", sampleData["rotation.completed"], {
    source: "/rekey/engine",
    now: Date.now(),
  });

  for (const status of [301, 302, 307, 308]) {
    it(`a signed webhook answered ${status} is a permanent unexpected_redirect, and the Location gets nothing`, async () => {
      const from = `/redirect/${run}/webhook-${status}`;
      const to = `/redirect-trap/${run}/webhook-${status}`;
      await redirect(from, to, status);
      const target: Target = {
        kind: "webhook",
        id: "redirecting",
        url: `${receiverUrl()}${from}`,
        secret: "whsec_dGVzdC1vdXRib3VuZC13ZWJob29rLXNlY3JldCE=",
      };
      const failure = await deliver(target, event, Date.now()).then(() => undefined, (e: unknown) => e);
      expect(failure).toBeInstanceOf(Failure);
      expect(failure).toMatchObject({ tag: "delivery", retryable: false, code: "unexpected_redirect" });
      expect(await received(from)).toHaveLength(1);
      expect(await received(to)).toEqual([]);
    });
  }

  for (const platform of ["slack", "discord"] as const) {
    it(`a ${platform} reply answered 302 is a permanent unexpected_redirect, and the Location gets nothing`, async () => {
      const from = `/redirect/${run}/${platform}-reply`;
      const to = `/redirect-trap/${run}/${platform}-reply`;
      await redirect(from, to, 302);
      const failure = await postReply({ platform, url: `${receiverUrl()}${from}` }, { text: "done" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toMatchObject({ retryable: false, code: "unexpected_redirect" });
      expect(await received(to)).toEqual([]);
    });
  }

  it("GitHub keys behind a redirect are not fetched from the Location", async () => {
    const from = `/redirect/${run}/github-keys`;
    const to = `/redirect-trap/${run}/github-keys`;
    // The Location would serve valid keys: following it would make them trusted.
    await fetch(`${receiverUrl()}/_status`, {
      method: "POST",
      body: JSON.stringify({ path: to, status: 200, body: env.GITHUB_SECRET_SCANNING_KEYS }),
    });
    await redirect(from, to, 302);
    expect(await new GithubKeys(undefined, `${receiverUrl()}${from}`, () => Date.now()).get()).toBeNull();
    expect(await received(to)).toEqual([]);
  });
});
