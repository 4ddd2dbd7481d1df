/**
 * Slack chatops end to end: signed slash commands and button clicks into the real Worker, the
 * rotation on the bus against the Clarifai emulator, and the outcome posted to a response_url
 * served by the local receiver. Ends with the canary check over responses and chat messages.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, waitForRotation } from "../support/api.ts";
import { canary } from "../support/canary.ts";
import { signSlackRequest } from "../../scripts/lib/slack-signer.ts";
import {
  ALICE,
  blockAction,
  BOB,
  confirmValue,
  responseUrl,
  SLACK_SECRET,
  slackSigned,
  slashCommand,
  waitForPost,
} from "../support/chat.ts";
import { control, failNextKeyCreate } from "../support/emulator-control.ts";
import { managedTenant } from "../support/managed-tenant.ts";
import { received } from "../support/receiver.ts";
import { derivePurposeKey } from "../../src/core/crypto/purpose-key.ts";
import { mintConfirmation } from "../../src/core/chatops/confirmation.ts";
import { WorkersAuditLog } from "../../src/adapters/workers-audit-log.ts";

let tenant: Awaited<ReturnType<typeof managedTenant>>["tenant"];
let appKey: Awaited<ReturnType<typeof managedTenant>>["appKey"];
let leaks: ReturnType<typeof canary>;

beforeAll(async () => {
  leaks = canary();
  ({ tenant, appKey } = await managedTenant("slack", leaks.secrets));
});

const command = (user: string, text: string, tag = "cmd") => {
  const response = responseUrl(tag);
  return { response, send: () => slackSigned("/chatops/slack/commands", slashCommand(user, text, response)) };
};

const credential = async (id: string) => (await call("GET", `/v1/credentials/${id}`)).json.credential;

describe("slash command: rotate", () => {
  it("acknowledges at once, rotates through the bus and posts the outcome to the response_url", async () => {
    const { key, id } = await appKey();
    // Clarifai answers key creation slowly: the acknowledgement must not wait for it.
    await control("faults", { method: "POST", path: `/v2/users/${tenant.userId}/keys`, count: 1, delay_ms: 1500 });
    const { response, send } = command(ALICE, `rotate ${id}`);
    const ack = await send();
    expect(ack.status).toBe(200);
    expect(ack.json.response_type).toBe("ephemeral");
    expect(ack.json.blocks[0].type).toBe("section");
    const rotationId = /rot_[0-9a-z]+/.exec(ack.json.text)![0];
    // The rotation is still in flight when the answer is already here, and nothing was posted yet.
    expect((await call("GET", `/v1/rotations/${rotationId}`)).json.rotation.state).toBe("running");
    expect(await received(response.path)).toHaveLength(0);

    const posted = await waitForPost(response.path, (b) => String(b.text).includes("rotated"));
    expect(posted.text).toContain(id);
    expect(posted.response_type).toBe("in_channel");
    const rotation = await waitForRotation(rotationId);
    expect(rotation).toMatchObject({ state: "done", requested_by: `slack:${ALICE}`, reason: "manual" });
    const keys = (await tenant.state()).keys.map((k: any) => k.id);
    expect(keys).not.toContain(key.id);
  });

  it("posts a failure with its reason code", async () => {
    const { id } = await appKey();
    // Permanent (insufficient scopes): one failed call fails the rotation, which rolls back.
    await failNextKeyCreate(tenant.userId);
    const { response, send } = command(BOB, `rotate ${id}`);
    expect((await send()).status).toBe(200);
    const posted = await waitForPost(response.path, (b) => String(b.text).includes("FAILED"));
    expect(posted.text).toMatch(/`[a-z_]+`/);
    expect((await credential(id)).state).toBe("active");
  });
});

describe("refusals change nothing", () => {
  async function unchanged(id: string, fingerprint: string, path: string) {
    const c = await credential(id);
    expect(c.fingerprint).toBe(fingerprint);
    expect(c.current_rotation_id).toBeNull();
    expect(await received(path)).toHaveLength(0);
  }

  it("refuses a wrong signature and a stale timestamp with 401", async () => {
    const { id, fingerprint } = await appKey();
    const response = responseUrl("bad");
    const body = slashCommand(ALICE, `rotate ${id}`, response);
    const wrong = await slackSigned("/chatops/slack/commands", body, { secret: "not-the-secret" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe("invalid_signature");
    const stale = await slackSigned("/chatops/slack/commands", body, {
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    expect(stale.status).toBe(401);
    expect(stale.json.error.code).toBe("stale_timestamp");
    const missing = await call("POST", "/chatops/slack/commands", body, {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(missing.status).toBe(401);
    await unchanged(id, fingerprint, response.path);
  });

  it("refuses a replayed request", async () => {
    const { id, fingerprint } = await appKey();
    const response = responseUrl("replay");
    const body = slashCommand(ALICE, `status ${id}`, response);
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await slackSigned("/chatops/slack/commands", body, { timestamp })).status).toBe(200);
    const again = await slackSigned("/chatops/slack/commands", body, { timestamp });
    expect(again.status).toBe(401);
    expect(again.json.error.code).toBe("replayed");
    // The same signature in upper-case hex verifies too: it is the same request, so refused too.
    const signature = await signSlackRequest({ signingSecret: SLACK_SECRET, timestamp, body });
    const shouted = await slackSigned("/chatops/slack/commands", body, {
      timestamp,
      signature: `v0=${signature.slice(3).toUpperCase()}`,
    });
    expect(shouted.status).toBe(401);
    expect(shouted.json.error.code).toBe("replayed");
    await unchanged(id, fingerprint, response.path);
  });

  it.each([
    ["an unknown user", "UMALLORY", (id: string) => `rotate ${id}`, "not_allowed"],
    ["an unknown command", ALICE, (id: string) => `destroy ${id}`, "unknown_command"],
    ["malformed text", ALICE, (_id: string) => "rotate not-an-id", "malformed_command"],
    ["too many arguments", ALICE, (id: string) => `revoke ${id} ${id}`, "malformed_command"],
    ["an unknown credential", ALICE, (_id: string) => "rotate cred_0000000000000000000000000z", "credential_not_found"],
  ])("refuses %s with a clear message and code", async (_name, user, text, code) => {
    const { id, fingerprint } = await appKey();
    const { response, send } = command(user, text(id));
    const res = await send();
    expect(res.status).toBe(200);
    expect(res.headers["x-rekey-refusal"]).toBe(code);
    expect(res.json.response_type).toBe("ephemeral");
    expect(res.json.text).toContain(code);
    await unchanged(id, fingerprint, response.path);
  });

  it("refuses a form without the fields it needs, and a response_url off Slack", async () => {
    const noUser = await slackSigned("/chatops/slack/commands", "command=%2Frekey&text=list");
    expect(noUser.status).toBe(400);
    expect(noUser.json.error.code).toBe("invalid_request");
    const offSite = await slackSigned(
      "/chatops/slack/commands",
      slashCommand(ALICE, "list", { url: "https://evil.example/collect" }),
    );
    expect(offSite.status).toBe(400);
    expect(offSite.json.error.code).toBe("invalid_response_url");
  });

  it("answers Slack's ssl_check", async () => {
    const res = await slackSigned("/chatops/slack/commands", "ssl_check=1&token=xyz");
    expect(res.status).toBe(200);
    expect(res.text).toBe("");
  });
});

describe("read-only commands", () => {
  it("help, list, status and plan answer with the managed credentials and no values", async () => {
    const { id } = await appKey();
    const help = await command(ALICE, "help").send();
    expect(help.json.blocks[1].text.text).toContain("/rekey revoke");
    const list = await command(ALICE, "list").send();
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).toContain(id);
    expect(JSON.stringify(list.json)).toContain("age");
    // The same next action the sweep and the dashboard see: the manager PAT has no policy, so nothing
    // is scheduled for it (no sweep visits it to list its user's keys any more).
    expect(JSON.stringify(list.json)).toContain("nothing scheduled");
    expect(JSON.stringify(list.json)).not.toContain("reconcile");
    const status = await command(BOB, `status ${id}`).send();
    expect(status.json.text).toContain(id);
    expect(JSON.stringify(status.json)).toMatch(/value `[0-9a-f]{8}…`/);
    const plan = await command(ALICE, "plan").send();
    expect(plan.json.text).toMatch(/Next sweep/);
  });

  it("status shows the newest events of a credential with more than 500 audit entries", async () => {
    const { id } = await appKey();
    // 600 entries in the Worker's own KV audit log, oldest first; each names its place in its code.
    const audit = new WorkersAuditLog(env.REKEY_KV);
    const t0 = Date.now();
    for (let i = 0; i < 600; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) =>
        audit.append({
          id: `evt_audit${String(i + j).padStart(4, "0")}`,
          time: new Date(t0 + (i + j) * 1000).toISOString(),
          type: "rotation.failed",
          source: "/rekey/engine",
          credential_id: id,
          data: { credential_id: id, error_code: `entry_${i + j}` },
        })));
    }
    const status = JSON.stringify((await command(BOB, `status ${id}`).send()).json);
    for (const i of [595, 596, 597, 598, 599]) expect(status).toContain(`entry_${i}`);
    expect(status).not.toContain("entry_594");
    expect(status).not.toContain("entry_499");
  });
});

describe("revoke with the two-person rule", () => {
  it("refuses the requester's own click, revokes on a second user's, refuses a replayed click", async () => {
    const { key, id } = await appKey();
    const asked = command(ALICE, `revoke ${id}`);
    const ask = await asked.send();
    expect(ask.status).toBe(200);
    expect(ask.json.response_type).toBe("ephemeral");
    const token = confirmValue(ask.json);
    // Also shared in the channel, with the same single-use buttons: a colleague has to see it to approve it.
    const shared = await waitForPost(asked.response.path, (b) => b.response_type === "in_channel");
    expect(confirmValue(shared)).toBe(token);

    const own = responseUrl("own");
    const self = await slackSigned("/chatops/slack/interactions", blockAction(ALICE, "rekey_confirm", token, own));
    expect(self.headers["x-rekey-refusal"]).toBe("second_person_required");
    expect((await credential(id)).state).toBe("active");

    const outsider = await slackSigned(
      "/chatops/slack/interactions",
      blockAction("UMALLORY", "rekey_confirm", token, responseUrl("x")),
    );
    expect(outsider.headers["x-rekey-refusal"]).toBe("not_allowed");

    const second = responseUrl("second");
    const ok = await slackSigned("/chatops/slack/interactions", blockAction(BOB, "rekey_confirm", token, second));
    expect(ok.status).toBe(200);
    expect(ok.headers["x-rekey-refusal"]).toBeUndefined();
    const posted = await waitForPost(second.path, (b) => String(b.text).includes("revoked"));
    expect(posted.text).toContain(id);
    expect((await credential(id)).state).toBe("revoked");
    // Who asked and who approved are both on the record and in the audit trail.
    const rotationId = /rot_[0-9a-z]+/.exec(posted.blocks[1].text.text)![0];
    expect((await call("GET", `/v1/rotations/${rotationId}`)).json.rotation).toMatchObject({
      requested_by: `slack:${ALICE}`,
      approved_by: `slack:${BOB}`,
      mode: "revoke",
    });
    const requested = (await call("GET", `/v1/audit?credential_id=${id}&type=rotation.requested`)).json.entries;
    expect(requested.map((e: any) => e.data)).toContainEqual(
      expect.objectContaining({ requested_by: `slack:${ALICE}`, approved_by: `slack:${BOB}` }),
    );
    expect((await tenant.state()).keys.map((k: any) => k.id)).not.toContain(key.id);

    const replay = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_confirm", token, responseUrl("replay")),
    );
    expect(replay.headers["x-rekey-refusal"]).toBe("confirmation_used");
  });

  it("refuses a forged, an expired, and a stale confirmation, and honours Cancel", async () => {
    const { id } = await appKey();
    const token = confirmValue((await command(ALICE, `revoke ${id}`).send()).json);
    const last = token.at(-1) === "A" ? "B" : "A";
    const forged = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_confirm", token.slice(0, -1) + last, responseUrl("f")),
    );
    expect(forged.headers["x-rekey-refusal"]).toBe("confirmation_invalid");
    const otherCred = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(
        BOB,
        "rekey_confirm",
        token.replace(id, `${id.slice(0, -1)}${id.at(-1) === "a" ? "b" : "a"}`),
        responseUrl("f2"),
      ),
    );
    expect(otherCred.headers["x-rekey-refusal"]).toBe("confirmation_invalid");

    // A token rekey itself minted, 16 minutes ago (the test derives the key from the test fingerprint key).
    const key = await derivePurposeKey("dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=", "chat_confirmation");
    if (!key.ok) throw new Error("test key");
    const c = await credential(id);
    const expired = await mintConfirmation(key.value, "slack", {
      action: "revoke",
      credentialId: id,
      requester: ALICE,
      fingerprintPrefix: c.fingerprint,
      expiresAt: Math.floor(Date.now() / 1000) - 60,
      nonce: "abcdef",
    });
    const late = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_confirm", expired, responseUrl("e")),
    );
    expect(late.headers["x-rekey-refusal"]).toBe("confirmation_expired");

    // The credential is rotated after the question was asked: the old confirmation no longer holds.
    const rotated = await call("POST", `/v1/credentials/${id}/rotate`, {});
    await waitForRotation(rotated.json.rotation.id);
    const stale = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_confirm", token, responseUrl("s")),
    );
    expect(stale.headers["x-rekey-refusal"]).toBe("credential_changed");
    expect((await credential(id)).state).toBe("active");

    const token2 = confirmValue((await command(ALICE, `revoke ${id}`).send()).json);
    const cancel = responseUrl("cancel");
    const cancelled = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_cancel", token2, cancel),
    );
    expect(cancelled.headers["x-rekey-refusal"]).toBeUndefined();
    expect((await waitForPost(cancel.path, (b) => String(b.text).includes("cancelled"))).replace_original).toBe(true);
    const after = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_confirm", token2, responseUrl("ac")),
    );
    expect(after.headers["x-rekey-refusal"]).toBe("confirmation_used");
    expect((await credential(id)).state).toBe("active");
  });
});

describe("a confirmation meets a rotation already running", () => {
  it("refuses to fold a confirmed revoke into a running rotate", async () => {
    const { id } = await appKey();
    const token = confirmValue((await command(ALICE, `revoke ${id}`).send()).json);
    await control("faults", { method: "POST", path: `/v2/users/${tenant.userId}/keys`, count: 1, delay_ms: 1500 });
    const rotating = await call("POST", `/v1/credentials/${id}/rotate`, {});
    expect(rotating.status).toBe(202);
    const click = await slackSigned(
      "/chatops/slack/interactions",
      blockAction(BOB, "rekey_confirm", token, responseUrl("busy")),
    );
    expect(click.headers["x-rekey-refusal"]).toBe("rotation_running");
    expect((await waitForRotation(rotating.json.rotation.id)).state).toBe("done");
    expect((await credential(id)).state).toBe("active");
  });
});

afterAll(async () => {
  // Every message posted to any Slack response_url in this file, beside responses and logs.
  const chat = (await received("/slack/response/")).map((r) => r.body);
  expect(chat.length).toBeGreaterThan(3);
  leaks.assertClean(chat, 5);
});
