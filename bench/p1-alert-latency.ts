/**
 * P1: time from a signed compromise alert to the leaked key being deleted at Clarifai (the
 * emulator), beside the floor: a bare script making the same upstream calls directly.
 *
 * Each alert names its own registered app key by value (the leaked-token path: fingerprint, index
 * lookup, compromise rotation whose first step is revoke_old). The clock starts just before the
 * alert is sent (already signed) and stops when the emulator's DELETE handler has answered 200.
 * The floor sample starts just before the script's own DELETE and stops at the same point; it then
 * finishes the rest of a compromise rotation's calls (list, create, verify) so a full-rotation
 * floor is reported too. A second, "platform" floor sends the same signed alert to
 * bench/fixtures/floor-worker in workerd, which verifies it and deletes the key, nothing more.
 * rekey, floor and platform-floor samples alternate, so noise from other load on the machine falls
 * on all of them alike.
 */
import { writeFileSync } from "node:fs";
import { signStandardWebhook } from "../src/core/notify/sign-webhook.ts";
import { percentile, round } from "./lib/stats.ts";
import type { WatchedEmulator } from "./lib/watched-emulator.ts";

export interface P1Result {
  alerts: number;
  warmup: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Until rekey's 202 answer arrived: the synchronous part (verify, ledger, lookup, begin). */
  answered_p50_ms: number;
  answered_p99_ms: number;
  floor_p50_ms: number;
  floor_p99_ms: number;
  floor_full_rotation_p50_ms: number;
  floor_full_rotation_p99_ms: number;
  platform_floor_p50_ms: number;
  platform_floor_p99_ms: number;
  platform_ratio_p99: number;
  ratio_p99: number;
  ratio_p50: number;
  upstream_calls_before_delete: string[];
  upstream_calls_rotation: string[];
  /** The whole P1 run, registration included (s): what a larger sample costs. */
  elapsed_s: number;
}

interface Ctx {
  rekey: string;
  /** bench/fixtures/floor-worker in workerd: verify, then DELETE, nothing else. */
  floor: string;
  adminToken: string;
  alertSecret: string;
  emulator: WatchedEmulator;
}

const USER = "bench";
const APP = "bench-app";
const DEADLINE_MS = 15_000;
/** Registrations in flight at once: setup, not timed, and 8 at a time takes a seventh as long. */
const REGISTER_CONCURRENCY = 8;
/**
 * How often the rotation's end is polled. Every poll is an admin request to the workerd that is
 * running the rotation: at 5 ms, some 40-60 per sample competed with the very work awaited (the
 * wait measured about 30% longer than at 20-25 ms on the 2-core machine).
 */
const POLL_MS = 20;

export async function runP1(
  ctx: Ctx,
  opts: { alerts: number; warmup: number; log: (s: string) => void },
): Promise<P1Result> {
  const { emulator } = ctx;
  const started = performance.now();
  const pat = emulator.seeded!.pat;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${ctx.rekey}${path}`, {
      method,
      headers: { authorization: `Bearer ${ctx.adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const clarifai = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${emulator.url}${path}`, {
      method,
      headers: { authorization: `Key ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
  const mint = async () => {
    const res = await fetch(`${emulator.url}/_emulator/users/${USER}/keys`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        type: "app_specific_key",
        scopes: ["Predict"],
        apps: [{ id: APP, user_id: USER }],
        description: "bench workload key",
      }),
    });
    return ((await res.json()) as any).key.id as string;
  };
  const within = <T>(p: Promise<T>, what: string) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    });
    // Cleared once settled: 400 live timers would keep the process up long after the run.
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  };

  const manager = await admin("POST", "/v1/credentials", {
    kind: "pat",
    user_id: USER,
    value: pat,
    description: "bench manager",
  });
  if (manager.status !== 201) {
    throw new Error(`Registering the manager PAT failed: ${manager.status} ${JSON.stringify(manager.json)}`);
  }
  const managerId = manager.json.credential.id as string;

  const total = opts.alerts + opts.warmup;
  opts.log(`P1: registering ${total} app keys with rekey...`);
  const creds: Array<{ id: string; key: string }> = new Array(total);
  let next = 0;
  await Promise.all(Array.from({ length: REGISTER_CONCURRENCY }, async () => {
    for (let i = next++; i < total; i = next++) {
      const key = await mint();
      const reg = await admin("POST", "/v1/credentials", {
        kind: "app_key",
        user_id: USER,
        value: key,
        manager_id: managerId,
        description: `bench ${i}`,
        policy: { grace_hours: 0, on_compromise: "rotate" },
      });
      if (reg.status !== 201) {
        throw new Error(`Registering app key ${i} failed: ${reg.status} ${JSON.stringify(reg.json)}`);
      }
      creds[i] = { id: reg.json.credential.id, key };
    }
  }));

  const alert = async (base: string, key: string, tag: string) => {
    const body = JSON.stringify({ value: key, reason: "bench", source: "bench" });
    const msgId = `msg_bench_${tag}_${Date.now()}`;
    const ts = Math.floor(Date.now() / 1000);
    const signature = await signStandardWebhook({ secret: ctx.alertSecret, id: msgId, timestamp: ts, body });
    const deleted = emulator.deleted(key);
    const t0 = performance.now();
    const res = await fetch(`${base}/hooks/alerts`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": msgId,
        "webhook-timestamp": String(ts),
        "webhook-signature": signature,
      },
      body,
    });
    return { t0, res, deleted };
  };

  const rekeyMs: number[] = [];
  const answeredMs: number[] = [];
  const platformMs: number[] = [];
  const floorMs: number[] = [];
  const floorFullMs: number[] = [];
  // P1_TRACE=<file>: every sample's moments as wall-clock ms (Date.now()'s clock, which a Worker's
  // own log lines carry too), to line samples up with what the workers logged meanwhile.
  const trace: Array<Record<string, number>> = [];
  const wall = (t: number) => Math.round((performance.timeOrigin + t) * 10) / 10;
  let callsBeforeDelete: string[] = [];
  let callsRotation: string[] = [];
  opts.log(`P1: ${opts.warmup} warm-up + ${opts.alerts} alerts, each followed by a floor sample...`);
  for (let i = 0; i < total; i++) {
    const { id, key } = creds[i]!;
    const mark = emulator.emulator.state.calls.length;

    // rekey: one signed alert naming the leaked value.
    const { t0, res, deleted } = await alert(ctx.rekey, key, String(i));
    const answer = (await res.json()) as any;
    const tAnswered = performance.now();
    if (res.status !== 202 || answer.action !== "rotation") {
      throw new Error(`Alert ${i} was not accepted as a rotation: ${res.status} ${JSON.stringify(answer)}`);
    }
    const tDeleted = await within(deleted, `Deleting the key of alert ${i}`);
    // Let the rotation finish before the next sample so samples do not queue behind each other.
    const settled = await within(waitRotation(admin, id), `Rotation of alert ${i}`);
    if (settled !== "done") throw new Error(`Rotation of alert ${i} ended ${settled}`);
    // ...and until its events have been handled (`waitEventsHandled`), so that the next samples,
    // the floors' and rekey's, start with rekey's queue consumer idle.
    await within(waitEventsHandled(admin, id), `The events of alert ${i}`);
    const tSettled = performance.now();
    if (i === 0) {
      const calls = emulator.emulator.state.calls.slice(mark).map((c) => `${c.method} ${template(c.path, key)}`);
      const del = calls.findIndex((c) => c.startsWith("DELETE"));
      callsBeforeDelete = calls.slice(0, del + 1);
      callsRotation = calls;
    }

    // Floor: a fresh key deleted and replaced by a bare script, same calls, same emulator.
    const floorKey = await mint();
    const floorDeleted = emulator.deleted(floorKey);
    const f0 = performance.now();
    const del = await clarifai("DELETE", `/v2/users/${USER}/keys/${floorKey}`, pat);
    if (del.status !== 200) throw new Error(`Floor delete failed: ${del.status}`);
    const fDeleted = await floorDeleted;
    // rekey's create step walks the user's keys 128 a page (core/clarifai/pagination.ts) looking
    // for a key it minted but did not record; the floor walks them the same way.
    let list = { status: 200, json: { keys: [] as unknown[] } };
    for (let page = 1; list.status === 200; page++) {
      list = await clarifai("GET", `/v2/users/${USER}/keys?page=${page}&per_page=128&type=app_specific_key`, pat);
      if ((list.json.keys ?? []).length < 128) break;
    }
    const created = await clarifai("POST", `/v2/users/${USER}/keys`, pat, {
      keys: [{
        type: "app_specific_key",
        description: `bench floor [rekey:rot_floor_${i}]`,
        scopes: ["Predict"],
        apps: [{ id: APP, user_id: USER }],
      }],
    });
    const scopes = await clarifai("GET", "/v2/myscopes", created.json.keys[0].id);
    const fDone = performance.now();
    if (list.status !== 200 || created.status !== 200 || scopes.status !== 200) {
      throw new Error("Floor rotation calls failed");
    }

    // Platform floor: the same signed alert to a worker that only verifies and deletes.
    const platformKey = await mint();
    const pf = await alert(ctx.floor, platformKey, `floor_${i}`);
    if (pf.res.status !== 202) throw new Error(`The floor worker answered ${pf.res.status}`);
    const pDeleted = await within(pf.deleted, `The floor worker's delete ${i}`);

    if (process.env.P1_TRACE) {
      trace.push({
        i,
        sent: wall(t0),
        deleted: wall(tDeleted),
        answered: wall(tAnswered),
        settled: wall(tSettled),
        platform_sent: wall(pf.t0),
        platform_deleted: wall(pDeleted),
      });
    }
    if (i >= opts.warmup) {
      rekeyMs.push(tDeleted - t0);
      answeredMs.push(tAnswered - t0);
      platformMs.push(pDeleted - pf.t0);
      floorMs.push(fDeleted - f0);
      floorFullMs.push(fDone - f0);
    }
  }
  if (process.env.P1_TRACE) writeFileSync(process.env.P1_TRACE, JSON.stringify(trace));
  const p = (xs: number[], q: number) => round(percentile(xs, q), 2);
  const result: P1Result = {
    alerts: opts.alerts,
    warmup: opts.warmup,
    p50_ms: p(rekeyMs, 50),
    p99_ms: p(rekeyMs, 99),
    max_ms: p(rekeyMs, 100),
    answered_p50_ms: p(answeredMs, 50),
    answered_p99_ms: p(answeredMs, 99),
    floor_p50_ms: p(floorMs, 50),
    floor_p99_ms: p(floorMs, 99),
    floor_full_rotation_p50_ms: p(floorFullMs, 50),
    floor_full_rotation_p99_ms: p(floorFullMs, 99),
    platform_floor_p50_ms: p(platformMs, 50),
    platform_floor_p99_ms: p(platformMs, 99),
    platform_ratio_p99: round(percentile(rekeyMs, 99) / percentile(platformMs, 99), 2),
    ratio_p99: round(percentile(rekeyMs, 99) / percentile(floorMs, 99), 2),
    ratio_p50: round(percentile(rekeyMs, 50) / percentile(floorMs, 50), 2),
    upstream_calls_before_delete: callsBeforeDelete,
    upstream_calls_rotation: callsRotation,
    elapsed_s: round((performance.now() - started) / 1000, 1),
  };
  opts.log(`P1: ${total} samples in ${result.elapsed_s} s`);
  return result;
}

async function waitRotation(admin: (m: string, p: string) => Promise<{ json: any }>, id: string): Promise<string> {
  for (;;) {
    const c = (await admin("GET", `/v1/credentials/${id}`)).json.credential;
    if (c.current_rotation_id === null && c.last_rotation) return c.last_rotation.state as string;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Waits until the auditor has recorded the rotation's `rotation.completed`, the last event a
 * sample publishes. Locally, miniflare's queue broker hands the consumer one batch at a time, in
 * the order sent (`max_batch_size = 1`: one message each), so once that event's audit entry exists
 * every earlier event of the sample (`credential.compromised`, the `rotation.step`s,
 * `credential.revoked`, `alert.received`) has been handled, and only the rest of that one
 * invocation (its stats and chat handlers) may still run, during the floor samples that follow.
 * Without this wait the sample's last seven or eight consumer invocations (hundreds of ms of work
 * on this loaded 2-core host, in the same workerd isolate as the alert route) were still running
 * when the next alert was sent, in 84% of samples, and made most of P1's tail (BENCHMARKS.md, "P1
 * tail on branch s28-p1tail"). On Cloudflare, Queues scales consumer invocations out concurrently
 * rather than handing a backlog over one at a time in front of the next alert. Nothing on the
 * measured path changes: every event is still handled, only the next sample starts later.
 */
async function waitEventsHandled(admin: (m: string, p: string) => Promise<{ json: any }>, id: string): Promise<void> {
  for (;;) {
    const page = (await admin("GET", `/v1/audit?credential_id=${id}&type=rotation.completed`)).json;
    if ((page.entries as unknown[]).length > 0) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Call paths with ids replaced, so the recorded sequence shows its shape and no token. */
function template(path: string, key: string): string {
  return path.replace(key, "{old_key}").replace(/[0-9a-f]{32}/g, "{key}");
}
