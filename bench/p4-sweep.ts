/**
 * P4: the cron sweep at scale, counted from the real adapters (see BENCHMARKS.md, "P4").
 *
 * rekey's Worker runs under `wrangler dev --local` through bench/fixtures/p4-worker, which wraps
 * every binding (KV, both Durable Object namespaces, both queues, outbound fetch) in counting
 * proxies; one invocation = one scheduled(), one queue consumer batch or one request. The Clarifai
 * emulator runs in this process, so what happened upstream is read from it directly.
 *
 *   npx tsx bench/p4-sweep.ts            full: 100,000 credentials, the consumer driven in batches of 10
 *   npx tsx bench/p4-sweep.ts --short    10,000 credentials, scheduled() → real local Queues → consumer
 *   (npm run bench -- --only=p4 runs it as part of the bench; results in bench/out/results.json)
 */
import { doCallsOf, subrequestsOf, type Tally } from "./fixtures/p4-worker/src/tally.ts";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { startEmulatorServer } from "../emulator/node/serve.ts";
import { createEmulator, type Emulator, type KeyRecord } from "../emulator/src/index.ts";
import type { CredentialRecord } from "../src/core/credentials/credential.ts";
import { encrypt } from "../src/core/crypto/envelope.ts";
import {
  fingerprint,
  type FingerprintKey,
  fingerprintPrefix,
  importFingerprintKey,
} from "../src/core/crypto/fingerprint.ts";
import { type Keyring, parseKeyring } from "../src/core/crypto/keyring.ts";
import { aadFor, CURRENT_VALUE, previousValue, type ValueField } from "../src/core/credentials/credential.ts";
import { parseDotenv } from "../src/adapters/dotenv.ts";
import { iso } from "../src/core/time.ts";
import { outDir, root, startDevWorker } from "./lib/wrangler-dev.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface P4Size {
  credentials: number;
  users: number;
  /** App keys of the one big user (all real keys at the emulator). */
  bigUserKeys: number;
  /** Rotations that crash after their create call, each with a decoy. */
  crashed: number;
}
export const P4_FULL: P4Size = { credentials: 100_000, users: 1_000, bigUserKeys: 10_000, crashed: 25 };
export const P4_SHORT: P4Size = { credentials: 10_000, users: 100, bigUserKeys: 2_000, crashed: 25 };
/** The self-check's scenario (bench/p4-self-check.ts): both queue modes must count the same. */
export const P4_TINY: P4Size = { credentials: 400, users: 4, bigUserKeys: 100, crashed: 2 };

export interface P4Options {
  size: P4Size;
  /** "captured": the bench hands captured queue messages to the consumer; "real": local Queues. */
  queue: "captured" | "real";
  log: (s: string) => void;
  /** wrangler dev state under bench/out/<name>. */
  name?: string;
}

/** One invocation as the bench Worker reports it: its tally (fixtures/p4-worker/src/counting.ts) and where it ran. */
type Invocation = Tally & { seq: number; kind: string; phase: string; detail: Record<string, unknown>; ms: number };

export interface P4Result {
  p4_credentials: number;
  p4_users: number;
  p4_upstream_keys_max_user: number;
  p4_invocations: number;
  p4_max_subrequests: number;
  p4_max_kv_ops: number;
  p4_max_do_calls: number;
  p4_rotation_max_subrequests: number;
  p4_total_subrequests: number;
  p4_clarifai_calls_idle_sweep: number;
  p4_due: number;
  p4_done: number;
  p4_orphans_deleted: number;
  p4_orphans_left_alone: number;
  details: Record<string, unknown>;
}

interface Planned {
  rule: string;
  credential_id: string;
  action: string;
  fingerprint_prefix?: string;
}

export async function runP4(opts: P4Options): Promise<P4Result> {
  const { size, log } = opts;
  const t0 = performance.now();
  const secs = () => Number(((performance.now() - t0) / 1000).toFixed(1));
  const example = `${root}/.dev.vars.example`;
  const vars = parseDotenv(readFileSync(example, "utf8"));
  const keyring = parseKeyring(vars.REKEY_ENCRYPTION_KEYS!);
  const fpKey = await importFingerprintKey(vars.REKEY_FINGERPRINT_KEY!);
  if (!keyring.ok || !fpKey.ok) throw new Error("P4: cannot read the development keys in .dev.vars.example");

  const emulator = createEmulator();
  const server = await startEmulatorServer({ host: "127.0.0.1", port: 0, emulator });
  const now = Date.now();
  log(
    `P4: building ${size.credentials.toLocaleString("en")} credentials over ${size.users} users (big user: ${
      size.bigUserKeys.toLocaleString("en")
    } keys)...`,
  );
  const scenario = await buildScenario(size, emulator, keyring.value, fpKey.value, now);
  log(
    `P4: scenario built (${secs()} s); starting the counted Worker under wrangler dev --local (${opts.queue} queue)...`,
  );

  const worker = await startDevWorker({
    name: opts.name ?? `p4-${opts.queue}`,
    config: `${root}/bench/fixtures/p4-worker/wrangler.toml`,
    envFiles: [example],
    vars: {
      CLARIFAI_API_BASE: server.url,
      REKEY_BUS_RETRY_BASE_SECONDS: "1",
      ...(opts.queue === "captured" ? { P4_CAPTURE: "1" } : {}),
    },
  });
  const ctl = async (path: string, body?: unknown) => {
    let res = await fetch(`${worker.url}/__bench/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
    });
    // Seeding is idempotent (a second write of a seeded record loses its compare-and-swap harmlessly).
    for (let i = 0; i < 3 && res.status === 503 && path.startsWith("seed-"); i++) {
      log(`P4: /__bench/${path} answered 503 (${(await res.text()).slice(0, 80)}), retrying`);
      await sleep(1000);
      res = await fetch(`${worker.url}/__bench/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body ?? {}),
      });
    }
    if (!res.ok) throw new Error(`P4: /__bench/${path} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
    return res.json() as Promise<any>;
  };
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${worker.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${vars.REKEY_ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const drain = async (limitMs = 9 * 60_000) => {
    const until = Date.now() + limitMs;
    if (opts.queue === "captured") {
      for (;;) {
        const r = await ctl("deliver", { batches: 50 });
        if (r.held === 0) return;
        if (r.delivered === 0) await sleep(Math.min(2000, Math.max(20, r.next_ready_ms ?? 100)));
        if (Date.now() > until) throw new Error("P4: captured queue did not drain");
      }
    }
    let quietFor = 0;
    for (;;) {
      const s = await ctl("status");
      quietFor = s.quiet ? quietFor + 1 : 0;
      if (quietFor >= 3) return;
      if (Date.now() > until) throw new Error(`P4: local queue did not drain: ${JSON.stringify(s)}`);
      await sleep(400);
    }
  };

  try {
    // Seeding (not counted): records read through a Durable Object live in their DO (written by
    // WorkersStore.putCredential, as rekey writes them); idle ones are written into KV exactly as
    // the CredentialCell mirrors them.
    const chunk = 200;
    for (let i = 0; i < scenario.doRecords.length; i += chunk) {
      await ctl("seed-do", { records: scenario.doRecords.slice(i, i + chunk) });
    }
    log(
      `P4: ${
        scenario.doRecords.length.toLocaleString("en")
      } credentials written through their Durable Objects (${secs()} s)`,
    );
    for (let i = 0; i < scenario.kvRecords.length; i += 1000) {
      await ctl("seed-kv", { records: scenario.kvRecords.slice(i, i + 1000) });
    }
    log(`P4: ${scenario.kvRecords.length.toLocaleString("en")} idle credentials written into KV (${secs()} s)`);

    // The crashed rotations, through the real engine: the create commits at the emulator but its
    // answer is lost (drop_after), and the resumed create's key listing is refused (403), so the
    // rotation settles failed without recording the key it minted.
    const crashed: Array<
      {
        credential_id: string;
        rotation_id?: string;
        state?: string;
        orphan_keys: string[];
        decoy: string;
        create_outcome_lost?: unknown;
      }
    > = [];
    for (const c of scenario.crashed) {
      const u = c.user;
      const decoy = mintKey(emulator, u, `unmanaged service key of ${u}`, now - DAY);
      const lost = { method: "POST", path: `/v2/users/${u}/keys`, count: 1, drop_after: true };
      const refused = { method: "GET", path: `/v2/users/${u}/keys`, count: 50, status: 403, code: 11007 };
      emulator.state.faults.push(lost, refused);
      const res = await admin("POST", `/v1/credentials/${c.id}/rotate`, {});
      const begun = (await res.json()) as any;
      const rotationId: string | undefined = begun?.rotation?.id;
      let state = "unknown";
      let rotation: any;
      for (let i = 0; i < 150 && rotationId; i++) {
        rotation = ((await ctl("rotations", { ids: [c.id] })).rotations[c.id] as any[]).find((r) =>
          r.id === rotationId
        );
        state = rotation?.state ?? "missing";
        if (state !== "running") break;
        await sleep(200);
      }
      // Only these two: the failing revocations' faults stay for the whole run.
      emulator.state.faults = emulator.state.faults.filter((f) => f !== lost && f !== refused);
      if (opts.queue === "captured") await drain();
      const marker = `[rekey:${rotationId}]`;
      decoy.description = `${decoy.description} ${marker}`; // a copied marker, on a key created before the window
      const orphanKeys = [...emulator.state.keys.values()].filter((k) =>
        k.id !== decoy.id && k.description.includes(marker)
      ).map((k) => k.id);
      crashed.push({
        credential_id: c.id,
        ...(rotationId ? { rotation_id: rotationId } : {}),
        state,
        orphan_keys: orphanKeys,
        decoy: decoy.id,
        create_outcome_lost: rotation?.create_outcome_lost,
        ...(res.status !== 202 ? { status: res.status } : {}),
      });
    }
    await drain();
    log(
      `P4: ${crashed.length} crashed rotations (${
        crashed.filter((c) => c.orphan_keys.length).length
      } minted a key they did not record), decoys placed (${secs()} s)`,
    );

    // What the sweep's own rules say is due, read-only.
    const plan = (await ctl("plan")) as { actions: Planned[]; truncated: boolean };
    const due = plan.actions;
    const byRule = countBy(due, (a) => a.rule);
    const upstreamStart = new Map(emulator.state.keys);
    const keysPerUser = countBy([...upstreamStart.values()], (k) => k.user_id);
    const callsStart = emulator.state.calls.length;

    // The measured sweep: scheduled() and everything it causes, until the queues are empty.
    await ctl("phase", { phase: "sweep" });
    const sweepStarted = performance.now();
    await ctl("scheduled", { scheduledTime: Date.now() });
    await drain();
    const sweepSeconds = (performance.now() - sweepStarted) / 1000;
    await ctl("phase", { phase: "after" });
    log(`P4: sweep and all the work it caused done in ${sweepSeconds.toFixed(1)} s (${secs()} s)`);
    const after = (await ctl("plan")) as { actions: Planned[] };
    const owedIds = [...new Set(due.filter((a) => a.rule === "grace_expired").map((a) => a.credential_id))];
    const owedRecords = (await ctl("records", { ids: owedIds })).records as Record<string, CredentialRecord | null>;
    const callsAfterSweep = emulator.state.calls.length;

    // A second sweep right after (another minute, so another sweep id): nothing should be due.
    await ctl("phase", { phase: "idle" });
    await ctl("scheduled", { scheduledTime: Date.now() + 60_000 });
    await drain();
    await ctl("phase", { phase: "done" });
    const idleUpstream = emulator.state.calls.slice(callsAfterSweep);
    const { invocations, do_internal } = (await ctl("invocations")) as {
      invocations: Invocation[];
      do_internal: Record<string, { kv: number; kv_ops: Record<string, number> }>;
    };

    // Due vs done. An action is done when the rules no longer list it after the sweep; an owed
    // revocation whose DELETE failed upstream is done when the attempt is recorded on the record
    // (revoke_attempts + 1, last_error): it stays owed and is reported by revocation.overdue.
    const stillDue = new Set(after.actions.map(actionKey));
    const attemptRecorded = (a: Planned) => {
      if (a.rule !== "grace_expired") return false;
      const prev = owedRecords[a.credential_id]?.previous.find((p) =>
        fingerprintPrefix(p.fingerprint) === a.fingerprint_prefix
      );
      return !!prev && prev.revoke_attempts > 0 && !!prev.last_error;
    };
    const done = due.filter((a) => !stillDue.has(actionKey(a)) || attemptRecorded(a));
    const notDone = due.filter((a) => !done.includes(a));

    // Orphans: from what happened at the emulator and in the events the sweep published.
    const sweep = invocations.filter((i) => i.phase === "sweep");
    const idle = invocations.filter((i) => i.phase === "idle");
    const measured = [...sweep, ...idle];
    const orphanEvents = sweep.flatMap((i) => i.orphan_events);
    const prefixes = (type: string) =>
      new Set(orphanEvents.filter((e) => e.type === type).map((e) => String(e.data.fingerprint_prefix)));
    const deletedPrefixes = prefixes("orphan.deleted");
    const suspectedPrefixes = prefixes("orphan.suspected");
    const prefixOf = async (keyId: string) => fingerprintPrefix(await fingerprint(fpKey.value, keyId));
    let orphansDeleted = 0;
    let orphansLeft = 0;
    for (const c of crashed) {
      for (const k of c.orphan_keys) {
        if (!emulator.state.keys.has(k) && deletedPrefixes.has(await prefixOf(k))) orphansDeleted++;
      }
      if (emulator.state.keys.has(c.decoy) && suspectedPrefixes.has(await prefixOf(c.decoy))) orphansLeft++;
    }
    const expectedGone = new Set([...scenario.expectGone, ...crashed.flatMap((c) => c.orphan_keys)]);
    const wronglyDeleted = [...upstreamStart.keys()].filter((id) =>
      !emulator.state.keys.has(id) && !expectedGone.has(id)
    );
    const decoysDeleted = crashed.filter((c) => !emulator.state.keys.has(c.decoy)).length;

    const max = (xs: Invocation[], f: (i: Invocation) => number) => xs.reduce((m, i) => Math.max(m, f(i)), 0);
    const costliest = (xs: Invocation[], n: number) =>
      [...xs].sort((a, b) => subrequestsOf(b) - subrequestsOf(a)).slice(0, n).map(summary);
    const result: P4Result = {
      p4_credentials: size.credentials,
      p4_users: size.users,
      p4_upstream_keys_max_user: Math.max(...keysPerUser.values()),
      p4_invocations: sweep.length,
      p4_max_subrequests: max(measured, subrequestsOf),
      p4_max_kv_ops: max(measured, (i) => i.kv),
      p4_max_do_calls: max(measured, doCallsOf),
      p4_rotation_max_subrequests: max(measured.filter((i) => i.ran_rotation), subrequestsOf),
      p4_total_subrequests: sweep.reduce((a, i) => a + subrequestsOf(i), 0),
      p4_clarifai_calls_idle_sweep: idle.reduce((a, i) => a + i.clarifai, 0),
      p4_due: due.length,
      p4_done: done.length,
      p4_orphans_deleted: orphansDeleted,
      p4_orphans_left_alone: orphansLeft,
      details: {
        queue: opts.queue,
        size,
        seconds_total: secs(),
        seconds_sweep: Number(sweepSeconds.toFixed(1)),
        seeded: { through_durable_objects: scenario.doRecords.length, kv_only_idle: scenario.kvRecords.length },
        due_by_rule: Object.fromEntries(byRule),
        due_expected_by_construction: scenario.expected,
        plan_truncated: plan.truncated,
        not_done: notDone.slice(0, 20),
        not_done_count: notDone.length,
        still_due_after_sweep: after.actions.length,
        still_due_by_rule: Object.fromEntries(countBy(after.actions, (a) => a.rule)),
        invocations_by_kind: Object.fromEntries(countBy(sweep, (i) => i.kind)),
        total: {
          kv_ops: sweep.reduce((a, i) => a + i.kv, 0),
          do_calls: sweep.reduce((a, i) => a + doCallsOf(i), 0),
          queue_sends: sweep.reduce((a, i) => a + i.queue_sends, 0),
          clarifai_calls: sweep.reduce((a, i) => a + i.clarifai, 0),
          clarifai_calls_at_emulator: callsAfterSweep - callsStart,
          events: sumMaps(sweep.map((i) => i.events)),
          clarifai_ops: sumMaps(sweep.map((i) => i.clarifai_ops)),
        },
        max_clarifai_calls: max(measured, (i) => i.clarifai),
        do_internal_kv_ops: Object.fromEntries(Object.entries(do_internal).map(([k, v]) => [k, v.kv])),
        idle_sweep: {
          invocations: idle.length,
          clarifai_calls_at_emulator: idleUpstream.length,
          clarifai_ops: sumMaps(idle.map((i) => i.clarifai_ops)),
          max_subrequests: max(idle, subrequestsOf),
          due_before: after.actions.length,
        },
        orphans: {
          crashed: crashed.map((c) => ({ ...c, orphan_keys: c.orphan_keys.length })),
          orphan_deleted_events: orphanEvents.filter((e) => e.type === "orphan.deleted").length,
          orphan_suspected_events: orphanEvents.filter((e) => e.type === "orphan.suspected").length,
          decoys_deleted: decoysDeleted,
          wrongly_deleted_keys: wronglyDeleted.length,
          wrongly_deleted_examples: wronglyDeleted.slice(0, 5).map((id) => upstreamStart.get(id)!.description),
        },
        costliest_invocations: costliest(measured, 5),
        costliest_rotation_invocations: costliest(measured.filter((i) => i.ran_rotation), 3),
      },
    };
    return result;
  } finally {
    await worker.stop();
    await server.close();
  }
}

const actionKey = (a: Planned) => `${a.credential_id}|${a.rule}|${a.fingerprint_prefix ?? ""}`;

function summary(i: Invocation) {
  const types = (i.detail.types as string[] | undefined) ?? [];
  return {
    seq: i.seq,
    kind: i.kind,
    phase: i.phase,
    subrequests: subrequestsOf(i),
    kv_ops: i.kv,
    do_calls: i.do_calls,
    queue_sends: i.queue_sends,
    fetches: i.fetches,
    clarifai: i.clarifai,
    ms: i.ms,
    ...(types.length ? { messages: Object.fromEntries(countBy(types, (t) => t)) } : {}),
    do_methods: i.do_methods,
    kv_by_op: i.kv_ops,
    clarifai_ops: i.clarifai_ops,
    events: i.events,
  };
}

function countBy<T>(xs: Iterable<T>, f: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(f(x), (m.get(f(x)) ?? 0) + 1);
  return m;
}
function sumMaps(ms: Array<Record<string, number>>) {
  const out: Record<string, number> = {};
  for (const m of ms) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mintKey(
  emulator: Emulator,
  user: string,
  description: string,
  createdAt: number,
  type: KeyRecord["type"] = "app_specific_key",
): KeyRecord {
  const ts = iso(createdAt).replace(/\.(\d{3})Z$/, ".$1000Z");
  const key: KeyRecord = {
    id: emulator.state.newKeyId(),
    user_id: user,
    type,
    description,
    scopes: type === "personal_access_token" ? ["All"] : ["Predict"],
    endpoints: [],
    apps: type === "personal_access_token" ? [] : [{ id: "app", user_id: user }],
    created_at: ts,
  };
  emulator.state.keys.set(key.id, key);
  return key;
}

/**
 * The scenario. App key j (0-based) belongs to the big user u0 when j < bigUserKeys, else to one of
 * the other users in turn. Due: j % 100 = 0 past max age (1%), j % 200 = 1 owes a revocation
 * (0.5%; j % 2000 = 1 of those fails upstream: an injected 500 or 403 on that DELETE), j % 1000 = 2
 * expired (0.1%); the first `crashed` big-user keys with j % 40 = 3 get a crashed rotation.
 */
async function buildScenario(size: P4Size, emulator: Emulator, keyring: Keyring, fpKey: FingerprintKey, now: number) {
  const users = Array.from({ length: size.users }, (_, u) => `u${String(u).padStart(4, "0")}`);
  const doRecords: CredentialRecord[] = [];
  const kvRecords: CredentialRecord[] = [];
  const crashed: Array<{ id: string; user: string }> = [];
  const expectGone: string[] = [];
  const expected = { max_age: 0, grace_expired: 0, expired: 0, failing_revocations: 0, crashed: 0 };
  // Sealed as rekey seals them: bound to the record and to the field the value sits in.
  const seal = async (
    owner: Pick<CredentialRecord, "id" | "kind">,
    value: string,
    field: (fp: string) => ValueField = () => CURRENT_VALUE,
  ) => {
    const fp = await fingerprint(fpKey, value);
    return { value: await encrypt(keyring, value, aadFor(owner, field(fp))), fingerprint: fp };
  };
  const base = {
    state: "active" as const,
    description: "",
    sinks: [],
    consumers: [],
    created_at: iso(now - 60 * DAY),
    updated_at: iso(now - 10 * DAY),
  };
  const managerOf = new Map<string, string>();
  for (const [u, user] of users.entries()) {
    emulator.state.addApp(user, "app");
    const pat = mintKey(emulator, user, "manager PAT", now - 60 * DAY, "personal_access_token");
    const id = `cred_m${String(u).padStart(25, "0")}`;
    managerOf.set(user, id);
    const s = await seal({ id, kind: "pat" }, pat.id);
    doRecords.push({
      ...base,
      id,
      kind: "pat",
      user_id: user,
      scopes: ["All"],
      apps: [],
      value: s.value,
      fingerprint: s.fingerprint,
      value_created_at: iso(now - 10 * DAY),
      previous: [],
      policy: { grace_hours: 24, on_compromise: "rotate", generator: "none" },
    });
  }
  const appKeys = size.credentials - size.users;
  for (let j = 0; j < appKeys; j++) {
    const big = j < size.bigUserKeys;
    const user = big ? users[0]! : users[1 + ((j - size.bigUserKeys) % (size.users - 1))]!;
    const id = `cred_${String(j).padStart(26, "0")}`;
    const maxAge = j % 100 === 0;
    const owed = j % 200 === 1;
    const failing = j % 2000 === 1;
    const expired = j % 1000 === 2;
    const crash = big && j % 40 === 3 && crashed.length < size.crashed;
    const due = maxAge || owed || expired;
    const createdAt = now - (maxAge ? 40 : 10) * DAY;
    // Keys that anything reads are real keys at the emulator, each carrying the marker of the
    // earlier rotation that minted it; other idle credentials' values are never sent anywhere.
    const real = big || due || crash;
    const value = real
      ? mintKey(emulator, user, `app key ${j} [rekey:rot_seed${j}]`, createdAt).id
      : emulator.state.newKeyId();
    const s = await seal({ id, kind: "app_key" }, value);
    const previous: CredentialRecord["previous"] = [];
    if (owed) {
      const old = mintKey(emulator, user, `app key ${j} [rekey:rot_seedprev${j}]`, now - 50 * DAY);
      const p = await seal({ id, kind: "app_key" }, old.id, previousValue);
      previous.push({
        fingerprint: p.fingerprint,
        value: p.value,
        rotation_id: `rot_seed${j}`,
        superseded_at: iso(now - 31 * HOUR),
        revoke_after: iso(now - 7 * HOUR),
        revoke_attempts: 0,
      });
      if (failing) {
        const fault = (j / 2000) % 2 < 1 ? { status: 500, code: 98004 } : { status: 403, code: 11007 };
        emulator.state.faults.push({
          method: "DELETE",
          path: `/v2/users/${user}/keys/${old.id}`,
          count: 1000,
          ...fault,
        });
        expected.failing_revocations++;
      } else expectGone.push(old.id);
    }
    if (expired) expectGone.push(value);
    const rec: CredentialRecord = {
      ...base,
      id,
      kind: "app_key",
      user_id: user,
      app_id: "app",
      manager_id: managerOf.get(user)!,
      scopes: ["Predict"],
      apps: [{ id: "app", user_id: user }],
      value: s.value,
      fingerprint: s.fingerprint,
      value_created_at: iso(createdAt),
      previous,
      policy: {
        max_age_days: 30,
        grace_hours: 24,
        on_compromise: "rotate",
        generator: "none",
        ...(expired ? { expires_at: iso(now - HOUR) } : {}),
      },
      last_rotation: { id: `rot_seed${j}`, state: "done", reason: "scheduled", finished_at: iso(createdAt) },
    };
    if (maxAge) expected.max_age++;
    if (owed) expected.grace_expired++;
    if (expired) expected.expired++;
    if (crash) {
      crashed.push({ id, user });
      expected.crashed++;
    }
    // Only what something reads through a Durable Object lives in one; the big user's idle keys are
    // looked up by fingerprint alone (KV), so they are seeded into KV like every idle credential.
    (due || crash ? doRecords : kvRecords).push(rec);
  }
  return { doRecords, kvRecords, crashed, expectGone, expected };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const short = process.argv.includes("--short");
  const queueArg = process.argv.find((a) => a.startsWith("--queue="))?.slice("--queue=".length) as
    | "real"
    | "captured"
    | undefined;
  const tiny = process.argv.includes("--tiny");
  const r = await runP4({
    size: tiny ? P4_TINY : short ? P4_SHORT : P4_FULL,
    queue: queueArg ?? (short ? "real" : "captured"),
    log: (s) => console.error(s),
  });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}/p4.json`, JSON.stringify(r, null, 2) + "\n");
  const { details: _d, ...figures } = r;
  console.log(JSON.stringify(figures, null, 2));
}
