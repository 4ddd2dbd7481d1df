/**
 * Asking for a rotation from a trigger that a person drives (admin API, chat, the dashboard): begin
 * or join, publish `rotation.requested` as the durable guarantee, and run the fast path after the
 * response.
 *
 * The fast path is the request's own invocation (waitUntil work counts against its CPU limit), so
 * it drives the rotation only up to the rotator's first hand-off point (./drive.ts
 * `HAND_OFF_AFTER_DELIVERY`, propagate: the replacement minted and delivered) and leaves verify,
 * promote and a routine revoke_old to the `rotation.requested` it already published, whose queue
 * invocation goes on (core/subscribers/rotator.ts `driveRequested`, which waits for this fast
 * path's lease when it comes first, and hands off once more after promote when revoke_old deletes
 * at once: ./drive.ts `HAND_OFF_AFTER`). Only there: the published event is one continuation, so
 * a fast path that leased the rotation past propagate (a joined request) drives it to its end. CPU: BENCHMARKS.md "P5 on branch s29-manual". Never while a compromise's leaked
 * value is live (./drive.ts `mayHandOff`): a compromise request is contained, and a revocation
 * (its plan is revoke_old alone) ends, here. The cost is wall time: verify, promote and the
 * outcome (a chat reply is posted by whichever invocation ends the rotation: the reply target is
 * sealed on the rotation record, core/chatops/reply.ts) come one queue hop later.
 */
import { actorOf } from "../audit/actor.ts";
import type { EventBus } from "../bus/bus.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { attachReply, outcomeMessage, postReply, type ReplyTarget } from "../chatops/reply.ts";
import { type BeginResult, beginRotation, type RotationRequest } from "./begin.ts";
import { driveRotation, HAND_OFF_AFTER_DELIVERY } from "./drive.ts";
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
  // event is the guarantee when this fast path dies, and the continuation of its hand-off; its id
  // is the rotation's, so 50 joined requests publish one event as far as the handlers are concerned.
  const event = newEvent(
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
  );
  try {
    await services.bus.publish(event);
  } catch (error) {
    // No event to leave the rest to: this fast path drives the rotation to its end, as before the
    // hand-off, and the caller is told the request failed (its retry joins the same rotation).
    services.defer(driveRotation(engine, credentialId, begun.rotation.id));
    throw error;
  }
  // Published first, so the hand-off always has its continuation: the drive starts one queue send
  // later than the response could allow (wall time after the answer, not CPU). The hand-off
  // publishes nothing of its own: the event above is the continuation.
  services.defer(
    driveRotation(engine, credentialId, begun.rotation.id, {
      handOff: { after: HAND_OFF_AFTER_DELIVERY, publish: async () => {} },
    }),
  );
  return begun;
}
