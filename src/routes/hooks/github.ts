/**
 * POST /hooks/github/secret-scanning: GitHub's secret scanning partner alerts.
 *
 * The signature (ECDSA P-256 over the raw body, key chosen by Github-Public-Key-Identifier) is
 * verified before a byte is parsed. Each leaked token is fingerprinted and looked up; matches are
 * contained at once. The answer is GitHub's feedback format, labelling each token `true_positive`
 * (it is, or was, a managed credential) or `false_positive`. Feedback uses `token_hash` (SHA-256,
 * hex) rather than `token_raw`: echoing a leaked token back, even to GitHub, is one copy too many.
 *
 * GitHub signs no timestamp or nonce, so a captured alert can be replayed; that is harmless here
 * because containment is idempotent: a replay joins the running rotation or finds the value dead.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../app-env.ts";
import { GithubKeys } from "../../core/alerts/github-keys.ts";
import { matchLeakedValue } from "../../core/alerts/match-leak.ts";
import { deriveId, newEvent } from "../../core/bus/new-event.ts";
import { encodeHex } from "../../core/crypto/encoding.ts";
import { verifyGithubSignature } from "../../core/inbound/github-secret-scanning.ts";
import { AppError } from "../../http/app-error.ts";
import { publishContainment } from "./publish-containment.ts";

export const githubAlertSchema = z
  .array(
    z.object({
      token: z.string().min(1).max(4096),
      type: z.string().max(256),
      url: z.string().max(4096).optional(),
      source: z.string().max(64).optional(),
    }),
  )
  .min(1)
  .max(1000);

export const githubFeedbackSchema = z.array(
  z.strictObject({ token_hash: z.string(), token_type: z.string(), label: z.enum(["true_positive", "false_positive"]) }),
);

const keysByConfig = new Map<string, GithubKeys>();

async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  // Cast: Deno's WebCrypto types refuse a view that might be over a SharedArrayBuffer; this one never is.
  return encodeHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
}

export const github = new Hono<AppEnv>().post("/secret-scanning", async (c) => {
  const deps = c.var.deps;
  const body = new Uint8Array(await c.req.arrayBuffer());
  const cacheKey = `${deps.config.GITHUB_SECRET_SCANNING_KEYS ?? ""}|${deps.config.GITHUB_KEYS_URL}`;
  let keys = keysByConfig.get(cacheKey);
  if (!keys) keysByConfig.set(cacheKey, (keys = new GithubKeys(deps.config.GITHUB_SECRET_SCANNING_KEYS, deps.config.GITHUB_KEYS_URL, deps.now)));
  const headers = { keyId: c.req.header("github-public-key-identifier"), signature: c.req.header("github-public-key-signature") };
  let list = await keys.get();
  if (!list) throw new AppError(503, "not_configured", "GitHub secret scanning keys are unavailable");
  let verified = await verifyGithubSignature({ keys: list, ...headers, body });
  if (!verified.ok && verified.error.reason === "unknown_key" && (list = await keys.get({ refresh: true }))) {
    verified = await verifyGithubSignature({ keys: list, ...headers, body });
  }
  if (!verified.ok) throw new AppError(401, "invalid_signature", "The alert signature does not verify");

  let parsed: z.infer<typeof githubAlertSchema>;
  try {
    const result = githubAlertSchema.safeParse(JSON.parse(new TextDecoder().decode(body)));
    if (!result.success) throw new Error("shape");
    parsed = result.data;
  } catch {
    throw new AppError(400, "invalid_request", "The alert is not a list of {token, type, url, source}");
  }

  const engine = await deps.engine();
  const alertId = await deriveId("alrt", "github", await sha256Hex(body));
  let matched = 0;
  const feedback = [];
  for (const item of parsed) {
    const outcome = await publishContainment(deps, engine, await matchLeakedValue(engine, item.token), { source: "github", id: alertId, reason: "token_match" });
    if (outcome.matched) matched++;
    feedback.push({ token_hash: await sha256Hex(item.token), token_type: item.type, label: outcome.matched ? "true_positive" : "false_positive" });
  }
  await deps.bus.publish(
    newEvent("alert.received", { alert_source: "github", alert_id: alertId, token_count: parsed.length, matched_count: matched }, {
      source: "/rekey/hooks/github",
      id: await deriveId("evt", "alert", alertId),
      now: deps.now(),
    }),
  );
  return c.json(feedback, 200);
});
