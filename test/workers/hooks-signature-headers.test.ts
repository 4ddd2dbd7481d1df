/**
 * Issue 14 item 10: signatures split across repeated `webhook-signature` headers are one list
 * (Standard Webhooks: any entry that verifies is enough). On the real Worker, through
 * `exports.default.fetch`: a verified alert that matches nothing is 404 credential_not_found; one
 * that does not verify is 401.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signStandardWebhook } from "../../src/core/notify/sign-webhook.ts";

const OTHER = "v1,Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmE=";

async function post(signatures: (good: string) => string[]) {
  const body = JSON.stringify({ fingerprint: "f".repeat(64) });
  const id = `msg_${crypto.randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const good = await signStandardWebhook({ secret: env.ALERT_WEBHOOK_SECRET as string, id, timestamp, body });
  const headers = new Headers({
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
  });
  for (const s of signatures(good)) headers.append("webhook-signature", s);
  const res = await exports.default.fetch("http://rekey.test/hooks/alerts", { method: "POST", headers, body });
  return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
}

describe("repeated webhook-signature headers on /hooks/alerts", () => {
  it("accept the trusted signature in the first of two headers", async () => {
    expect(await post((good) => [good, OTHER])).toEqual({ status: 404, code: "credential_not_found" });
  });

  it("accept it in the second, and in a list inside one of them", async () => {
    expect(await post((good) => [OTHER, good])).toEqual({ status: 404, code: "credential_not_found" });
    expect(await post((good) => [`${OTHER} ${good}`, OTHER])).toEqual({ status: 404, code: "credential_not_found" });
  });

  it("still refuse when no header holds a trusted signature", async () => {
    expect(await post(() => [OTHER, OTHER])).toEqual({ status: 401, code: "invalid_signature" });
  });
});
