/**
 * Slack: POST /chatops/slack/commands (the `/rekey` slash command) and
 * POST /chatops/slack/interactions (Confirm / Cancel buttons, `block_actions`).
 *
 * Both verify `X-Slack-Signature` over the raw body before anything is parsed
 * (core/inbound/slack.ts),
 * then refuse a replayed request (the signature is claimed once in the ledger: the timestamp
 * window alone would let a captured `/rekey rotate` run again for 5 minutes). The answer comes
 * back at once (Slack gives 3 seconds); rotations run on the bus and their outcome is posted to
 * the `response_url`.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { requireConfig } from "../../config.ts";
import { parseCommand } from "../../core/chatops/commands.ts";
import { postReply, slackBody } from "../../core/chatops/reply.ts";
import { verifySlackSignature } from "../../core/inbound/slack.ts";
import type { Services } from "../../services.ts";
import { refused } from "../../http/on-error.ts";
import { signatureRefused, signedForm, signedJson, validated } from "../../http/validate.ts";
import { type Actor, type ChatAnswer, decide, runCommand } from "./actions.ts";

/** Slack user ids (`U…`, `W…`); bounded so that a requester fits the bus's field rules. */
const slackUserId = z.string().check(z.regex(/^[A-Za-z0-9]{1,24}$/));

/** Only the fields rekey uses; Slack sends more (team, channel, enterprise…), which are ignored. */
export const slashCommandSchema = z.object({
  command: z.string().check(z.minLength(1), z.maxLength(64)),
  text: z._default(z.string().check(z.maxLength(4000)), ""),
  user_id: slackUserId,
  response_url: z.url().check(z.maxLength(2048)),
});

const blockActionsSchema = z.object({
  type: z.literal("block_actions"),
  user: z.object({ id: slackUserId }),
  response_url: z.url().check(z.maxLength(2048)),
  actions: z
    .array(
      z.object({ action_id: z.enum(["rekey_confirm", "rekey_cancel"]), value: z.string().check(z.maxLength(200)) }),
    ).check(z.minLength(1), z.maxLength(5)),
});

/** The interactivity request: one form field, `payload`, holding the JSON above. */
export const slackInteractionFormSchema = z.object({
  payload: z.string().check(z.describe("JSON: a block_actions payload")),
});

/** The JSON Slack shows the user; `X-Rekey-Refusal` carries the code for machines. */
export const slackAnswerSchema = z.object({
  response_type: z.optional(z.enum(["ephemeral", "in_channel"])),
  replace_original: z.optional(z.boolean()),
  text: z.string(),
  blocks: z.array(z.record(z.string(), z.unknown())),
});

async function verified(c: Context<AppEnv>): Promise<{ services: Services; form: Record<string, string> }> {
  const services = c.var.services;
  const secret = requireConfig(services.config, "SLACK_SIGNING_SECRET");
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const signature = c.req.header("x-slack-signature");
  const result = await verifySlackSignature({
    signingSecret: secret,
    timestamp: c.req.header("x-slack-request-timestamp"),
    signature,
    body: raw,
    now: Math.floor(services.now() / 1000),
  });
  if (!result.ok) throw signatureRefused(result.error, "Slack", "SLACK_SIGNING_SECRET");
  // After verification, so a forged request cannot burn anything.
  // Held 10 minutes: twice the timestamp window, after which the request is refused as stale anyway.
  // Keyed on the signature's canonical (lower-case) hex: upper-case hex verifies too, and would
  // otherwise be a fresh key for every case variant of one captured request.
  if (!(await services.ledger.once(`chatops#slack#${signature!.toLowerCase()}`, 10 * 60_000))) {
    throw refused("replayed", "This Slack request was already received");
  }
  return { services, form: signedForm(raw) };
}

/** The response_url must be Slack's (SLACK_RESPONSE_ORIGINS): rekey posts results there. */
function checkResponseUrl(services: Services, url: string): string {
  const origins = services.config.SLACK_RESPONSE_ORIGINS.map((o) => new URL(o).origin);
  if (!origins.includes(new URL(url).origin)) {
    throw refused("invalid_response_url", "response_url is not on an allowed Slack origin (SLACK_RESPONSE_ORIGINS)");
  }
  return url;
}

function answer(c: Context, body: Record<string, unknown>, refusal?: string) {
  if (refusal) c.header("X-Rekey-Refusal", refusal);
  return c.json(body);
}

/** The acknowledgement is always ephemeral: it answers the person who typed the command. */
function render(a: ChatAnswer, responseType: "ephemeral" | "in_channel" = "ephemeral"): Record<string, unknown> {
  if (a.kind !== "confirm") return slackBody(a.message, { response_type: "ephemeral" });
  const label = a.action === "revoke" ? "Revoke" : "Rotate";
  const body = slackBody(a.message, { response_type: responseType });
  (body.blocks as unknown[]).push({
    type: "actions",
    elements: [
      {
        type: "button",
        action_id: "rekey_confirm",
        style: "danger",
        text: { type: "plain_text", text: label },
        value: a.token,
      },
      { type: "button", action_id: "rekey_cancel", text: { type: "plain_text", text: "Cancel" }, value: a.token },
    ],
  });
  return body;
}

export const slack = new Hono<AppEnv>()
  .post("/commands", async (c) => {
    const { services, form } = await verified(c);
    // Slack's certificate check after a URL change: nothing to do but answer.
    if (form.ssl_check === "1") return c.body(null, 200);
    const cmd = validated(slashCommandSchema, form, "Not a Slack request rekey understands");
    const actor: Actor = {
      platform: "slack",
      userId: cmd.user_id,
      reply: { platform: "slack", url: checkResponseUrl(services, cmd.response_url) },
    };
    const parsed = parseCommand(cmd.text);
    const result: ChatAnswer = parsed.ok ? await runCommand(services, actor, parsed.value) : {
      kind: "message",
      refusal: parsed.error.code,
      message: { text: `:no_entry: ${parsed.error.message} (\`${parsed.error.code}\`)` },
    };
    // Under the two-person rule a colleague must see the prompt: the same buttons (one token,
    // single use) are also posted to the channel through the response_url.
    if (result.kind === "confirm" && result.shared) {
      services.defer(postReply(actor.reply, result.message, fetch, render(result, "in_channel")));
    }
    return answer(c, render(result), result.kind === "message" ? result.refusal : undefined);
  })
  .post("/interactions", async (c) => {
    const { services, form } = await verified(c);
    const { payload } = validated(slackInteractionFormSchema, form, "Not a Slack interaction");
    const p = validated(
      blockActionsSchema,
      signedJson(payload, 'Not a Slack interaction: the "payload" field'),
      "Not a Slack interaction rekey understands",
    );
    const url = checkResponseUrl(services, p.response_url);
    const actor: Actor = { platform: "slack", userId: p.user.id, reply: { platform: "slack", url } };
    const action = p.actions[0]!;
    const result = await decide(
      services,
      actor,
      action.value,
      action.action_id === "rekey_confirm" ? "confirm" : "cancel",
    );
    // Slack ignores the body of a block_actions answer: what the users see is posted to the
    // response_url. A refusal goes to the clicker alone; anything else replaces the buttons.
    const refusal = result.kind === "message" ? result.refusal : undefined;
    const body = slackBody(
      result.message,
      refusal ? { response_type: "ephemeral", replace_original: false } : { replace_original: true },
    );
    services.defer(postReply({ platform: "slack", url }, result.message, fetch, body));
    return answer(c, body, refusal);
  });
