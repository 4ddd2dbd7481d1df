/**
 * P5: CPU time per invocation, for each of rekey's entry paths, from V8 CPU profiles of rekey's
 * own Worker in workerd (`wrangler dev --local`, the inspector it exposes). Workers limit CPU per
 * invocation (Free plan: 10 ms), not wall time, and local workerd enforces none of it, so it is
 * measured here:
 *
 * - The Worker is bench/fixtures/p5-worker: src/worker.ts as deployed (minified), its queues
 *   captured so every queue batch is an invocation the bench starts (`POST /__bench/queue`).
 * - The bench connects to the inspector, starts V8's sampling profiler, sends one request at a
 *   time and stamps each with a window [sent, answered] on the monotonic clock (the clock V8's
 *   samples carry). A path whose work goes on in waitUntil keeps its window open until that work
 *   has ended (`POST /__bench/settled`).
 * - CPU = the samples in the window that are not `(idle)` × the sampler's real period. V8 samples
 *   only while the isolate is locked (see lib/cpu-profile.ts), so summing sample deltas would
 *   count I/O waits. The period is not the requested interval: a calibration route spins the CPU
 *   in the same isolate, in the same profile, and its thread's on-CPU time (the kernel's
 *   schedstat) divided by its sample count is the period.
 * - Durable Objects run in the Worker's isolate locally; in production each DO call is its own
 *   invocation with its own limit. Samples with a DO class's method on the stack (located through
 *   the bundle's source map) are reported apart, as the DO share, never added to the path.
 * - The bench's control routes cost something too: `noop` is measured and subtracted from paths
 *   driven through one (queue batches, the waitUntil window).
 */
import { createPublicKey } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { parseDotenv } from "../src/adapters/dotenv.ts";
import type { CredentialRecord } from "../src/core/credentials/credential.ts";
import { aadFor, CURRENT_VALUE } from "../src/core/credentials/credential.ts";
import { encrypt } from "../src/core/crypto/envelope.ts";
import { fingerprint, importFingerprintKey } from "../src/core/crypto/fingerprint.ts";
import { parseKeyring } from "../src/core/crypto/keyring.ts";
import { encodeBase64 } from "../src/core/crypto/encoding.ts";
import { INLINE_TOKENS } from "../src/core/alerts/deferred-tokens.ts";
import { REENCRYPT_BATCH_SIZE } from "../src/core/maintenance/reencrypt-job.ts";
import { signStandardWebhook } from "../src/core/notify/sign-webhook.ts";
import { startEmulatorServer } from "../emulator/node/serve.ts";
import { type GithubEmulatorServer, startGithubEmulatorServer } from "../emulator/node/serve-github.ts";
import { DEMO_GITHUB_KEY_ID, DEMO_GITHUB_PRIVATE_PKCS8 } from "../scripts/lib/demo-github-key.ts";
import { p1363ToDer } from "../scripts/lib/der-encode.ts";
import { connectCdp } from "./lib/cdp.ts";
import { type CpuProfile, durableObjectRanges, type Sample, samplesOf, SourceMap } from "./lib/cpu-profile.ts";
import { median, round } from "./lib/stats.ts";
import { root, startDevWorker } from "./lib/wrangler-dev.ts";

/** The paths of issue 20 (item 4), as `p5_cpu_ms.<path>` in bench/results.json. */
export const P5_PATHS = [
  "alert_matched",
  "alert_unmatched",
  "github_batch_1000",
  "github_batch_chunk",
  "fast_path_containment",
  "alert_matched_invocation",
  "queue_batch_10",
  "sweep_batch",
  "ui_credentials_1000",
  "reencrypt_batch",
  "github_events_actions_secret",
  "rotation_finish",
  "rotation_continue",
  "github_events_rotation_finish",
  "github_events_rotation_continue",
  "github_owed_fetch",
  "manual_rotation",
  "manual_rotation_continue",
  "manual_rotation_revoke",
] as const;
export type P5Path = (typeof P5_PATHS)[number];

/**
 * Paths not measured yet, each with the reason (kept in `details.not_measured`); its slot stays in
 * results.json as null until it is measured like the others. Every path is measured today.
 */
const NOT_YET: Partial<Record<P5Path, string>> = {};

/**
 * Paths that are one invocation in production but two windows here: an answer, then the
 * waitUntil work it started (`/__bench/settled`). Each part is also reported alone in
 * `details.paths`, and the whole's `where` covers both.
 */
const COMPOSED: Partial<Record<P5Path, readonly [string, string]>> = {
  alert_matched_invocation: ["alert_matched", "fast_path_containment"],
  github_events_actions_secret: ["github_events_answer", "github_events_waituntil"],
  manual_rotation: ["manual_rotation_answer", "manual_rotation_waituntil"],
};

export interface P5Result {
  p5_cpu_ms: Record<P5Path, number | null>;
  p5_cpu_ms_max: number;
  /** The floor of an HTTP path: a bare Hono route answering 200, in the same isolate and run. */
  p5_bare_hono_cpu_ms: number;
  /** Durable Object code run for each path (in production: separate invocations, each with its own limit). */
  p5_do_cpu_ms: Record<P5Path, number | null>;
  details: Record<string, unknown>;
}

export interface P5Options {
  rounds: number;
  /** Unmatched signed alerts per round (they cost a fraction of a sample each, so several). */
  unmatchedPerRound: number;
  log: (s: string) => void;
}
export const P5_FULL = { rounds: 10, unmatchedPerRound: 20 };
export const P5_SHORT = { rounds: 3, unmatchedPerRound: 10 };

const USER = "bench";
const APP = "bench-app";
/** A second master-key version, so the re-encryption batch has work (development only, never deployed). */
const BENCH_KEY_V2 = encodeBase64(new TextEncoder().encode("rekey-bench-only-encryption-key2"));
const GITHUB_TOKENS = 1000;
/**
 * A managed key's place in the GitHub batch: in its first deferred chunk (the chunk after the
 * `GITHUB_INLINE_TOKENS` inline ones, default INLINE_TOKENS), 50 tokens into it.
 */
const CHUNK_MATCH_AT = INLINE_TOKENS + 50;
/** The job's default batch: the path an operator's `POST /v1/maintenance/reencrypt` runs. */
const REENCRYPT_BATCH = REENCRYPT_BATCH_SIZE;
const UI_CREDENTIALS = 1000;
/** Requested sampling interval (µs); the real period is calibrated. */
const SAMPLING_US = 50;
const SWEEP_DUE = 20;
const DAY = 86_400_000;

interface Window {
  path: string;
  t0: number;
  t1: number;
  /** The thread's on-CPU ns over the window (calibration only). */
  threadNs?: number;
  /** The spin's length (calibration only). */
  iterations?: number;
  /** Subtract this many control-route overheads (noop-equivalents). */
  overheads?: number;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runP5(opts: P5Options): Promise<P5Result> {
  const { log } = opts;
  const example = `${root}/.dev.vars.example`;
  const vars = parseDotenv(readFileSync(example, "utf8"));
  const keysV1 = vars.REKEY_ENCRYPTION_KEYS!;
  const keysBoth = JSON.stringify({ ...JSON.parse(keysV1), "2": BENCH_KEY_V2 });
  const keyringV1 = parseKeyring(keysV1);
  const fpKey = await importFingerprintKey(vars.REKEY_FINGERPRINT_KEY!);
  if (!keyringV1.ok || !fpKey.ok) throw new Error("P5: cannot read the development keys in .dev.vars.example");

  const emulator = await startEmulatorServer({ host: "127.0.0.1", port: 0, seed: { userId: USER, appId: APP } });
  const pat = emulator.seeded!.pat;
  const github = await startP5Github(vars);
  log("P5: starting rekey (bench/fixtures/p5-worker) under wrangler dev --local with the inspector...");
  const fixtureDir = `${root}/bench/fixtures/p5-worker`;
  const startedAt = Date.now();
  const worker = await startDevWorker({
    name: "p5",
    config: `${fixtureDir}/wrangler.toml`,
    envFiles: [example],
    // The GitHub App, its key and the webhook secret are .dev.vars.example's (development only).
    vars: { CLARIFAI_API_BASE: emulator.url, GITHUB_API_BASE: github.url, REKEY_ENCRYPTION_KEYS: keysBoth },
  });
  const base = worker.url;
  try {
    const mapPath = devBundleMap(fixtureDir, startedAt);
    const map = new SourceMap(mapPath);
    // P5_PROFILE_DIR=dir keeps each round's raw profile and windows, and the source map beside them
    // (wrangler removes its tmp dir on exit), for bench/p5-self-time.ts.
    const dumpDir = process.env.P5_PROFILE_DIR;
    if (dumpDir) {
      mkdirSync(dumpDir, { recursive: true });
      copyFileSync(mapPath, `${dumpDir}/index.js.map`);
    }
    const workerd = findWorkerd(worker.pid);

    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${vars.REKEY_ADMIN_TOKEN}`,
          ...(body ? { "content-type": "application/json" } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: (text.startsWith("{") ? JSON.parse(text) : { text }) as any };
    };
    const ctl = async (path: string, body?: unknown) => {
      const send = () =>
        fetch(`${base}/__bench/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body ?? {}),
        });
      // Seeding is idempotent (a second write of a seeded record loses its compare-and-swap
      // harmlessly); nothing else is sent twice.
      const res = path.startsWith("seed-") ? await retrying(send, `/__bench/${path}`, log) : await send();
      if (!res.ok) throw new Error(`P5: /__bench/${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      return res.json() as Promise<any>;
    };
    const mint = async () => {
      const res = await fetch(`${emulator.url}/_emulator/users/${USER}/keys`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          type: "app_specific_key",
          scopes: ["Predict"],
          apps: [{ id: APP, user_id: USER }],
          description: "bench p5 key",
        }),
      });
      return ((await res.json()) as any).key.id as string;
    };

    // --- Setup (not profiled) ---------------------------------------------------------------
    const rounds = opts.rounds + 1; // round 0 warms every path up and is not counted
    const manager = await admin("POST", "/v1/credentials", { kind: "pat", user_id: USER, value: pat });
    if (manager.status !== 201) throw new Error(`P5: registering the manager failed: ${JSON.stringify(manager.json)}`);
    const managerId = manager.json.credential.id as string;
    log(
      `P5: registering ${rounds} app keys for the matched alerts; seeding ${UI_CREDENTIALS} + ${
        rounds * REENCRYPT_BATCH
      } credentials...`,
    );
    const leaked: string[] = [];
    const leakedIds: string[] = [];
    // The first `rounds` for the matched alerts; the next `rounds`, one per round's GitHub batch, in
    // its first deferred chunk (past the inline part), which contains it at once.
    for (let i = 0, tries = 0; i < 2 * rounds; tries++) {
      // A fresh key for each try: a registration cut off by a restart may have landed.
      const key = await mint();
      const reg = await admin("POST", "/v1/credentials", {
        kind: "app_key",
        user_id: USER,
        value: key,
        manager_id: managerId,
        policy: { grace_hours: 0, on_compromise: "rotate" },
      });
      if (reg.status === 201) {
        leaked.push(key);
        leakedIds.push(reg.json.credential.id as string);
        i++;
      } else if (reg.status !== 503 || tries > rounds + 3) {
        throw new Error(`P5: registering app key ${i} failed: ${reg.status} ${JSON.stringify(reg.json)}`);
      }
    }
    const inChunk = leaked.splice(rounds);
    const ghKeys = await registerGithubEventsKeys({ rounds, mint, admin, managerId, log });
    const owedKeys = await registerOwedKeys({ rounds, mint, admin, managerId, log });
    const manualKeys = await registerGithubEventsKeys({ rounds, mint, admin, managerId, log, prefix: "MANUAL_KEY" });
    // Credentials sealed under master key version 1 while the Worker seals under 2: each round's
    // re-encryption batch moves a batch of them (they sort first in the registry, so every batch's
    // page is made of them). The first SWEEP_DUE are past their max age, so a sweep batch has 10 to act on.
    const now = Date.now();
    const record = async (id: string, value: string, due: boolean): Promise<CredentialRecord> => {
      const fp = await fingerprint(fpKey.value, value);
      const created = new Date(now - (due ? 40 : 5) * DAY).toISOString();
      return {
        id,
        kind: "app_key",
        state: "active",
        user_id: USER,
        app_id: APP,
        manager_id: managerId,
        scopes: ["Predict"],
        apps: [{ id: APP, user_id: USER }],
        description: "bench p5 seeded",
        sinks: [],
        consumers: [],
        value: await encrypt(keyringV1.value, value, aadFor({ id, kind: "app_key" }, CURRENT_VALUE)),
        fingerprint: fp,
        value_created_at: created,
        previous: [],
        policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none" },
        created_at: created,
        updated_at: created,
      } as CredentialRecord;
    };
    const hex = () =>
      [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const doRecords = await Promise.all(
      Array.from(
        { length: rounds * REENCRYPT_BATCH },
        (_, j) => record(`cred_${String(j).padStart(26, "0")}`, hex(), j < SWEEP_DUE),
      ),
    );
    for (let i = 0; i < doRecords.length; i += 100) await ctl("seed-do", { records: doRecords.slice(i, i + 100) });
    const kvRecords = await Promise.all(
      Array.from(
        { length: UI_CREDENTIALS },
        (_, j) => record(`cred_${String(100_000 + j).padStart(26, "0")}`, hex(), false),
      ),
    );
    for (let i = 0; i < kvRecords.length; i += 100) await ctl("seed-kv", { records: kvRecords.slice(i, i + 100) });

    // The dashboard's session (a cookie, sent by hand: Node's fetch keeps none).
    const signIn = await retrying(
      () =>
        fetch(`${base}/ui/sign-in`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `token=${encodeURIComponent(vars.REKEY_ADMIN_TOKEN!)}`,
          redirect: "manual",
        }),
      "the dashboard sign-in",
      log,
    );
    const cookie = signIn.headers.get("set-cookie")?.split(";")[0];
    if (signIn.status !== 303 || !cookie) {
      throw new Error(`P5: dashboard sign-in answered ${signIn.status}: ${(await signIn.text()).slice(0, 200)}`);
    }

    // The re-encryption job: its first batch event, captured; each batch publishes the next.
    await ctl("captured");
    const job = await admin("POST", "/v1/maintenance/reencrypt", {});
    if (job.status !== 202) throw new Error(`P5: starting re-encryption answered ${job.status}`);
    let reencryptEvent = (await ctl("captured")).events.find((e: any) => e.type === "maintenance.reencrypt");
    if (!reencryptEvent) throw new Error("P5: the re-encryption job published no batch");

    const githubKey = await crypto.subtle.importKey(
      "pkcs8",
      Uint8Array.from(Buffer.from(DEMO_GITHUB_PRIVATE_PKCS8, "base64")),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
    const githubBatch = async (managed: string) => {
      const body = JSON.stringify(
        Array.from({ length: GITHUB_TOKENS }, (_, i) => ({
          token: i === CHUNK_MATCH_AT ? managed : hex(),
          type: "clarifai_pat",
          url: `https://github.com/octo-org/octo-repo/blob/${hex().slice(0, 12)}/config/settings.py`,
          source: "content",
        })),
      );
      const sig = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, githubKey, new TextEncoder().encode(body)),
      );
      return { body, signature: encodeBase64(p1363ToDer(sig)) };
    };
    let seq = 0;
    const signedAlert = async (value: string) => {
      const body = JSON.stringify({ value, reason: "bench", source: "bench" });
      const id = `msg_p5_${process.pid}_${seq++}`;
      const ts = Math.floor(Date.now() / 1000);
      const signature = await signStandardWebhook({ secret: vars.ALERT_WEBHOOK_SECRET!, id, timestamp: ts, body });
      return {
        body,
        headers: {
          "content-type": "application/json",
          "webhook-id": id,
          "webhook-timestamp": String(ts),
          "webhook-signature": signature,
        },
      };
    };

    // --- Profiled rounds -------------------------------------------------------------------
    const cdp = await connectCdp(worker.inspectorPort);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: SAMPLING_US });
    const all: Array<{ round: number; windows: Window[]; samples: Sample[] }> = [];
    let spinN = 20_000_000;
    const statuses: Record<string, Record<number, number>> = {};
    const count = (path: string, status: number) => {
      (statuses[path] ??= {})[status] = (statuses[path]![status] ?? 0) + 1;
    };

    for (let r = 0; r < rounds; r++) {
      log(`P5: round ${r}${r === 0 ? " (warm-up, not counted)" : ""} of ${opts.rounds}...`);
      // Prepared before the profile starts: the bench's own crypto is not in the windows anyway,
      // but keeping it out of the round keeps the rounds short.
      const unmatched = await Promise.all(Array.from({ length: opts.unmatchedPerRound }, () => signedAlert(hex())));
      const matched = await signedAlert(leaked[r]!);
      const gh = await githubBatch(inChunk[r]!);
      const ghEvent = await prepareGithubEvent(github, ghKeys, r);
      const owedAlert = await prepareOwedAlert(github, owedKeys, r);
      const windows: Window[] = [];
      const timed = async (path: string, send: () => Promise<Response>, extra: Partial<Window> = {}) => {
        const t0 = nowUs();
        const res = await send();
        const text = await res.text();
        const t1 = nowUs();
        windows.push({ path, t0, t1, ...extra });
        count(path, res.status);
        return { res, text };
      };
      const post = (path: string, body: unknown) => () =>
        fetch(`${base}/__bench/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });

      // Every Durable Object this round touches, loaded before its windows open (see the
      // fixture's `warm`): the start-up of a cold object is the object's cost in production.
      const warm = () => ctl("warm", { credentials: [managerId, leakedIds[r]!, ...doRecords.map((d) => d.id)] });
      await ctl("captured");
      await warm();
      await cdp.send("Profiler.start");
      await sleep(20);

      // Calibration: one long spin (the period) and short ones (is a short invocation counted alike?).
      const spinWindow = async (path: string, n: number, io = 0) => {
        const before = threadTimes(workerd);
        const t0 = nowUs();
        await (await post("spin", { n: Math.round(n), io, url: `${emulator.url}/p5-calibration` })()).text();
        const t1 = nowUs();
        windows.push({ path, t0, t1, threadNs: maxDelta(before, threadTimes(workerd)), iterations: Math.round(n) });
      };
      await spinWindow("calibrate", spinN);
      for (let i = 0; i < 10; i++) await spinWindow("calibrate_short", spinN / 50);
      for (let i = 0; i < 2; i++) await spinWindow("calibrate_io", spinN / 5, 20);
      for (let i = 0; i < 5; i++) {
        const before = threadTimes(workerd);
        await timed("noop", post("noop", {}));
        windows.at(-1)!.threadNs = maxDelta(before, threadTimes(workerd));
      }

      // The floor: a bare Hono route in the same isolate, sent the same signed alerts.
      for (const a of unmatched) {
        await timed("bare_hono", () => fetch(`${base}/__bench/bare`, { method: "POST", ...a }));
      }
      for (const a of unmatched) {
        await timed("alert_unmatched", () => fetch(`${base}/hooks/alerts`, { method: "POST", ...a }));
      }

      await warm();
      // A signed alert that matches: its answer, then the containment it drives in waitUntil.
      const m = await timed("alert_matched", () => fetch(`${base}/hooks/alerts`, { method: "POST", ...matched }));
      if (m.res.status !== 202) throw new Error(`P5: the matched alert answered ${m.res.status}: ${m.text}`);
      await timed("fast_path_containment", post("settled", {}), { overheads: 1 });
      const alertEvents = (await ctl("captured")).events as any[];
      // The alert's invocation stops at containment (src/core/alerts/contain.ts); the rotator's
      // replay of its credential.compromised, a queue invocation of its own, finishes the rotation.
      const compromised = alertEvents.filter((e) => e.type === "credential.compromised");
      if (compromised.length !== 1) {
        throw new Error(`P5: the matched alert published ${compromised.length} credential.compromised`);
      }
      await warm();
      await timed("rotation_finish", post("queue", { messages: compromised }), { overheads: 1 });
      // The replay delivers the replacement and hands the rest to a continuation, the
      // `rotation.requested` it publishes (src/core/rotation/drive.ts `HAND_OFF_AFTER`): that
      // event's own queue invocation verifies, promotes and announces it.
      const finishEvents = (await ctl("captured")).events as any[];
      const continuation = continuationOf(finishEvents, "the matched alert's replay");
      await warm();
      await timed("rotation_continue", post("queue", { messages: continuation }), { overheads: 1 });
      const continueEvents = (await ctl("captured")).events as any[];
      if (!continueEvents.some((e) => e.type === "rotation.completed")) {
        throw new Error("P5: the continuation of the rotator's replay did not finish the rotation");
      }

      const g = await timed("github_batch_1000", () =>
        fetch(`${base}/hooks/github/secret-scanning`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "github-public-key-identifier": DEMO_GITHUB_KEY_ID,
            "github-public-key-signature": gh.signature,
          },
          body: gh.body,
        }));
      if (g.res.status !== 200) {
        throw new Error(`P5: the GitHub batch answered ${g.res.status}: ${g.text.slice(0, 300)}`);
      }
      await timed("github_batch_1000", post("settled", {}), { overheads: 1 });
      // The batch's later tokens, sealed in chunks of INLINE_TOKENS (core/alerts/deferred-tokens.ts): each
      // chunk is one consumer invocation (max_batch_size = 1); the first, a full one, is measured.
      const chunk = ((await ctl("captured")).events as any[]).find((e) => e.type === "github.tokens_deferred");
      if (!chunk) throw new Error("P5: the GitHub batch queued no github.tokens_deferred chunk");
      await warm();
      await timed("github_batch_chunk", post("queue", { messages: [chunk] }), { overheads: 1 });
      // Its first match is contained in that invocation (core/alerts/pipeline.ts `reportDeferredTokens`).
      const chunkOut = (await ctl("captured")).events as any[];
      if (!chunkOut.some((e) => e.type === "credential.compromised")) {
        throw new Error("P5: the GitHub batch's chunk published no credential.compromised for its managed key");
      }

      await githubEventsRound({ base, github, clarifaiUrl: emulator.url, event: ghEvent, timed, post, ctl, managerId });
      await githubOwedRound({ base, github, clarifaiUrl: emulator.url, alert: owedAlert, timed, post, ctl, managerId });
      await manualRound({
        base,
        github,
        clarifaiUrl: emulator.url,
        timed,
        post,
        ctl,
        managerId,
        admin,
        adminToken: vars.REKEY_ADMIN_TOKEN!,
        keys: manualKeys,
        r,
      });

      await warm();
      // A queue batch of 10 events: those the matched alert and its rotation published.
      const ten = [...alertEvents, ...finishEvents, ...continueEvents].slice(0, 10);
      await timed("queue_batch_10", post("queue", { messages: ten }), { overheads: 1 });
      await ctl("captured");

      await warm();
      // A sweep: the cron tick publishes the first batch; the batch lists the index and acts on 10 due.
      await timed("cron_tick", post("scheduled", { scheduledTime: Date.now() + r * 60_000 }), { overheads: 1 });
      const sweep = ((await ctl("captured")).events as any[]).filter((e) => e.type === "sweep.batch");
      await timed("sweep_batch", post("queue", { messages: sweep }), { overheads: 1 });
      const sweepOut = (await ctl("captured")).events as any[];

      await warm();
      await timed("ui_credentials_1000", () => fetch(`${base}/ui`, { headers: { cookie } }));

      await warm();
      await timed("reencrypt_batch", post("queue", { messages: [reencryptEvent] }), { overheads: 1 });
      const next = ((await ctl("captured")).events as any[]).find((e) => e.type === "maintenance.reencrypt");
      if (!next && r < rounds - 1) throw new Error("P5: the re-encryption batch published no next batch");
      reencryptEvent = next;

      await spinWindow("calibrate", spinN);
      await sleep(20);
      const profile = (await cdp.send<{ profile: CpuProfile }>("Profiler.stop")).profile;
      const samples = samplesOf(profile);
      if (dumpDir) {
        writeFileSync(`${dumpDir}/round-${r}.cpuprofile`, JSON.stringify(profile));
        writeFileSync(`${dumpDir}/round-${r}.windows.json`, JSON.stringify(windows));
      }
      all.push({ round: r, windows, samples });
      if (r === 0) {
        // Size the calibration spin to about 100 ms of CPU on this machine.
        const w = windows.find((x) => x.path === "calibrate")!;
        spinN = Math.max(100_000, Math.round((spinN * 100_000_000) / Math.max(1, w.threadNs!)));
        if (ten.length < 10) log(`P5: note: the matched alert and its rotation published ${ten.length} events, not 10`);
        log(`P5: sweep batch published ${sweepOut.length} events`);
      }
    }
    cdp.close();

    return analyse(all.filter((x) => x.round > 0), map, { statuses, opts });
  } finally {
    await worker.stop();
    await emulator.close();
    await github.close();
  }
}

/**
 * The rotator's continuation among `events` (one `rotation.requested` naming a rotation, source
 * `/rekey/rotator`), as a one-message queue batch; fails the bench when the replay published none
 * (it finished the rotation itself, or left it running).
 */
function continuationOf(events: any[], what: string): any[] {
  const found = events.filter((e) => e.type === "rotation.requested" && e.source === "/rekey/rotator");
  if (found.length !== 1 || !found[0].data?.rotation_id) {
    throw new Error(`P5: ${what} published ${found.length} continuations (rotation.requested), not 1`);
  }
  return found;
}

/**
 * wrangler dev sometimes restarts the Worker under load and answers a request it cut off with 503
 * "Your worker restarted mid-request": setup requests that are safe to repeat are sent again.
 */
async function retrying(send: () => Promise<Response>, what: string, log: (s: string) => void): Promise<Response> {
  for (let i = 0;; i++) {
    const res = await send();
    if (i >= 3 || res.status !== 503 || !(await res.clone().text()).includes("restarted mid-request")) return res;
    log(`P5: ${what} was cut off by a Worker restart (503), sending it again`);
    await sleep(1000);
  }
}

// --- github_events_actions_secret: the GitHub alert webhook with its Actions-secret delivery ----
// (`POST /hooks/github/events`). The GitHub emulator runs in this process beside the Clarifai one;
// the Worker reaches it as a GitHub App (.dev.vars.example's development App, GITHUB_APP_ID and
// GITHUB_APP_PRIVATE_KEY, the product's names) at GITHUB_API_BASE. Each round one registered app
// key, whose sink is a repository's Actions secret, is reported leaked by a secret scanning alert
// created in the emulator; its `created` webhook, signed with GITHUB_WEBHOOK_SECRET as GitHub
// signs it, is sent to the route. The answer (fetch the alert, match, early DELETE, begin the
// rotation) and the waitUntil work it starts (the rotation up to containment: the DELETE's outcome
// recorded) are one invocation in production, `github_events_actions_secret`; the leaked key must
// be gone at Clarifai by its end. The rest of the rotation (replacement, the Actions secret's
// sealed box and PUT, verify, promote) is the rotator's: its replay of the webhook's
// credential.compromised, a queue invocation of its own, `github_events_rotation_finish`, mints the
// replacement and delivers it (the secret's value at the emulator must have changed to the
// replacement by its end, or the bench fails), then hands verify and promote to the
// `rotation.requested` it publishes, whose queue invocation is `github_events_rotation_continue`
// (it must publish `rotation.completed`).

const P5_GITHUB_ORG = "p5-org";
const P5_GITHUB_REPO = `${P5_GITHUB_ORG}/p5-app`;
const P5_GITHUB_SCOPE = `repo:${P5_GITHUB_REPO}`;

type Admin = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>;
type Timed = (
  path: string,
  send: () => Promise<Response>,
  extra?: Partial<Window>,
) => Promise<{ res: Response; text: string }>;

interface GithubEventsKeys {
  /** Each round's leaked app key (a Clarifai key id) and its credential. */
  keys: string[];
  credentialIds: string[];
  /** Each key's Actions secret in P5_GITHUB_REPO. */
  secretNames: string[];
}

interface PreparedGithubEvent {
  /** The signed `secret_scanning_alert` (`created`) webhook, as the emulator would deliver it. */
  delivery: { headers: Record<string, string>; body: string };
  leaked: string;
  credentialId: string;
  secretName: string;
  /** The secret's value at the emulator before the round (null: not written yet). */
  before: string | null;
}

/** The emulator's control surface, in-process (the Worker never sees these calls). */
async function githubControl(github: GithubEmulatorServer, path: string, body?: unknown): Promise<any> {
  const res = await github.emulator.fetch(`http://github.emulator/_emulator/${path}`, {
    method: body === undefined ? "GET" : "POST",
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`P5: GitHub emulator /_emulator/${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** The GitHub emulator on loopback, trusting the App key of .dev.vars.example, one repository with the App installed. */
async function startP5Github(vars: Record<string, string | undefined>): Promise<GithubEmulatorServer> {
  const { GITHUB_APP_ID: appId, GITHUB_APP_PRIVATE_KEY: key, GITHUB_WEBHOOK_SECRET: secret } = vars;
  if (!appId || !key || !secret) {
    throw new Error("P5: .dev.vars.example lacks GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY or GITHUB_WEBHOOK_SECRET");
  }
  const publicKeyPem = createPublicKey(key.replace(/\\n/g, "\n")).export({ type: "spki", format: "pem" }).toString();
  // No webhook URL: the bench sends each delivery itself, inside its window.
  const github = await startGithubEmulatorServer({
    host: "127.0.0.1",
    port: 0,
    webhook: { secret },
    app: { id: appId, publicKeyPem },
  });
  await githubControl(github, "repos", { full_name: P5_GITHUB_REPO });
  await githubControl(github, "installations", { account: P5_GITHUB_ORG });
  return github;
}

/** Setup (not profiled): one app key per round, its sink the repository's Actions secret, under the manager. */
async function registerGithubEventsKeys(o: {
  rounds: number;
  mint: () => Promise<string>;
  admin: Admin;
  managerId: string;
  log: (s: string) => void;
  /** The Actions secrets' name prefix: each set of keys its own secrets. */
  prefix?: string;
}): Promise<GithubEventsKeys> {
  o.log(`P5: registering ${o.rounds} app keys with an Actions-secret sink (${o.prefix ?? "CLARIFAI_KEY"})...`);
  const out: GithubEventsKeys = { keys: [], credentialIds: [], secretNames: [] };
  for (let tries = 0; out.keys.length < o.rounds; tries++) {
    const key = await o.mint();
    const name = `${o.prefix ?? "CLARIFAI_KEY"}_${out.keys.length}`;
    const reg = await o.admin("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: USER,
      value: key,
      manager_id: o.managerId,
      policy: { grace_hours: 0, on_compromise: "rotate" },
      sinks: [{ type: "github_actions_secret", repository: P5_GITHUB_REPO, name }],
    });
    if (reg.status === 201) {
      out.keys.push(key);
      out.credentialIds.push(reg.json.credential.id as string);
      out.secretNames.push(name);
    } else if (reg.status !== 503 || tries > o.rounds + 3) {
      throw new Error(`P5: registering the Actions-secret app key failed: ${reg.status} ${JSON.stringify(reg.json)}`);
    }
  }
  return out;
}

async function secretValue(github: GithubEmulatorServer, name: string) {
  const state = await githubControl(github, `state?owner=${P5_GITHUB_ORG}`);
  const s = (state.secrets as Array<{ scope: string; name: string; value: string | null; updated_at: string }>)
    .find((x) => x.scope === P5_GITHUB_SCOPE && x.name === name.toUpperCase());
  return s ?? null;
}

/** Before the round's profile: the alert for this round's key in the emulator, and its signed webhook. */
async function prepareGithubEvent(
  github: GithubEmulatorServer,
  k: GithubEventsKeys,
  r: number,
): Promise<PreparedGithubEvent> {
  const made = await githubControl(github, `repos/${P5_GITHUB_REPO}/alerts`, { secret: k.keys[r]!, deliver: true });
  const delivery = made.delivery as { headers: Record<string, string>; body: string } | undefined;
  if (!delivery?.headers["x-hub-signature-256"]) throw new Error("P5: the GitHub emulator made no signed delivery");
  return {
    delivery: { headers: delivery.headers, body: delivery.body },
    leaked: k.keys[r]!,
    credentialId: k.credentialIds[r]!,
    secretName: k.secretNames[r]!,
    before: (await secretValue(github, k.secretNames[r]!))?.value ?? null,
  };
}

/** The round's GitHub alert webhook: its answer window, then its waitUntil work, then the check at the emulator. */
/** What a GitHub webhook round needs of the run: the Worker, the emulators, the timer and the bench's control routes. */
interface GithubRound {
  base: string;
  github: GithubEmulatorServer;
  clarifaiUrl: string;
  timed: Timed;
  post: (path: string, body: unknown) => () => Promise<Response>;
  ctl: (path: string, body?: unknown) => Promise<any>;
  managerId: string;
}

async function githubEventsRound(o: GithubRound & { event: PreparedGithubEvent }) {
  const { event } = o;
  // The credential's and the manager's cells, the ledger's shards: loaded outside the windows.
  await o.ctl("warm", { credentials: [o.managerId, event.credentialId] });
  const a = await o.timed(
    "github_events_answer",
    () =>
      fetch(`${o.base}/hooks/github/events`, {
        method: "POST",
        headers: event.delivery.headers,
        body: event.delivery.body,
      }),
  );
  const answer = a.text.startsWith("{") ? JSON.parse(a.text) : {};
  if (a.res.status !== 202 || answer.status !== "accepted" || answer.action !== "rotation") {
    throw new Error(`P5: the GitHub alert webhook answered ${a.res.status}: ${a.text.slice(0, 300)}`);
  }
  await o.timed("github_events_waituntil", o.post("settled", {}), { overheads: 1 });
  const clarifaiKeys = async () =>
    ((await (await fetch(`${o.clarifaiUrl}/_emulator/state`)).json()) as any).keys as Array<
      { id: string; description?: string }
    >;
  if ((await clarifaiKeys()).some((k) => k.id === event.leaked)) {
    throw new Error(`P5: the GitHub alert webhook's invocation left the leaked key of ${event.credentialId} live`);
  }
  // Its events (github.alert_linked, credential.compromised...) are the queue's invocations, not
  // this one's; the rotator's replay of credential.compromised finishes the rotation.
  const events = (await o.ctl("captured")).events as any[];
  const compromised = events.filter((e) => e.type === "credential.compromised");
  if (compromised.length !== 1) {
    throw new Error(`P5: the GitHub alert webhook published ${compromised.length} credential.compromised`);
  }
  await o.ctl("warm", { credentials: [o.managerId, event.credentialId] });
  await o.timed("github_events_rotation_finish", o.post("queue", { messages: compromised }), { overheads: 1 });
  const continuation = continuationOf((await o.ctl("captured")).events as any[], "the GitHub alert's replay");
  // The Actions-secret delivery (sealed box + PUT) must have happened inside the windows: the
  // secret (opened by libsodium in the emulator) holds the rotation's replacement, a live key at
  // Clarifai carrying the rotation's id, and the leaked key is gone.
  const after = await secretValue(o.github, event.secretName);
  const keys = await clarifaiKeys();
  const replacement = keys.find((k) => String(k.description ?? "").includes(String(answer.rotation_id)));
  const problem = !after
    ? "no secret"
    : !after.value
    ? "its value does not open"
    : after.value === event.before || after.value === event.leaked
    ? "its value did not change"
    : !replacement || after.value !== replacement.id
    ? "its value is not the rotation's replacement at Clarifai"
    : keys.some((k) => k.id === event.leaked)
    ? "the leaked key is still live at Clarifai"
    : null;
  if (problem) {
    throw new Error(
      `P5: the GitHub alert webhook's rotation of ${event.credentialId} did not deliver to the Actions secret ${event.secretName} by the end of the rotator's invocation: ${problem}`,
    );
  }
  // The rest (verify at Clarifai and GitHub, promote, the announcements) is the continuation's.
  await o.ctl("warm", { credentials: [o.managerId, event.credentialId] });
  await o.timed("github_events_rotation_continue", o.post("queue", { messages: continuation }), { overheads: 1 });
  const done = (await o.ctl("captured")).events as any[];
  if (!done.some((e) => e.type === "rotation.completed")) {
    throw new Error(`P5: the continuation of ${event.credentialId}'s rotation did not finish it`);
  }
}

// --- manual_rotation: a rotation a person asks for over HTTP -------------------------------
// The admin API's `POST /v1/credentials/:id/rotate` (the chat confirmation and the dashboard's
// rotate button call the same src/core/rotation/request.ts `requestRotation`): the answer (auth,
// begin, the `rotation.requested` publish) and the waitUntil work it starts (the rotation's fast
// path) are one invocation in production, `manual_rotation`. Each round rotates its own app key
// under the manager, its sink a repository's Actions secret (as `github_events_*`). By the end of
// that invocation the secret must hold the replacement. The `rotation.requested` it published is
// then one queue invocation of its own, `manual_rotation_continue`: verify and promote, by whose
// end the replacement must be the credential's current value and the old key still live, and,
// since revoke_old deletes at once (grace 0), a hand-off to the rotator's continuation
// (src/core/rotation/drive.ts `HAND_OFF_AFTER`), whose queue invocation is
// `manual_rotation_revoke`: the old key's DELETE, its record update and the announcements; by
// its end the rotation must be done and the old key gone at Clarifai.

async function manualRound(
  o: GithubRound & { admin: Admin; adminToken: string; keys: GithubEventsKeys; r: number },
) {
  const id = o.keys.credentialIds[o.r]!;
  const secretName = o.keys.secretNames[o.r]!;
  const old = o.keys.keys[o.r]!;
  await o.ctl("captured");
  await o.ctl("warm", { credentials: [o.managerId, id] });
  const a = await o.timed("manual_rotation_answer", () =>
    fetch(`${o.base}/v1/credentials/${id}/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${o.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "manual" }),
    }));
  if (a.res.status !== 202) {
    throw new Error(`P5: the manual rotation answered ${a.res.status}: ${a.text.slice(0, 300)}`);
  }
  const rotationId = String(JSON.parse(a.text).rotation?.id ?? "");
  await o.timed("manual_rotation_waituntil", o.post("settled", {}), { overheads: 1 });
  const keysAt = async () =>
    ((await (await fetch(`${o.clarifaiUrl}/_emulator/state`)).json()) as any).keys as Array<
      { id: string; description?: string }
    >;
  const delivered = (await secretValue(o.github, secretName))?.value;
  const replacement = (await keysAt()).find((k) => String(k.description ?? "").includes(rotationId));
  if (!replacement || delivered !== replacement.id) {
    throw new Error(`P5: the manual rotation of ${id} did not deliver its replacement within its own invocation`);
  }
  const events = (await o.ctl("captured")).events as any[];
  const requested = events.filter((e) => e.type === "rotation.requested" && e.source === "/rekey/admin");
  if (requested.length !== 1) {
    throw new Error(`P5: the manual rotation published ${requested.length} rotation.requested`);
  }
  await o.ctl("warm", { credentials: [o.managerId, id] });
  await o.timed("manual_rotation_continue", o.post("queue", { messages: requested }), { overheads: 1 });
  const promoted = (await o.ctl("captured")).events as any[];
  const continuation = continuationOf(promoted, "the manual rotation's event");
  const handed = await o.admin("GET", `/v1/rotations/${rotationId}`);
  if (handed.json.rotation?.step !== "revoke_old" || !(await keysAt()).some((k) => k.id === old)) {
    throw new Error(
      `P5: the manual rotation of ${id} was not promoted and handed over before its revoke_old by its event's invocation`,
    );
  }
  await o.ctl("warm", { credentials: [o.managerId, id] });
  await o.timed("manual_rotation_revoke", o.post("queue", { messages: continuation }), { overheads: 1 });
  const after = (await o.ctl("captured")).events as any[];
  const completed = [...events, ...promoted, ...after].some((e) => e.type === "rotation.completed");
  const view = await o.admin("GET", `/v1/rotations/${rotationId}`);
  if (!completed || view.json.rotation?.state !== "done" || (await keysAt()).some((k) => k.id === old)) {
    throw new Error(
      `P5: the manual rotation of ${id} had not ended (done, old key revoked) after its continuation's invocation`,
    );
  }
}

// --- github_owed_fetch: the rotator's invocation of an alert fetch GitHub failed ------------
// When GitHub fails the alert fetch of a secret-scanning alert webhook (5xx, throttling), the
// route publishes `github.alert_fetch_owed` and answers 202 `queued` (src/core/alerts/owed-fetch.ts);
// the rotator's invocation of that event fetches the alert again and contains the leak in the
// same invocation (the early DELETE and the drive up to containment, awaited there). Each round
// one registered app key (no sink) is reported by an alert created through the GitHub emulator's
// control route; a fault (the emulator's `POST /_emulator/faults`) makes the route's fetch of it
// answer 503 once, the webhook is sent outside any window and must answer 202 `queued`, and the
// owed event it published is the one queue batch measured, `github_owed_fetch`. By the window's
// end the leaked key must be gone at Clarifai, or the bench fails. The rotator's replay of the
// `credential.compromised` it published then finishes the rotation, outside any window
// (`github_events_rotation_finish` measures that invocation, with an Actions secret besides).

interface OwedKeys {
  /** Each round's leaked app key (a Clarifai key id) and its credential. */
  keys: string[];
  credentialIds: string[];
}

interface PreparedOwedAlert {
  /** The alert's signed `created` webhook, as the emulator would deliver it. */
  delivery: { headers: Record<string, string>; body: string };
  /** The alert's REST path, which the fault makes fail once. */
  path: string;
  leaked: string;
  credentialId: string;
}

/** Setup (not profiled): one app key per round under the manager, for the owed fetches. */
async function registerOwedKeys(o: {
  rounds: number;
  mint: () => Promise<string>;
  admin: Admin;
  managerId: string;
  log: (s: string) => void;
}): Promise<OwedKeys> {
  o.log(`P5: registering ${o.rounds} app keys for the owed GitHub alert fetches...`);
  const out: OwedKeys = { keys: [], credentialIds: [] };
  for (let tries = 0; out.keys.length < o.rounds; tries++) {
    const key = await o.mint();
    const reg = await o.admin("POST", "/v1/credentials", {
      kind: "app_key",
      user_id: USER,
      value: key,
      manager_id: o.managerId,
      policy: { grace_hours: 0, on_compromise: "rotate" },
    });
    if (reg.status === 201) {
      out.keys.push(key);
      out.credentialIds.push(reg.json.credential.id as string);
    } else if (reg.status !== 503 || tries > o.rounds + 3) {
      throw new Error(`P5: registering the owed-fetch app key failed: ${reg.status} ${JSON.stringify(reg.json)}`);
    }
  }
  return out;
}

/** Before the round's profile: the alert for this round's key in the emulator, and its signed webhook. */
async function prepareOwedAlert(github: GithubEmulatorServer, k: OwedKeys, r: number): Promise<PreparedOwedAlert> {
  const made = await githubControl(github, `repos/${P5_GITHUB_REPO}/alerts`, { secret: k.keys[r]!, deliver: true });
  const delivery = made.delivery as { headers: Record<string, string>; body: string } | undefined;
  if (!delivery?.headers["x-hub-signature-256"]) throw new Error("P5: the GitHub emulator made no signed delivery");
  return {
    delivery: { headers: delivery.headers, body: delivery.body },
    path: `/repos/${P5_GITHUB_REPO}/secret-scanning/alerts/${made.alert.number}`,
    leaked: k.keys[r]!,
    credentialId: k.credentialIds[r]!,
  };
}

/** The round's owed fetch: the webhook (GitHub failing), then the rotator's invocation of its event, timed. */
async function githubOwedRound(o: GithubRound & { alert: PreparedOwedAlert }) {
  const { alert } = o;
  // The route's fetch of the alert fails once (503); the rotator's, the next, is served.
  await githubControl(o.github, "faults", { method: "GET", path: alert.path, status: 503, count: 1 });
  const res = await fetch(`${o.base}/hooks/github/events`, {
    method: "POST",
    headers: alert.delivery.headers,
    body: alert.delivery.body,
  });
  const text = await res.text();
  if (res.status !== 202 || text !== JSON.stringify({ status: "queued" })) {
    throw new Error(
      `P5: the GitHub alert webhook with its fetch failing answered ${res.status}: ${text.slice(0, 300)}`,
    );
  }
  await o.ctl("settled");
  const owed = ((await o.ctl("captured")).events as any[]).filter((e) => e.type === "github.alert_fetch_owed");
  if (owed.length !== 1) {
    throw new Error(`P5: the GitHub alert webhook published ${owed.length} github.alert_fetch_owed`);
  }

  await o.ctl("warm", { credentials: [o.managerId, alert.credentialId] });
  const q = await o.timed("github_owed_fetch", o.post("queue", { messages: owed }), { overheads: 1 });
  const outcome = JSON.parse(q.text).outcome as Record<string, string>;
  if (outcome.m0 !== "ack") throw new Error(`P5: the owed fetch's invocation did not ack its event: ${q.text}`);
  const keys = ((await (await fetch(`${o.clarifaiUrl}/_emulator/state`)).json()) as any).keys as Array<{ id: string }>;
  if (keys.some((k) => k.id === alert.leaked)) {
    throw new Error(`P5: the owed fetch's invocation left the leaked key of ${alert.credentialId} live`);
  }
  const events = (await o.ctl("captured")).events as any[];
  const compromised = events.filter((e) => e.type === "credential.compromised");
  if (compromised.length !== 1) {
    throw new Error(`P5: the owed fetch's invocation published ${compromised.length} credential.compromised`);
  }
  // Not measured: the rotator's replay and its continuation finish the rotation, so no rotation
  // is left half done.
  await o.ctl("warm", { credentials: [o.managerId, alert.credentialId] });
  await o.post("queue", { messages: compromised })().then((r) => r.text());
  const continuation = continuationOf((await o.ctl("captured")).events as any[], "the owed fetch's replay");
  await o.post("queue", { messages: continuation })().then((r) => r.text());
  const finished = (await o.ctl("captured")).events as any[];
  if (!finished.some((e) => e.type === "rotation.completed")) {
    throw new Error(`P5: the rotator's replay did not finish the owed fetch's rotation of ${alert.credentialId}`);
  }
}

/** The bundle wrangler dev serves and its source map (bench/fixtures/p5-worker/.wrangler/tmp/dev-*). */
function devBundleMap(fixtureDir: string, since: number): string {
  const tmp = `${fixtureDir}/.wrangler/tmp`;
  const maps = readdirSync(tmp)
    .filter((d) => d.startsWith("dev-"))
    .map((d) => `${tmp}/${d}/index.js.map`)
    .filter((p) => {
      try {
        return statSync(p).mtimeMs >= since - 1000;
      } catch {
        return false;
      }
    })
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!maps[0]) throw new Error(`P5: no source map of the dev bundle under ${tmp}`);
  return maps[0];
}

/**
 * The workerd processes wrangler started (descendants of its pid: wrangler runs one for the
 * Worker and one for its own proxy workers); the busiest thread among them ran the spin.
 */
function findWorkerd(wranglerPid: number): number[] {
  const parentOf = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      comm.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
      parentOf.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  for (const [pid, name] of comm) {
    if (name !== "workerd") continue;
    for (let p: number | undefined = pid; p; p = parentOf.get(p)) if (p === wranglerPid) found.push(pid);
  }
  if (!found.length) throw new Error("P5: cannot find the workerd process of the wrangler session");
  return found;
}

/** On-CPU nanoseconds of each of the processes' threads (/proc/<pid>/task/<tid>/schedstat, first field). */
function threadTimes(pids: number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]));
      } catch {
        // thread ended
      }
    }
  }
  return out;
}
/** The busiest thread's on-CPU time between two readings: the thread that ran the isolate. */
function maxDelta(a: Map<string, number>, b: Map<string, number>): number {
  let max = 0;
  for (const [tid, t] of b) max = Math.max(max, t - (a.get(tid) ?? t));
  return max;
}

function analyse(
  rounds: Array<{ round: number; windows: Window[]; samples: Sample[] }>,
  map: SourceMap,
  ctx: { statuses: Record<string, Record<number, number>>; opts: P5Options },
): P5Result {
  // Frames of the Durable Object classes, by their source lines (the DO's own invocations).
  const doRanges = durableObjectRanges(map);
  const originCache = new Map<string, ReturnType<SourceMap["lookup"]>>();
  const origin = (f: Sample["stack"][number]["callFrame"]) => {
    if (f.url !== "index.js" && !f.url.endsWith("/index.js")) return null;
    const k = `${f.lineNumber}:${f.columnNumber}`;
    if (!originCache.has(k)) originCache.set(k, map.lookup(f.lineNumber, f.columnNumber));
    return originCache.get(k)!;
  };
  // Miniflare wraps each Durable Object class (`__mf_do_wrapper.js`): its frames are the DO's too.
  const isDo = (s: Sample) =>
    s.stack.some((n) => {
      if (n.callFrame.url.includes("__mf_do_wrapper")) return true;
      const o = origin(n.callFrame);
      return !!o && doRanges.some((r) => o.source === r.source && o.line >= r.from && o.line <= r.to);
    });

  // Samples per window; each round's sampler period from its own long spins (one at its start,
  // one at its end), since the period moves with the machine's load.
  type Counted = { window: Window; periodUs: number; worker: number; durable: number; samples: Sample[] };
  const counted: Counted[] = [];
  const periods: number[] = [];
  let outside = 0;
  let busy = 0;
  for (const { windows, samples } of rounds) {
    const sorted = [...windows].sort((a, b) => a.t0 - b.t0);
    let wi = 0;
    const per = sorted.map((w) => ({ window: w, periodUs: 0, worker: 0, durable: 0, samples: [] as Sample[] }));
    for (const s of samples) {
      if (s.idle) continue;
      busy++;
      while (wi < sorted.length && sorted[wi]!.t1 < s.t) wi++;
      const w = per[wi];
      if (!w || s.t < w.window.t0) {
        outside++;
        continue;
      }
      w.samples.push(s);
      if (isDo(s)) w.durable++;
      else w.worker++;
    }
    const cal = per.filter((c) => c.window.path === "calibrate");
    const periodUs = cal.reduce((a, c) => a + c.window.threadNs!, 0) / 1000 / cal.reduce((a, c) => a + c.worker, 0);
    periods.push(periodUs);
    for (const c of per) c.periodUs = periodUs;
    counted.push(...per);
  }
  const ms = (c: Counted, samples: number) => (samples * c.periodUs) / 1000;
  const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
  const cal = counted.filter((c) => c.window.path === "calibrate");
  const noops = counted.filter((c) => c.window.path === "noop");
  const noopMs = sum(noops, (c) => ms(c, c.worker)) / noops.length;
  const noopThreadMs = sum(noops, (c) => c.window.threadNs!) / 1e6 / noops.length;
  // The same spin in pieces woken by I/O: is work that resumes after an await counted alike? Its
  // thread time includes the fetches' handling by other isolates of the process, so the reference
  // is the spin's known cost instead: its share of a long spin, by iterations.
  const ios = counted.filter((c) => c.window.path === "calibrate_io");
  const ioProfiled = sum(ios, (c) => ms(c, c.worker));
  const longMsPerIteration = sum(cal, (c) => c.window.threadNs! / 1e6) / sum(cal, (c) => c.window.iterations!);
  const ioExpected = sum(ios, (c) => c.window.iterations! * longMsPerIteration);
  const shorts = counted.filter((c) => c.window.path === "calibrate_short");
  const shortProfiled = sum(shorts, (c) => ms(c, c.worker));
  const shortThread = sum(shorts, (c) => c.window.threadNs! / 1e6 - noopThreadMs);

  // Per path: mean CPU per invocation. Windows of one invocation (an answer and its waitUntil
  // window) are added up per round first.
  const byPath = new Map<string, Array<{ worker: number; durable: number }>>();
  for (const r of rounds) {
    const groups = new Map<string, Counted[]>();
    for (const c of counted) {
      if (!r.windows.includes(c.window) || c.window.path.startsWith("calibrate") || c.window.path === "noop") continue;
      // Unmatched alerts are many per round: each its own invocation.
      const many = c.window.path === "alert_unmatched" || c.window.path === "bare_hono";
      const key = many ? `${c.window.path}#${c.window.t0}` : c.window.path;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const [key, cs] of groups) {
      const path = key.split("#")[0]!;
      const overheads = sum(cs, (c) => c.window.overheads ?? 0);
      const worker = Math.max(0, sum(cs, (c) => ms(c, c.worker)) - overheads * noopMs);
      const durable = sum(cs, (c) => ms(c, c.durable));
      byPath.set(path, [...(byPath.get(path) ?? []), { worker, durable }]);
    }
    // One invocation in production (COMPOSED): an answer and the waitUntil work it drives.
    for (const [whole, [answer, rest]] of Object.entries(COMPOSED)) {
      const a = byPath.get(answer)!.at(-1)!;
      const f = byPath.get(rest)!.at(-1)!;
      byPath.set(whole, [...(byPath.get(whole) ?? []), {
        worker: a.worker + f.worker,
        durable: a.durable + f.durable,
      }]);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cpu = {} as Record<P5Path, number | null>;
  const doCpu = {} as Record<P5Path, number | null>;
  const perPath: Record<string, unknown> = {};
  const extra = [
    "cron_tick",
    "bare_hono",
    "github_events_answer",
    "github_events_waituntil",
    "manual_rotation_answer",
    "manual_rotation_waituntil",
  ];
  for (const p of [...P5_PATHS, ...extra]) {
    const xs = byPath.get(p);
    if (!xs?.length) {
      if (!extra.includes(p)) {
        cpu[p as P5Path] = null;
        doCpu[p as P5Path] = null;
      }
      continue;
    }
    const w = xs.map((x) => x.worker);
    const d = xs.map((x) => x.durable);
    if (!extra.includes(p)) {
      cpu[p as P5Path] = round(mean(w), 2);
      doCpu[p as P5Path] = round(mean(d), 2);
    }
    perPath[p] = {
      invocations: xs.length,
      mean_ms: round(mean(w), 3),
      median_ms: round(median(w), 3),
      max_ms: round(Math.max(...w), 3),
      do_mean_ms: round(mean(d), 3),
      statuses: ctx.statuses[p],
      where: breakdown(
        counted.filter((c) => (COMPOSED[p as P5Path] ?? [p]).includes(c.window.path)),
        origin,
        isDo,
        xs.length,
      ),
    };
  }
  const measured = Object.values(cpu).filter((x): x is number => x !== null);
  return {
    p5_cpu_ms: cpu,
    p5_cpu_ms_max: round(Math.max(...measured), 2),
    p5_bare_hono_cpu_ms: round(mean(byPath.get("bare_hono")!.map((x) => x.worker)), 3),
    p5_do_cpu_ms: doCpu,
    details: {
      rounds: rounds.length,
      unmatched_per_round: ctx.opts.unmatchedPerRound,
      sampling_interval_requested_us: SAMPLING_US,
      sampler_period_us: round(median(periods), 1),
      sampler_period_by_round_us: periods.map((x) => round(x, 1)),
      calibration_spin_cpu_ms: round(mean(cal.map((c) => c.window.threadNs! / 1e6)), 1),
      calibration_spins: cal.length,
      short_spins: {
        count: shorts.length,
        profiled_ms: round(shortProfiled, 2),
        thread_ms_minus_request_overhead: round(shortThread, 2),
        ratio: round(shortProfiled / shortThread, 3),
      },
      io_spins: {
        count: ios.length,
        pieces_each: 20,
        profiled_ms: round(ioProfiled, 2),
        expected_ms: round(ioExpected, 2),
        ratio: round(ioProfiled / ioExpected, 3),
      },
      control_overhead_ms: round(noopMs, 3),
      samples_busy: busy,
      samples_outside_windows: outside,
      not_measured: NOT_YET,
      paths: perPath,
    },
  };
}

/**
 * Where a path's CPU goes, per invocation, two ways: the leaf frame's area (WebCrypto, JSON, zod,
 * hono, GC, a rekey file...) and the nearest frame of rekey's own code (src/) on the stack, which
 * charges library and native work to the rekey function that asked for it. Top 14 each.
 */
function breakdown(
  cs: Array<{ samples: Sample[]; periodUs: number }>,
  origin: (f: Sample["stack"][number]["callFrame"]) => { source: string; line: number; text: string } | null,
  isDo: (s: Sample) => boolean,
  invocations: number,
) {
  const leaf = new Map<string, number>();
  const nearest = new Map<string, number>();
  let weight = 0;
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + weight);
  const file = (o: { source: string }) => o.source.replace(/^.*?(src|bench|node_modules)\//, "$1/");
  for (const c of cs) {
    weight = c.periodUs / 1000;
    for (const s of c.samples) {
      if (isDo(s)) continue;
      const top = s.stack[0]!.callFrame;
      const o = origin(top);
      add(leaf, o ? area(file(o)) : nativeArea(top.functionName));
      const own = s.stack.map((n) => origin(n.callFrame)).find((x) => x && file(x).startsWith("src/"));
      add(
        nearest,
        own ? `${file(own)}:${own.line} ${own.text}` : o ? `(no src frame) ${area(file(o))}` : "(no src frame) native",
      );
    }
  }
  const top = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([k, n]) => ({ at: k, ms: round(n / invocations, 3) }));
  return { by_leaf: top(leaf), by_nearest_src: top(nearest) };
}

function area(file: string): string {
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  return pkg ? pkg[1]! : file;
}
const WEBCRYPTO = new Set(["sign", "verify", "digest", "importKey", "encrypt", "decrypt", "exportKey", "deriveBits"]);
function nativeArea(name: string): string {
  if (name === "(program)" || name === "(garbage collector)" || name === "(root)") return name;
  if (WEBCRYPTO.has(name)) return `webcrypto ${name}`;
  if (name === "parse" || name === "stringify") return `JSON.${name}`;
  return `native ${name || "(anonymous)"}`;
}

if (process.argv[1]?.endsWith("p5-cpu.ts")) {
  // Alone: `tsx bench/p5-cpu.ts [--short] [--rounds=N] [--unmatched=N]`, figures on stdout.
  const short = process.argv.includes("--short");
  const arg = (name: string) =>
    Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1]) || undefined;
  const size = short ? P5_SHORT : P5_FULL;
  const r = await runP5({
    rounds: arg("rounds") ?? size.rounds,
    unmatchedPerRound: arg("unmatched") ?? size.unmatchedPerRound,
    log: (s) => console.error(s),
  });
  console.log(JSON.stringify(r, null, 2));
}
