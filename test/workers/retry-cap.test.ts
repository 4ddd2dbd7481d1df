/**
 * The engine's cap on retryable failures (src/core/rotation/retry-cap.ts): a rotation whose step
 * keeps failing retryably settles `failed` with `retries_exhausted` once it has failed
 * RETRY_CAP_ATTEMPTS drives in a row and is RETRY_CAP_AGE_MS old, instead of running (and holding
 * its credential's one rotation slot) for ever; before that it stays running. On the real Workers
 * store (KV + the CredentialCell Durable Object) with the Clarifai emulator, whose own fault route
 * refuses the failing call with 503s; the test's clock stands for the sweep's resumes.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { fromEngineEvent } from "../../src/core/bus/engine-events.ts";
import { slackMessage } from "../../src/core/notify/slack-message.ts";
import { outcomeMessage } from "../../src/core/chatops/reply.ts";
import { beginRotation } from "../../src/core/rotation/begin.ts";
import { driveRotation } from "../../src/core/rotation/drive.ts";
import { payOwedRevocations } from "../../src/core/rotation/owed-revocations.ts";
import { RETRIES_EXHAUSTED_HINT, RETRY_CAP_AGE_MS, RETRY_CAP_ATTEMPTS } from "../../src/core/rotation/retry-cap.ts";
import type { Rotation } from "../../src/core/rotation/rotation.ts";
import { currentValue, scenario } from "../support/engine-scenario.ts";

const MINUTE = 60_000;

async function setup() {
  const s = await scenario("app_key", {}, { store: new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS) });
  /** Clarifai refuses every call of `method` on `path` (the emulator's fault route), retryably, until `heal`. */
  const refuse = (method: string, path: string) => s.h.control("faults", { method, path, count: 10_000, status: 503 });
  const heal = () => s.h.emulator.fetch("http://clarifai.emulator/_emulator/faults", { method: "DELETE" });
  const begin = async (reason: "manual" | "compromise") => {
    const b = await beginRotation(s.h.engine, s.cred.id, { reason, mode: "rotate", requestedBy: "test" });
    if (!b.ok) throw new Error(b.code);
    return b;
  };
  const drive = (id: string) => driveRotation(s.h.engine, s.cred.id, id);
  const keyIds = async () => (await s.h.state()).keys.map((k: any) => k.id as string);
  return { ...s, refuse, heal, begin, drive, keyIds };
}

/** The sink write (propagate) refused: Clarifai's PatchSecrets keeps answering 503. */
const SINK_WRITE = ["PATCH", "/v2/users/u1/secrets"] as const;

describe("the engine's cap on retryable failures (Workers store, Clarifai emulator)", () => {
  it("a routine rotation stuck at propagate runs until both bounds are passed, then settles failed with retries_exhausted, rolled back and announced; the slot is free again", async () => {
    const s = await setup();
    await s.refuse(...SINK_WRITE);
    const { rotation } = await s.begin("manual");
    const began = s.h.engine.now();
    let r: Rotation = await s.drive(rotation.id);
    expect(r).toMatchObject({ state: "running", step: "propagate", attempts: 1 });
    // Many failed drives early on (a trigger's redeliveries): past the count, not the age.
    for (let i = 0; i < RETRY_CAP_ATTEMPTS + 1; i++) {
      s.h.advance(MINUTE);
      r = await s.drive(rotation.id);
    }
    expect(r).toMatchObject({ state: "running", step: "propagate", attempts: RETRY_CAP_ATTEMPTS + 2 });
    // The sweep's resumes every 15 minutes, up to just short of the age bound: still running.
    while (s.h.engine.now() + 15 * MINUTE < began + RETRY_CAP_AGE_MS) {
      s.h.advance(15 * MINUTE);
      r = await s.drive(rotation.id);
      expect(r.state).toBe("running");
    }
    expect(s.h.events.filter((e) => e.type === "rotation.failed")).toEqual([]);
    const newKey = (await s.keyIds()).find((k) => k !== s.original && k !== s.managerKey.id && k !== s.h.seed.pat);
    expect(newKey).toBeDefined(); // minted by create, never delivered
    const attempts = r.attempts + 1;

    s.h.advance(began + RETRY_CAP_AGE_MS - s.h.engine.now());
    r = await s.drive(rotation.id);
    expect(r).toMatchObject({
      state: "failed",
      error: { code: "retries_exhausted", step: "propagate" },
    });
    // Why it kept failing stays visible: the last underlying failure's code and message.
    expect(r.error!.message).toMatch(
      new RegExp(
        `^Gave up on step "propagate" after ${attempts} failed attempts in a row; the last: \\w+: PatchSecrets failed`,
      ),
    );
    expect(JSON.stringify(r.error)).not.toContain(s.original);
    expect(JSON.stringify(r.error)).not.toContain(newKey);
    expect((await s.h.engine.store.getRotation(s.cred.id, rotation.id))!.value).toMatchObject({
      state: "failed",
      error: { code: "retries_exhausted" },
    });
    // Rolled back: the new key deleted at Clarifai, the old one still the recorded, working value.
    const keys = await s.keyIds();
    expect(keys).toContain(s.original);
    expect(keys).not.toContain(newKey);
    const { rec, value } = await currentValue(s.h, s.cred.id);
    expect(value).toBe(s.original);
    expect(rec).toMatchObject({ state: "active", last_rotation: { id: rotation.id, state: "failed" } });
    expect(rec.current_rotation).toBeUndefined();
    // Announced as any permanent failure: rotation.failed with the code, and messages that say why.
    const failed = s.h.events.filter((e) => e.type === "rotation.failed");
    expect(failed).toHaveLength(1);
    const event = await fromEngineEvent(failed[0]!, s.h.engine.now());
    expect(event.data).toMatchObject({ rotation_id: rotation.id, error_code: "retries_exhausted", step: "propagate" });
    expect(JSON.stringify(slackMessage(event))).toContain(RETRIES_EXHAUSTED_HINT);
    expect(outcomeMessage(r).lines?.join(" ")).toContain(RETRIES_EXHAUSTED_HINT);

    // The credential's one rotation slot is free: a new rotation begins (not joined) and, with
    // Clarifai back, completes.
    await s.heal();
    const again = await s.begin("manual");
    expect(again.joined).toBe(false);
    expect(again.rotation.id).not.toBe(rotation.id);
    expect(await s.drive(again.rotation.id)).toMatchObject({ state: "done" });
    expect(await s.keyIds()).not.toContain(s.original);
  });

  it("a compromise whose leaked value is still live (a routine rotation the alert escalated) is not rolled back onto it at the cap: the leaked key is deleted, the replacement kept", async () => {
    const s = await setup();
    await s.refuse(...SINK_WRITE);
    const { rotation } = await s.begin("manual");
    const began = s.h.engine.now();
    expect(await s.drive(rotation.id)).toMatchObject({ state: "running", step: "propagate" });
    // The leak alert joins the running rotation: a compromise now, its old value live until its
    // revoke_old, last in its routine plan.
    const joined = await s.begin("compromise");
    expect(joined).toMatchObject({ joined: true, rotation: { id: rotation.id, reason: "compromise" } });
    let r: Rotation = rotation;
    for (let i = 0; i < RETRY_CAP_ATTEMPTS; i++) {
      s.h.advance(MINUTE);
      r = await s.drive(rotation.id);
    }
    while (s.h.engine.now() + 15 * MINUTE < began + RETRY_CAP_AGE_MS) {
      s.h.advance(15 * MINUTE);
      r = await s.drive(rotation.id);
      expect(r).toMatchObject({ state: "running", old_revoked: false });
    }
    expect(await s.keyIds()).toContain(s.original); // the leaked key, live all along
    s.h.advance(began + RETRY_CAP_AGE_MS - s.h.engine.now());
    r = await s.drive(rotation.id);
    expect(r).toMatchObject({ state: "failed", old_revoked: true, error: { code: "retries_exhausted" } });
    expect(r.contained_at).toBeDefined();
    // At the emulator: the leaked key is gone; the replacement is the recorded value and works.
    const keys = await s.keyIds();
    expect(keys).not.toContain(s.original);
    const { rec, value } = await currentValue(s.h, s.cred.id);
    expect(value).not.toBe(s.original);
    expect(keys).toContain(value);
    expect(rec.current_rotation).toBeUndefined();
    expect(s.h.events.map((e) => e.type)).toEqual(expect.arrayContaining(["credential.revoked", "rotation.failed"]));
  });

  it("a compromise whose leaked key Clarifai will not delete: at the cap its deletion is owed (the sweep pays it), and the replacement goes on", async () => {
    const s = await setup();
    await s.refuse("DELETE", `/v2/users/u1/keys/${s.original}`);
    const { rotation } = await s.begin("compromise");
    const began = s.h.engine.now();
    let r: Rotation = await s.drive(rotation.id);
    expect(r).toMatchObject({ state: "running", step: "revoke_old", old_revoked: false });
    for (let i = 0; i < RETRY_CAP_ATTEMPTS; i++) {
      s.h.advance(MINUTE);
      r = await s.drive(rotation.id);
    }
    while (s.h.engine.now() + 15 * MINUTE < began + RETRY_CAP_AGE_MS) {
      s.h.advance(15 * MINUTE);
      r = await s.drive(rotation.id);
      expect(r).toMatchObject({ state: "running", step: "revoke_old" });
    }
    s.h.advance(began + RETRY_CAP_AGE_MS - s.h.engine.now());
    r = await s.drive(rotation.id);
    // Not rolled back and not left running: the leak is owed, the replacement minted and promoted.
    expect(r).toMatchObject({ state: "done", old_revoked: false, old_revoke_owed: true });
    const { rec, value } = await currentValue(s.h, s.cred.id);
    expect(value).not.toBe(s.original);
    expect(rec.previous.find((p) => p.fingerprint === r.old_fingerprint)).toMatchObject({ leaked: true });
    expect(await s.keyIds()).toContain(s.original);
    // Clarifai back: the owed revocation deletes the leaked key.
    await s.heal();
    expect((await payOwedRevocations(s.h.engine, s.cred.id)).revoked).toEqual([r.old_fingerprint]);
    expect(await s.keyIds()).not.toContain(s.original);
  });
});
