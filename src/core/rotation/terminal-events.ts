/**
 * What a settled rotation announces (settle.ts `finishCredential`), in the order it is sent:
 * `credential.revoked` when its old value is gone, `credential.orphaned_manager` when the manager
 * key was lost, then `rotation.completed` or `rotation.failed`. One list, so that the dead letter
 * (core/subscribers/dead-work.ts), which re-announces a settled rotation in case the engine's own
 * send was lost, builds exactly what the engine built: same events, hence the same ids.
 *
 * Runtime-neutral.
 */
import type { EngineEvent } from "./engine-services.ts";
import { containmentMs, type Rotation } from "./rotation.ts";

/** `r` settled (`done`/`failed`); `credentialRevoked`: its credential's record says `revoked`. */
export function terminalEvents(r: Rotation, credentialRevoked: boolean): EngineEvent[] {
  const out: EngineEvent[] = [];
  if (r.old_revoked || credentialRevoked) {
    const ms = containmentMs(r);
    out.push({
      type: "credential.revoked",
      credentialId: r.credential_id,
      fingerprint: r.old_fingerprint,
      rotationId: r.id,
      reason: r.reason,
      actor: r.requested_by,
      ...(ms === null ? {} : { containmentMs: ms }),
    });
  }
  if (r.manager_lost) out.push({ type: "credential.orphaned_manager", rotation: r });
  out.push(r.state === "done" ? { type: "rotation.completed", rotation: r } : { type: "rotation.failed", rotation: r });
  return out;
}
