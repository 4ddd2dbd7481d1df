/**
 * The rotation engine's `emit` hook (rotation/engine-services.ts) onto the bus.
 *
 * Ids are derived from the transition, not random: a transition is persisted once (compare-and-
 * swap), but a driver that resumes after a crash, or two drivers racing on a lease, may emit it
 * again, and the same id makes the second one a duplicate for every handler.
 *
 * Runtime-neutral.
 */
import { actorOf } from "../audit/actor.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import type { EngineEvent } from "../rotation/engine-services.ts";
import type { Rotation } from "../rotation/rotation.ts";
import type { EventBus } from "./bus.ts";
import type { BusEvent, EventData } from "./events.ts";
import { codeSchema } from "./fields.ts";
import { deriveId, newEvent } from "./new-event.ts";

const ENGINE_SOURCE = "/rekey/engine";

/** An `EngineServices.emit` that publishes to `bus`. */
export const engineEmitter = (bus: EventBus, now: () => number) => async (e: EngineEvent): Promise<void> =>
  bus.publish(await fromEngineEvent(e, now()));

export async function fromEngineEvent(e: EngineEvent, now: number): Promise<BusEvent> {
  switch (e.type) {
    case "rotation.step": {
      const r = e.rotation;
      const data = { ...ids(r), step: e.step, next_step: r.step, state: r.state, ...actorFor(r.requested_by) };
      return build(e.type, data, r.credential_id, now, [r.id, e.step, r.step, r.state]);
    }
    case "rotation.completed": {
      const r = e.rotation;
      const data: EventData<"rotation.completed"> = {
        ...ids(r),
        reason: r.reason,
        mode: r.mode,
        old_fingerprint_prefix: fingerprintPrefix(r.old_fingerprint),
        ...(r.new_fingerprint ? { new_fingerprint_prefix: fingerprintPrefix(r.new_fingerprint) } : {}),
        ...actorFor(r.requested_by),
      };
      return build(e.type, data, r.credential_id, now, [r.id]);
    }
    case "rotation.failed": {
      const r = e.rotation;
      const code = r.error?.code;
      const data: EventData<"rotation.failed"> = {
        ...ids(r),
        reason: r.reason,
        mode: r.mode,
        step: r.error?.step ?? r.step,
        error_code: code && codeSchema.safeParse(code).success ? code : "rotation_failed",
        ...(r.error?.clarifai_code !== undefined ? { clarifai_code: r.error.clarifai_code } : {}),
        ...actorFor(r.requested_by),
      };
      return build(e.type, data, r.credential_id, now, [r.id]);
    }
    case "credential.orphaned_manager": {
      const r = e.rotation;
      const code = r.error?.code;
      const data: EventData<"credential.orphaned_manager"> = {
        ...ids(r),
        fingerprint_prefix: fingerprintPrefix(r.old_fingerprint),
        error_code: code && codeSchema.safeParse(code).success ? code : "rotation_failed",
        old_revoked: r.old_revoked,
        ...actorFor(r.requested_by),
      };
      return build(e.type, data, r.credential_id, now, [r.id]);
    }
    case "credential.revoked": {
      const data = {
        credential_id: e.credentialId,
        fingerprint_prefix: fingerprintPrefix(e.fingerprint),
        ...(e.rotationId ? { rotation_id: e.rotationId } : {}),
        reason: e.reason as EventData<"credential.revoked">["reason"],
        ...(e.containmentMs !== undefined ? { containment_ms: e.containmentMs } : {}),
        ...actorFor(e.actor),
      };
      // The fingerprint is a keyed MAC, not a secret; hashing it only shortens it.
      return build(e.type, data, e.credentialId, now, [e.credentialId, e.fingerprint]);
    }
  }
}

const ids = (r: Rotation) => ({ credential_id: r.credential_id, rotation_id: r.id });

/** The actor field, when the requester names one (every rotation begun since actors exist does). */
const actorFor = (requestedBy: string) => {
  const actor = actorOf(requestedBy);
  return actor ? { actor } : {};
};

async function build<T extends EngineEvent["type"]>(
  type: T,
  data: EventData<T>,
  credentialId: string,
  now: number,
  parts: string[],
) {
  const id = await deriveId("evt", type, ...parts);
  return newEvent(type, data, { source: ENGINE_SOURCE, subject: `credential/${credentialId}`, id, now });
}
