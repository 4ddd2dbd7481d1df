/**
 * POST /hooks/github/secret-scanning: GitHub's secret scanning partner alerts.
 *
 * The signature (ECDSA P-256 over the raw body, key chosen by Github-Public-Key-Identifier) is
 * verified before a byte is parsed. The answer is GitHub's feedback format, labelling each token
 * `true_positive` (it is, or was, a managed credential) or `false_positive`. Feedback uses
 * `token_hash` (SHA-256, hex) rather than `token_raw`: echoing a leaked token back, even to GitHub,
 * is one copy too many.
 *
 * A batch of any size the body limit allows (up to MAX_GITHUB_TOKENS) is handled within one
 * invocation's limits (Workers free plan: 50 subrequests, 1,000 KV operations), because the work
 * that grows with the batch is either CPU or bulk:
 * - every token is fingerprinted and hashed (CPU only), and the fingerprints are looked up in bulk
 *   (`findCredentialsByFingerprints`: one KV operation per 100 distinct fingerprints);
 * - the first match is read (strongly consistent) and contained at once in this invocation
 *   (`waitUntil`), as a one-token alert always was, when the events leave room for it (below);
 * - every other match gets its durable `credential.compromised` event only (sent 100 per
 *   subrequest with `alert.received`); the queue consumer's rotator contains each from the event
 *   (credential id + fingerprint prefix), in its own invocations.
 *
 * GitHub signs no timestamp or nonce, so a captured alert can be replayed; that is harmless here
 * because containment is idempotent: a replay joins the running rotation or finds the value dead,
 * and its events carry the same ids (derived from the body), so handlers see duplicates.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../app-env.ts";
import { GithubKeys } from "../../core/alerts/github-keys.ts";
import { contain } from "../../core/alerts/contain.ts";
import { type LeakMatch, matchRecord } from "../../core/alerts/match-leak.ts";
import type { BusEvent } from "../../core/bus/events.ts";
import { deriveId, newEvent } from "../../core/bus/new-event.ts";
import { encodeHex } from "../../core/crypto/encoding.ts";
import { fingerprint, fingerprintPrefix } from "../../core/crypto/fingerprint.ts";
import { verifyGithubSignature } from "../../core/inbound/github-secret-scanning.ts";
import { AppError } from "../../http/app-error.ts";
import { loneSurrogatePath } from "../../http/validate.ts";

/**
 * Tokens per alert. `alert.received` counts them (≤ 10,000 by its schema), and 10,000 realistic
 * items (token, type, a blob URL, source: ~200 bytes each) fit MAX_GITHUB_ALERT_BYTES (src/app.ts).
 */
export const MAX_GITHUB_TOKENS = 10_000;

/**
 * The request invocation's budget under the Workers free plan's 50 subrequests (Durable Object
 * calls, queue sends and outbound fetches together; KV operations are limited apart, 1,000).
 * - GitHub's public keys: at most 2 fetches (a cached list, refreshed once on an unknown key id).
 * - The fast path: one matched credential read and contained in this invocation, a compromise
 *   rotation driven in `waitUntil`: 41 subrequests measured (30 Durable Object calls, 4 Clarifai
 *   calls, 7 sends of the engine's events; test/workers/github-large-batch.test.ts prints the
 *   request's total), 42 kept. Transient Clarifai failures retried inside the drive add to it, as
 *   they did for a one-token alert before.
 * - The alert's events: one queue send per 100 (`sendBatch`).
 * So the fast path runs only while the events fit beside it (≤ 599 matched credentials); a larger
 * alert queues everything (≤ 48 sends: 4,799 matched credentials and the `alert.received`) and the
 * consumer starts containing within its batch timeout.
 */
const SUBREQUEST_LIMIT = 50;
const KEY_FETCHES = 2;
const FAST_PATH_SUBREQUESTS = 42;
const EVENTS_PER_SEND = 100;
/** Matched credentials contained in the request's own invocation. */
const FAST_PATH_CONTAINMENTS = 1;

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
  .max(MAX_GITHUB_TOKENS);

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
    const json: unknown = JSON.parse(new TextDecoder().decode(body));
    if (loneSurrogatePath(json) !== undefined) throw new Error("not Unicode");
    const result = githubAlertSchema.safeParse(json);
    if (!result.success) throw new Error("shape");
    parsed = result.data;
  } catch {
    throw new AppError(400, "invalid_request", `The alert is not a list of 1 to ${MAX_GITHUB_TOKENS} {token, type, url, source}`);
  }

  const engine = await deps.engine();
  const alertId = await deriveId("alrt", "github", await sha256Hex(body));
  const now = deps.now();
  // CPU only: a keyed fingerprint to look up and an unkeyed hash to answer with, per token.
  const fps = await Promise.all(parsed.map((item) => fingerprint(engine.fingerprintKey, item.token)));
  const hashes = await Promise.all(parsed.map((item) => sha256Hex(item.token)));
  // One KV operation per 100 distinct fingerprints; no record is read for a token that matches nothing.
  const index = await engine.store.findCredentialsByFingerprints(fps);

  // Each (credential, leaked value) once, in the order GitHub listed them.
  const leaks = new Map<string, string>(); // fingerprint → credential id
  for (const fp of fps) {
    const id = index.get(fp);
    if (id && !leaks.has(fp)) leaks.set(fp, id);
  }
  // The fast path: the first matches are read from the strongly consistent record, which decides
  // whether the value is current, previous, already dead or (a lagging index) not this record's.
  const sendsFor = (events: number) => Math.ceil(events / EVENTS_PER_SEND);
  const withFastPath = sendsFor(leaks.size + 1) <= SUBREQUEST_LIMIT - KEY_FETCHES - FAST_PATH_SUBREQUESTS;
  const fast = new Map<string, LeakMatch>();
  for (const [fp, id] of [...leaks].slice(0, withFastPath ? FAST_PATH_CONTAINMENTS : 0)) {
    const found = await engine.store.getCredential(id);
    fast.set(fp, found ? matchRecord(found.value, fp) : { kind: "none" });
  }
  const matchedFp = (fp: string) => {
    const m = fast.get(fp);
    return m ? m.kind !== "none" : leaks.has(fp);
  };

  // Durable events first: once they are queued, containment no longer depends on this invocation.
  // A value the fast path found dead (or not there) raises nothing new; every other match is
  // re-read from its record by the rotator, which does nothing for a dead value either.
  const compromised: BusEvent[] = [];
  for (const [fp, credentialId] of leaks) {
    const m = fast.get(fp);
    if (m && (m.kind === "none" || m.kind === "already_revoked")) continue;
    compromised.push(
      newEvent(
        "credential.compromised",
        { credential_id: credentialId, fingerprint_prefix: fingerprintPrefix(fp), alert_source: "github", alert_id: alertId, reason: "token_match" },
        {
          source: "/rekey/hooks/github",
          subject: `credential/${credentialId}`,
          // As publishContainment: one event per (alert, credential, value), so a redelivery is a duplicate.
          id: await deriveId("evt", "compromised", alertId, credentialId, fp),
          now,
        },
      ),
    );
  }
  const matched = parsed.filter((_, i) => matchedFp(fps[i]!)).length;
  const received = newEvent("alert.received", { alert_source: "github", alert_id: alertId, token_count: parsed.length, matched_count: matched }, {
    source: "/rekey/hooks/github",
    id: await deriveId("evt", "alert", alertId),
    now,
  });
  const capacity = (SUBREQUEST_LIMIT - KEY_FETCHES) * EVENTS_PER_SEND - 1;
  await deps.bus.publishAll([...compromised.slice(0, capacity), received]);
  if (compromised.length > capacity) {
    // More managed credentials (4,800+) leaked in one alert than one invocation can queue events
    // for. The first ones are queued and will be contained. GitHub's redelivery republishes the
    // same first ones (duplicates), so the rest are not reached by retrying: the 5xx and the log
    // (ids and counts only) tell an operator to act.
    console.error(JSON.stringify({ level: "error", msg: "github.alert_too_many_matches", alert_id: alertId, matched_credentials: compromised.length, queued: capacity }));
    throw new AppError(503, "alert_too_large", `The alert matches ${compromised.length} managed credentials; ${capacity} were queued for containment`);
  }

  // Fast path: begin (or join) containment now and drive it after the response.
  for (const m of fast.values()) {
    if (m.kind !== "current" && m.kind !== "previous") continue;
    try {
      const c = await contain(engine, m, "github");
      if (c.action === "rotation" || c.action === "revoke_previous") deps.defer(c.run());
    } catch (error) {
      // The queued event contains it instead; nothing about the value is logged.
      console.error(JSON.stringify({ level: "warn", msg: "github.fast_path_failed", alert_id: alertId, credential_id: m.credential.id, error: error instanceof Error ? error.name : "unknown" }));
    }
  }

  const feedback = parsed.map((item, i) => ({ token_hash: hashes[i]!, token_type: item.type, label: matchedFp(fps[i]!) ? ("true_positive" as const) : ("false_positive" as const) }));
  return c.json(feedback, 200);
});
