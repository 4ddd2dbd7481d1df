/**
 * The rotator: the bus's durable path to the rotation engine (wired in ./handlers.ts).
 *
 * - `rotation.requested`: drive the named rotation (a trigger's fast path may already have finished
 *   it: then driving is a no-op), or begin one when no id is given (the sweep's requests).
 * - `credential.compromised`: contain the leak again from the event alone (credential id and
 *   fingerprint prefix): begin-or-join the compromise rotation, or revoke the leaked previous
 *   value. Every alert source publishes this one event, so containment survives the death of the
 *   request that received the alert. It is also how a compromise rotation ends: the alert's own
 *   invocation drives it only up to containment and gives its lease back there
 *   (core/alerts/contain.ts, drive.ts `stopAfter`), and this replay, in its own queue invocation,
 *   joins it and drives the rest (create, deliver, verify, promote) to the end.
 *
 * A rotation still running after its retry budget fails the handler retryably, so the queue
 * redelivers it with backoff.
 */
import type { EventOf } from "../bus/events.ts";
import { handlerFailure } from "../bus/errors.ts";
import { replayCompromise } from "../alerts/pipeline.ts";
import { isFailure } from "../failure.ts";
import { beginRotation } from "../rotation/begin.ts";
import { driveRotation } from "../rotation/drive.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import type { Rotation } from "../rotation/rotation.ts";

/** `rotation.requested`: drive the named rotation, or begin one when no id is given. */
export async function driveRequested(
  loadEngine: () => Promise<EngineServices>,
  event: EventOf<"rotation.requested">,
): Promise<void> {
  const engine = await loadEngine();
  const { credential_id, reason, mode, requested_by } = event.data;
  let rotationId = event.data.rotation_id;
  if (!rotationId) {
    const begun = await beginRotation(engine, credential_id, { reason, mode, requestedBy: requested_by });
    if (!begun.ok) {
      // Gone or revoked since the request: nothing left to do. Anything else cannot pass by retrying.
      if (begun.code === "credential_not_found" || begun.code === "credential_revoked") return;
      throw handlerFailure(begun.code, `Cannot begin the requested rotation: ${begun.code}`, { retryable: false });
    }
    rotationId = begun.rotation.id;
  }
  await driveToEnd(engine, credential_id, rotationId);
}

/** `credential.compromised`: contain the leak again from the event alone (core/alerts/pipeline.ts). */
export async function containAgain(
  loadEngine: () => Promise<EngineServices>,
  event: EventOf<"credential.compromised">,
): Promise<void> {
  const engine = await loadEngine();
  // The event's time is the alert's arrival (core/alerts/pipeline.ts): containment is timed from it.
  const c = await replayCompromise(engine, event.data, Date.parse(event.time));
  if (c.action === "rotation") await driveToEnd(engine, c.credentialId, c.rotation.id);
  else if (c.action === "revoke_previous") await c.run();
  else if (c.action === "refused") {
    throw handlerFailure(c.code, `Cannot contain the compromise: ${c.code}`, { retryable: false });
  }
}

async function driveToEnd(
  engine: EngineServices,
  credentialId: string,
  rotationId: string,
): Promise<Rotation | undefined> {
  let r: Rotation;
  try {
    r = await driveRotation(engine, credentialId, rotationId);
  } catch (error) {
    // The credential was unmanaged (and its rotations with it) since the request: done.
    if (
      isFailure(error, "step") && (error.code === "rotation_not_found" || error.code === "credential_not_found")
    ) return undefined;
    throw error;
  }
  if (r.state === "running") {
    throw handlerFailure("rotation_still_running", `Rotation "${r.id}" is still at step "${r.step}"`, {
      retryable: true,
    });
  }
  return r;
}
