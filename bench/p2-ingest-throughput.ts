/**
 * P2: signed-webhook ingest throughput. The same Node load generator (fetch, fixed concurrency,
 * fixed request count) sends identical signed Standard Webhooks alerts to rekey's POST
 * /hooks/alerts and to a bare Hono route returning 200, both under `wrangler dev --local`
 * (workerd). Every alert is validly signed with a fresh webhook-id and names a leaked value that
 * matches no credential, so rekey does all of its ingest work (verify, parse, fingerprint, index
 * lookup; an alert that matches nothing claims no replay id) and answers 404 without starting a
 * rotation: this measures ingest, not Clarifai. Rounds alternate bare / rekey so drifting load from
 * elsewhere on the machine falls on both; the ratio is of the medians. A third kind of round sends
 * alerts signed with the wrong secret (401 after verification, before any storage) to show how
 * much of rekey's cost is the framework and HMAC and how much the fingerprint and index lookup.
 *
 * GitHub's secret scanning partner alerts get their own rounds: batches of GITHUB_BATCH tokens that
 * match nothing, signed with the development demo key (ECDSA P-256, the key .dev.vars.example
 * trusts), to rekey's POST /hooks/github/secret-scanning and to the bare route on the same path,
 * alternating. rekey verifies, validates, fingerprints and hashes every token, looks them up in
 * bulk and answers the feedback list; each batch also publishes its `alert.received` event.
 *
 * A second floor, bench/fixtures/kv-floor, is sent the same requests in each round: the bare route
 * plus one Workers KV read of a missing key, the one storage round trip an unmatched alert cannot
 * skip (no cache may answer for the fingerprint index: it would miss a credential registered a
 * moment ago). Its rate says how much of the gap that read alone accounts for in this setup.
 */
import { signStandardWebhook } from "../src/core/notify/sign-webhook.ts";
import { encodeBase64 } from "../src/core/crypto/encoding.ts";
import { DEMO_GITHUB_KEY_ID, DEMO_GITHUB_PRIVATE_PKCS8 } from "../scripts/lib/demo-github-key.ts";
import { p1363ToDer } from "../scripts/lib/der-encode.ts";
import { load, median, round } from "./lib/stats.ts";

export interface P2Result {
  requests_per_round: number;
  rounds: number;
  concurrency: number;
  rekey_rps: number;
  bare_rps: number;
  rekey_rejected_rps: number;
  ratio: number;
  rekey_rounds_rps: number[];
  bare_rounds_rps: number[];
  rekey_statuses: Record<number, number>;
  /** GitHub partner alerts of `github_batch` tokens, matching nothing. */
  /** bench/fixtures/kv-floor: the bare route plus one KV read, sent the same requests. */
  kv_floor_rps: number;
  github_kv_floor_rps: number;
  github_batch: number;
  github_rekey_rps: number;
  github_bare_rps: number;
  github_ratio: number;
  github_rekey_rounds_rps: number[];
  github_bare_rounds_rps: number[];
}

/** Tokens per GitHub alert: a few leaked tokens per push is the common case. */
const GITHUB_BATCH = 10;
let githubKey: Promise<CryptoKey> | undefined;
async function githubAlerts(n: number) {
  githubKey ??= crypto.subtle.importKey(
    "pkcs8",
    Uint8Array.from(Buffer.from(DEMO_GITHUB_PRIVATE_PKCS8, "base64")),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const key = await githubKey;
  const hex = () =>
    [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return Promise.all(
    Array.from({ length: n }, async () => {
      const body = JSON.stringify(
        Array.from({ length: GITHUB_BATCH }, () => ({
          token: hex(),
          type: "clarifai_pat",
          url: `https://github.com/octo-org/octo-repo/blob/${hex().slice(0, 12)}/config/settings.py`,
          source: "content",
        })),
      );
      const sig = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(body)),
      );
      return {
        body,
        headers: {
          "content-type": "application/json",
          "github-public-key-identifier": DEMO_GITHUB_KEY_ID,
          "github-public-key-signature": encodeBase64(p1363ToDer(sig)),
        },
      };
    }),
  );
}

const WRONG_SECRET = "whsec_" + btoa("not-the-alert-secret-of-this-rekey!");
let seq = 0;
async function signedAlerts(n: number, secret: string) {
  const ts = Math.floor(Date.now() / 1000);
  return Promise.all(
    Array.from({ length: n }, async () => {
      const value = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join(
        "",
      );
      const body = JSON.stringify({ value, reason: "bench", source: "bench" });
      const id = `msg_p2_${process.pid}_${seq++}`;
      const signature = await signStandardWebhook({ secret, id, timestamp: ts, body });
      return {
        body,
        headers: {
          "content-type": "application/json",
          "webhook-id": id,
          "webhook-timestamp": String(ts),
          "webhook-signature": signature,
        },
      };
    }),
  );
}

export async function runP2(
  ctx: { rekey: string; bare: string; kvFloor: string; alertSecret: string },
  opts: { requests: number; rounds: number; concurrency: number; warmup: number; log: (s: string) => void },
): Promise<P2Result> {
  const round_ = async (base: string, n: number, secret = ctx.alertSecret) => {
    const prepared = await signedAlerts(n, secret);
    return load(
      prepared.map((p) => () => fetch(`${base}/hooks/alerts`, { method: "POST", headers: p.headers, body: p.body })),
      opts.concurrency,
    );
  };
  opts.log(
    `P2: ${opts.rounds} × ${opts.requests} signed alerts at ${opts.concurrency} in flight, bare and rekey alternating...`,
  );
  await round_(ctx.bare, opts.warmup);
  await round_(ctx.rekey, opts.warmup);
  const bare: number[] = [];
  const rekey: number[] = [];
  const rejected: number[] = [];
  const kvFloor: number[] = [];
  const rekeyStatuses: Record<number, number> = {};
  for (let r = 0; r < opts.rounds; r++) {
    const b = await round_(ctx.bare, opts.requests);
    if (Object.keys(b.statuses).some((s) => s !== "200")) {
      throw new Error(`Bare worker answered ${JSON.stringify(b.statuses)}`);
    }
    bare.push(b.rps);
    const f = await round_(ctx.kvFloor, opts.requests);
    if (Object.keys(f.statuses).some((s) => s !== "404")) {
      throw new Error(`The KV floor worker answered ${JSON.stringify(f.statuses)}`);
    }
    kvFloor.push(f.rps);
    const k = await round_(ctx.rekey, opts.requests);
    for (const [s, n] of Object.entries(k.statuses)) rekeyStatuses[Number(s)] = (rekeyStatuses[Number(s)] ?? 0) + n;
    // 404 credential_not_found is the expected answer; anything else means the bench is wrong.
    if (Object.keys(k.statuses).some((s) => s !== "404")) {
      throw new Error(`rekey answered ${JSON.stringify(k.statuses)}`);
    }
    rekey.push(k.rps);
    const x = await round_(ctx.rekey, opts.requests, WRONG_SECRET);
    if (Object.keys(x.statuses).some((s) => s !== "401")) {
      throw new Error(`rekey answered a wrongly signed alert ${JSON.stringify(x.statuses)}`);
    }
    rejected.push(x.rps);
  }

  opts.log(
    `P2: ${opts.rounds} × ${opts.requests} GitHub alerts of ${GITHUB_BATCH} tokens, bare and rekey alternating...`,
  );
  const githubRound = async (base: string, n: number) => {
    const prepared = await githubAlerts(n);
    return load(
      prepared.map((p) => () =>
        fetch(`${base}/hooks/github/secret-scanning`, { method: "POST", headers: p.headers, body: p.body })
      ),
      opts.concurrency,
    );
  };
  await githubRound(ctx.bare, opts.warmup);
  await githubRound(ctx.rekey, opts.warmup);
  const ghBare: number[] = [];
  const ghRekey: number[] = [];
  const ghKvFloor: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const b = await githubRound(ctx.bare, opts.requests);
    if (Object.keys(b.statuses).some((s) => s !== "200")) {
      throw new Error(`Bare worker answered GitHub alerts ${JSON.stringify(b.statuses)}`);
    }
    ghBare.push(b.rps);
    const f = await githubRound(ctx.kvFloor, opts.requests);
    if (Object.keys(f.statuses).some((s) => s !== "200")) {
      throw new Error(`The KV floor worker answered GitHub alerts ${JSON.stringify(f.statuses)}`);
    }
    ghKvFloor.push(f.rps);
    const k = await githubRound(ctx.rekey, opts.requests);
    if (Object.keys(k.statuses).some((s) => s !== "200")) {
      throw new Error(`rekey answered GitHub alerts ${JSON.stringify(k.statuses)}`);
    }
    ghRekey.push(k.rps);
  }
  return {
    kv_floor_rps: round(median(kvFloor)),
    github_kv_floor_rps: round(median(ghKvFloor)),
    github_batch: GITHUB_BATCH,
    github_rekey_rps: round(median(ghRekey)),
    github_bare_rps: round(median(ghBare)),
    github_ratio: round(median(ghRekey) / median(ghBare), 3),
    github_rekey_rounds_rps: ghRekey.map((x) => round(x)),
    github_bare_rounds_rps: ghBare.map((x) => round(x)),
    requests_per_round: opts.requests,
    rounds: opts.rounds,
    concurrency: opts.concurrency,
    rekey_rps: round(median(rekey)),
    bare_rps: round(median(bare)),
    rekey_rejected_rps: round(median(rejected)),
    ratio: round(median(rekey) / median(bare), 3),
    rekey_rounds_rps: rekey.map((x) => round(x)),
    bare_rounds_rps: bare.map((x) => round(x)),
    rekey_statuses: rekeyStatuses,
  };
}
