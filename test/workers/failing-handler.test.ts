/**
 * One failing handler never stops the others (issue 14, item 1), on the real Worker's consumer
 * (src/worker.ts `queue`) and bindings: a notification target, or a chat reply target, that
 * cannot be reached (nothing listens on 127.0.0.1:9) beside the local receiver's.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { newEvent } from "../../src/core/bus/new-event.ts";
import { sampleData } from "../support/sample-events.ts";
import { call } from "../support/api.ts";
import { countingEnv } from "../support/counting-env.ts";
import { deliverAttempt } from "../support/counted-worker.ts";
import { received, receiverUrl } from "../support/receiver.ts";
import { credentialRecord, rotationRecord } from "../support/records.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import { sealReply } from "../../src/core/chatops/reply.ts";

const SECRET = "whsec_dGVzdC1vdXRib3VuZC13ZWJob29rLXNlY3JldCE=";

describe("a notification target that cannot be reached", () => {
  it("fails alone: the auditor, Slack and the other webhook get the event, and its dead letter raises a notice, no false rotation.failed", async () => {
    const hooks = [{ id: "down", url: "http://127.0.0.1:9/never", secret: SECRET }, {
      id: "siem",
      url: `${receiverUrl()}/outbound/siem-peer`,
      secret: SECRET,
    }];
    const counting = countingEnv({ ...env, OUTBOUND_WEBHOOKS: JSON.stringify(hooks) } as Env, {
      EVENTS: "rekey-events",
      EVENTS_DLQ: "rekey-events-dlq",
    });
    const credentialId = `cred_${crypto.randomUUID().replaceAll("-", "").slice(0, 26)}`;
    const event = newEvent("credential.revoked", { ...sampleData["credential.revoked"], credential_id: credentialId }, {
      source: "/rekey/engine",
      now: Date.now(),
    });
    const deliver = (queue: string, attempts: number) => deliverAttempt(counting, queue, attempts, event);

    const first = await deliver("rekey-events", 1);
    expect(first.retryMessages).toEqual([{ msgId: "m-rekey-events-1" }]);
    const audit = await call("GET", `/v1/audit?credential_id=${credentialId}`);
    expect(audit.json.entries.map((e: { type: string }) => e.type)).toEqual(["credential.revoked"]);
    expect((await received("/outbound/siem-peer")).filter((r) => r.body.includes(event.id))).toHaveLength(1);
    expect((await received("/slack/incoming")).filter((r) => r.body.includes(credentialId))).toHaveLength(1);
    // Redelivered: only the failing target runs again; the others are not repeated.
    await deliver("rekey-events", 2);
    expect((await received("/outbound/siem-peer")).filter((r) => r.body.includes(event.id))).toHaveLength(1);

    // Its retries spent, Queues moves it to the dead letters. The credential's work did not fail:
    // only a notification did, so no rotation.failed may say otherwise (audit, Slack, chat); the
    // notice that this event died is all it raises.
    counting.take("rekey-events");
    const dead = await deliver("rekey-events-dlq", 1);
    expect(dead.explicitAcks).toEqual(["m-rekey-events-dlq-1"]);
    expect(counting.take("rekey-events").map((e) => (e as { type: string }).type)).toEqual(["event.dead_lettered"]);
  });
});

describe("a chat reply target that cannot be reached", () => {
  it("does not keep the rotation's outcome from the other conversations that asked", async () => {
    const store = new WorkersStore(env.REKEY_KV, env.CREDENTIAL_CELLS);
    const keys = parseKeyring(env.REKEY_ENCRYPTION_KEYS);
    if (!keys.ok) throw new Error("test keyring");
    const rec = credentialRecord();
    const rot = rotationRecord(rec.id, { state: "done", step: "revoke_old" });
    const replies = [
      await sealReply(keys.value, rot.id, { platform: "slack", url: "http://127.0.0.1:9/never" }),
      await sealReply(keys.value, rot.id, { platform: "slack", url: `${receiverUrl()}/chat-peer/${rot.id}` }),
    ];
    await store.putCredential(rec, null);
    await store.putRotation({ ...rot, replies }, null);
    const event = newEvent("rotation.completed", {
      ...sampleData["rotation.completed"],
      credential_id: rec.id,
      rotation_id: rot.id,
    }, { source: "/rekey/engine", now: Date.now() });
    const counting = countingEnv({ ...env } as Env, { EVENTS: "rekey-events", EVENTS_DLQ: "rekey-events-dlq" });
    const batch = createMessageBatch("rekey-events", [{
      id: "m-reply",
      timestamp: new Date(),
      attempts: 1,
      body: event,
    }]);
    const ctx = createExecutionContext();
    counting.begin("reply");
    await worker.queue(batch, counting.env, ctx);
    const result = await getQueueResult(batch, ctx);
    counting.end();
    // The unreachable one is retried; the other conversation has its answer already.
    expect(result.retryMessages).toEqual([{ msgId: "m-reply" }]);
    const posted = await received(`/chat-peer/${rot.id}`);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.body).toContain(rec.id);
  });
});
