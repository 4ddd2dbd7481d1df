/**
 * Rotate and revoke from the dashboard: the same path as the admin API and chat
 * (core/rotation/request.ts: begin or join, drive after the response, publish
 * `rotation.requested`), with the dashboard as the event's source and the signed-in identity as
 * its requester (an Access identity, or `admin-token` after a token sign-in). The UI never
 * takes a new secret value: a "secret" credential without a generator is rotated through the
 * API, which is where values belong.
 */
import { requestRotation } from "../core/rotation/request.ts";
import type { Rotation, RotationMode, RotationReason } from "../core/rotation/rotation.ts";
import type { Services } from "../services.ts";
import { beginError } from "../http/begin-errors.ts";

export async function startFromUi(
  services: Services,
  credentialId: string,
  mode: RotationMode,
  reason: RotationReason,
  actor: string,
): Promise<{ rotation: Rotation; joined: boolean }> {
  const begun = await requestRotation(services, credentialId, { reason, mode, requestedBy: actor }, {
    source: "/rekey/ui",
  });
  if (!begun.ok) throw beginError(begun.code, "ui");
  return { rotation: begun.rotation, joined: begun.joined };
}
