/**
 * The cron sweep with a controlled clock, against the emulator: an aged credential is rotated, a
 * superseded key is revoked only after its grace period, an expired credential is revoked, a stuck
 * rotation resumes; the plan lists exactly those actions beforehand and changes nothing.
 */
import { describe, expect, it } from "vitest";
import { Dispatcher, type EventBus } from "../../src/core/bus/bus.ts";
import type { BusEvent } from "../../src/core/bus/events.ts";
import { MemoryLedger } from "../../src/core/bus/memory-ledger.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { subscribeEngineHandlers } from "../support/subscribe.ts";
import { planSweep } from "../../src/core/sweep/plan.ts";
import { startSweep } from "../../src/core/sweep/run.ts";
import { currentValue, scenario } from "../support/engine-scenario.ts";

const DAY = 86_400_000;

/** Runs a whole sweep through a real Dispatcher with the real rotator, synchronously. */
async function sweep(s: Awaited<ReturnType<typeof scenario>>) {
  const published: BusEvent[] = [];
  const bus: EventBus = {
    publish: async (e) => void published.push(e),
    publishAll: async (es) => void published.push(...es),
  };
  const d = new Dispatcher({ ledger: new MemoryLedger({ now: s.h.engine.now }) });
  subscribeEngineHandlers(d, s.h.engine, bus, ["rotator", "sweeper", "orphan-scanner"]);
  await startSweep(bus, s.h.engine.now());
  for (let i = 0; i < published.length; i++) await d.dispatch(published[i]!, { attempt: 1 });
  return published;
}

const keyIds = async (s: Awaited<ReturnType<typeof scenario>>) => (await s.h.state()).keys.map((k: any) => k.id);

describe("cron sweep (in-memory unit tests of the sweep's logic: memory store and ledger)", () => {
  it("rotates an aged credential, and plans it first without changing anything", async () => {
    const s = await scenario("app_key", { max_age_days: 30, grace_hours: 0 });
    expect(await planSweep(s.h.engine.store, s.h.engine.now())).toEqual([]);
    s.h.advance(31 * DAY);
    const calls = (await s.h.state()).calls.length;
    const plan = await planSweep(s.h.engine.store, s.h.engine.now());
    expect(plan).toEqual([expect.objectContaining({ rule: "max_age", action: "rotate", credential_id: s.cred.id })]);
    expect((await s.h.state()).calls.length).toBe(calls); // plan made no upstream call
    expect((await currentValue(s.h, s.cred.id)).value).toBe(s.original); // and no write
    await sweep(s);
    const { value, rec } = await currentValue(s.h, s.cred.id);
    expect(value).not.toBe(s.original);
    expect(rec.last_rotation?.reason).toBe("scheduled");
    expect(await keyIds(s)).not.toContain(s.original);
    expect(await planSweep(s.h.engine.store, s.h.engine.now())).toEqual([]);
  });

  it("revokes a superseded key only after its grace period", async () => {
    const s = await scenario("app_key", { grace_hours: 24 });
    const b = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "rotate", requestedBy: "test" });
    if (!b.ok) throw new Error(b.code);
    await driveRotation(s.h.engine, s.cred.id, b.rotation.id);
    s.h.advance(23 * 3_600_000);
    expect(await planSweep(s.h.engine.store, s.h.engine.now())).toEqual([]);
    await sweep(s);
    expect(await keyIds(s)).toContain(s.original);
    s.h.advance(2 * 3_600_000);
    expect((await planSweep(s.h.engine.store, s.h.engine.now())).map((a) => a.rule)).toEqual(["grace_expired"]);
    await sweep(s);
    expect(await keyIds(s)).not.toContain(s.original);
  });

  it("revokes a credential past its hard expiry", async () => {
    const s = await scenario("app_key", { expires_at: "2026-06-10T00:00:00Z" });
    s.h.advance(10 * DAY);
    expect((await planSweep(s.h.engine.store, s.h.engine.now())).map((a) => [a.rule, a.action])).toEqual([[
      "expired",
      "revoke",
    ]]);
    await sweep(s);
    const { rec } = await currentValue(s.h, s.cred.id);
    expect(rec.state).toBe("revoked");
    expect(rec.last_rotation?.reason).toBe("expiry");
    expect(await keyIds(s)).not.toContain(s.original);
  });

  it("resumes a rotation that stopped half way", async () => {
    const s = await scenario("app_key", { grace_hours: 0 });
    const b = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "rotate", requestedBy: "test" });
    if (!b.ok) throw new Error(b.code);
    // Nobody drives it (the worker died right after accepting the request).
    s.h.advance(20 * 60_000);
    expect((await planSweep(s.h.engine.store, s.h.engine.now())).map((a) => a.rule)).toEqual(["stuck_rotation"]);
    await sweep(s);
    const { rec, value } = await currentValue(s.h, s.cred.id);
    expect(rec.last_rotation).toMatchObject({ id: b.rotation.id, state: "done" });
    expect(value).not.toBe(s.original);
  });

  it("keeps a revocation that keeps failing owed, retries it, and raises revocation.overdue", async () => {
    const s = await scenario("app_key", { grace_hours: 1 });
    const b = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "rotate", requestedBy: "test" });
    if (!b.ok) throw new Error(b.code);
    await driveRotation(s.h.engine, s.cred.id, b.rotation.id);
    s.h.advance(8 * 3_600_000); // past grace and past the overdue threshold
    await s.h.control("faults", {
      method: "DELETE",
      path: `/v2/users/${s.h.seed.userId}/keys/${s.original}`,
      count: 100,
      status: 403,
      code: 11007,
    });
    const first = await sweep(s);
    expect(first.some((e) => e.type === "revocation.overdue")).toBe(true);
    let owed = (await currentValue(s.h, s.cred.id)).rec.previous[0]!;
    expect(owed.revoked_at).toBeUndefined();
    expect(owed.revoke_attempts).toBe(1);
    // Backed off: a sweep run again at once leaves it alone; the next cron sweep retries it.
    const calls = (await s.h.state()).calls.length;
    await sweep(s);
    expect((await s.h.state()).calls.length).toBe(calls);
    s.h.advance(15 * 60_000);
    await sweep(s);
    owed = (await currentValue(s.h, s.cred.id)).rec.previous[0]!;
    expect(owed.revoke_attempts).toBe(2);
    await s.h.control("faults", undefined).catch(() => {});
    await s.h.emulator.fetch("http://clarifai.emulator/_emulator/faults", { method: "DELETE" });
    s.h.advance(30 * 60_000);
    await sweep(s);
    expect((await currentValue(s.h, s.cred.id)).rec.previous[0]!.revoked_at).toBeDefined();
    expect(await keyIds(s)).not.toContain(s.original);
  });

  it("never deletes a marked key on the marker alone, and a rotation does not adopt a key it did not mint (pure logic, memory store)", async () => {
    const s = await scenario("app_key", { grace_hours: 0 });
    const copied = await s.h.mintKey(
      "app_specific_key",
      ["Predict"],
      "workload [rekey:rot_01jc4kb0000000000000000099]",
    );
    const running = await beginRotation(s.h.engine, s.cred.id, {
      reason: "manual",
      mode: "rotate",
      requestedBy: "test",
    });
    if (!running.ok) throw new Error(running.code);
    // A key carrying the running rotation's marker, made before that rotation ever called create.
    const early = await s.h.mintKey(
      "app_specific_key",
      ["Predict", "Inputs_Get"],
      `workload [rekey:${running.rotation.id}]`,
    );
    // A live driver holds it and has not called create yet, so the sweep leaves the rotation alone.
    const cur = (await s.h.engine.store.getRotation(s.cred.id, running.rotation.id))!;
    const until = new Date(s.h.engine.now() + s.h.engine.leaseMs).toISOString();
    await s.h.engine.store.putRotation({ ...cur.value, lease: { owner: "drv_live", until } }, cur.version);
    const calls = (await s.h.state()).calls.length;
    const events = await sweep(s);
    expect((await s.h.state()).calls.length).toBe(calls); // the sweep listed nothing
    expect(events.filter((e) => e.type === "orphan.deleted")).toHaveLength(0);
    s.h.advance(s.h.engine.leaseMs); // that driver died: the next one takes over
    const r = await driveRotation(s.h.engine, s.cred.id, running.rotation.id);
    expect(r.state).toBe("done");
    const ids = await keyIds(s);
    expect(ids).toContain(copied.id);
    expect(ids).toContain(early.id);
    expect((await currentValue(s.h, s.cred.id)).value).not.toBe(early.id); // minted its own
  });

  it("reads no credential record and calls Clarifai not at all when nothing is due (pure logic, memory store)", async () => {
    const s = await scenario("app_key", { max_age_days: 30 });
    let reads = 0;
    const inner = s.h.engine.store;
    s.h.engine.store = Object.assign(Object.create(Object.getPrototypeOf(inner)), inner, {
      getCredential: (id: string) => (reads++, inner.getCredential(id)),
      listIndex: (o: { cursor?: string; limit: number }) => inner.listIndex(o),
      listCredentials: (o: { cursor?: string; limit: number }) => inner.listCredentials(o),
      findCredentialByFingerprint: (fp: string) => inner.findCredentialByFingerprint(fp),
      findRotation: (id: string) => inner.findRotation(id),
    });
    const calls = (await s.h.state()).calls.length;
    await sweep(s);
    // The self-managed manager PAT is not visited either: no sweep lists a user's keys.
    expect(reads).toBe(0);
    expect((await s.h.state()).calls.length).toBe(calls);
  });
});
