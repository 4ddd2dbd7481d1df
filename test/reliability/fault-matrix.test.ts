/**
 * The full fault matrix over the engine wired to real parts (memory store, real Clarifai client,
 * in-process emulator; test/support/engine-harness.ts). test/workers/rotation-faults.test.ts
 * covers routine and compromise rotation of an app key with three failure kinds; this extends it
 * to every operation that calls Clarifai and every failure kind:
 *
 *   operations: routine / compromise rotation of an app key, a managed PAT and a secret (random
 *     generator), compromise of a self-managed PAT, revocation, and the cron sweep's work: a
 *     scheduled rotation, an owed revocation after grace, a hard expiry;
 *   failures: 503, 429, 500, 403, 401, a dropped connection, a response lost after Clarifai
 *     committed, and (soak) a timeout after which Clarifai still commits;
 *   at every index of the operation's upstream calls; and, separately, a crash of the driver
 *     right after each store write.
 *
 * After the failure the system recovers with its own means only (a later driver once the lease
 * expires, then the sweep), and then: it has converged (nothing running), 0 orphan keys, 0 lost
 * values (the recorded value works at Clarifai and in the sink, or the credential is revoked and
 * nothing of it works), 0 duplicate keys. Failures that retries absorb must end in success.
 */
import { describe, expect, it } from "vitest";
import { contain } from "../../src/core/alerts/contain.ts";
import { matchLeakedValue } from "../../src/core/alerts/match-leak.ts";
import { Dispatcher, type EventBus } from "../../src/core/bus/bus.ts";
import type { BusEvent } from "../../src/core/bus/events.ts";
import { MemoryLedger } from "../../src/core/bus/memory-ledger.ts";
import { createClarifaiClient } from "../../src/core/clarifai/index.ts";
import { aadFor, CURRENT_VALUE } from "../../src/core/credentials/credential.ts";
import { decrypt } from "../../src/core/crypto/envelope.ts";
import { fingerprint } from "../../src/core/crypto/fingerprint.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import { crashAfterWrite } from "../support/crashing-store.ts";
import { subscribeEngineHandlers } from "../support/subscribe.ts";
import { startSweep } from "../../src/core/sweep/run.ts";
import { scenario } from "../support/engine-scenario.ts";
import { expectNoCanary } from "./canary.ts";
import { runs, SOAK, timeout } from "./soak.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CLIENT_TIMEOUT_MS = 80;

type FaultKind = "503" | "429" | "500" | "403" | "401" | "drop" | "lost_response" | "timeout";
const FAULTS: Record<FaultKind, { status?: number; code?: number; drop?: boolean; delay_ms?: number } | "lost"> = {
  "503": { status: 503, code: 98004 },
  "429": { status: 429, code: 11005 },
  "500": { status: 500, code: 98004 },
  "403": { status: 403, code: 11007 },
  "401": { status: 401, code: 11008 },
  drop: { drop: true },
  lost_response: "lost",
  // Clarifai answers after the client gave up, and commits all the same.
  timeout: { delay_ms: CLIENT_TIMEOUT_MS * 2 },
};
/** Failures a retry gets past: the operation must still succeed. */
const TRANSIENT = new Set<FaultKind>(["503", "429", "500", "drop", "lost_response", "timeout"]);
const KINDS: FaultKind[] = SOAK
  ? (Object.keys(FAULTS) as FaultKind[])
  : ["503", "429", "403", "401", "drop", "lost_response"];

type Scenario = Awaited<ReturnType<typeof scenario>>;

interface Ctx {
  s: Scenario;
  credId: string;
  original: string;
  /** Everything rekey emitted or published, for the canary. */
  said: unknown[];
  /** Index of the next upstream call, counted from the operation's start. */
  calls: number;
  before?: (index: number, req: Request) => Promise<void>;
  lose?: (index: number) => boolean;
  /** A timeout was injected: Clarifai may still commit after the client gave up. */
  slow?: boolean;
}

/**
 * The scenario's engine with a client of its own: a short timeout, and a network that counts the
 * calls and can lose a response after the emulator processed it.
 */
function wire(s: Scenario): Ctx {
  const ctx: Ctx = { s, credId: s.cred.id, original: s.original, said: [], calls: 0 };
  const network: typeof fetch = async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    const index = ctx.calls++;
    await ctx.before?.(index, req.clone());
    const res = await s.h.emulator.fetch(req);
    if (ctx.lose?.(index)) {
      await res.arrayBuffer();
      throw new TypeError("Network connection lost");
    }
    return res;
  };
  s.h.engine.clarifai = createClarifaiClient({
    baseUrl: "http://clarifai.emulator",
    fetch: network,
    timeoutMs: CLIENT_TIMEOUT_MS,
  });
  const emit = s.h.engine.emit;
  s.h.engine.emit = async (e) => {
    ctx.said.push(e);
    await emit(e);
  };
  return ctx;
}

/** A sweep through a real Dispatcher with the real rotator; failed events are redelivered. */
async function sweep(ctx: Ctx) {
  const { h } = ctx.s;
  const published: BusEvent[] = [];
  const bus: EventBus = {
    publish: async (e) => void published.push(e),
    publishAll: async (es) => void published.push(...es),
  };
  const d = new Dispatcher({ ledger: new MemoryLedger({ now: h.engine.now }) });
  subscribeEngineHandlers(d, h.engine, bus, ["rotator", "sweeper", "orphan-scanner"]);
  await startSweep(bus, h.engine.now());
  for (let i = 0; i < published.length && i < 200; i++) {
    for (let attempt = 1; attempt <= 3; attempt++) {
      if ((await d.dispatch(published[i]!, { attempt })).verdict !== "retry") break;
    }
  }
  ctx.said.push(...published);
}

/** Drives a rotation like successive drivers would: a crashed or stopped one is followed by the next once the lease ran out. */
async function drive(ctx: Ctx, rotationId: string): Promise<Rotation | undefined> {
  const { h } = ctx.s;
  let r: Rotation | undefined;
  for (let i = 0; i < 6; i++) {
    try {
      r = await driveRotation(h.engine, ctx.credId, rotationId);
    } catch {
      // a crashed driver
    }
    if (r && r.state !== "running") return r;
    h.advance(h.engine.leaseMs + 1);
  }
  return r;
}

async function begin(ctx: Ctx, reason: "manual" | "compromise" | "scheduled", mode: "rotate" | "revoke") {
  const b = await beginRotation(ctx.s.h.engine, ctx.credId, { reason, mode, requestedBy: "fault-matrix" }).catch(() =>
    null
  );
  const id = b?.ok ? b.rotation.id : (await ctx.s.h.engine.store.getCredential(ctx.credId))?.value.current_rotation?.id;
  if (id) await drive(ctx, id);
}

interface Operation {
  name: string;
  setup(): Promise<Ctx>;
  run(ctx: Ctx): Promise<void>;
  /** True when the operation's own work leaves the credential revoked. */
  revokes?: boolean;
  /** A compromise: the leaked original must end dead unless its deletion failed for good. */
  compromise?: boolean;
  /** The plan creates the replacement before revoking the leak (self-managed PAT). */
  createsFirst?: boolean;
  /** The leaked original is a superseded value that must end dead, whatever failed. */
  previousDies?: boolean;
  /** Writes nothing to the store (the crash matrix has nothing to crash after). */
  readOnlyStore?: boolean;
}

const rotation = (
  name: string,
  kind: "app_key" | "pat" | "secret",
  reason: "manual" | "compromise",
  policy: Record<string, unknown> = {},
): Operation => ({
  name,
  compromise: reason === "compromise",
  setup: async () =>
    wire(await scenario(kind, { grace_hours: 0, ...(kind === "secret" ? { generator: "random" } : {}), ...policy })),
  run: (ctx) => begin(ctx, reason, "rotate"),
});

const OPERATIONS: Operation[] = [
  rotation("routine rotation, app key", "app_key", "manual"),
  rotation("compromise rotation, app key", "app_key", "compromise"),
  rotation("routine rotation, managed PAT", "pat", "manual"),
  rotation("compromise rotation, managed PAT", "pat", "compromise"),
  rotation("routine rotation, secret (random generator)", "secret", "manual"),
  rotation("compromise rotation, secret (random generator)", "secret", "compromise"),
  {
    name: "compromise rotation, self-managed PAT",
    compromise: true,
    createsFirst: true,
    setup: async () => {
      const s = await scenario("app_key", { grace_hours: 0 });
      const ctx = wire(s);
      ctx.credId = s.manager.id;
      ctx.original = s.managerKey.id;
      return ctx;
    },
    run: (ctx) => begin(ctx, "compromise", "rotate"),
  },
  {
    name: "revocation, app key",
    revokes: true,
    setup: async () => wire(await scenario("app_key", { grace_hours: 0 })),
    run: (ctx) => begin(ctx, "manual", "revoke"),
  },
  {
    name: "revocation, secret",
    revokes: true,
    setup: async () => wire(await scenario("secret", { grace_hours: 0 })),
    run: (ctx) => begin(ctx, "manual", "revoke"),
  },
  {
    name: "containment of a leaked superseded value (in its grace period)",
    previousDies: true,
    setup: async () => {
      const ctx = wire(await scenario("app_key", { grace_hours: 24 }));
      const b = await beginRotation(ctx.s.h.engine, ctx.credId, {
        reason: "manual",
        mode: "rotate",
        requestedBy: "setup",
      });
      if (!b.ok || (await driveRotation(ctx.s.h.engine, ctx.credId, b.rotation.id)).state !== "done") {
        throw new Error("setup rotation failed");
      }
      ctx.calls = 0;
      return ctx;
    },
    run: async (ctx) => {
      const c = await contain(ctx.s.h.engine, await matchLeakedValue(ctx.s.h.engine, ctx.original), "github");
      expect(c.action).toBe("revoke_previous");
      if (c.action === "revoke_previous") await c.run();
    },
  },
  {
    name: "sweep: scheduled rotation of an aged key",
    setup: async () => {
      const ctx = wire(await scenario("app_key", { grace_hours: 0, max_age_days: 30 }));
      ctx.s.h.advance(31 * DAY);
      return ctx;
    },
    run: sweep,
  },
  {
    name: "sweep: owed revocation after the grace period",
    setup: async () => {
      const ctx = wire(await scenario("app_key", { grace_hours: 24 }));
      const b = await beginRotation(ctx.s.h.engine, ctx.credId, {
        reason: "manual",
        mode: "rotate",
        requestedBy: "setup",
      });
      if (!b.ok || (await driveRotation(ctx.s.h.engine, ctx.credId, b.rotation.id)).state !== "done") {
        throw new Error("setup rotation failed");
      }
      ctx.s.h.advance(25 * HOUR);
      ctx.calls = 0;
      return ctx;
    },
    run: sweep,
  },
  {
    name: "sweep: revocation at hard expiry",
    revokes: true,
    setup: async () => {
      const ctx = wire(await scenario("app_key", { grace_hours: 0, expires_at: "2026-06-05T00:00:00Z" }));
      ctx.s.h.advance(5 * DAY);
      return ctx;
    },
    run: sweep,
  },
];

/** Recovery with the system's own means: faults gone, time passes, the sweep runs twice. */
async function recover(ctx: Ctx) {
  ctx.before = undefined;
  ctx.lose = undefined;
  await ctx.s.h.emulator.fetch("http://clarifai.emulator/_emulator/faults", { method: "DELETE" });
  // Late commits of timed-out calls land first.
  if (ctx.slow) await new Promise((r) => setTimeout(r, CLIENT_TIMEOUT_MS * 2 + 20));
  for (let i = 0; i < 2; i++) {
    ctx.s.h.advance(20 * 60_000);
    await sweep(ctx);
  }
}

async function assertConverged(ctx: Ctx, _op: Operation, label: string): Promise<Rotation | undefined> {
  const { h } = ctx.s;
  const found = (await h.engine.store.getCredential(ctx.credId))?.value;
  expect(found, `${label}: the record is gone`).toBeDefined();
  const rec = found!;
  const rotations = await h.engine.store.listRotations(ctx.credId);
  // Converged: nothing running, nothing claimed.
  expect(rotations.filter((r) => r.state === "running").map((r) => r.step), `${label}: a rotation is still running`)
    .toEqual([]);
  expect(rec.current_rotation, `${label}: still claimed`).toBeUndefined();
  const last = rotations.sort((a, b) => a.created_at.localeCompare(b.created_at)).at(-1);

  const state = await h.state();
  const ownKeys = state.keys.filter((k: any) =>
    k.id !== ctx.s.h.seed.pat && (ctx.credId === ctx.s.manager.id || k.id !== ctx.s.managerKey.id)
  );
  const live = new Set(ownKeys.map((k: any) => k.id as string));
  const marked = ownKeys.filter((k: any) => String(k.description ?? "").includes("[rekey:"));

  // 0 orphans: every marked key is a value the record knows and has not revoked.
  const known = new Set([
    rec.state === "revoked" ? "" : rec.fingerprint,
    ...rec.previous.filter((p) => !p.revoked_at).map((p) => p.fingerprint),
  ]);
  for (const k of marked) {
    expect(known.has(await fingerprint(h.engine.fingerprintKey, k.id)), `${label}: orphan marked key ${k.description}`)
      .toBe(true);
  }
  // Nothing recorded as revoked still works.
  const liveFingerprints = new Set(
    await Promise.all(ownKeys.map((k: any) => fingerprint(h.engine.fingerprintKey, k.id))),
  );
  for (const p of rec.previous.filter((x) => x.revoked_at)) {
    expect(liveFingerprints.has(p.fingerprint), `${label}: a value recorded as revoked still works`).toBe(false);
  }
  // 0 duplicates: one key per rotation, and no more live keys than the record accounts for.
  const byRotation = new Map<string, number>();
  for (const k of marked) {
    const id = /\[rekey:([^\]]+)\]/.exec(String(k.description))![1]!;
    byRotation.set(id, (byRotation.get(id) ?? 0) + 1);
  }
  for (const [id, n] of byRotation) expect(n, `${label}: ${n} keys for rotation ${id}`).toBe(1);

  if (rec.state === "revoked") {
    // Revoked: nothing of the credential works any more.
    expect(live.has(ctx.original), `${label}: revoked, yet the original still works`).toBe(false);
    expect(marked, `${label}: revoked, yet a new key works`).toEqual([]);
    return last;
  }
  // 0 lost values: the recorded value opens and works.
  const opened = await decrypt(h.engine.keyring, rec.value, aadFor(rec, CURRENT_VALUE));
  expect(opened.ok, `${label}: the recorded value does not decrypt`).toBe(true);
  const value = opened.ok ? opened.value : "";
  if (rec.kind === "secret") {
    expect(
      state.secrets.find((x: any) => x.id === "OPENAI_KEY")?.value,
      `${label}: the secret at Clarifai is not the recorded value`,
    ).toBe(value);
  } else {
    expect(live.has(value), `${label}: the recorded value does not exist at Clarifai`).toBe(true);
  }
  if (last?.state === "done" && rec.sinks.length > 0) {
    expect(
      state.secrets.find((x: any) => x.id === ctx.s.sinkId)?.value,
      `${label}: the sink does not hold the current value`,
    ).toBe(value);
  }
  // Only the current value and unrevoked previous ones (none, with grace 0 after a sweep) live on.
  const liveOwn = [...live].filter((id) => id === value || id === ctx.original || marked.some((k: any) => k.id === id));
  expect(liveOwn.length, `${label}: ${liveOwn.length} live keys for one credential`).toBeLessThanOrEqual(
    1 + rec.previous.filter((p) => !p.revoked_at).length,
  );
  return last;
}

async function runCase(op: Operation, label: string, inject: (ctx: Ctx) => void): Promise<string> {
  const ctx = await op.setup();
  inject(ctx);
  await op.run(ctx);
  await recover(ctx);
  const last = await assertConverged(ctx, op, label);
  const rec = (await ctx.s.h.engine.store.getCredential(ctx.credId))!.value;
  if (op.compromise && rec.kind !== "secret") {
    // Containment: the leaked value is dead, unless Clarifai refused its deletion for good (the
    // rotation then failed at revoke_old, which alerts a human).
    // A self-managed PAT is the only token that can mint its successor, so its plan creates
    // first (step-plan.ts): when that creation is refused for good, the leaked PAT is kept, not
    // deleted with nothing to replace it.
    const alive = (await ctx.s.h.state()).keys.some((k: any) => k.id === ctx.original);
    const refusable = op.createsFirst ? ["revoke_old", "create"] : ["revoke_old"];
    if (alive) {
      expect(refusable, `${label}: the leaked key survived (${last?.state} at ${last?.error?.step})`).toContain(
        last?.error?.step,
      );
    }
  }
  if (op.revokes && last?.state === "done") expect(rec.state, `${label}: not revoked`).toBe("revoked");
  if (op.previousDies) {
    // Refused or not, the sweep keeps retrying a leaked superseded value until Clarifai confirms.
    expect(
      (await ctx.s.h.state()).keys.some((k: any) => k.id === ctx.original),
      `${label}: the leaked superseded value still works`,
    ).toBe(false);
  }
  if (last?.state === "done" && !op.revokes) {
    // Replaced (grace 0) or paid after grace: the old value is dead.
    expect(
      (await ctx.s.h.state()).keys.some((k: any) => k.id === ctx.original),
      `${label}: the replaced value still works`,
    ).toBe(false);
  }
  // No value, old or new, in anything rekey emitted, published or stored in clear.
  const current = rec.state === "revoked"
    ? undefined
    : await decrypt(ctx.s.h.engine.keyring, rec.value, aadFor(rec, CURRENT_VALUE));
  const sealed = { ...rec, value: null, previous: rec.previous.map((p) => ({ ...p, value: null })) };
  expectNoCanary([JSON.stringify(ctx.said), JSON.stringify(sealed)], [
    ctx.original,
    ...(current?.ok ? [current.value] : []),
  ]);
  return `${last?.state ?? "none"}${last?.error ? `:${last.error.code}@${last.error.step}` : ""}`;
}

/** How many upstream calls the operation makes when nothing fails. */
async function cleanCalls(op: Operation): Promise<number> {
  const ctx = await op.setup();
  await op.run(ctx);
  return ctx.calls;
}

describe("fault matrix: every upstream call, every failure kind", () => {
  for (const op of OPERATIONS) {
    it(`${op.name}`, { timeout: timeout(60_000, 1_800_000) }, async () => {
      const n = await cleanCalls(op);
      expect(n, "the operation makes upstream calls").toBeGreaterThan(0);
      const outcomes = new Map<string, number>();
      const indexes = Array.from({ length: n }, (_, i) => i);
      for (const kind of KINDS) {
        for (const index of indexes) {
          const label = `${op.name}: ${kind}@${index}/${n}`;
          const outcome = await runCase(op, label, (ctx) => {
            const fault = FAULTS[kind];
            ctx.slow = kind === "timeout";
            if (fault === "lost") ctx.lose = (i) => i === index;
            else {
              ctx.before = async (i, req) => {
                if (i === index) {
                  await ctx.s.h.control("faults", {
                    method: req.method,
                    path: new URL(req.url).pathname,
                    count: 1,
                    ...fault,
                  });
                }
              };
            }
          });
          outcomes.set(`${kind}:${outcome}`, (outcomes.get(`${kind}:${outcome}`) ?? 0) + 1);
          // A failure a retry gets past must not fail the operation ("none": no rotation involved).
          if (TRANSIENT.has(kind) && outcome !== "none") expect(outcome, `${label}: ended ${outcome}`).toMatch(/^done/);
        }
      }
      console.info(
        JSON.stringify({ msg: "fault-matrix", op: op.name, calls: n, outcomes: Object.fromEntries(outcomes) }),
      );
    });
  }
});

describe("crash matrix: the driver dies right after each store write", () => {
  for (const op of OPERATIONS) {
    it(`${op.name}`, { timeout: timeout(60_000, 600_000) }, async () => {
      let crashed = 0;
      for (let k = 0; k < runs(40, 80); k++) {
        const ctx = await op.setup();
        const inner = ctx.s.h.engine.store;
        const crashing = crashAfterWrite(inner, k);
        ctx.s.h.engine.store = crashing.store;
        await op.run(ctx).catch(() => undefined);
        ctx.s.h.engine.store = inner;
        if (!crashing.fired()) break; // k is past the operation's last write: every write has been crashed after
        crashed++;
        await recover(ctx);
        const last = await assertConverged(ctx, op, `${op.name}: crash after write ${k}`);
        if (!op.revokes && last) expect(last.state, `${op.name}: crash after write ${k}`).toBe("done");
      }
      if (op.readOnlyStore) expect(crashed, "the operation writes nothing").toBe(0);
      else expect(crashed, "the operation writes to the store").toBeGreaterThan(0);
    });
  }
});
