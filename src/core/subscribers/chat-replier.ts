/**
 * The chat replier: when a rotation finishes, post its outcome to every chat conversation that
 * asked for it (core/chatops/reply.ts). Rotations nobody asked for in chat have no reply targets
 * and cost one read.
 */
import type { Dispatcher } from "../bus/bus.ts";
import { openReplies, outcomeMessage, postReply } from "../chatops/reply.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";

export function subscribeChatReplier(d: Dispatcher, engine: () => Promise<EngineDeps>) {
  const reply = async (credentialId: string, rotationId: string | undefined) => {
    if (!rotationId) return;
    const deps = await engine();
    const found = await deps.store.getRotation(credentialId, rotationId);
    if (!found?.value.replies?.length) return;
    const message = outcomeMessage(found.value);
    for (const target of await openReplies(deps.keyring, found.value)) await postReply(target, message);
  };
  d.subscribe("rotation.completed", "chat-replier", (e) => reply(e.data.credential_id, e.data.rotation_id));
  d.subscribe("rotation.failed", "chat-replier", (e) => reply(e.data.credential_id, e.data.rotation_id));
}
