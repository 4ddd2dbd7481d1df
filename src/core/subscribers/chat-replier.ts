/**
 * The chat replier: when a rotation finishes, post its outcome to every chat conversation that
 * asked for it (core/chatops/reply.ts). Rotations nobody asked for in chat have no reply targets
 * and cost one read.
 */
import type { Dispatcher } from "../bus/bus.ts";
import { classifyFailure } from "../failure.ts";
import { openReplies, outcomeMessage, postReply } from "../chatops/reply.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";

export function subscribeChatReplier(d: Dispatcher, engine: () => Promise<EngineDeps>) {
  const reply = async (credentialId: string, rotationId: string | undefined) => {
    if (!rotationId) return;
    const deps = await engine();
    const found = await deps.store.getRotation(credentialId, rotationId);
    if (!found?.value.replies?.length) return;
    const message = outcomeMessage(found.value);
    // Every conversation is posted to, whichever fails: one unreachable or expired reply URL must
    // not keep the outcome from the others. A failure is thrown after all were tried, retryable if
    // any was, so a redelivery may repeat a reply that went through (a duplicate message is the
    // lesser harm than a lost one); permanent ones (Slack's expired URLs) go to the dead letters.
    const settled = await Promise.allSettled((await openReplies(deps.keyring, found.value)).map((target) => postReply(target, message)));
    const failures = settled.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    if (failures.length === 0) return;
    throw failures.find((f) => classifyFailure(f).retryable) ?? failures[0];
  };
  d.subscribe("rotation.completed", "chat-replier", (e) => reply(e.data.credential_id, e.data.rotation_id));
  d.subscribe("rotation.failed", "chat-replier", (e) => reply(e.data.credential_id, e.data.rotation_id));
}
