/**
 * Discord chatops end to end: interactions signed with an Ed25519 key pair generated for this run
 * (test/setup/global-setup.ts), verified by the Worker with WebCrypto; deferred responses and
 * follow-ups through the interaction webhook, served by the local receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../support/api.ts";
import { canary } from "../support/canary.ts";
import {
  DISCORD_ALICE,
  DISCORD_BOB,
  discordInteraction,
  discordSigned,
  rekeyCommand,
  waitForPost,
} from "../support/chat.ts";
import { managedTenant } from "../support/managed-tenant.ts";
import { received } from "../support/receiver.ts";

let tenant: Awaited<ReturnType<typeof managedTenant>>["tenant"];
let appKey: Awaited<ReturnType<typeof managedTenant>>["appKey"];
let leaks: ReturnType<typeof canary>;

beforeAll(async () => {
  leaks = canary();
  ({ tenant, appKey } = await managedTenant("discord", leaks.secrets));
});

const credential = async (id: string) => (await call("GET", `/v1/credentials/${id}`)).json.credential;

describe("signature", () => {
  it("answers PING with PONG", async () => {
    const res = await discordSigned(discordInteraction(1, DISCORD_ALICE).body);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ type: 1 });
  });

  it("refuses a tampered signature, a tampered body, a stale timestamp and missing headers with 401", async () => {
    const { body } = discordInteraction(1, DISCORD_ALICE);
    const tampered = await discordSigned(body, { tamper: true });
    expect(tampered.status).toBe(401);
    expect(tampered.json.error.code).toBe("invalid_signature");
    const stale = await discordSigned(body, { timestamp: String(Math.floor(Date.now() / 1000) - 400) });
    expect(stale.json.error.code).toBe("stale_timestamp");
    const unsigned = await call("POST", "/chatops/discord", body, { "content-type": "application/json" });
    expect(unsigned.status).toBe(401);
  });

  it("refuses a replayed interaction and a body that is not an interaction", async () => {
    const { body } = discordInteraction(2, DISCORD_ALICE, rekeyCommand("help"));
    expect((await discordSigned(body)).status).toBe(200);
    const again = await discordSigned(body);
    expect(again.status).toBe(401);
    expect(again.json.error.code).toBe("replayed");
    const junk = await discordSigned('{"type":2,"id":"x"}');
    expect(junk.status).toBe(400);
    expect(junk.json.error.code).toBe("invalid_request");
  });
});

describe("commands", () => {
  it("rotate: a deferred response (type 5), then a follow-up with the outcome", async () => {
    const { key, id } = await appKey();
    const { body, followUpPath } = discordInteraction(2, DISCORD_ALICE, rekeyCommand("rotate", id));
    const res = await discordSigned(body);
    expect(res.status).toBe(200);
    expect(res.json.type).toBe(5);
    const followUp = await waitForPost(followUpPath, (b) => String(b.content).includes("rotated"));
    expect(followUp.content).toContain(id);
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(key.id);
  });

  it("list and help answer at once (type 4, ephemeral); unknown users and sub-commands are refused", async () => {
    const { id } = await appKey();
    const list = await discordSigned(discordInteraction(2, DISCORD_BOB, rekeyCommand("list")).body);
    expect(list.json.type).toBe(4);
    expect(list.json.data.flags).toBe(64);
    expect(list.json.data.content).toContain(id);
    const stranger = await discordSigned(discordInteraction(2, "999999999999999999", rekeyCommand("rotate", id)).body);
    expect(stranger.headers["x-rekey-refusal"]).toBe("not_allowed");
    const unknown = await discordSigned(discordInteraction(2, DISCORD_ALICE, rekeyCommand("explode", id)).body);
    expect(unknown.headers["x-rekey-refusal"]).toBe("unknown_command");
    expect((await credential(id)).current_rotation_id).toBeNull();
  });
});

describe("revoke with buttons and the two-person rule", () => {
  it("refuses the requester's click, revokes on a colleague's with a follow-up, refuses a replayed click", async () => {
    const { key, id } = await appKey();
    const ask = await discordSigned(discordInteraction(2, DISCORD_ALICE, rekeyCommand("revoke", id)).body);
    expect(ask.json.type).toBe(4);
    expect(ask.json.data.flags).toBe(0); // visible in the channel, for the colleague
    const [confirm, cancel] = ask.json.data.components[0].components;
    expect(confirm.custom_id.length).toBeLessThanOrEqual(100);
    expect(cancel.custom_id.startsWith("n|")).toBe(true);

    const own = await discordSigned(
      discordInteraction(3, DISCORD_ALICE, { custom_id: confirm.custom_id, component_type: 2 }).body,
    );
    expect(own.headers["x-rekey-refusal"]).toBe("second_person_required");
    expect((await credential(id)).state).toBe("active");

    const click = discordInteraction(3, DISCORD_BOB, { custom_id: confirm.custom_id, component_type: 2 });
    const ok = await discordSigned(click.body);
    expect(ok.json.type).toBe(5);
    const followUp = await waitForPost(click.followUpPath, (b) => String(b.content).includes("revoked"));
    expect(followUp.content).toContain(id);
    expect((await credential(id)).state).toBe("revoked");
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(key.id);

    const replay = await discordSigned(
      discordInteraction(3, DISCORD_BOB, { custom_id: confirm.custom_id, component_type: 2 }).body,
    );
    expect(replay.headers["x-rekey-refusal"]).toBe("confirmation_used");
  });

  it("Cancel replaces the prompt; a Slack token does not work on Discord", async () => {
    const { id } = await appKey();
    const ask = await discordSigned(discordInteraction(2, DISCORD_ALICE, rekeyCommand("revoke", id)).body);
    const [confirm, cancel] = ask.json.data.components[0].components;
    const cancelled = await discordSigned(
      discordInteraction(3, DISCORD_BOB, { custom_id: cancel.custom_id, component_type: 2 }).body,
    );
    expect(cancelled.json.type).toBe(7);
    expect(cancelled.json.data.components).toEqual([]);
    const after = await discordSigned(
      discordInteraction(3, DISCORD_BOB, { custom_id: confirm.custom_id, component_type: 2 }).body,
    );
    expect(after.headers["x-rekey-refusal"]).toBe("confirmation_used");
    expect((await credential(id)).state).toBe("active");
  });
});

afterAll(async () => {
  const chat = (await received("/discord/api/")).map((r) => r.body + r.path);
  expect(chat.length).toBeGreaterThan(1);
  leaks.assertClean(chat, 3);
});
