/**
 * The fault matrix and the crash matrix as one case table, runner-agnostic so that the same cases
 * run on every store: Workers KV + the CredentialCell Durable Object with the EventLedger and
 * Cloudflare Queues in workerd (test/reliability/matrix-workers.test.ts), Deno KV with its ledger
 * and queue in Deno (test/deno/matrix.test.ts), and memory (test/reliability/fault-matrix.test.ts,
 * the fast in-memory unit test of the same logic). Each runner wraps an operation in its own test
 * and hands `runOperation` an `Assert` and a way to open its backing (./world.ts).
 *
 *   operations: routine / compromise rotation of an app key, a managed PAT and a secret (random
 *     generator), compromise of a self-managed PAT, revocation, containment of a leaked
 *     superseded value, a routine rotation with two sinks, the cron sweep's work (a scheduled
 *     rotation, an owed revocation after grace, a hard expiry) and a re-encryption of the
 *     registry under a new key version; with GitHub (the case's GitHub emulator, as the test
 *     App): a compromise rotation with an Actions secret sink, and a repository's secret
 *     scanning alert (its webhook) of a value already dead, resolved as revoked; each triggered as production triggers it (the admin API's request, an alert,
 *     a GitHub webhook's alert, the cron tick, the maintenance route) and carried on by the
 *     runtime's real queue consumer;
 *   faults (./injection.ts): 503, 429, 500, 403, 401, a dropped connection, a response lost after
 *     Clarifai (or GitHub) committed, a timeout after which Clarifai still commits, at each
 *     upstream call, Clarifai's and GitHub's;
 *   crashes: after each store write; on Workers after each Durable Object commit and before its
 *     KV mirror; after Clarifai answered a create and before the key was persisted; between the
 *     two targets of one propagate; in the middle of a re-encryption page (after each write of
 *     the page).
 *
 * After the failure the system recovers with its own means only (the queue's redeliveries, a
 * later driver once the lease expired, the cron sweep twice; on Workers the cell's mirror repair)
 * and then: nothing is running, 0 orphan keys at the emulator, 0 duplicate keys, 0 lost values
 * (the recorded value works at Clarifai and in every sink, GitHub's included, or the credential is
 * revoked and nothing of it works), nothing recorded as revoked still works, a GitHub alert whose
 * value is dead is resolved as revoked and forgotten, the sweep index and the
 * fingerprint index agree with the records, and no value appears in anything published. Failures
 * that retries absorb must end in success.
 */
import { startSweep } from "../../../src/core/sweep/run.ts";
import { nextActionAt } from "../../../src/core/sweep/rules.ts";
import { owedFetchEvent } from "../../../src/core/alerts/owed-fetch.ts";
import { reportNamedLeak, reportRepoAlert } from "../../../src/core/alerts/pipeline.ts";
import { isFailure } from "../../../src/core/failure.ts";
import {
  aadFor,
  type CredentialRecord,
  CURRENT_VALUE,
  fingerprintsOf,
} from "../../../src/core/credentials/credential.ts";
import type { CredentialKind, Policy } from "../../../src/core/credentials/credential.ts";
import { registerCredential } from "../../../src/core/credentials/register.ts";
import { decrypt, needsReencrypt } from "../../../src/core/crypto/envelope.ts";
import { fingerprint } from "../../../src/core/crypto/fingerprint.ts";
import { randomId } from "../../../src/core/crypto/random.ts";
import { startReencrypt } from "../../../src/core/maintenance/reencrypt-job.ts";
import { beginRotation } from "../../../src/core/rotation/begin.ts";
import { driveRotation } from "../../../src/core/rotation/drive.ts";
import type { EngineServices } from "../../../src/core/rotation/engine-services.ts";
import { requestRotation } from "../../../src/core/rotation/request.ts";
import type { Rotation } from "../../../src/core/rotation/rotation.ts";
import type { Services } from "../../../src/services.ts";
import type { Assert } from "../store-contract.ts";
import { githubSecretValue } from "./github.ts";
import {
  type CrashPoint,
  describeInjection,
  type FaultKind,
  type Injection,
  injectorFor,
  TRANSIENT,
} from "./injection.ts";
import { CaseWorld, CLIENT_TIMEOUT_MS, KEYS_V1, KEYS_V1_V2, type OpenBacking } from "./world.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The cron schedule (wrangler.toml, src/adapters/deno-cron.ts): a lost mirror must be repaired within one. */
export const SWEEP_PERIOD_MS = 15 * MINUTE;

/** What an operation's setup made: the credential under test, the value it starts with, its manager. */
interface Subject {
  credId: string;
  original: string;
  managerId: string;
  managerKeyId: string;
  /** Clarifai secrets the credential's new value must reach (its own, for a secret, then its sinks). */
  targets: string[];
  /** Every credential of the case, for the index checks and the clean-up. */
  credentialIds: string[];
  /** The GitHub operations': the repository (the App installed on its owner) and its open alert for `original`. */
  github?: { repository: string; alert?: number };
}

export interface MatrixOperation {
  name: string;
  setup(world: CaseWorld): Promise<Subject>;
  run(world: CaseWorld, subject: Subject): Promise<void>;
  /** The operation's own work leaves the credential revoked. */
  revokes?: boolean;
  /** A compromise: the leaked original must end dead unless its deletion failed for good. */
  compromise?: boolean;
  /** The plan creates the replacement before revoking the leak (self-managed PAT). */
  createsFirst?: boolean;
  /** The leaked original is a superseded value that must end dead, whatever failed. */
  previousDies?: boolean;
  /** Creates a key at Clarifai (the "create answered" crash point applies). */
  createsKey?: boolean;
  /** Propagates to two targets (the "between sinks" crash point applies). */
  twoTargets?: boolean;
  /** Re-encrypts the registry: every sealed value must end under the newest key version. */
  reencrypts?: boolean;
  /** Makes no upstream call (so no fault cases): asserted, not assumed. */
  noUpstream?: boolean;
  /** The credential has a GitHub Actions secret sink (GITHUB_SINK in its repository). */
  githubSink?: boolean;
  /** GitHub has an alert for `original`: resolved as revoked once that value is dead, open while it lives. */
  githubAlert?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Setup: a managed credential with a Clarifai-secret sink, registered through the real path.

async function setupDeps(world: CaseWorld): Promise<EngineServices> {
  return world.services("consumer").engine();
}

/** Creates a Clarifai secret at the case's emulator (a call rekey itself never makes). */
async function createSecret(world: CaseWorld, token: string, id: string, value: string): Promise<void> {
  const res = await world.emulator.fetch(`http://clarifai.emulator/v2/users/${world.seed.userId}/secrets`, {
    method: "POST",
    headers: { authorization: `Key ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ secrets: [{ id, value }] }),
  });
  if (!res.ok) throw new Error(`creating secret ${id} answered ${res.status}`);
}

async function mintKey(
  world: CaseWorld,
  type: "personal_access_token" | "app_specific_key",
  scopes: string[],
  d: string,
) {
  const apps = type === "app_specific_key" ? [{ id: world.seed.appId, user_id: world.seed.userId }] : [];
  return (await world.control(`users/${world.seed.userId}/keys`, { type, scopes, apps, description: d })).key as {
    id: string;
  };
}

async function scenario(
  world: CaseWorld,
  kind: CredentialKind,
  policy: Partial<Policy> = {},
  opts: { sinks?: number; prefix?: string; githubSink?: string } = {},
): Promise<Subject> {
  const deps = await setupDeps(world);
  const user = world.seed.userId;
  const managerKey = await mintKey(world, "personal_access_token", ["All"], "manager");
  const manager = await registerCredential(deps, {
    kind: "pat",
    user_id: user,
    value: managerKey.id,
    description: "manager",
  });
  if (!manager.ok) throw new Error(`manager registration failed: ${manager.error.code}`);
  const sinkIds = Array.from({ length: opts.sinks ?? 1 }, (_, i) => `${opts.prefix ?? ""}SINK_SECRET_${i}`);
  for (const id of sinkIds) await createSecret(world, managerKey.id, id, "placeholder");
  const sinks = [
    ...sinkIds.map((secret_id) => ({ type: "clarifai_secret" as const, user_id: user, secret_id })),
    ...(opts.githubSink
      ? [{ type: "github_actions_secret" as const, repository: opts.githubSink, name: GITHUB_SINK }]
      : []),
  ];
  const fullPolicy = { grace_hours: 0, ...policy };
  let original: string;
  let registered;
  if (kind === "secret") {
    original = "third-party-key-ORIGINAL";
    await createSecret(world, managerKey.id, `${opts.prefix ?? ""}OPENAI_KEY`, original);
    registered = await registerCredential(deps, {
      kind,
      user_id: user,
      secret_id: `${opts.prefix ?? ""}OPENAI_KEY`,
      manager_id: manager.value.id,
      policy: fullPolicy,
      sinks,
    });
  } else {
    const type = kind === "pat" ? "personal_access_token" : "app_specific_key";
    original = (await mintKey(world, type, ["Predict", "Inputs_Get"], "workload key")).id;
    registered = await registerCredential(deps, {
      kind,
      user_id: user,
      value: original,
      manager_id: manager.value.id,
      policy: fullPolicy,
      sinks,
    });
  }
  if (!registered.ok) throw new Error(`registration failed: ${registered.error.code} ${registered.error.message}`);
  return {
    credId: registered.value.id,
    original,
    managerId: manager.value.id,
    managerKeyId: managerKey.id,
    targets: [...(kind === "secret" ? [`${opts.prefix ?? ""}OPENAI_KEY`] : []), ...sinkIds],
    credentialIds: [manager.value.id, registered.value.id],
  };
}

/** The Actions secret a GitHub sink writes. */
const GITHUB_SINK = "MATRIX_KEY";

/**
 * A repository of the case's own at its GitHub, the test App installed on its organization, and
 * the backstop listing it (GITHUB_ALERT_SCOPES): what a team that keeps its code on GitHub has.
 */
async function githubRepository(world: CaseWorld, opts: { backstop: boolean }): Promise<string> {
  const repository = "matrix-org/app";
  await world.githubControl("repos", { full_name: repository });
  await world.githubControl("installations", { account: "matrix-org" });
  if (opts.backstop) world.deploy({ GITHUB_ALERT_SCOPES: [repository] });
  return repository;
}

/** GitHub's secret scanning finds `secret` in the repository: an open alert (its webhook is the trigger). */
async function githubAlertFor(world: CaseWorld, repository: string, secret: string): Promise<number> {
  return (await world.githubControl(`repos/${repository}/alerts`, { secret })).alert.number;
}

/** A finished routine rotation (setup for the operations that act on a superseded value). */
async function rotated(world: CaseWorld, s: Subject): Promise<void> {
  const deps = await setupDeps(world);
  const b = await beginRotation(deps, s.credId, { reason: "manual", mode: "rotate", requestedBy: "setup" });
  if (!b.ok || (await driveRotation(deps, s.credId, b.rotation.id)).state !== "done") {
    throw new Error("setup rotation failed");
  }
}

// ---------------------------------------------------------------------------------------------
// Triggers, as production has them.

/** The admin API's (and chat's) request: begin or join, the fast path deferred, `rotation.requested` published. */
const request = (mode: "rotate" | "revoke") => (world: CaseWorld, s: Subject) =>
  world.request((svc) =>
    requestRotation(svc, s.credId, { reason: "manual", mode, requestedBy: "matrix" }, { source: "/rekey/admin" })
  ).then(() => undefined);

/** A Standard Webhooks alert naming the leaked value (POST /hooks/alerts after its signature check). */
const alert = (value: (s: Subject) => string) => (world: CaseWorld, s: Subject) =>
  world.request(async (svc: Services) =>
    reportNamedLeak(svc, await svc.engine(), { value: value(s) }, {
      source: "webhook",
      deliveryId: randomId("msg", svc.now()),
      reason: "named_in_alert",
    })
  ).then(() => undefined);

/**
 * POST /hooks/github/events for the alert of `s.github` (after its signature check): the alert is
 * read from GitHub and its secret goes through the pipeline, contained at once. GitHub failing the
 * read transiently makes the fetch owed, as the route does (`github.alert_fetch_owed`,
 * core/alerts/owed-fetch.ts: the rotator fetches it again); refusing it is the route's 502, and
 * the backstop finds the alert later.
 */
const githubWebhook = (world: CaseWorld, s: Subject) =>
  world.request(async (svc) => {
    const receivedAt = svc.now();
    const engine = await svc.engine();
    const { repository, alert } = s.github!;
    const delivery = crypto.randomUUID();
    let found: Awaited<ReturnType<NonNullable<typeof engine.github>["getAlert"]>>;
    try {
      found = await engine.github!.getAlert(repository, alert!);
    } catch (error) {
      if (!isFailure(error, "github")) throw error;
      if (!error.retryable) return;
      const owed = await owedFetchEvent(
        { repository, number: alert!, action: "created", delivery, receivedAt },
        svc.now(),
      );
      // Not queued: the route's 503, and the backstop finds the alert later.
      if (owed) await svc.bus.publish(owed).catch(() => undefined);
      return;
    }
    if (!found.secret) return;
    await reportRepoAlert(svc, engine, { repository, number: found.number, secret: found.secret }, {
      delivery,
      fastPath: true,
      receivedAt,
    });
  }).then(() => undefined);

/** The cron tick: `scheduled()` publishes the sweep's first batch (and the GitHub backstop's); the consumer does the rest. */
const cronTick = (world: CaseWorld) =>
  world.request((svc) => startSweep(svc.bus, svc.now(), { githubScopes: svc.config.GITHUB_ALERT_SCOPES.length }))
    .then(() => undefined);

const rotation = (
  name: string,
  kind: "app_key" | "pat" | "secret",
  reason: "manual" | "compromise",
): MatrixOperation => ({
  name,
  compromise: reason === "compromise",
  createsKey: kind !== "secret",
  // A secret's own Clarifai secret and its sink: two targets.
  twoTargets: kind === "secret",
  setup: (world) => scenario(world, kind, kind === "secret" ? { generator: "random" } : {}),
  run: reason === "manual" ? request("rotate") : alert((s) => s.original),
});

export const OPERATIONS: readonly MatrixOperation[] = [
  rotation("routine rotation, app key", "app_key", "manual"),
  rotation("compromise rotation, app key", "app_key", "compromise"),
  rotation("routine rotation, managed PAT", "pat", "manual"),
  rotation("compromise rotation, managed PAT", "pat", "compromise"),
  rotation("routine rotation, secret (random generator)", "secret", "manual"),
  rotation("compromise rotation, secret (random generator)", "secret", "compromise"),
  {
    name: "routine rotation, app key with two sinks",
    createsKey: true,
    twoTargets: true,
    setup: (world) => scenario(world, "app_key", {}, { sinks: 2 }),
    run: request("rotate"),
  },
  {
    name: "compromise rotation, self-managed PAT",
    compromise: true,
    createsFirst: true,
    createsKey: true,
    setup: async (world) => {
      const s = await scenario(world, "app_key");
      return { ...s, credId: s.managerId, original: s.managerKeyId, targets: [] };
    },
    run: alert((s) => s.original),
  },
  {
    name: "revocation, app key",
    revokes: true,
    setup: (world) => scenario(world, "app_key"),
    run: request("revoke"),
  },
  {
    name: "revocation, secret",
    revokes: true,
    setup: (world) => scenario(world, "secret"),
    run: request("revoke"),
  },
  {
    name: "containment of a leaked superseded value (in its grace period)",
    previousDies: true,
    setup: async (world) => {
      const s = await scenario(world, "app_key", { grace_hours: 24 });
      await rotated(world, s);
      return s;
    },
    run: alert((s) => s.original),
  },
  {
    // The leaked third-party value is no longer at Clarifai: its secret holds the replacement,
    // which must survive (deleting the secret would destroy it).
    name: "containment of a leaked superseded secret value (in its grace period)",
    previousDies: true,
    noUpstream: true,
    setup: async (world) => {
      const s = await scenario(world, "secret", { grace_hours: 24, generator: "random" });
      await rotated(world, s);
      return s;
    },
    run: alert((s) => s.original),
  },
  {
    // A Standard Webhooks alert, not the repository's: GitHub's alert path is the next operation's.
    // With both, the alert's resolution would have two triggers (`github.alert_linked`, then
    // `credential.revoked`) that a queue may hand over at once: both resolve it, harmlessly, but
    // the case's call count would no longer be the same from one run to the next.
    name: "compromise rotation, app key with a GitHub Actions secret sink",
    compromise: true,
    createsKey: true,
    // Its Clarifai secret sink, then the Actions secret.
    twoTargets: true,
    githubSink: true,
    setup: async (world) => {
      const repository = await githubRepository(world, { backstop: false });
      const s = await scenario(world, "app_key", {}, { githubSink: repository });
      return { ...s, github: { repository } };
    },
    run: alert((s) => s.original),
  },
  {
    // The leak was contained before (a rotation replaced and deleted it); the alert's webhook
    // comes after, and the alert is resolved on the bus.
    name: "GitHub: resolving the alert of a value already dead",
    githubAlert: true,
    setup: async (world) => {
      const repository = await githubRepository(world, { backstop: true });
      const s = await scenario(world, "app_key");
      await rotated(world, s);
      return { ...s, github: { repository, alert: await githubAlertFor(world, repository, s.original) } };
    },
    run: githubWebhook,
  },
  {
    name: "sweep: scheduled rotation of an aged key",
    createsKey: true,
    setup: async (world) => {
      const s = await scenario(world, "app_key", { max_age_days: 30 });
      world.clock.advance(31 * DAY);
      return s;
    },
    run: cronTick,
  },
  {
    name: "sweep: owed revocation after the grace period",
    setup: async (world) => {
      const s = await scenario(world, "app_key", { grace_hours: 24 });
      await rotated(world, s);
      world.clock.advance(25 * HOUR);
      return s;
    },
    run: cronTick,
  },
  {
    name: "sweep: owed revocation after the grace period, secret",
    noUpstream: true,
    setup: async (world) => {
      const s = await scenario(world, "secret", { grace_hours: 24, generator: "random" });
      await rotated(world, s);
      world.clock.advance(25 * HOUR);
      return s;
    },
    run: cronTick,
  },
  {
    name: "sweep: revocation at hard expiry",
    revokes: true,
    setup: async (world) => {
      const s = await scenario(world, "app_key", {
        expires_at: new Date(world.clock.now() + 4 * DAY).toISOString(),
      });
      world.clock.advance(5 * DAY);
      return s;
    },
    run: cronTick,
  },
  {
    name: "re-encryption under a new key version (two pages)",
    reencrypts: true,
    noUpstream: true,
    setup: async (world) => {
      // Registered while REKEY_ENCRYPTION_KEYS had version 1 only; then version 2 is deployed.
      world.deploy({ REKEY_ENCRYPTION_KEYS: KEYS_V1 });
      const s = await scenario(world, "app_key", { grace_hours: 24 });
      await rotated(world, s);
      const other = await scenario(world, "secret", { generator: "random" }, { prefix: "OTHER_" });
      world.deploy({ REKEY_ENCRYPTION_KEYS: KEYS_V1_V2 });
      return { ...s, credentialIds: [...s.credentialIds, ...other.credentialIds] };
    },
    // POST /v1/maintenance/reencrypt, two credentials a page: four credentials, two pages.
    run: (world) =>
      world.request(async (svc) => startReencrypt(svc, await svc.engine(), "matrix", 2)).then(() => undefined),
  },
];

// ---------------------------------------------------------------------------------------------
// Which cases run where.

/** Every failure kind; `npm test` runs the bounded set on the real stores, `npm run test:soak` all of them. */
export const ALL_FAULTS: readonly FaultKind[] = ["503", "429", "500", "403", "401", "drop", "lost_response", "timeout"];
export const BOUNDED_FAULTS: readonly FaultKind[] = ["503", "429", "403", "401", "drop", "lost_response"];

export interface MatrixScale {
  faults: readonly FaultKind[];
  /** "all": every fault kind at every upstream call; "one": each kind at one call, a different one per kind. */
  faultCalls: "all" | "one";
  /** Crash after every n-th store write (1: every write), starting at a different write per operation. */
  writeStride: number;
  /** Crash between commit and mirror (Workers): after every n-th mirrored write. */
  mirrorStride: number;
}

export const FULL: MatrixScale = { faults: ALL_FAULTS, faultCalls: "all", writeStride: 1, mirrorStride: 1 };
/** Every case but the slow failure kinds (a 500 behaves as a 503; a timeout waits for late commits). */
export const EVERY_CALL: MatrixScale = { ...FULL, faults: BOUNDED_FAULTS };

/** What the operation did with nothing injected: the counts the cases enumerate. */
export interface Baseline {
  calls: number;
  writes: number;
  mirroredWrites: number;
}

export function casesFor(op: MatrixOperation, base: Baseline, scale: MatrixScale, opts: {
  mirror: boolean;
  offset: number;
}): Injection[] {
  const out: Injection[] = [];
  if (base.calls > 0) {
    scale.faults.forEach((fault, i) => {
      const indexes = scale.faultCalls === "all"
        ? Array.from({ length: base.calls }, (_, j) => j)
        : [(opts.offset + i) % base.calls];
      for (const index of indexes) out.push({ kind: "fault", fault, index });
    });
  }
  const crashes: CrashPoint[] = [];
  for (let k = opts.offset % scale.writeStride; k < base.writes; k += scale.writeStride) {
    crashes.push({ kind: "after_write", k });
  }
  if (opts.mirror) {
    for (let k = opts.offset % scale.mirrorStride; k < base.mirroredWrites; k += scale.mirrorStride) {
      crashes.push({ kind: "mirror_lost", k });
    }
  }
  if (op.createsKey) crashes.push({ kind: "create_answered" });
  if (op.twoTargets) crashes.push({ kind: "between_sinks" });
  return [...out, ...crashes];
}

// ---------------------------------------------------------------------------------------------
// Running a case.

export interface CaseResult {
  label: string;
  /** `done`, `failed:<code>@<step>`, or `none` (no rotation involved). */
  outcome: string;
  /** The case lost a KV mirror whose repair was then due (Workers). */
  mirrorRepaired?: boolean;
}

export interface OperationReport {
  store: string;
  operation: string;
  baseline: Baseline;
  cases: number;
  outcomes: Record<string, number>;
  /** Cases where a lost KV mirror was still owed after the crash and the cell's alarm repaired it. */
  mirrorRepairs: number;
}

/**
 * Runs the operation's baseline (nothing injected), then every case `scale` selects for it on a
 * fresh world each, asserting convergence after each. Returns the per-store counts.
 */
export async function runOperation(
  op: MatrixOperation,
  open: OpenBacking,
  assert: Assert,
  scale: MatrixScale,
  opts: {
    /** Where the "one of every n" selections start, so operations cover different calls and writes. */
    offset?: number;
    /** Narrows the scale's cases further (a store where each case is costly). */
    select?: (cases: Injection[]) => Injection[];
    /**
     * Runs each case (default: one at a time). A store with a backing per case (Deno KV, memory)
     * may run several at once: each case has its own world.
     */
    schedule?: Schedule;
  } = {},
): Promise<OperationReport> {
  let mirror = false;
  let store = "";
  let baseline: Baseline | undefined;
  const schedule = opts.schedule ?? oneAtATime();
  const base = await schedule(() =>
    runCase(op, open, { kind: "none" }, assert, (world) => {
      baseline = { calls: world.calls, writes: world.writes, mirroredWrites: world.mirroredWrites };
      mirror = world.backing.loseNextMirror !== undefined;
      store = world.backing.name;
    })
  );
  if (op.noUpstream) assert.equal(baseline!.calls, 0, `${op.name}: the operation calls Clarifai`);
  else assert.ok(baseline!.calls > 0, `${op.name}: the operation makes upstream calls`);
  assert.ok(baseline!.writes > 0, `${op.name}: the operation writes to the store`);
  const outcomes = new Map<string, number>([[`none:${base.outcome}`, 1]]);
  let mirrorRepairs = 0;
  const all = casesFor(op, baseline!, scale, { mirror, offset: opts.offset ?? 0 });
  const cases = opts.select ? opts.select(all) : all;
  await Promise.all(cases.map((injection) =>
    schedule(async () => {
      const r = await runCase(op, open, injection, assert);
      if (r.mirrorRepaired) mirrorRepairs++;
      const key = `${injection.kind === "fault" ? injection.fault : injection.kind}:${r.outcome}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    })
  ));
  return {
    store,
    operation: op.name,
    baseline: baseline!,
    cases: cases.length + 1,
    outcomes: Object.fromEntries(outcomes),
    mirrorRepairs,
  };
}

/** Runs tasks with at most `width` at a time, in the order they were given. */
export type Schedule = <T>(task: () => Promise<T>) => Promise<T>;

export function atMost(width: number): Schedule {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    // A finished task hands its slot to the next waiting one, so no newcomer can take it between.
    if (running >= width) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

const oneAtATime = () => atMost(1);

export async function runCase(
  op: MatrixOperation,
  open: OpenBacking,
  injection: Injection,
  assert: Assert,
  afterOp: (world: CaseWorld) => void = () => {},
): Promise<CaseResult> {
  const world = await CaseWorld.open(open);
  const label = `${world.backing.name}: ${op.name}: ${describeInjection(injection)}`;
  try {
    const s = await op.setup(world);
    await world.settle();
    const injector = injectorFor(injection);
    world.arm(injector);
    await op.run(world, s);
    afterOp(world);
    world.disarm();
    if (injection.kind !== "none") assert.ok(injector.fired(), `${label}: the injection point was never reached`);
    let mirrorRepaired = false;
    if (world.lostMirrorOf) {
      // A minute passes (the cell's repair alarm), less than one sweep: the index is whole again
      // before the next sweep lists it.
      const due = await world.backing.repairMirror!(world.lostMirrorOf);
      if (due !== null) {
        assert.ok(
          due <= SWEEP_PERIOD_MS,
          `${label}: the lost mirror is repaired ${due} ms later, after the next sweep`,
        );
        mirrorRepaired = true;
      }
      await assertIndexed(world, [world.lostMirrorOf], assert, `${label} (before the next sweep)`);
    }
    await recover(world, injection);
    const last = await assertConverged(world, op, s, assert, label);
    const outcome = `${last?.state ?? "none"}${last?.error ? `:${last.error.code}@${last.error.step}` : ""}`;
    if (injection.kind === "fault" && TRANSIENT.has(injection.fault) && outcome !== "none") {
      assert.ok(outcome.startsWith("done"), `${label}: a failure a retry gets past ended ${outcome}`);
    }
    if (injection.kind !== "none" && injection.kind !== "fault" && !op.revokes && last) {
      assert.equal(last.state, "done", `${label}: a crash made the operation end ${outcome}`);
    }
    if (injection.kind === "none" && last) assert.equal(last.state, "done", `${label}: ended ${outcome}`);
    await cleanUp(world);
    return { label, outcome, ...(mirrorRepaired ? { mirrorRepaired } : {}) };
  } finally {
    await world.close();
  }
}

/** With its own means only: faults gone, time passes, the cron sweep runs twice. */
async function recover(world: CaseWorld, injection: Injection): Promise<void> {
  await world.clearFaults();
  // Late commits of timed-out calls land first.
  if (injection.kind === "fault" && injection.fault === "timeout") {
    await new Promise((r) => setTimeout(r, CLIENT_TIMEOUT_MS * 3));
  }
  await world.settle();
  for (let i = 0; i < 2; i++) {
    world.clock.advance(20 * MINUTE);
    await cronTick(world);
  }
}

/** The case's credentials go, so a later case's sweep lists only its own. */
async function cleanUp(world: CaseWorld): Promise<void> {
  const store = world.backing.store;
  for (let cursor: string | undefined, first = true; first || cursor; first = false) {
    const page = await store.listCredentials({ limit: 100, ...(cursor ? { cursor } : {}) });
    await Promise.all(page.items.map((rec) => store.deleteCredential(rec.id)));
    cursor = page.cursor;
  }
}

// ---------------------------------------------------------------------------------------------
// What converged means.

/** The sweep index and the fingerprint index say what the records say (on Workers: KV agrees with the cells). */
async function assertIndexed(world: CaseWorld, ids: readonly string[], assert: Assert, label: string) {
  const store = world.backing.store;
  const index = new Map<string, number | null | undefined>();
  for (let cursor: string | undefined, first = true; first || cursor; first = false) {
    const page = await store.listIndex({ limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const e of page.items) index.set(e.id, e.next_action_at);
    cursor = page.cursor;
  }
  for (const id of ids) {
    const rec = (await store.getCredential(id))?.value;
    if (!rec) continue;
    assert.ok(index.has(id), `${label}: credential ${id} is missing from the sweep index`);
    assert.equal(index.get(id), nextActionAt(rec), `${label}: the sweep index has a stale next-action time for ${id}`);
    for (const fp of fingerprintsOf(rec)) {
      assert.equal(await store.findCredentialByFingerprint(fp), id, `${label}: a fingerprint of ${id} is not indexed`);
    }
    for (const r of await store.listRotations(id)) {
      const found = await store.findRotation(r.id);
      assert.ok(found, `${label}: rotation ${r.id} cannot be found by id`);
      if (r.state !== "running") assert.equal(found?.state, r.state, `${label}: rotation ${r.id} is stale by id`);
    }
  }
}

async function assertConverged(
  world: CaseWorld,
  op: MatrixOperation,
  s: Subject,
  assert: Assert,
  label: string,
): Promise<Rotation | undefined> {
  const store = world.backing.store;
  const deps = await setupDeps(world);
  const state = await world.clarifaiState();
  await assertIndexed(world, s.credentialIds, assert, label);
  if (op.reencrypts) await assertReencrypted(world, s, assert, label);
  const rec = (await store.getCredential(s.credId))?.value;
  assert.ok(rec, `${label}: the record is gone`);
  if (!rec) return undefined;
  const rotations = await store.listRotations(s.credId);
  // Converged: nothing running, nothing claimed.
  assert.deepEqual(
    rotations.filter((r) => r.state === "running").map((r) => r.step),
    [],
    `${label}: a rotation is still running`,
  );
  assert.equal(rec.current_rotation, undefined, `${label}: still claimed`);
  const last = rotations.sort((a, b) => a.created_at.localeCompare(b.created_at)).at(-1);

  const ownKeys = state.keys.filter((k: any) =>
    k.id !== world.seed.pat && (s.credId === s.managerId || k.id !== s.managerKeyId)
  );
  const live = new Set<string>(ownKeys.map((k: any) => k.id));
  const marked = ownKeys.filter((k: any) => String(k.description ?? "").includes("[rekey:"));
  const fpOf = (v: string) => fingerprint(deps.fingerprintKey, v);

  // 0 orphans: every marked key is a value the record knows and has not revoked.
  const known = new Set([
    rec.state === "revoked" ? "" : rec.fingerprint,
    ...rec.previous.filter((p) => !p.revoked_at).map((p) => p.fingerprint),
  ]);
  for (const k of marked) assert.ok(known.has(await fpOf(k.id)), `${label}: orphan marked key ${k.description}`);
  // Nothing recorded as revoked still works.
  const liveFingerprints = new Set(await Promise.all(ownKeys.map((k: any) => fpOf(k.id))));
  for (const p of rec.previous.filter((x) => x.revoked_at)) {
    assert.ok(!liveFingerprints.has(p.fingerprint), `${label}: a value recorded as revoked still works`);
  }
  // 0 duplicates: one key per rotation.
  const byRotation = new Map<string, number>();
  for (const k of marked) {
    const id = /\[rekey:([^\]]+)\]/.exec(String(k.description))![1]!;
    byRotation.set(id, (byRotation.get(id) ?? 0) + 1);
  }
  for (const [id, n] of byRotation) assert.equal(n, 1, `${label}: ${n} keys for rotation ${id}`);

  let current: string | undefined;
  if (rec.state === "revoked") {
    // Revoked: nothing of the credential works any more.
    assert.ok(!live.has(s.original), `${label}: revoked, yet the original still works`);
    assert.deepEqual(marked.map((k: any) => k.description), [], `${label}: revoked, yet a new key works`);
  } else {
    // 0 lost values: the recorded value opens and works, at Clarifai and in every target.
    const opened = await decrypt(deps.keyring, rec.value, aadFor(rec, CURRENT_VALUE));
    assert.ok(opened.ok, `${label}: the recorded value does not decrypt`);
    current = opened.ok ? opened.value : "";
    if (rec.kind !== "secret") assert.ok(live.has(current), `${label}: the recorded value does not exist at Clarifai`);
    // A secret's own Clarifai secret is its value; sinks hold it once a rotation is done (before
    // that, and after one that failed, they hold whatever they held before).
    const targets = last?.state === "done" ? s.targets : rec.kind === "secret" ? s.targets.slice(0, 1) : [];
    {
      for (const id of targets) {
        assert.equal(
          state.secrets.find((x: any) => x.id === id && x.user_id === world.seed.userId)?.value,
          current,
          `${label}: secret ${id} does not hold the recorded value`,
        );
      }
    }
    // Only the current value and unrevoked previous ones live on.
    const liveOwn = [...live].filter((id) =>
      id === current || id === s.original || marked.some((k: any) => k.id === id)
    );
    assert.ok(
      liveOwn.length <= 1 + rec.previous.filter((p) => !p.revoked_at).length,
      `${label}: ${liveOwn.length} live keys for one credential`,
    );
  }

  // A secret's value lives in its Clarifai secret (and the sinks it was propagated to).
  const originalAlive = rec.kind === "secret"
    ? state.secrets.some((x: any) => x.user_id === world.seed.userId && x.value === s.original)
    : live.has(s.original);
  if (op.compromise && rec.kind !== "secret" && originalAlive) {
    // Containment: the leaked value is dead, unless Clarifai refused its deletion for good (the
    // rotation then failed at revoke_old, which alerts a human). A self-managed PAT is the only
    // token that can mint its successor, so its plan creates first: when that is refused for
    // good, the leaked PAT is kept rather than deleted with nothing to replace it.
    const refusable = op.createsFirst ? ["revoke_old", "create"] : ["revoke_old"];
    assert.ok(
      refusable.includes(last?.error?.step ?? ""),
      `${label}: the leaked key survived (${last?.state} at ${last?.error?.step})`,
    );
  }
  if (op.revokes && last?.state === "done") assert.equal(rec.state, "revoked", `${label}: not revoked`);
  // Refused or not, the sweep keeps retrying a leaked superseded value until Clarifai confirms.
  if (op.previousDies) assert.ok(!originalAlive, `${label}: the leaked superseded value still works`);
  if (op.githubSink && rec.state !== "revoked") {
    // The Actions secret holds the recorded value, or (a rotation that failed before writing it)
    // nothing rekey wrote: never a value that no longer works.
    const held = await githubSecretValue(world.github, `repo:${s.github!.repository}`, GITHUB_SINK);
    if (last?.state === "done" || held !== undefined) {
      assert.equal(held, current, `${label}: the GitHub Actions secret does not hold the recorded value`);
    }
  }
  if (op.githubAlert) {
    const alert = (await world.githubControl("state")).alerts.find((a: any) => a.number === s.github!.alert);
    if (originalAlive) {
      assert.equal(alert?.state, "open", `${label}: the alert of a value still alive was resolved`);
    } else {
      assert.equal(alert?.state, "resolved", `${label}: the alert of a dead value is still open`);
      assert.equal(alert?.resolution, "revoked", `${label}: the alert is not resolved as revoked`);
      assert.equal(rec.github_alerts, undefined, `${label}: the resolved alert is still remembered`);
    }
  }
  // Replaced (grace 0) or paid after grace: the old value is dead.
  if (last?.state === "done" && !op.revokes && !op.reencrypts) {
    assert.ok(!originalAlive, `${label}: the replaced value still works`);
  }
  // No value, old or new, in anything rekey published or stores in clear.
  const sealed = { ...rec, value: null, previous: rec.previous.map((p) => ({ ...p, value: null })) };
  const said = JSON.stringify(world.published) + JSON.stringify(sealed);
  for (const v of [s.original, ...(current ? [current] : [])]) {
    assert.ok(!said.includes(v), `${label}: a secret value appears in an event or a record`);
  }
  return last;
}

/** Every sealed value of the case, in records and rotations, is under the newest version and opens. */
async function assertReencrypted(world: CaseWorld, s: Subject, assert: Assert, label: string) {
  const deps = await setupDeps(world);
  const job = (await world.backing.jobs.getJob())?.value;
  assert.equal(job?.state, "done", `${label}: the re-encryption job did not finish`);
  assert.equal(job?.remaining, 0, `${label}: the re-encryption job left values behind`);
  for (const id of s.credentialIds) {
    const rec = (await world.backing.store.getCredential(id))?.value as CredentialRecord;
    const sealed = [rec.value, ...rec.previous.flatMap((p) => (p.value ? [p.value] : []))];
    for (const v of sealed) assert.ok(!needsReencrypt(deps.keyring, v), `${label}: ${id} keeps a value under v${v.v}`);
    for (const r of await world.backing.store.listRotations(id)) {
      for (const v of [...(r.new_value ? [r.new_value] : []), ...(r.replies ?? [])]) {
        assert.ok(!needsReencrypt(deps.keyring, v), `${label}: rotation ${r.id} keeps a value under v${v.v}`);
      }
    }
  }
}
