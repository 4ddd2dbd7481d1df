/**
 * Asking for a rotation from a trigger that a person drives (admin API, chat): begin or join, run
 * the fast path after the response, and publish `rotation.requested` as the durable guarantee.
 */
import { actorOf } from "../audit/actor.ts";
import type { EventBus } from "../bus/bus.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { attachReply, outcomeMessage, postReply, type ReplyTarget } from "../chatops/reply.ts";
import { type BeginResult, beginRotation, type RotationRequest } from "./begin.ts";
import { driveRotation } from "./drive.ts";
import type { EngineServices } from "./engine-services.ts";

export interface RequestServices {
  engine(): Promise<EngineServices>;
  defer(work: Promise<unknown>): void;
  bus: EventBus;
  now(): number;
}

export interface RequestOptions {
  /** CloudEvents `source` of the published event: `/rekey/admin`, `/rekey/chatops`. */
  source: string;
  /** Post the outcome here when the rotation finishes (chat). */
  reply?: ReplyTarget;
}

export async function requestRotation(
  services: RequestServices,
  credentialId: string,
  req: RotationRequest,
  opts: RequestOptions,
): Promise<BeginResult> {
  const engine = await services.engine();
  const begun = await beginRotation(engine, credentialId, req);
  if (!begun.ok) return begun;
  // Attached before the fast path starts, so the replier finds the target when the work ends. A
  // joined rotation may end first; then the outcome is posted here instead.
  if (opts.reply) {
    const r = await attachReply(engine, credentialId, begun.rotation.id, opts.reply);
    if (r && r.state !== "running") services.defer(postReply(opts.reply, outcomeMessage(r)));
  }
  // Every caller drives, joined or not: the lease makes the extra drivers return at once, and a
  // rotation left behind by a dead driver gets resumed by the next request for it. The durable
  // event is the guarantee when this fast path dies; its id is the rotation's, so 50 joined
  // requests publish one event as far as the handlers are concerned.
  services.defer(driveRotation(engine, credentialId, begun.rotation.id));
  await services.bus.publish(
    newEvent(
      "rotation.requested",
      {
        credential_id: credentialId,
        rotation_id: begun.rotation.id,
        reason: req.reason,
        mode: req.mode,
        requested_by: req.requestedBy,
        ...(req.approvedBy ? { approved_by: req.approvedBy } : {}),
        ...(actorOf(req.requestedBy) ? { actor: actorOf(req.requestedBy) } : {}),
      },
      {
        source: opts.source,
        subject: `credential/${credentialId}`,
        id: await deriveId("evt", "rotation.requested", begun.rotation.id),
        now: services.now(),
      },
    ),
  );
  return begun;
}
