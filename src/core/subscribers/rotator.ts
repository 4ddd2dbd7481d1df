/**
 * The rotator: the bus's durable path to the rotation engine. A trigger that began a rotation also
 * published `rotation.requested` with its id; this handler drives it (again). If the fast path
 * already finished it, driving is a no-op; if the fast path died, this finishes the job. Without
 * an id (the sweep's requests) the handler begins the rotation itself, joining any running one.
 * A rotation still running after its retry budget fails the handler retryably, so the queue
 * redelivers it with backoff.
 */
import type { Dispatcher } from "../bus/bus.ts";
import { PermanentError } from "../bus/errors.ts";
import { beginRotation } from "../rotation/begin.ts";
import { driveRotation } from "../rotation/drive.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";
import { StepFailure } from "../rotation/step-error.ts";

export class RotationStillRunning extends Error {
  override readonly name = "RotationStillRunning";
  readonly retryable = true;
}

export function subscribeRotator(d: Dispatcher, engine: () => Promise<EngineDeps>) {
  d.subscribe("rotation.requested", "rotator", async (event) => {
    const deps = await engine();
    const { credential_id, reason, mode, requested_by } = event.data;
    let rotationId = event.data.rotation_id;
    if (!rotationId) {
      const begun = await beginRotation(deps, credential_id, { reason, mode, requestedBy: requested_by });
      if (!begun.ok) {
        // Gone or revoked since the request: nothing left to do. Anything else cannot pass by retrying.
        if (begun.code === "credential_not_found" || begun.code === "credential_revoked") return;
        throw new PermanentError(begun.code, `Cannot begin the requested rotation: ${begun.code}`);
      }
      rotationId = begun.rotation.id;
    }
    let r;
    try {
      r = await driveRotation(deps, credential_id, rotationId);
    } catch (error) {
      // The credential was unmanaged (and its rotations with it) since the request: done.
      if (error instanceof StepFailure && (error.code === "rotation_not_found" || error.code === "credential_not_found")) return;
      throw error;
    }
    if (r.state === "running") throw new RotationStillRunning(`Rotation "${r.id}" is still at step "${r.step}"`);
  });
}
