/**
 * P2: signed-webhook ingest throughput. The same Node load generator (fetch, fixed concurrency,
 * fixed request count) sends identical signed Standard Webhooks alerts to rekey's POST
 * /hooks/alerts and to a bare Hono route returning 200, both under `wrangler dev --local`
 * (workerd). Every alert is validly signed with a fresh webhook-id and names a leaked value that
 * matches no credential, so rekey does all of its ingest work (verify, parse, replay-id claim in
 * the ledger Durable Object, fingerprint, index lookup) and answers 404 without starting a
 * rotation: this measures ingest, not Clarifai. Rounds alternate bare / rekey so drifting load from
 * elsewhere on the machine falls on both; the ratio is of the medians. A third kind of round sends
 * alerts signed with the wrong secret (401 after verification, before any storage) to show how
 * much of rekey's cost is the framework and HMAC and how much the ledger and index lookups.
 */
import { signStandardWebhook } from "../src/core/notify/sign-webhook.ts";
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
  ctx: { rekey: string; bare: string; alertSecret: string },
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
  const rekeyStatuses: Record<number, number> = {};
  for (let r = 0; r < opts.rounds; r++) {
    const b = await round_(ctx.bare, opts.requests);
    if (Object.keys(b.statuses).some((s) => s !== "200")) {
      throw new Error(`Bare worker answered ${JSON.stringify(b.statuses)}`);
    }
    bare.push(b.rps);
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
  return {
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
