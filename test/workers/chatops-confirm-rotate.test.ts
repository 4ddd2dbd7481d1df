/**
 * `CHATOPS_CONFIRM_ROTATE=true` (issue 16, item 3), alone and with `CHATOPS_TWO_PERSON=true`, on
 * Slack and Discord: `rotate` asks for a confirmation instead of starting, and with the two-person
 * rule only another allowed user's click starts it. The rotation then runs through the real bus
 * against the Clarifai emulator and its outcome is posted back (local receiver).
 *
 * The test bindings (vitest.config.ts) have CHATOPS_TWO_PERSON=true and no CHATOPS_CONFIRM_ROTATE:
 * each case hands its requests to the real Worker (src/worker.ts) with the test env and those two
 * variables set, in an env object of its own (the Worker reads its configuration once per env).
 * Only the chat routes read them; the queue consumer that runs the rotation is the test env's.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker, { type Env } from "../../src/worker.ts";
import { call, waitForRotation } from "../support/api.ts";
import { canary } from "../support/canary.ts";
import {
  ALICE,
  blockAction,
  BOB,
  confirmValue,
  DISCORD_ALICE,
  DISCORD_BOB,
  discordInteraction,
  discordSigned,
  rekeyCommand,
  responseUrl,
  type Send,
  slackSigned,
  slashCommand,
  waitForPost,
} from "../support/chat.ts";
import { managedTenant } from "../support/managed-tenant.ts";
import { received } from "../support/receiver.ts";

let tenant: Awaited<ReturnType<typeof managedTenant>>["tenant"];
let appKey: Awaited<ReturnType<typeof managedTenant>>["appKey"];
let leaks: ReturnType<typeof canary>;

beforeAll(async () => {
  leaks = canary();
  ({ tenant, appKey } = await managedTenant("confirm", leaks.secrets));
});

afterAll(async () => {
  // Canary: no secret value in any chat message posted back.
  leaks.assertClean([(await received("/")).map((r) => r.body).join("\n")], 4);
});

/** The real Worker with the test env and these chat settings; waits for its waitUntil work. */
function workerWith(vars: { CHATOPS_CONFIRM_ROTATE: string; CHATOPS_TWO_PERSON: string }): Send {
  const e = { ...env, ...vars } as Env;
  return async (request) => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, e, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
}

const CONFIRM_ALONE = workerWith({ CHATOPS_CONFIRM_ROTATE: "true", CHATOPS_TWO_PERSON: "false" });
const CONFIRM_TWO_PERSON = workerWith({ CHATOPS_CONFIRM_ROTATE: "true", CHATOPS_TWO_PERSON: "true" });

const credential = async (id: string) => (await call("GET", `/v1/credentials/${id}`)).json.credential;
const keysAtClarifai = async () => (await tenant.state()).keys.map((k: { id: string }) => k.id);

/** The rotation a posted outcome names, once it has settled. */
const rotationIn = async (text: string) => waitForRotation(/rot_[0-9a-z]+/.exec(text)![0]);

describe("Slack", () => {
  const slash = (send: Send, user: string, text: string) => {
    const response = responseUrl("confirm-cmd");
    return { response, answer: slackSigned("/chatops/slack/commands", slashCommand(user, text, response), { send }) };
  };
  const click = (send: Send, user: string, token: string) => {
    const response = responseUrl("confirm-click");
    return {
      response,
      answer: slackSigned("/chatops/slack/interactions", blockAction(user, "rekey_confirm", token, response), { send }),
    };
  };

  it("CHATOPS_CONFIRM_ROTATE alone: rotate waits for the requester's own confirmation", async () => {
    const { key, id } = await appKey();
    const asked = slash(CONFIRM_ALONE, ALICE, `rotate ${id}`);
    const ask = await asked.answer;
    expect(ask.status).toBe(200);
    expect(ask.json.response_type).toBe("ephemeral");
    expect(ask.text).toContain("Confirm within 15 minutes.");
    const token = confirmValue(ask.json);
    // Nothing started, and nothing shared in the channel: no second person is needed.
    expect((await credential(id)).current_rotation_id).toBeNull();
    expect(await received(asked.response.path)).toEqual([]);

    const yes = click(CONFIRM_ALONE, ALICE, token);
    const ok = await yes.answer;
    expect(ok.status).toBe(200);
    expect(ok.headers["x-rekey-refusal"]).toBeUndefined();
    const posted = await waitForPost(yes.response.path, (b) => String(b.text).includes("rotated"));
    expect(posted.text).toContain(id);
    expect(await rotationIn(JSON.stringify(posted))).toMatchObject({
      state: "done",
      mode: "rotate",
      requested_by: `slack:${ALICE}`,
    });
    expect(await keysAtClarifai()).not.toContain(key.id);
  });

  it("with CHATOPS_TWO_PERSON: the request is shared, the requester's click refused, a colleague's starts it", async () => {
    const { key, id, fingerprint } = await appKey();
    const asked = slash(CONFIRM_TWO_PERSON, ALICE, `rotate ${id}`);
    const ask = await asked.answer;
    expect(ask.text).toContain("Another allowed user must confirm");
    const token = confirmValue(ask.json);
    const shared = await waitForPost(asked.response.path, (b) => b.response_type === "in_channel");
    expect(confirmValue(shared)).toBe(token);

    const own = await click(CONFIRM_TWO_PERSON, ALICE, token).answer;
    expect(own.headers["x-rekey-refusal"]).toBe("second_person_required");
    expect(await credential(id)).toMatchObject({ fingerprint, current_rotation_id: null });

    const bob = click(CONFIRM_TWO_PERSON, BOB, token);
    expect((await bob.answer).headers["x-rekey-refusal"]).toBeUndefined();
    const posted = await waitForPost(bob.response.path, (b) => String(b.text).includes("rotated"));
    expect(await rotationIn(JSON.stringify(posted))).toMatchObject({
      state: "done",
      mode: "rotate",
      requested_by: `slack:${ALICE}`,
      approved_by: `slack:${BOB}`,
    });
    expect((await credential(id)).fingerprint).not.toBe(fingerprint);
    expect(await keysAtClarifai()).not.toContain(key.id);
  });
});

describe("Discord", () => {
  const command = (send: Send, user: string, id: string) =>
    discordSigned(discordInteraction(2, user, rekeyCommand("rotate", id)).body, { send });
  const press = (send: Send, user: string, customId: string) => {
    const i = discordInteraction(3, user, { custom_id: customId, component_type: 2 });
    return { followUpPath: i.followUpPath, answer: discordSigned(i.body, { send }) };
  };

  it("CHATOPS_CONFIRM_ROTATE alone: rotate answers with buttons for the requester only, whose click starts it", async () => {
    const { key, id } = await appKey();
    const ask = await command(CONFIRM_ALONE, DISCORD_ALICE, id);
    expect(ask.json.type).toBe(4);
    expect(ask.json.data.flags).toBe(64); // ephemeral: no colleague has to see it
    const [confirm] = ask.json.data.components[0].components;
    expect((await credential(id)).current_rotation_id).toBeNull();

    const yes = press(CONFIRM_ALONE, DISCORD_ALICE, confirm.custom_id);
    expect((await yes.answer).json.type).toBe(5);
    const followUp = await waitForPost(yes.followUpPath, (b) => String(b.content).includes("rotated"));
    expect(followUp.content).toContain(id);
    expect(await rotationIn(followUp.content)).toMatchObject({
      state: "done",
      requested_by: `discord:${DISCORD_ALICE}`,
    });
    expect(await keysAtClarifai()).not.toContain(key.id);
  });

  it("with CHATOPS_TWO_PERSON: the prompt is in the channel, the requester's click refused, a colleague's starts it", async () => {
    const { key, id, fingerprint } = await appKey();
    const ask = await command(CONFIRM_TWO_PERSON, DISCORD_ALICE, id);
    expect(ask.json.type).toBe(4);
    expect(ask.json.data.flags).toBe(0);
    const [confirm] = ask.json.data.components[0].components;

    const own = await press(CONFIRM_TWO_PERSON, DISCORD_ALICE, confirm.custom_id).answer;
    expect(own.headers["x-rekey-refusal"]).toBe("second_person_required");
    expect(await credential(id)).toMatchObject({ fingerprint, current_rotation_id: null });

    const bob = press(CONFIRM_TWO_PERSON, DISCORD_BOB, confirm.custom_id);
    expect((await bob.answer).json.type).toBe(5);
    const followUp = await waitForPost(bob.followUpPath, (b) => String(b.content).includes("rotated"));
    expect(await rotationIn(followUp.content)).toMatchObject({
      state: "done",
      requested_by: `discord:${DISCORD_ALICE}`,
      approved_by: `discord:${DISCORD_BOB}`,
    });
    expect(await keysAtClarifai()).not.toContain(key.id);
  });
});
