/**
 * One case of the fault and crash matrices (./cases.ts) as the runtime sees it: rekey's real
 * services over one runtime's real adapters (a `MatrixBacking`: the store, ledger, audit trail,
 * job record and event bus of Workers, Deno KV or memory, and that runtime's own queue consumer),
 * a controlled clock, and a Clarifai and a GitHub emulator created in-process for the case, so
 * their state and call logs are the case's own. Runner-agnostic: vitest in workerd and Deno.test
 * both use it.
 *
 * Crashes: rekey runs in "incarnations", one isolate or process each. Every invocation (the
 * request that starts an operation, each queue delivery, each cron tick) takes the current
 * incarnation's services when it starts. When a crash point fires (./injection.ts), that
 * incarnation dies: every store, Clarifai, bus, audit, job and ledger call it makes afterwards
 * fails, so the work it had in flight stops where it was and nothing it would have done next
 * happens; the next invocation gets a fresh incarnation, as the next isolate would. The consumer's
 * own plumbing (its ledger claims, acks and retries) survives: it stands for the queue service,
 * which a crashed isolate does not take down.
 *
 * A request's events are held until its own work (the fast path it defers) has run, then
 * published: one of the orders the real queue allows, and the one that keeps a case repeatable
 * (otherwise the fast path and the consumer race for the same rotation and a crash "after write
 * k" hits a different driver from one run to the next).
 */
import { MemoryStats } from "../../../src/core/summary/stats.ts";
import { createEmulator, type Emulator } from "../../../emulator/src/index.ts";
import { createGithubEmulator, type GithubEmulator } from "../../../emulator/github/index.ts";
import type { AuditLog } from "../../../src/core/audit/audit-log.ts";
import type { EventBus } from "../../../src/core/bus/bus.ts";
import type { BusHandlers, LogRecord } from "../../../src/core/bus/consumer.ts";
import type { BusEvent } from "../../../src/core/bus/events.ts";
import type { ProcessedLedger } from "../../../src/core/bus/ledger.ts";
import type { JobStore } from "../../../src/core/maintenance/job.ts";
import type { CredentialRecord } from "../../../src/core/credentials/credential.ts";
import type { Rotation } from "../../../src/core/rotation/rotation.ts";
import type { Store } from "../../../src/core/store/store.ts";
import { DEFAULT_BACKOFF, retryDelaySeconds } from "../../../src/core/bus/backoff.ts";
import { subscribeHandlers } from "../../../src/core/subscribers/handlers.ts";
import { onDeadLetter } from "../../../src/core/subscribers/index.ts";
import { type Config, parseConfig } from "../../../src/config.ts";
import { buildServices, type Services } from "../../../src/services.ts";
import { GITHUB_APP_ID, githubAppKeys } from "./github.ts";
import { type Injector, noInjection } from "./injection.ts";

// Test-only keys (the same as vitest.config.ts): public, never used outside tests.
export const KEYS_V1 = '{"1":"dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE="}';
export const KEYS_V1_V2 =
  '{"1":"dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=","2":"dGVzdC1rZXktdmVyc2lvbi10d28tMzItYnl0ZXMhISE="}';
const FINGERPRINT_KEY = "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=";
/** Clarifai's base URL as rekey is configured with it; the case's network sends it to its emulator. */
const CLARIFAI = "http://clarifai.emulator";
/** GITHUB_API_BASE as rekey is configured with it; the case's network sends it to its GitHub emulator. */
const GITHUB = "http://github.emulator";
/** The shortest client timeout the configuration allows: a `timeout` fault waits longer. */
export const CLIENT_TIMEOUT_MS = 100;

/** What a runtime gives a case: its adapters over one database, and its queue consumer. */
export interface MatrixBacking {
  /** "Workers KV + Durable Objects", "Deno KV", "memory". */
  readonly name: string;
  readonly store: Store;
  readonly ledger: ProcessedLedger;
  readonly audit: AuditLog;
  readonly jobs: JobStore;
  /** The runtime's event bus (Queues, the Deno KV queue, memory): every publish of the case goes through it. */
  readonly bus: EventBus;
  /** Resolves once the consumer has settled everything published so far, and all that caused. */
  quiesce(): Promise<void>;
  /** Workers only: the cell of `credentialId` commits its next write and loses that write's KV mirror. */
  loseNextMirror?(credentialId: string): Promise<void>;
  /**
   * Workers only: when the cell's repair of a lost mirror is due (ms from now; null: nothing to
   * repair), after running it as the runtime would at that time.
   */
  repairMirror?(credentialId: string): Promise<number | null>;
  close(): Promise<void>;
}

/** What a backing's consumer calls: the case's side of each delivery. */
export interface ConsumerSide {
  /** The handlers for one delivery (one invocation), taken when the delivery starts. */
  handlers(): BusHandlers;
  /**
   * The delivery of attempt `attempt` failed and is retried: the case's clock moves on by the
   * backoff a deployment waits (core/bus/backoff.ts DEFAULT_BACKOFF), while the real queue
   * redelivers at once. So a rotation left leased by a crashed driver is taken over by a
   * redelivery once its lease ran out, as in production, not only by the next sweep.
   */
  retried(attempt: number): void;
}

/** Opens a backing whose consumer hands each delivery to the case. */
export type OpenBacking = (consumer: ConsumerSide) => Promise<MatrixBacking>;

/** The error a dead incarnation's calls fail with: a plain Error, which the bus retries. */
export class Crashed extends Error {
  override readonly name = "Crashed";
  constructor() {
    super("the isolate running this died (crash injected by the test)");
  }
}

const WORK_HANDLERS = ["rotator", "sweeper", "orphan-scanner", "maintainer", "github-resolver", "github-scanner"];

/** One clock for every case of a file: ledgers and queues outlive a case, and event ids derive from times. */
let fileClock = Date.parse("2026-06-01T00:00:00Z");

export interface WriteInfo {
  /** 0-based, over the case's store writes (putCredential, putRotation) since the injector was armed. */
  index: number;
  /** Among those, the writes the Workers store mirrors to KV (a credential, a rotation created or settled). */
  mirroredIndex: number | undefined;
  credentialId: string;
}

class Incarnation {
  dead = false;
  readonly store: Store;
  #consumer: Services | undefined;

  constructor(private readonly world: CaseWorld) {
    this.store = this.#store();
  }

  die(): never {
    this.dead = true;
    throw new Crashed();
  }

  #alive() {
    if (this.dead) throw new Crashed();
  }

  /** The backing's store, with the injector at every write and death checked around every call. */
  #store(): Store {
    const w = this.world;
    const inner = () => w.backing.store;
    const guard = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
      this.#alive();
      const r = await f(...a);
      this.#alive();
      return r;
    };
    const write = <R>(
      info: (r: R, expected: string | null) => { credentialId: string; mirrored: boolean },
      f: (r: R, expected: string | null) => Promise<string | null>,
    ) =>
    async (r: R, expected: string | null): Promise<string | null> => {
      this.#alive();
      const { credentialId, mirrored } = info(r, expected);
      const at: WriteInfo = {
        index: w.writes++,
        mirroredIndex: mirrored ? w.mirroredWrites++ : undefined,
        credentialId,
      };
      const loseMirror = w.injector.loseMirror?.(at) ?? false;
      if (loseMirror) {
        if (!w.backing.loseNextMirror) throw new Error(`${w.backing.name} has no mirror to lose`);
        await w.backing.loseNextMirror(credentialId);
      }
      let version: string | null;
      try {
        version = await f(r, expected);
      } catch (error) {
        if (!loseMirror) throw error;
        // The cell committed and its mirror failed: the caller saw an error, and dies with it.
        w.lostMirrorOf = credentialId;
        this.die();
      }
      // A compare-and-swap the cell refused committed nothing and mirrored nothing: the isolate dies all the same.
      if (loseMirror) this.die();
      this.#alive();
      if (w.injector.afterWrite?.(at)) this.die();
      return version;
    };
    return {
      getCredential: guard((id) => inner().getCredential(id)),
      putCredential: write<CredentialRecord>(
        (r) => ({ credentialId: r.id, mirrored: true }),
        (r, e) => inner().putCredential(r, e),
      ),
      deleteCredential: guard((id) => inner().deleteCredential(id)),
      listCredentials: guard((o) => inner().listCredentials(o)),
      listIndex: guard((o) => inner().listIndex(o)),
      findCredentialByFingerprint: guard((fp) => inner().findCredentialByFingerprint(fp)),
      findCredentialsByFingerprints: guard((fps) => inner().findCredentialsByFingerprints(fps)),
      getRotation: guard((c, r) => inner().getRotation(c, r)),
      putRotation: write<Rotation>(
        // As src/adapters/workers-store.ts: KV gets a rotation when it is created and when it settles.
        (r, e) => ({ credentialId: r.credential_id, mirrored: e === null || r.state !== "running" }),
        (r, e) => inner().putRotation(r, e),
      ),
      findRotation: guard((id) => inner().findRotation(id)),
      listRotations: guard((id) => inner().listRotations(id)),
    };
  }

  /**
   * Clarifai and GitHub as this incarnation reaches them: the case's emulators, with the injector
   * on the wire. A fault at a GitHub call is its status (GitHub has no Clarifai codes), a drop or a delay.
   */
  readonly fetch: typeof fetch = async (input, init) => {
    this.#alive();
    const w = this.world;
    const req = new Request(input as RequestInfo, init);
    const index = w.calls++;
    const github = req.url.startsWith(`${GITHUB}/`);
    const fault = w.injector.fault?.(index, req);
    if (fault && fault !== "lost") {
      const at = { method: req.method, path: new URL(req.url).pathname, count: 1 };
      // GitHub's fault route ignores `code`: GitHub answers with its HTTP status alone.
      await (github ? w.githubControl("faults", { ...at, ...fault }) : w.control("faults", { ...at, ...fault }));
    }
    const res = github ? await w.github.fetch(req) : await w.emulator.fetch(req);
    if (fault === "lost") {
      await res.arrayBuffer();
      throw new TypeError("Network connection lost");
    }
    // Clarifai answered; the answer reaches an isolate that dies before doing anything with it.
    if (w.injector.afterAnswer?.(index, req)) this.die();
    this.#alive();
    return res;
  };

  #guardedBus(publish: (events: readonly BusEvent[]) => Promise<void>): EventBus {
    return {
      publish: async (e) => {
        this.#alive();
        await publish([e]);
      },
      publishAll: async (es) => {
        this.#alive();
        await publish(es);
      },
    };
  }

  /** Services for one invocation: a request's events wait in `held` until its own work has run. */
  services(kind: "request" | "consumer"): Services {
    if (kind === "consumer" && this.#consumer) return this.#consumer;
    const w = this.world;
    const bus = kind === "request"
      ? this.#guardedBus(async (es) => void w.held.push(...es))
      : this.#guardedBus((es) => w.publish(es));
    const alive = <T extends object>(port: T): T =>
      new Proxy(port, {
        get: (target, prop) => {
          const v = Reflect.get(target, prop, target) as unknown;
          if (typeof v !== "function") return v;
          return (...args: unknown[]) => {
            this.#alive();
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const services = buildServices({
      config: w.config,
      store: this.store,
      bus,
      audit: alive(w.backing.audit),
      ledger: alive(w.backing.ledger),
      jobs: alive(w.backing.jobs),
      // The matrices check rotations, keys and indexes, not the dashboard's history: its counts go
      // to the in-memory port (the Stats Durable Object has its own tests: test/workers/dashboard*.test.ts).
      stats: new MemoryStats(),
      defer: (work) => void w.deferred.push(work.catch(() => undefined)),
      now: w.clock.now,
      fetch: this.fetch,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      sleep: async () => {},
    });
    if (kind === "consumer") this.#consumer = services;
    return services;
  }
}

export class CaseWorld {
  readonly clock: { now: () => number; advance: (ms: number) => void };
  readonly emulator: Emulator;
  /** GitHub, with the test App installed where a case asks (./cases.ts `githubRepository`). */
  readonly github: GithubEmulator;
  readonly seed: { userId: string; appId: string; pat: string };
  config!: Config;
  injector: Injector = noInjection;
  /** Upstream calls and store writes since the injector was armed (what injection points count). */
  calls = 0;
  writes = 0;
  mirroredWrites = 0;
  /** The credential whose KV mirror a crash lost, if one did. */
  lostMirrorOf: string | undefined;
  /** Every event the case published, for the canary check. */
  readonly published: BusEvent[] = [];
  /** A request's events, until its own work has run. */
  readonly held: BusEvent[] = [];
  readonly deferred: Promise<unknown>[] = [];
  backing!: MatrixBacking;
  #current: Incarnation;

  private constructor() {
    // An hour after everything earlier cases did: ids derived from times (a sweep's, per minute) stay apart.
    let t = (fileClock += 3_600_000);
    this.clock = {
      now: () => t,
      advance: (ms) => {
        t += ms;
        fileClock = Math.max(fileClock, t);
      },
    };
    // The emulator shares the case's clock, so key creation times and rekey's windows agree.
    this.emulator = createEmulator({ now: () => new Date(t) });
    this.seed = this.emulator.seed({ userId: `u${Math.random().toString(36).slice(2, 8)}`, appId: "app1" });
    this.github = createGithubEmulator({ now: () => new Date(t) });
    this.#current = new Incarnation(this);
  }

  static async open(openBacking: OpenBacking): Promise<CaseWorld> {
    const world = new CaseWorld();
    // Every case can reach GitHub as the App; only the GitHub operations give it a repository.
    const app = await githubAppKeys();
    await world.githubControl("app", { id: GITHUB_APP_ID, public_key: app.publicKey });
    world.config = parseConfig({
      CLARIFAI_API_BASE: CLARIFAI,
      CLARIFAI_TIMEOUT_MS: String(CLIENT_TIMEOUT_MS),
      REKEY_ENCRYPTION_KEYS: KEYS_V1_V2,
      REKEY_FINGERPRINT_KEY: FINGERPRINT_KEY,
      GITHUB_API_BASE: GITHUB,
      GITHUB_APP_ID: GITHUB_APP_ID,
      GITHUB_APP_PRIVATE_KEY: app.privateKey,
    });
    world.backing = await openBacking({
      handlers: () => world.#handlers(),
      retried: (attempt) => world.clock.advance(retryDelaySeconds(attempt, DEFAULT_BACKOFF) * 1000),
    });
    return world;
  }

  /** The services a new invocation gets: the current incarnation's, or a new one's after a crash. */
  services(kind: "request" | "consumer"): Services {
    if (this.#current.dead) this.#current = new Incarnation(this);
    return this.#current.services(kind);
  }

  /** A deploy: new configuration, so every invocation from now on runs on a new incarnation. */
  deploy(vars: Partial<Pick<Config, "REKEY_ENCRYPTION_KEYS" | "GITHUB_ALERT_SCOPES">>): void {
    this.config = { ...this.config, ...vars };
    this.#current = new Incarnation(this);
  }

  /**
   * The handlers that do the work (core/subscribers/handlers.ts): the rotator, the sweeper, the
   * orphan scanner, the maintainer, and GitHub's alert resolver and backstop scanner. The
   * auditor, notifiers and chat replier only record and tell what happened; they are left out to
   * keep a case to its work (and its cost down).
   */
  #handlers(): BusHandlers {
    const services = this.services("consumer");
    const githubScopes = services.config.GITHUB_ALERT_SCOPES;
    return {
      subscribe: (d) => subscribeHandlers(d, { ...services, targets: [], githubScopes }, WORK_HANDLERS),
      onDeadLetter: (event, info) => onDeadLetter(services, event, info),
    };
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    this.published.push(...events);
    await this.backing.bus.publishAll(events);
  }

  /** Runs `op` as one request, then lets its events and everything they cause run to the end. */
  async request<T>(op: (services: Services) => Promise<T>): Promise<T | undefined> {
    let out: T | undefined;
    try {
      out = await op(this.services("request"));
    } catch (error) {
      if (!(error instanceof Crashed)) throw error;
    }
    await this.settle();
    return out;
  }

  /** Until nothing is left to run: deferred work, held events, the queue. */
  async settle(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const work = this.deferred.splice(0);
      await Promise.all(work);
      const events = this.held.splice(0);
      if (events.length) await this.publish(events);
      await this.backing.quiesce();
      if (this.deferred.length === 0 && this.held.length === 0) return;
    }
    throw new Error("the case did not settle in 100 rounds");
  }

  /** The emulator's control surface, in process. */
  async control(path: string, body?: unknown): Promise<any> {
    const res = await this.emulator.fetch(`${CLARIFAI}/_emulator/${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    return res.json();
  }

  /** The GitHub emulator's control surface, in process. */
  async githubControl(path: string, body?: unknown): Promise<any> {
    const res = await this.github.fetch(`${GITHUB}/_emulator/${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`GitHub emulator control ${path} answered ${res.status}`);
    return res.json();
  }

  async clearFaults(): Promise<void> {
    await this.emulator.fetch(`${CLARIFAI}/_emulator/faults`, { method: "DELETE" });
    await this.github.fetch(`${GITHUB}/_emulator/faults`, { method: "DELETE" });
  }

  /** This case's keys and secrets at the emulator. */
  async clarifaiState(): Promise<{ keys: any[]; secrets: any[] }> {
    return this.control("state");
  }

  /** Arms an injector: from now on it sees every call and write, counted from 0. */
  arm(injector: Injector): void {
    this.injector = injector;
    this.calls = 0;
    this.writes = 0;
    this.mirroredWrites = 0;
  }

  disarm(): void {
    this.injector = noInjection;
  }

  async close(): Promise<void> {
    await this.backing.close();
  }
}

/**
 * Counts what a real queue still owes: +1 per published message, -1 per message the consumer
 * settled for good (acked, or handled as a dead letter), by event. Fed by the bus that publishes
 * and by the consumer's one log record per delivery (src/core/bus/consumer.ts `LogRecord`).
 */
export class DeliveryTracker {
  readonly #owed = new Map<string, number>();
  /** Deliveries that failed in the consumer itself (`bus.consumer_error`): a case must have none. */
  readonly consumerErrors: LogRecord[] = [];
  readonly #poison: LogRecord[] = [];

  published(events: readonly BusEvent[]): void {
    for (const e of events) this.#owed.set(`${e.source}#${e.id}`, (this.#owed.get(`${e.source}#${e.id}`) ?? 0) + 1);
  }

  unpublished(events: readonly BusEvent[]): void {
    for (const e of events) this.#owed.set(`${e.source}#${e.id}`, (this.#owed.get(`${e.source}#${e.id}`) ?? 0) - 1);
  }

  settled(record: LogRecord): void {
    if (record.msg === "bus.consumer_error") this.consumerErrors.push(record);
    if (record.msg === "bus.poison" || record.msg === "bus.dead_poison") this.#poison.push(record);
    const terminal = ["bus.ack", "bus.dead_handled", "bus.dead_abandoned"].includes(record.msg);
    if (!terminal || typeof record.event_id !== "string" || typeof record.source !== "string") return;
    const key = `${record.source}#${record.event_id}`;
    const owed = this.#owed.get(key);
    if (owed !== undefined) this.#owed.set(key, owed - 1);
  }

  get owed(): string[] {
    return [...this.#owed].filter(([, n]) => n > 0).map(([k, n]) => `${k} ×${n}`);
  }

  async idle(timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.owed.length > 0) {
      if (this.#poison.length) throw new Error(`the consumer saw poison: ${JSON.stringify(this.#poison)}`);
      if (Date.now() > until) throw new Error(`the queue did not drain: ${this.owed.join(", ")}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

/** The bus a backing publishes through: the runtime's own, counted by `tracker` before each send. */
export function trackedBus(inner: EventBus, tracker: DeliveryTracker): EventBus {
  return {
    publish: async (e) => {
      tracker.published([e]);
      await inner.publish(e).catch((error) => {
        tracker.unpublished([e]);
        throw error;
      });
    },
    publishAll: async (es) => {
      tracker.published(es);
      await inner.publishAll(es).catch((error) => {
        tracker.unpublished(es);
        throw error;
      });
    },
  };
}
