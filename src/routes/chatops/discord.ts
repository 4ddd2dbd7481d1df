/**
 * Discord: POST /chatops/discord, the application's Interactions Endpoint URL.
 *
 * Verifies `X-Signature-Ed25519` over the raw body first (core/inbound/discord.ts; Discord probes with bad
 * signatures and drops endpoints that accept them), answers PING with PONG, and runs `/rekey`
 * sub-commands and Confirm / Cancel buttons with the same rules as Slack (./actions.ts). Work
 * that takes time answers with a deferred response (type 5); its outcome arrives as a follow-up
 * through the interaction webhook (`DISCORD_API_BASE/webhooks/{application_id}/{token}`).
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { AppEnv } from "../../app-env.ts";
import { requireConfig } from "../../config.ts";
import { parseCommand } from "../../core/chatops/commands.ts";
import { discordContent } from "../../core/chatops/reply.ts";
import { verifyDiscordSignature } from "../../core/inbound/discord.ts";
import { refused } from "../../http/on-error.ts";
import { signatureRefused, signedJson, validated } from "../../http/validate.ts";
import { type Actor, type ChatAnswer, decide, runCommand } from "./actions.ts";

const snowflake = z.string().check(z.regex(/^[0-9]{1,20}$/));

const optionSchema = z.object({
  name: z.string().check(z.maxLength(32)),
  type: z.number().check(z.int()),
  value: z.optional(z.union([z.string().check(z.maxLength(200)), z.number(), z.boolean()])),
});

/** Interaction types: 1 PING, 2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT. Unused fields are ignored. */
export const interactionSchema = z.object({
  type: z.number().check(z.int()),
  id: snowflake,
  application_id: snowflake,
  /** The interaction token: a 15-minute capability to answer; never logged or echoed. */
  token: z.string().check(z.regex(/^(?!\.+$)[A-Za-z0-9_.-]{1,512}$/, "must be an interaction token")),
  data: z.optional(z
    .object({
      name: z.optional(z.string().check(z.maxLength(32))),
      options: z.optional(
        z.array(z.extend(optionSchema, { options: z.optional(z.array(optionSchema).check(z.maxLength(5))) })).check(
          z.maxLength(5),
        ),
      ),
      custom_id: z.optional(z.string().check(z.maxLength(100))),
    })),
  member: z.optional(z.object({ user: z.object({ id: snowflake }) })),
  user: z.optional(z.object({ id: snowflake })),
});

export const interactionResponseSchema = z.object({
  type: z.union([z.literal(1), z.literal(4), z.literal(5), z.literal(7)]),
  data: z.optional(z.record(z.string(), z.unknown())),
});

const EPHEMERAL = 64;
const noMentions = { parse: [] as string[] };

function render(a: ChatAnswer): { type: 4 | 5; data: Record<string, unknown> } {
  switch (a.kind) {
    case "message":
      return { type: 4, data: { content: discordContent(a.message), flags: EPHEMERAL, allowed_mentions: noMentions } };
    case "started":
      // Deferred: Discord shows "thinking…" until the follow-up with the outcome replaces it.
      return { type: 5, data: { flags: EPHEMERAL } };
    case "confirm":
      return {
        type: 4,
        data: {
          content: discordContent(a.message),
          flags: a.shared ? 0 : EPHEMERAL,
          allowed_mentions: noMentions,
          components: [
            {
              type: 1,
              components: [
                { type: 2, style: 4, label: a.action === "revoke" ? "Revoke" : "Rotate", custom_id: `y|${a.token}` },
                { type: 2, style: 2, label: "Cancel", custom_id: `n|${a.token}` },
              ],
            },
          ],
        },
      };
  }
}

function respond(c: Context, a: ChatAnswer) {
  if (a.kind === "message" && a.refusal) c.header("X-Rekey-Refusal", a.refusal);
  return c.json(render(a));
}

export const discord = new Hono<AppEnv>().post("/", async (c) => {
  const services = c.var.services;
  const publicKey = requireConfig(services.config, "DISCORD_PUBLIC_KEY");
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const result = await verifyDiscordSignature({
    publicKey,
    signature: c.req.header("x-signature-ed25519"),
    timestamp: c.req.header("x-signature-timestamp"),
    body: raw,
    now: Math.floor(services.now() / 1000),
  });
  if (!result.ok) throw signatureRefused(result.error, "Discord", "DISCORD_PUBLIC_KEY");
  const i = validated(
    interactionSchema,
    signedJson(raw, "Not a Discord interaction"),
    "Not a Discord interaction rekey understands",
  );
  if (i.type === 1) return c.json({ type: 1 });
  if (i.type !== 2 && i.type !== 3) {
    throw refused("unsupported_interaction", "rekey answers only commands and buttons");
  }

  // Replays: the timestamp window alone would let a captured command run again for 5 minutes.
  if (!(await services.ledger.once(`chatops#discord#${i.id}`, 10 * 60_000))) {
    throw refused("replayed", "This Discord interaction was already received");
  }

  const userId = i.member?.user.id ?? i.user?.id;
  if (!userId) throw refused("invalid_request", "Not a Discord interaction rekey understands: no user");
  const followUp = `${services.config.DISCORD_API_BASE.replace(/\/+$/, "")}/webhooks/${i.application_id}/${i.token}`;
  const actor: Actor = { platform: "discord", userId, reply: { platform: "discord", url: followUp } };

  if (i.type === 3) {
    const id = i.data?.custom_id ?? "";
    const decision = id.startsWith("y|") ? "confirm" : id.startsWith("n|") ? "cancel" : undefined;
    if (!decision) throw refused("invalid_request", "Not a rekey button");
    const answer = await decide(services, actor, id.slice(2), decision);
    if (decision === "cancel" && answer.kind === "message" && !answer.refusal) {
      // Replace the prompt so its buttons go away.
      return c.json({
        type: 7,
        data: { content: discordContent(answer.message), components: [], allowed_mentions: noMentions },
      });
    }
    return respond(c, answer);
  }

  if (i.data?.name !== "rekey") {
    return respond(c, {
      kind: "message",
      refusal: "unknown_command",
      message: { text: ":no_entry: Unknown command; try `/rekey help` (`unknown_command`)" },
    });
  }
  // `/rekey <sub-command> [id]` arrives as options; the same grammar as Slack's text parses it.
  const sub = i.data.options?.[0];
  const text = sub ? [sub.name, ...(sub.options ?? []).map((o) => String(o.value ?? ""))].join(" ") : "";
  const command = parseCommand(text);
  if (!command.ok) {
    return respond(c, {
      kind: "message",
      refusal: command.error.code,
      message: { text: `:no_entry: ${command.error.message} (\`${command.error.code}\`)` },
    });
  }
  return respond(c, await runCommand(services, actor, command.value));
});
