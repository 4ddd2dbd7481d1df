/**
 * POST /hooks/github/secret-scanning: GitHub's secret scanning partner alerts.
 *
 * The signature (ECDSA P-256 over the raw body, key chosen by Github-Public-Key-Identifier) is
 * verified before a byte is parsed. The answer is GitHub's feedback format, labelling each token
 * `true_positive` (it is, or was, a managed credential) or `false_positive`. Feedback uses
 * `token_hash` (SHA-256, hex) rather than `token_raw`: echoing a leaked token back, even to GitHub,
 * is one copy too many.
 *
 * A batch larger than `GITHUB_INLINE_TOKENS` (default 100: core/alerts/deferred-tokens.ts) is
 * split across invocations, because its CPU grows with the batch (about 15 µs a token) and the
 * free plan allows 10 ms per invocation: the request verifies the signature and validates the
 * whole body (bad input is refused whole, with nothing queued), handles the first
 * `GITHUB_INLINE_TOKENS` tokens as below, and queues the rest sealed, in chunks of as many, as
 * `github.tokens_deferred` events, published with the inline part's events and before
 * `alert.received` (their sends counted in the request's budget): each chunk is matched in its own
 * consumer invocation, which publishes `credential.compromised` for its matches.
 *
 * Feedback labels the inline tokens only: whether a later token is a managed credential is not
 * known when the answer is sent. GitHub's feedback is optional per token, so the answer lists the
 * first `GITHUB_INLINE_TOKENS` items, in order, and says nothing of the rest.
 *
 * The inline part is handled within one invocation's limits (Workers free plan: 50 subrequests,
 * 1,000 KV operations), because the work that grows with it is either CPU or bulk:
 * - every token is fingerprinted and hashed (CPU only), and the fingerprints are looked up in bulk
 *   (`findCredentialsByFingerprints`: one KV operation per 100 distinct fingerprints);
 * - the first match is read (strongly consistent) and contained at once in this invocation
 *   (`waitUntil`), as a one-token alert always was, when the events leave room for it (the budget
 *   is in core/alerts/pipeline.ts, which does all of this);
 * - every other match gets its durable `credential.compromised` event only (sent 100 per
 *   subrequest with `alert.received`); the queue consumer's rotator contains each from the event
 *   (credential id + fingerprint prefix), in its own invocations.
 *
 * GitHub signs no timestamp or nonce, so a captured alert can be replayed; that is harmless here
 * because containment is idempotent: a replay joins the running rotation or finds the value dead,
 * and its events carry the same ids (derived from the body), so handlers see duplicates.
 */
import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { GithubKeys } from "../../core/alerts/github-keys.ts";
import { sealChunks } from "../../core/alerts/deferred-tokens.ts";
import { reportTokens } from "../../core/alerts/pipeline.ts";
import { deriveId } from "../../core/bus/new-event.ts";
import { encodeHex } from "../../core/crypto/encoding.ts";
import { fingerprintAll } from "../../core/crypto/fingerprint.ts";
import { verifyGithubSignature } from "../../core/inbound/github-secret-scanning.ts";
import { refused } from "../../http/on-error.ts";
import { signatureRefused, signedJson, validated } from "../../http/validate.ts";
import { checkGithubAlert, githubAlertSchema, MAX_GITHUB_TOKENS } from "./github-alert.ts";

export const githubFeedbackSchema = z.array(
  z.strictObject({
    token_hash: z.string(),
    token_type: z.string(),
    label: z.enum(["true_positive", "false_positive"]),
  }),
);

const keysByConfig = new Map<string, GithubKeys>();
// One encoder for every token of a batch (up to 10,000), not one each.
const utf8 = new TextEncoder();

/**
 * Lowercase hex SHA-256 of each input, in order. A batch's digests are started together and
 * encoded in one loop: per token, the cost is WebCrypto's call (bench P5: about 3 µs in workerd),
 * not an async step of our own around it.
 */
async function sha256HexAll(data: readonly Uint8Array[]): Promise<string[]> {
  // Cast: Deno's WebCrypto types refuse a view that might be over a SharedArrayBuffer; these never are.
  const digests = await Promise.all(data.map((d) => crypto.subtle.digest("SHA-256", d as Uint8Array<ArrayBuffer>)));
  return digests.map((d) => encodeHex(new Uint8Array(d)));
}

export const github = new Hono<AppEnv>().post("/secret-scanning", async (c) => {
  const services = c.var.services;
  // The start of the containment time a rotation it causes records (before the body is even read).
  const receivedAt = services.now();
  const body = new Uint8Array(await c.req.arrayBuffer());
  const cacheKey = `${services.config.GITHUB_SECRET_SCANNING_KEYS ?? ""}|${services.config.GITHUB_KEYS_URL}`;
  let keys = keysByConfig.get(cacheKey);
  if (!keys) {
    keysByConfig.set(
      cacheKey,
      keys = new GithubKeys(services.config.GITHUB_SECRET_SCANNING_KEYS, services.config.GITHUB_KEYS_URL, services.now),
    );
  }
  const headers = {
    keyId: c.req.header("github-public-key-identifier"),
    signature: c.req.header("github-public-key-signature"),
  };
  let list = await keys.get();
  if (!list) throw refused("not_configured", "GitHub secret scanning keys are unavailable");
  let verified = await verifyGithubSignature({ keys: list, ...headers, body });
  if (!verified.ok && verified.error.code === "unknown_key" && (list = await keys.get({ refresh: true }))) {
    verified = await verifyGithubSignature({ keys: list, ...headers, body });
  }
  if (!verified.ok) throw signatureRefused(verified.error, "alert", "GITHUB_SECRET_SCANNING_KEYS");
  const message = `The alert is not a list of 1 to ${MAX_GITHUB_TOKENS} {token, type, url, source}`;
  const json = signedJson(body, message);
  // The hand check (github-alert.ts: zod's walk of up to 10,000 items was a quarter of a 1,000
  // token batch's CPU); a refusal is answered by the schema, so the 400 is the same as before.
  const parsed = checkGithubAlert(json) ?? validated(githubAlertSchema, json, message);

  const engine = await services.engine();
  const alert = {
    source: "github",
    id: await deriveId("alrt", "github", (await sha256HexAll([body]))[0]!),
    reason: "token_match",
    receivedAt,
  } as const;
  // The inline part; the rest is matched in later invocations (core/alerts/deferred-tokens.ts).
  const inlineCount = services.config.GITHUB_INLINE_TOKENS;
  const inline = parsed.length > inlineCount ? parsed.slice(0, inlineCount) : parsed;
  // CPU only: a keyed fingerprint to look up and an unkeyed hash to answer with, per token, both
  // over the same UTF-8 bytes (encoded once).
  const tokens = inline.map((item) => utf8.encode(item.token) as Uint8Array<ArrayBuffer>);
  const [fps, hashes] = await Promise.all([fingerprintAll(engine.fingerprintKey, tokens), sha256HexAll(tokens)]);
  // The rest, sealed now: `reportTokens` publishes the chunks with its own events, before
  // `alert.received` (its presence means every chunk was queued), and counts their sends.
  const deferred = parsed.length > inline.length
    ? await sealChunks(
      engine.keyring,
      alert,
      parsed.slice(inline.length).map((item) => item.token),
      inline.length,
      inlineCount,
      receivedAt,
    )
    : [];
  const outcome = await reportTokens(services, engine, alert, fps, parsed.length, deferred);
  if (outcome.overflow) {
    // GitHub's redelivery republishes the same first ones (duplicates), so the rest are not
    // reached by retrying: the 5xx and the log (ids and counts only) tell an operator to act.
    const { matched, queued } = outcome.overflow;
    console.error(
      JSON.stringify({
        level: "error",
        msg: "github.alert_too_many_matches",
        alert_id: alert.id,
        matched_credentials: matched,
        queued,
      }),
    );
    throw refused(
      "alert_too_large",
      `The alert matches ${matched} managed credentials; ${queued} were queued for containment`,
    );
  }

  const feedback = inline.map((item, i) => ({
    token_hash: hashes[i]!,
    token_type: item.type,
    label: outcome.matched(fps[i]!) ? ("true_positive" as const) : ("false_positive" as const),
  }));
  return c.json(feedback, 200);
});
