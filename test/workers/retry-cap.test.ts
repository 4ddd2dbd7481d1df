/**
 * The engine's cap on retryable failures (src/core/rotation/retry-cap.ts): a rotation whose step
 * keeps failing retryably settles `failed` with `retries_exhausted` once it has failed
 * RETRY_CAP_ATTEMPTS drives in a row and is RETRY_CAP_AGE_MS old, instead of running (and holding
 * its credential's one rotation slot) for ever; before that it stays running. A compromise and a
 * revocation are never given up (a rollback would put the old value back). On the real Workers
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

  it("never gives up a compromise (the leaked value must die, and a rollback would put it back): an escalated rotation stuck at propagate, and one whose leaked key Clarifai will not delete, keep running past both bounds", async () => {
    for (const stuck of ["propagate", "revoke_old"] as const) {
      const s = await setup();
      let id: string;
      if (stuck === "propagate") {
        // A routine rotation the leak alert joins: a compromise now, its old value live until its
        // revoke_old, last in its routine plan.
        await s.refuse(...SINK_WRITE);
        id = (await s.begin("manual")).rotation.id;
        expect(await s.drive(id)).toMatchObject({ state: "running", step: "propagate" });
        expect(await s.begin("compromise")).toMatchObject({ joined: true, rotation: { id, reason: "compromise" } });
      } else {
        await s.refuse("DELETE", `/v2/users/u1/keys/${s.original}`);
        id = (await s.begin("compromise")).rotation.id;
      }
      const began = s.h.engine.now();
      let r: Rotation = await s.drive(id);
      for (let i = 0; i < RETRY_CAP_ATTEMPTS; i++) {
        s.h.advance(MINUTE);
        r = await s.drive(id);
      }
      s.h.advance(began + 2 * RETRY_CAP_AGE_MS - s.h.engine.now());
      r = await s.drive(id);
      expect(r).toMatchObject({ state: "running", step: stuck, reason: "compromise", old_revoked: false });
      expect(r.attempts).toBeGreaterThan(RETRY_CAP_ATTEMPTS);
      expect(s.h.events.filter((e) => e.type === "rotation.failed")).toEqual([]);
      // Nothing was rolled back onto the leaked value: the replacement is still the rotation's.
      expect((await s.h.engine.store.getCredential(s.cred.id))!.value.current_rotation?.id).toBe(id);
      // Clarifai back: the next resume finishes it and the leaked key dies.
      await s.heal();
      expect(await s.drive(id)).toMatchObject({ state: "done", old_revoked: true });
      expect(await s.keyIds()).not.toContain(s.original);
    }
  });

  it("never gives up a revocation (mode revoke): a revoke Clarifai keeps refusing runs past both bounds with the value still live, and finishes once Clarifai answers", async () => {
    const s = await setup();
    await s.refuse("DELETE", `/v2/users/u1/keys/${s.original}`);
    const b = await beginRotation(s.h.engine, s.cred.id, { reason: "manual", mode: "revoke", requestedBy: "test" });
    if (!b.ok) throw new Error(b.code);
    const began = s.h.engine.now();
    let r: Rotation = await s.drive(b.rotation.id);
    for (let i = 0; i < RETRY_CAP_ATTEMPTS; i++) {
      s.h.advance(MINUTE);
      r = await s.drive(b.rotation.id);
    }
    s.h.advance(began + 2 * RETRY_CAP_AGE_MS - s.h.engine.now());
    r = await s.drive(b.rotation.id);
    expect(r).toMatchObject({ state: "running", mode: "revoke" });
    expect(r.attempts).toBeGreaterThan(RETRY_CAP_ATTEMPTS);
    expect(await s.keyIds()).toContain(s.original);
    await s.heal();
    expect(await s.drive(b.rotation.id)).toMatchObject({ state: "done" });
    expect(await s.keyIds()).not.toContain(s.original);
  });
});
