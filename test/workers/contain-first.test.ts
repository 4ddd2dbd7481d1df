/**
 * Contain first (issue 20, item 1), on the real Workers adapters (Workers KV, the CredentialCell
 * Durable Object, the EventLedger Durable Object) and a Clarifai emulator in this isolate:
 *
 * - The leaked key is deleted after two sequential storage round trips (the fingerprint index;
 *   the credential's record beside the manager's and the durable event) and before any write: counted, not estimated,
 *   by holding every KV operation and Durable Object call at the bindings and releasing them one
 *   round at a time (all calls pending at once form a round). The number of rounds before the
 *   emulator sees the DELETE is the depth of the DELETE's chain of storage round trips; calls
 *   running beside it (the replay claim, the rotation's begin) advance in the same rounds and do
 *   not add to it. The rotation then records the value as revoked and never deletes it again. A
 *   stale manager id in the index costs one round trip more and never selects the token.
 * - A crash right after Clarifai deleted the key, before anything recorded it, converges through
 *   the durable `credential.compromised`: the rotator's replay deletes it again (answered "does not
 *   exist", which counts as deleted) and the rotation ends done, the value revoked.
 * - Two alerts for the same value racing: one rotation, at most two DELETEs of the key (the second
 *   harmless), the value revoked, one live replacement.
 *
 * Events go to an in-test bus that keeps them (the test hands `credential.compromised` to the
 * rotator itself, as the queue would: the alert's own invocation drives its rotation only up to
 * containment, and the rotator's replay finishes it; the crash case hands it over at the moment it
 * needs): the queue transport is not under test here (test/workers/bus-queue-*.test.ts).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createEmulator, type Emulator } from "../../emulator/src/index.ts";
import { inIsolateTenant } from "../support/in-isolate-tenant.ts";
import { DurableEventLedger } from "../../src/adapters/event-ledger.ts";
import { WorkersAuditLog } from "../../src/adapters/workers-audit-log.ts";
import { WorkersJobStore } from "../../src/adapters/workers-job-store.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { parseConfig } from "../../src/config.ts";
import { type Alert, reportNamedLeak, reportRepoAlert, reportTokens } from "../../src/core/alerts/pipeline.ts";
import type { EventBus } from "../../src/core/bus/bus.ts";
import type { BusEvent, EventOf } from "../../src/core/bus/events.ts";
import { deriveId } from "../../src/core/bus/new-event.ts";
import { containAgain } from "../../src/core/subscribers/rotator.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { MemoryStats } from "../../src/core/summary/stats.ts";
import { buildServices, type Services } from "../../src/services.ts";
import { fingerprintWith } from "../support/fingerprint.ts";

const CLARIFAI = "http://clarifai.emulator";
const KEYS = '{"1":"dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE="}';
const FINGERPRINT_KEY = "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=";
/** No new storage call for this long: the round's continuations have all run. */
const QUIET_MS = 150;

class Crashed extends Error {
  override readonly name = "Crashed";
}

/**
 * Storage as one invocation reaches it: every KV operation and Durable Object call goes through
 * `gate`, which either passes it on or holds it for the round-by-round count.
 */
class Bindings {
  holding = false;
  dead = false;
  /** Calls held, waiting for their round. */
  readonly pending: Array<{ what: string; go: () => void }> = [];
  /** What each released round held. */
  readonly rounds: string[][] = [];
  /** Bumped at every call issued and every call answered: a round is over once it stops moving. */
  moves = 0;

  async gate<T>(what: string, call: () => Promise<T>): Promise<T> {
    if (this.dead) throw new Crashed("the isolate running this died (crash injected by the test)");
    this.moves++;
    if (this.holding) await new Promise<void>((go) => this.pending.push({ what, go }));
    // Released after the isolate died: the call never leaves it.
    if (this.dead) throw new Crashed("the isolate running this died (crash injected by the test)");
    try {
      return await call();
    } finally {
      this.moves++;
    }
  }

  /** Releases everything pending as one round. */
  releaseRound(): void {
    const round = this.pending.splice(0);
    this.rounds.push(round.map((p) => p.what));
    for (const p of round) p.go();
  }

  passThrough(): void {
    this.holding = false;
    for (const p of this.pending.splice(0)) p.go();
  }

  kv(ns: KVNamespace): KVNamespace {
    return new Proxy(ns, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== "function") return v;
        return (...args: unknown[]) =>
          this.gate(`kv.${String(prop)}`, () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      },
    });
  }

  durableObjects<T extends DurableObjectNamespace>(ns: T, name: string): T {
    const stub = (s: DurableObjectStub) =>
      new Proxy(s, {
        get: (target, prop) => {
          if (prop === "then" || prop === "id" || prop === "name" || typeof prop === "symbol") {
            return Reflect.get(target, prop, target);
          }
          return (...args: unknown[]) =>
            this.gate(
              `${name}.${String(prop)}`,
              () => (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[prop]!(...args),
            );
        },
      });
    return new Proxy(ns, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== "function") return v;
        if (prop === "get" || prop === "getByName") {
          return (...args: unknown[]) => stub((v as (...a: unknown[]) => DurableObjectStub).apply(target, args));
        }
        return (v as (...a: unknown[]) => unknown).bind(target);
      },
    });
  }
}

interface World {
  emulator: Emulator;
  events: BusEvent[];
  deferred: Promise<unknown>[];
  /** A fresh invocation's services (a new isolate: its own bindings seam). */
  services: (b?: Bindings) => Services;
  /** DELETE calls of `key` the emulator answered, with their Clarifai status codes. */
  deletesOf: (key: string) => number[];
  /** Set while a test holds the DELETE of a key before it reaches Clarifai. */
  onDelete?: (req: Request) => Promise<void>;
}

function world(): World {
  const emulator = createEmulator();
  const events: BusEvent[] = [];
  const deferred: Promise<unknown>[] = [];
  const config = parseConfig({
    CLARIFAI_API_BASE: CLARIFAI,
    REKEY_ENCRYPTION_KEYS: KEYS,
    REKEY_FINGERPRINT_KEY: FINGERPRINT_KEY,
  });
  const w: World = {
    emulator,
    events,
    deferred,
    services: (b = new Bindings()) => {
      // The queue send is a binding call too: held and counted like the others.
      const bus: EventBus = {
        publish: (e) => b.gate("queue.send", async () => void events.push(e)),
        publishAll: (es) => b.gate("queue.sendBatch", async () => void events.push(...es)),
      };
      const kv = b.kv(env.REKEY_KV);
      const cells = b.durableObjects(env.CREDENTIAL_CELLS, "cell");
      return buildServices({
        config,
        store: new WorkersStore(kv, cells),
        bus,
        audit: new WorkersAuditLog(kv),
        ledger: new DurableEventLedger(b.durableObjects(env.EVENT_LEDGER, "ledger")),
        jobs: new WorkersJobStore(cells),
        stats: new MemoryStats(),
        defer: (work) => void deferred.push(work.catch(() => undefined)),
        fetch: async (input, init) => {
          if (b.dead) throw new Crashed("the isolate running this died (crash injected by the test)");
          const req = new Request(input as RequestInfo, init);
          if (req.method === "DELETE" && w.onDelete) await w.onDelete(req);
          return emulator.fetch(req);
        },
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
        sleep: async () => {},
      });
    },
    deletesOf: (key) =>
      emulator.state.calls.filter((c) => c.method === "DELETE" && c.path.endsWith(`/keys/${key}`)).map((c) => c.code),
  };
  return w;
}

/** A manager PAT and an app key it manages, registered through the real path. */
const tenant = async (w: World, graceHours = 0) =>
  inIsolateTenant(w.emulator, await w.services().engine(), { prefix: "cf", graceHours });

const alert = (
  svc: Services,
  value: string | { credential_id: string },
  deliveryId = `msg_${crypto.randomUUID()}`,
) =>
  svc.engine().then((engine) =>
    reportNamedLeak(svc, engine, typeof value === "string" ? { value } : value, {
      source: "webhook",
      deliveryId,
      reason: "token_match",
      receivedAt: svc.now(),
    })
  );

async function settle(w: World) {
  while (w.deferred.length) await Promise.all(w.deferred.splice(0));
}

/**
 * The queue's delivery of `credential.compromised` to the rotator, in a fresh isolate: the alert's
 * own invocation drives its rotation only up to containment (core/alerts/contain.ts), and the
 * rotator's replay of the event finishes it. Each event once, as the ledger would (two alerts
 * racing publish one event id twice).
 */
async function deliverCompromised(w: World) {
  const fresh = w.services();
  const seen = new Set<string>();
  for (const e of w.events) {
    if (e.type !== "credential.compromised" || seen.has(e.id)) continue;
    seen.add(e.id);
    await containAgain(() => fresh.engine(), e as EventOf<"credential.compromised">);
  }
  await settle(w);
}

async function rotationsOf(w: World, credentialId: string) {
  return (await w.services().store.listRotations(credentialId));
}

const liveKeys = (w: World, userId: string) => [...w.emulator.state.keys.values()].filter((k) => k.user_id === userId);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends the alert with every storage call held, releasing them a round at a time until the DELETE
 * goes out; returns the rounds released before it (each: the calls that were pending together).
 */
async function roundsBeforeDelete(w: World, value: string) {
  const b = new Bindings();
  b.holding = true;
  let deleteIssued = false;
  let deleteAt = 0;
  w.onDelete = async () => {
    deleteIssued = true;
    deleteAt = Date.now();
  };
  const answered = alert(w.services(b), value);
  for (let guard = 0; !deleteIssued; guard++) {
    expect(guard, `no DELETE after rounds ${JSON.stringify(b.rounds)}`).toBeLessThan(20);
    await quietDown(b);
    if (deleteIssued) break;
    b.releaseRound();
  }
  w.onDelete = undefined;
  const rounds = b.rounds.filter((r) => r.length > 0);
  console.log(JSON.stringify({ msg: "contain-first.round_trips_before_delete", rounds: rounds.length, calls: rounds }));
  return { rounds, answered, b, deleteAt };
}

describe("contain first: the leaked key dies before the rotation's bookkeeping", () => {
  it("is deleted after 2 sequential round trips (the index; the records beside the durable event) and before any record is written; the rotation records it and never deletes it again", async () => {
    const w = world();
    const t = await tenant(w);
    const { rounds, answered, b, deleteAt } = await roundsBeforeDelete(w, t.leaked);
    expect(rounds).toEqual([
      ["kv.getWithMetadata"], // the fingerprint index: the manager's id and "current" as its metadata
      // The credential's record and the manager's (its token), and credential.compromised, side by side.
      ["cell.read", "cell.read", "queue.send"],
    ]);
    // The replay claim runs beside the DELETE, not before it.
    expect(b.pending.map((p) => p.what)).toContain("ledger.claim");
    // No record was written before the DELETE: no rotation intent, record or lease.
    expect(rounds.flat().some((c) => c === "cell.write")).toBe(false);
    b.passThrough();
    const outcome = await answered;
    expect(outcome).toMatchObject({ kind: "accepted", action: "rotation" });
    await settle(w);
    await deliverCompromised(w);

    const [r, ...more] = await rotationsOf(w, t.credentialId);
    expect(more).toEqual([]);
    expect(r).toMatchObject({ state: "done", reason: "compromise", old_revoked: true });
    // contained_at is when Clarifai answered the early DELETE: before the rotation even existed.
    const containedAt = Date.parse(r!.contained_at!);
    expect(containedAt).toBeGreaterThanOrEqual(deleteAt);
    expect(containedAt).toBeLessThan(Date.parse(r!.created_at));
    // The rotation knew: one DELETE of the leaked key, Clarifai's, not a second of its own.
    expect(w.deletesOf(t.leaked)).toEqual([10000]);
    const revoked = w.events.filter((e) => e.type === "credential.revoked") as EventOf<"credential.revoked">[];
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.data).toMatchObject({ credential_id: t.credentialId, reason: "compromise" });
    expect(revoked[0]!.data.containment_ms).toBe(Date.parse(r!.contained_at!) - Date.parse(r!.alert_received_at!));
    expect(JSON.stringify(w.events)).not.toContain(t.leaked);
  });

  it("named by credential id: the DELETE waits for the replay claim (3 sequential round trips)", async () => {
    const w = world();
    const t = await tenant(w);
    const deliveryId = `msg_${crypto.randomUUID()}`;
    const b = new Bindings();
    b.holding = true;
    let deleteIssued = false;
    w.onDelete = async () => void (deleteIssued = true);
    const answered = alert(w.services(b), { credential_id: t.credentialId }, deliveryId);
    for (let guard = 0; !deleteIssued; guard++) {
      expect(guard).toBeLessThan(20);
      await quietDown(b);
      if (!deleteIssued) b.releaseRound();
    }
    w.onDelete = undefined;
    const rounds = b.rounds.filter((r) => r.length > 0);
    console.log(JSON.stringify({ msg: "contain-first.round_trips_before_delete_by_id", calls: rounds }));
    expect(rounds).toEqual([
      ["cell.read"], // the credential's record
      expect.arrayContaining(["ledger.claim", "cell.read"]), // the claim, beside the manager's record
      // credential.compromised, once the claim is this delivery's (the rotation's begin beside it)
      expect.arrayContaining(["queue.send"]),
    ]);
    b.passThrough();
    expect(await answered).toMatchObject({ kind: "accepted", action: "rotation" });
    await settle(w);
    expect(w.deletesOf(t.leaked)).toEqual([10000]);
  });

  it("named by credential id: a redelivery after the rotation is refused as a replay and leaves the replacement alone", async () => {
    const w = world();
    const t = await tenant(w);
    const deliveryId = `msg_${crypto.randomUUID()}`;
    expect(await alert(w.services(), { credential_id: t.credentialId }, deliveryId)).toMatchObject({
      kind: "accepted",
      action: "rotation",
    });
    await settle(w);
    await deliverCompromised(w);
    const settled = (await w.services().store.getCredential(t.credentialId))!.value;
    const live = liveKeys(w, t.userId).map((k) => k.id).sort();
    expect(live).toHaveLength(2); // the manager and the new key
    expect(live).not.toContain(t.leaked);

    // The same delivery again (a sender's retry after a lost 202, a capture replayed in the window).
    expect(await alert(w.services(), { credential_id: t.credentialId }, deliveryId)).toEqual({ kind: "replayed" });
    await settle(w);
    expect(liveKeys(w, t.userId).map((k) => k.id).sort()).toEqual(live);
    expect(await w.services().store.getCredential(t.credentialId).then((c) => c!.value)).toEqual(settled);
    expect(await rotationsOf(w, t.credentialId)).toHaveLength(1);
  });

  it("a crash right after Clarifai deleted the key, before the claim and begin completed, converges through credential.compromised", async () => {
    const w = world();
    const t = await tenant(w);
    const b = new Bindings();
    b.holding = true;
    const svc = w.services(b);
    const origFetch = w.emulator.fetch.bind(w.emulator);
    let deleted = false;
    w.emulator.fetch = (async (...args: Parameters<Emulator["fetch"]>) => {
      const res = await origFetch(...args);
      if (new Request(args[0] as RequestInfo, args[1] as RequestInit).method !== "DELETE") return res;
      // Clarifai commits; its answer reaches an isolate that dies before doing anything with it.
      await res.arrayBuffer();
      deleted = true;
      b.dead = true;
      throw new Crashed("the isolate running this died (crash injected by the test)");
    }) as Emulator["fetch"];
    const answered = alert(svc, t.leaked).then(() => "answered", () => "crashed");
    for (let guard = 0; !deleted; guard++) {
      expect(guard).toBeLessThan(20);
      await quietDown(b);
      if (!deleted) b.releaseRound();
    }
    b.passThrough(); // everything still held fails: the isolate is gone
    expect(await answered).toBe("crashed");
    await settle(w);
    w.emulator.fetch = origFetch;
    expect(w.deletesOf(t.leaked)).toEqual([10000]); // Clarifai deleted it; nobody recorded it
    expect(await rotationsOf(w, t.credentialId)).toEqual([]);
    const dead = (await w.services().store.getCredential(t.credentialId))!.value;
    expect(dead).toMatchObject({ state: "active" });
    expect(dead.current_rotation).toBeUndefined();

    // The durable event was published before the DELETE: the rotator's replay, in a new isolate.
    const compromised = w.events.find((e) => e.type === "credential.compromised") as EventOf<"credential.compromised">;
    expect(compromised).toBeDefined();
    const fresh = w.services();
    await containAgain(() => fresh.engine(), compromised);
    await settle(w);
    expect(w.deletesOf(t.leaked)).toEqual([10000, 11101]); // the second: "does not exist", counted as deleted
    const [after, ...more] = await rotationsOf(w, t.credentialId);
    expect(more).toEqual([]);
    expect(after).toMatchObject({ state: "done", reason: "compromise", old_revoked: true });
    expect(w.events.filter((e) => e.type === "credential.revoked")).toHaveLength(1);
    const cred = (await fresh.store.getCredential(t.credentialId))!.value;
    expect(cred.state).toBe("active");
    expect(cred.fingerprint).not.toBe(after!.old_fingerprint);
    expect(cred.previous.find((p) => p.fingerprint === after!.old_fingerprint)?.revoked_at).toBeDefined();
    const live = liveKeys(w, t.userId).map((k) => k.id);
    expect(live).not.toContain(t.leaked);
    expect(live).toHaveLength(2); // the manager and the replacement the rotation promoted
  });

  it("two alerts racing for one value: one rotation, at most a harmless second DELETE, one live replacement", async () => {
    const w = world();
    const t = await tenant(w);
    const [a, b] = await Promise.all([alert(w.services(), t.leaked), alert(w.services(), t.leaked)]);
    await settle(w);
    await deliverCompromised(w);
    expect([a, b]).toEqual([
      expect.objectContaining({ kind: "accepted", action: "rotation" }),
      expect.objectContaining({ kind: "accepted", action: "rotation" }),
    ]);
    expect(a!.kind === "accepted" && b!.kind === "accepted" && a!.rotationId === b!.rotationId).toBe(true);
    const [r, ...more] = await rotationsOf(w, t.credentialId);
    expect(more).toEqual([]);
    expect(r).toMatchObject({ state: "done", old_revoked: true });
    const deletes = w.deletesOf(t.leaked);
    expect(deletes[0]).toBe(10000);
    expect(deletes.slice(1)).toEqual(deletes.length === 2 ? [11101] : []);
    expect(w.events.filter((e) => e.type === "credential.revoked")).toHaveLength(1);
    const cred = (await w.services().store.getCredential(t.credentialId))!.value;
    const live = liveKeys(w, t.userId).map((k) => k.id);
    expect(live).not.toContain(t.leaked);
    // The manager and exactly one replacement: no second key minted by a second rotation.
    expect(live).toHaveLength(2);
    expect(cred.fingerprint).not.toBe(r!.old_fingerprint);
  });

  it("an index entry still saying current for a value already revoked (a lagging replica): the early event changes nothing, at the alert or at the rotator's replay", async () => {
    const w = world();
    const t = await tenant(w);
    expect(await alert(w.services(), t.leaked)).toMatchObject({ kind: "accepted", action: "rotation" });
    await settle(w);
    await deliverCompromised(w); // the rotator finishes the rotation: the leaked value is superseded, revoked
    const settled = (await w.services().store.getCredential(t.credentialId))!.value;
    expect(settled.fingerprint).not.toBe(await fingerprintWith(FINGERPRINT_KEY, t.leaked));
    const live = liveKeys(w, t.userId).map((k) => k.id).sort();
    const deletes = w.deletesOf(t.leaked);
    const rotations = await rotationsOf(w, t.credentialId);
    // The entry as a replica that missed the promote (and the revocation) would still serve it.
    const key = `fp:${await fingerprintWith(FINGERPRINT_KEY, t.leaked)}`;
    const entry = await env.REKEY_KV.getWithMetadata<Record<string, unknown>>(key);
    expect(entry.value).toBe(t.credentialId);
    expect(entry.metadata).toEqual({ manager_id: t.managerId }); // the promote cleared "current"
    await env.REKEY_KV.put(key, t.credentialId, { metadata: { manager_id: t.managerId, current: true } });

    const before = w.events.length;
    // A second source reporting the same (handled) leak, under a delivery id of its own.
    expect(await alert(w.services(), t.leaked)).toMatchObject({ kind: "accepted", action: "already_revoked" });
    await settle(w);
    const raised = w.events.slice(before);
    const early = raised.filter((e) => e.type === "credential.compromised") as EventOf<"credential.compromised">[];
    expect(early).toHaveLength(1); // published on the hint, before the record showed the value dead
    expect(raised.map((e) => e.type).sort()).toEqual(["alert.received", "credential.compromised"]);
    // The rotator's replay re-reads the record: nothing to contain.
    const fresh = w.services();
    await containAgain(() => fresh.engine(), early[0]!);
    await settle(w);
    expect(w.deletesOf(t.leaked)).toEqual(deletes);
    expect(await rotationsOf(w, t.credentialId)).toEqual(rotations);
    expect(liveKeys(w, t.userId).map((k) => k.id).sort()).toEqual(live);
    expect((await fresh.store.getCredential(t.credentialId))!.value).toEqual(settled);
    expect(w.events.length).toBe(before + raised.length);
  });

  it("an index entry without the current hint (written before it existed): the event follows the record, 3 round trips", async () => {
    const w = world();
    const t = await tenant(w);
    const key = `fp:${await fingerprintWith(FINGERPRINT_KEY, t.leaked)}`;
    await env.REKEY_KV.put(key, t.credentialId, { metadata: { manager_id: t.managerId } });
    const { rounds, answered, b } = await roundsBeforeDelete(w, t.leaked);
    expect(rounds.map((r) => r.filter((c) => !c.startsWith("ledger.")))).toEqual([
      ["kv.getWithMetadata"],
      ["cell.read", "cell.read"], // the credential's record and the manager's
      ["queue.send"], // credential.compromised, beside the replay claim
    ]);
    b.passThrough();
    expect(await answered).toMatchObject({ kind: "accepted", action: "rotation" });
    await settle(w);
    expect(w.deletesOf(t.leaked)).toEqual([10000]);
  });

  it("an index entry hinting another tenant's (real, active) manager: the token is the right manager's, at no extra round trip", async () => {
    const w = world();
    const t = await tenant(w);
    const other = await tenant(w);
    const othersKeys = liveKeys(w, other.userId).map((k) => k.id).sort();
    // The index entry names a manager the record does not (as a lagging KV replica could).
    const key = `fp:${await fingerprintWith(FINGERPRINT_KEY, t.leaked)}`;
    await env.REKEY_KV.put(key, t.credentialId, { metadata: { manager_id: other.managerId } });
    const { rounds, answered, b } = await roundsBeforeDelete(w, t.leaked);
    expect(rounds.map((r) => r.filter((c) => !c.startsWith("ledger.")))).toEqual([
      ["kv.getWithMetadata"],
      ["cell.read", "cell.read"], // the credential's record, and the hinted record (unused)
      ["cell.read", "queue.send"], // the manager the credential's record names, beside the event
    ]);
    b.passThrough();
    expect(await answered).toMatchObject({ kind: "accepted", action: "rotation" });
    await settle(w);
    await deliverCompromised(w);
    // One DELETE, answered deleted at once: made with this tenant's manager (the other tenant's
    // PAT would have been refused for this user's key and left the DELETE to the rotation).
    expect(w.deletesOf(t.leaked)).toEqual([10000]);
    const [r] = await rotationsOf(w, t.credentialId);
    expect(r).toMatchObject({ state: "done", old_revoked: true });
    // The early DELETE, not the rotation's: it went out before anything was written (no lease).
    expect(rounds.flat().some((c) => c === "cell.write")).toBe(false);
    expect(r!.contained_at).toBeDefined();
    expect(liveKeys(w, other.userId).map((k) => k.id).sort()).toEqual(othersKeys);
  });

  it("rotated between the match and the begin (value_superseded): the early DELETE counts, no second DELETE", async () => {
    const w = world();
    const t = await tenant(w, 24); // a grace period: the superseded value stays unrevoked
    const b = new Bindings();
    b.holding = true;
    let deleteIssued = false;
    w.onDelete = async () => void (deleteIssued = true);
    const answered = alert(w.services(b), t.leaked);
    for (let guard = 0; !deleteIssued; guard++) {
      expect(guard).toBeLessThan(20);
      await quietDown(b);
      if (!deleteIssued) b.releaseRound();
    }
    w.onDelete = undefined;
    // The alert's begin is held; a routine rotation runs to its end meanwhile.
    const other = w.services();
    const engine = await other.engine();
    const begun = await beginRotation(engine, t.credentialId, {
      reason: "manual",
      mode: "rotate",
      requestedBy: "test",
    });
    if (!begun.ok) throw new Error(begun.code);
    await driveRotation(engine, t.credentialId, begun.rotation.id);
    b.passThrough();
    expect(await answered).toMatchObject({ kind: "accepted", action: "revoke_previous" });
    await settle(w);
    expect(w.deletesOf(t.leaked)).toEqual([10000]);
    const cred = (await other.store.getCredential(t.credentialId))!.value;
    expect(cred.state).toBe("active");
    const old = (await rotationsOf(w, t.credentialId))[0]!.old_fingerprint;
    expect(cred.previous.find((p) => p.fingerprint === old)?.revoked_at).toBeDefined();
    const revoked = w.events.filter((e) => e.type === "credential.revoked") as EventOf<"credential.revoked">[];
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.data).toMatchObject({ credential_id: t.credentialId, reason: "compromise" });
    expect(liveKeys(w, t.userId).map((k) => k.id)).not.toContain(t.leaked);
  });

  it("the DELETE's request goes out before the work beside it starts: no replay claim (named by value) and no write (by value or id) issued before it", async () => {
    for (const by of ["value", "id"] as const) {
      const w = world();
      const t = await tenant(w);
      const { atDelete, after, answer } = await callsAtDelete(
        w,
        (svc) => alert(svc, by === "value" ? t.leaked : { credential_id: t.credentialId }),
      );
      // Named by id the claim still comes first (a redelivery must not delete the replacement).
      if (by === "value") expect(atDelete).not.toContain("ledger.claim");
      else expect(atDelete).toContain("ledger.claim");
      expect(atDelete.filter((c) => c === "cell.write")).toEqual([]);
      // Started right after it: the claim (by value), the rotation's begin (by id, claimed already).
      expect(after).toContain(by === "value" ? "ledger.claim" : "cell.write");
      expect(answer).toMatchObject({ kind: "accepted", action: "rotation" });
      await settle(w);
      expect(w.deletesOf(t.leaked)).toEqual([10000]);
    }
  });

  it("named by value: before the DELETE only the manager's token is decrypted (the alert carried the leaked value), and it is opened once the manager's record answers, before the credential's does", async () => {
    const w = world();
    const t = await tenant(w);
    const decrypts = countDecrypts();
    try {
      const b = new Bindings();
      b.holding = true;
      let decryptsAtDelete: number | undefined;
      w.onDelete = async () => void (decryptsAtDelete ??= decrypts.count);
      const answered = alert(w.services(b), t.leaked);
      await quietDown(b);
      b.releaseRound(); // the fingerprint index
      await quietDown(b);
      const round2 = b.pending.map((p) => p.what);
      expect(round2).toEqual(["cell.read", "cell.read", "queue.send"]);
      // The manager's record (read first, on the index's hint) answers; the credential's is held.
      const before = decrypts.count;
      b.pending.splice(0, 1)[0]!.go();
      await quietDown(b);
      expect(decrypts.count - before, "the manager's token opened while the credential's record is pending").toBe(1);
      expect(decryptsAtDelete).toBeUndefined();
      b.passThrough();
      expect(await answered).toMatchObject({ kind: "accepted", action: "rotation" });
      // One decrypt before the DELETE: the manager's token; the leaked value is the alert's own.
      expect(decryptsAtDelete).toBe(before + 1);
      await settle(w);
      expect(w.deletesOf(t.leaked)).toEqual([10000]);
    } finally {
      decrypts.restore();
    }
  });
});

/** Counts WebCrypto decrypts (each sealed value opened) in this isolate until restored. */
function countDecrypts() {
  const subtle = crypto.subtle;
  const real = subtle.decrypt;
  const counter = { count: 0, restore: () => void (subtle.decrypt = real) };
  subtle.decrypt = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto["decrypt"]>) {
    counter.count++;
    return real.apply(this, args);
  };
  return counter;
}

/** Waits until the held bindings have seen no call for QUIET_MS: everything startable has started. */
async function quietDown(b: Bindings) {
  let seen = -1;
  while (seen !== b.moves) {
    seen = b.moves;
    await sleep(QUIET_MS);
  }
}

/**
 * Every storage call issued (released or still held) when the DELETE's fetch was called, for an
 * alert `send` starts on services `svc`; then the calls pending right after it, and its answer once
 * everything passes. The other paths that start the DELETE before their work (`startDelete`).
 */
async function callsAtDelete<T>(w: World, send: (svc: Services) => Promise<T>) {
  const b = new Bindings();
  b.holding = true;
  let atDelete: string[] | undefined;
  w.onDelete = async () => void (atDelete ??= [...b.rounds.flat(), ...b.pending.map((p) => p.what)]);
  const answered = send(w.services(b));
  const quiet = () => quietDown(b);
  for (let guard = 0; atDelete === undefined; guard++) {
    expect(guard, `no DELETE after rounds ${JSON.stringify(b.rounds)}`).toBeLessThan(20);
    await quiet();
    if (atDelete === undefined) b.releaseRound();
  }
  w.onDelete = undefined;
  await quiet();
  const after = b.pending.map((p) => p.what);
  console.log(JSON.stringify({ msg: "contain-first.calls_at_delete", at_delete: atDelete, pending_after: after }));
  b.passThrough();
  return { atDelete: atDelete!, after, answer: await answered };
}

describe("contain first on the GitHub paths: the DELETE's request goes out before the work beside it (review R5)", () => {
  it("a repository secret scanning alert (the webhook's fast path): no record written (the alert's link) before the DELETE; the link starts right after it", async () => {
    const w = world();
    const t = await tenant(w);
    const { atDelete, after, answer } = await callsAtDelete(
      w,
      async (svc) =>
        reportRepoAlert(svc, await svc.engine(), { repository: "octo-org/octo-repo", number: 7, secret: t.leaked }, {
          delivery: `gh_${crypto.randomUUID()}`,
          fastPath: true,
          receivedAt: svc.now(),
        }),
    );
    // The link is a read-modify-write of the credential's cell: its read and write (and the
    // begin's) come after the DELETE. Exactly the DELETE's chain (the index; the record and the manager's; the durable event):
    // the link's read of the cell is issued only after the DELETE.
    expect(atDelete).toEqual(["kv.getWithMetadata", "cell.read", "cell.read", "queue.send"]);
    expect(after).toEqual(["cell.read"]);
    expect(answer).toMatchObject({ kind: "accepted", credentialId: t.credentialId, action: "rotation" });
    await settle(w);
    expect(w.deletesOf(t.leaked)).toEqual([10000]);
    const cred = (await w.services().store.getCredential(t.credentialId))!.value;
    expect(cred.github_alerts?.map((l) => l.number)).toEqual([7]);
  });

  it("a GitHub token batch (secret scanning partner alert): the first match's DELETE goes out before its rotation's begin writes anything", async () => {
    const w = world();
    const t = await tenant(w);
    const fp = await fingerprintWith(FINGERPRINT_KEY, t.leaked);
    const others = await Promise.all(
      Array.from({ length: 20 }, () => fingerprintWith(FINGERPRINT_KEY, crypto.randomUUID())),
    );
    const batch: Alert = {
      source: "github",
      id: await deriveId("alrt", "test-batch", crypto.randomUUID()),
      reason: "token_match",
    };
    const { atDelete, after, answer } = await callsAtDelete(
      w,
      async (svc) => reportTokens(svc, await svc.engine(), { ...batch, receivedAt: svc.now() }, [...others, fp]),
    );
    // Exactly the DELETE's chain (the index; the record and the manager's; the events): the
    // rotation's begin (its read of the cell, then its write) starts only after the DELETE.
    expect(atDelete).toEqual(["kv.get", "cell.read", "cell.read", "queue.sendBatch"]);
    expect(after).toEqual(["cell.read"]);
    expect(answer.matched(fp)).toBe(true);
    await settle(w);
    expect(w.deletesOf(t.leaked)).toEqual([10000]);
  });
});
