/**
 * The rotation state machine end to end against the Clarifai emulator: each kind rotates and
 * revokes, compromise revokes first, grace periods hold, and owed revocations are paid.
 */
import { describe, expect, it } from "vitest";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { payOwedRevocations } from "../../src/core/rotation/owed-revocations.ts";
import { currentValue, scenario } from "../support/engine-scenario.ts";
import { matchLeakedValue } from "../../src/core/alerts/match-leak.ts";
import { contain } from "../../src/core/alerts/contain.ts";

async function rotate(
  s: Awaited<ReturnType<typeof scenario>>,
  reason: "manual" | "compromise" = "manual",
  newValue?: string,
) {
  const begun = await beginRotation(s.h.engine, s.cred.id, {
    reason,
    mode: "rotate",
    requestedBy: "test",
    ...(newValue ? { newValue } : {}),
  });
  if (!begun.ok) throw new Error(begun.code);
  return driveRotation(s.h.engine, s.cred.id, begun.rotation.id);
}

const keysOf = async (s: Awaited<ReturnType<typeof scenario>>) =>
  (await s.h.state()).keys.filter((k: any) => k.id !== s.managerKey.id && k.id !== s.h.seed.pat);
const secretValue = async (s: Awaited<ReturnType<typeof scenario>>, id: string) =>
  (await s.h.state()).secrets.find((x: any) => x.id === id)?.value;

describe("a settled rotation's announcement (drive.ts safeEmit)", () => {
  it("is sent again when its send fails, up to 3 tries, and a send that never succeeds does not undo the rotation (in-memory unit test of the logic)", async () => {
    const s = await scenario("app_key");
    const emit = s.h.engine.emit;
    const tries: string[] = [];
    let failing = 2;
    s.h.engine.emit = async (e) => {
      tries.push(e.type);
      if (e.type === "rotation.completed" && failing-- > 0) throw new Error("queue send failed");
      return emit(e);
    };
    expect((await rotate(s)).state).toBe("done");
    // Two failed sends, then the third arrives: announced once.
    expect(tries.filter((t) => t === "rotation.completed")).toHaveLength(3);
    expect(s.h.events.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
    // Never arriving: three tries, then given up without throwing; the rotation still settles.
    failing = Infinity;
    tries.length = 0;
    expect((await rotate(s)).state).toBe("done");
    expect(tries.filter((t) => t === "rotation.completed")).toHaveLength(3);
    expect(s.h.events.filter((e) => e.type === "rotation.completed")).toHaveLength(1);
  });
});

describe.each(["app_key", "pat"] as const)("rotating a %s", (kind) => {
  it("replaces the key with one of the same scopes and apps, updates the sink, deletes the old", async () => {
    const s = await scenario(kind);
    const before = (await keysOf(s)).find((k: any) => k.id === s.original);
    const rotation = await rotate(s);
    expect(rotation.state).toBe("done");
    const keys = await keysOf(s);
    expect(keys.map((k: any) => k.id)).not.toContain(s.original);
    expect(keys).toHaveLength(1);
    const fresh = keys[0];
    expect(fresh.scopes).toEqual(before.scopes);
    expect(fresh.apps ?? []).toEqual(before.apps ?? []);
    expect(fresh.type).toBe(before.type);
    const { value, rec } = await currentValue(s.h, s.cred.id);
    expect(value).toBe(fresh.id);
    expect(await secretValue(s, s.sinkId)).toBe(fresh.id);
    expect(rec.previous).toHaveLength(1);
    expect(rec.previous[0]!.revoked_at).toBeDefined();
    expect(rec.previous[0]!.value).toBeUndefined(); // dead values are dropped
    expect(rec.current_rotation).toBeUndefined();
    expect(rec.last_rotation?.state).toBe("done");
  });

  it("on compromise deletes the old key before creating the new one", async () => {
    const s = await scenario(kind);
    const mark = (await s.h.state()).calls.length;
    const rotation = await rotate(s, "compromise");
    expect(rotation.state).toBe("done");
    const calls = (await s.h.state()).calls.slice(mark).map((c: any) => `${c.method} ${c.path}`);
    const del = calls.findIndex((c: string) => c.startsWith("DELETE ") && c.includes("/keys/"));
    const create = calls.findIndex((c: string) => c.startsWith("POST ") && c.endsWith("/keys"));
    expect(del).toBeGreaterThanOrEqual(0);
    expect(create).toBeGreaterThan(del);
    expect((await keysOf(s)).map((k: any) => k.id)).not.toContain(s.original);
  });
});

describe("grace period", () => {
  it("keeps the old key working until the grace period ends, then the owed revocation deletes it", async () => {
    const s = await scenario("app_key", { grace_hours: 24 });
    const rotation = await rotate(s);
    expect(rotation.state).toBe("done");
    expect((await keysOf(s)).map((k: any) => k.id)).toContain(s.original);
    expect((await payOwedRevocations(s.h.engine, s.cred.id)).revoked).toEqual([]);
    s.h.advance(25 * 3_600_000);
    const paid = await payOwedRevocations(s.h.engine, s.cred.id);
    expect(paid.revoked).toHaveLength(1);
    expect((await keysOf(s)).map((k: any) => k.id)).not.toContain(s.original);
    const { rec } = await currentValue(s.h, s.cred.id);
    expect(rec.previous[0]!.revoked_at).toBeDefined();
  });

  it("a compromise that joins a routine rotation skips the grace period", async () => {
    const s = await scenario("app_key", { grace_hours: 24 });
    const first = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "rotate", requestedBy: "test" });
    const second = await beginRotation(s.h.engine, s.cred.id, {
      reason: "compromise",
      mode: "rotate",
      requestedBy: "alert",
    });
    if (!first.ok || !second.ok) throw new Error("begin failed");
    expect(second.joined).toBe(true);
    expect(second.rotation.id).toBe(first.rotation.id);
    const done = await driveRotation(s.h.engine, s.cred.id, first.rotation.id);
    expect(done.state).toBe("done");
    expect((await keysOf(s)).map((k: any) => k.id)).not.toContain(s.original);
  });
});

describe("alerts racing a rotation", () => {
  it("an alert matched just before a rotation replaced the value does not rotate the replacement", async () => {
    const s = await scenario("app_key", { grace_hours: 24 });
    const stale = await matchLeakedValue(s.h.engine, s.original);
    expect(stale.kind).toBe("current");
    expect((await rotate(s)).state).toBe("done"); // a routine rotation lands first
    const { value: replacement } = await currentValue(s.h, s.cred.id);
    const c = await contain(s.h.engine, stale, "github");
    expect(c.action).toBe("revoke_previous"); // the leaked value is now the previous one
    if (c.action === "revoke_previous") await c.run();
    const keys = (await keysOf(s)).map((k: any) => k.id);
    expect(keys).toContain(replacement);
    expect(keys).not.toContain(s.original);
    expect((await currentValue(s.h, s.cred.id)).rec.last_rotation?.reason).toBe("manual");
  });
});

describe("secret credentials", () => {
  it("overwrites the secret and its sinks with the operator's new value", async () => {
    const s = await scenario("secret");
    const rotation = await rotate(s, "manual", "third-party-key-NEW");
    expect(rotation.state).toBe("done");
    expect(await secretValue(s, "OPENAI_KEY")).toBe("third-party-key-NEW");
    expect(await secretValue(s, s.sinkId)).toBe("third-party-key-NEW");
    expect((await currentValue(s.h, s.cred.id)).value).toBe("third-party-key-NEW");
  });

  it("refuses a routine rotation without a value or generator, changing nothing", async () => {
    const s = await scenario("secret");
    const begun = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "rotate", requestedBy: "test" });
    expect(begun).toEqual({ ok: false, code: "value_required" });
    expect((await currentValue(s.h, s.cred.id)).rec.current_rotation).toBeUndefined();
  });

  it("deletes a compromised secret when no new value can be made", async () => {
    const s = await scenario("secret");
    const rotation = await rotate(s, "compromise");
    expect(rotation.mode).toBe("revoke");
    expect(rotation.state).toBe("done");
    expect(await secretValue(s, "OPENAI_KEY")).toBeUndefined();
    expect((await currentValue(s.h, s.cred.id)).rec.state).toBe("revoked");
  });
});

describe("revocation", () => {
  it("deletes the key and keeps the record as revoked", async () => {
    const s = await scenario("app_key");
    const begun = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "revoke", requestedBy: "test" });
    if (!begun.ok) throw new Error(begun.code);
    const r = await driveRotation(s.h.engine, s.cred.id, begun.rotation.id);
    expect(r.state).toBe("done");
    expect(await keysOf(s)).toHaveLength(0);
    const { rec } = await currentValue(s.h, s.cred.id);
    expect(rec.state).toBe("revoked");
    expect(s.h.events.map((e) => e.type)).toContain("credential.revoked");
    const again = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "rotate", requestedBy: "test" });
    expect(again).toEqual({ ok: false, code: "credential_revoked" });
  });

  it("treats an already deleted key as revoked", async () => {
    const s = await scenario("app_key");
    await s.h.engine.clarifai.deleteKey(s.managerKey.id, s.h.seed.userId, s.original);
    const begun = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "revoke", requestedBy: "test" });
    if (!begun.ok) throw new Error(begun.code);
    expect((await driveRotation(s.h.engine, s.cred.id, begun.rotation.id)).state).toBe("done");
  });
});
