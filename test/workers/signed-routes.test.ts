/**
 * The four signed routes (GitHub partner alerts, Standard Webhooks alerts, Slack, Discord) on the
 * real Worker read input one way: a signature refusal is mapped once (an unparseable timestamp is
 * `invalid_timestamp` on every route that signs one), and signed bad input gets the API's 400
 * envelope {"error":{"code","message","issues"}} with the failing paths, never the values sent.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";
import { call } from "../support/api.ts";
import { DISCORD_ALICE, discordInteraction, discordSigned, slackSigned } from "../support/chat.ts";
import { signedGithubAlert } from "../support/github-test-key.ts";

const MARK = "do-not-echo-0123456789abcdef";

async function webhookSigned(body: string, timestamp: string = String(Math.floor(Date.now() / 1000))) {
  const id = `msg_${crypto.randomUUID()}`;
  const signature = await signStandardWebhook({
    secret: env.ALERT_WEBHOOK_SECRET as string,
    id,
    timestamp: Number(timestamp) || 0,
    body,
  });
  return call("POST", "/hooks/alerts", body, {
    authorization: "",
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signature,
  });
}

const githubSigned = async (body: string) =>
  call("POST", "/hooks/github/secret-scanning", body, { authorization: "", ...(await signedGithubAlert(body)) });

function expectEnvelope(res: { status: number; json: any; text: string }, issue: { path: string; code?: string }) {
  expect(res.status).toBe(400);
  expect(res.json.error).toEqual({
    code: "invalid_request",
    message: expect.any(String),
    issues: expect.arrayContaining([expect.objectContaining(issue)]),
  });
  expect(res.text).not.toContain(MARK);
}

describe("signed routes: one verify-and-parse path", () => {
  it("an unparseable signed timestamp is 401 invalid_timestamp on every route that signs one", async () => {
    const webhook = await webhookSigned(JSON.stringify({ credential_id: "cred_x" }), "now");
    expect([webhook.status, webhook.json.error.code]).toEqual([401, "invalid_timestamp"]);
    const discord = await discordSigned(discordInteraction(1, DISCORD_ALICE).body, { timestamp: "now" });
    expect([discord.status, discord.json.error.code]).toEqual([401, "invalid_timestamp"]);
    const slack = await call("POST", "/chatops/slack/commands", "command=%2Frekey", {
      authorization: "",
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": "now",
      "x-slack-signature": `v0=${"0".repeat(64)}`,
    });
    expect([slack.status, slack.json.error.code]).toEqual([401, "invalid_timestamp"]);
  });

  it("GitHub: a signed list whose item lacks its type is 400 with the envelope", async () => {
    expectEnvelope(await githubSigned(JSON.stringify([{ token: MARK }])), { path: "0.type" });
  });

  it("Standard Webhooks: a signed body of the wrong shape is 400 with the envelope", async () => {
    expectEnvelope(await webhookSigned(JSON.stringify({ value: MARK, reason: 5 })), { path: "reason" });
  });

  it("Slack: a signed command without its user is 400 with the envelope", async () => {
    const body = new URLSearchParams({
      command: "/rekey",
      text: MARK,
      response_url: "https://hooks.slack.com/commands/x",
    }).toString();
    expectEnvelope(await slackSigned("/chatops/slack/commands", body), { path: "user_id" });
  });

  it("Discord: a signed interaction without its application id is 400 with the envelope", async () => {
    const body = JSON.stringify({ type: 2, id: "1", token: MARK });
    expectEnvelope(await discordSigned(body), { path: "application_id" });
  });

  it("signed bytes that are not JSON are 400 invalid_request, nothing echoed", async () => {
    for (
      const res of [await githubSigned(`[${MARK}`), await webhookSigned(`{${MARK}`), await discordSigned(`{${MARK}`)]
    ) {
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(res.text).not.toContain(MARK);
    }
  });
});
