/**
 * What a chat user can do, the same on Slack and Discord: the routes verify the platform's
 * signature and turn its payload into an `Actor` and a command or a button click; this module
 * decides, acts and answers with a platform-neutral `ChatAnswer` that the route renders.
 *
 * Every refusal carries a stable code (shown in the message and in the `X-Rekey-Refusal` header).
 * Chat platforms only show a user the body of a 200 answer, so refusals of a correctly signed
 * request are 200s with the code; unsigned or malformed requests get the usual 4xx error.
 */
import type { Services } from "../../services.ts";
import { newestAudit } from "../../core/audit/newest.ts";
import { type ChatCommand, USAGE } from "../../core/chatops/commands.ts";
import {
  type ChatPlatform,
  type ConfirmableAction,
  CONFIRMATION_TTL_SECONDS,
  confirmationNonce,
  mintConfirmation,
  openConfirmation,
} from "../../core/chatops/confirmation.ts";
import type { ChatMessage, ReplyTarget } from "../../core/chatops/reply.ts";
import type { CredentialRecord } from "../../core/credentials/credential.ts";
import { fingerprintPrefix } from "../../core/crypto/fingerprint.ts";
import { BEGIN_REFUSALS, type BeginRefusal } from "../../core/rotation/refusals.ts";
import { requestRotation } from "../../core/rotation/request.ts";
import { readSettled } from "../../core/rotation/settle.ts";
import { containmentMs, type Rotation } from "../../core/rotation/rotation.ts";
import { planSweepReport } from "../../core/sweep/plan.ts";
import { nextActions } from "../../core/sweep/next-actions.ts";

export interface Actor {
  platform: ChatPlatform;
  /** The platform's user id (Slack `U…`, Discord snowflake). */
  userId: string;
  /** Where the outcome of work started by this request is posted. */
  reply: ReplyTarget;
}

export type ChatAnswer =
  /** A read-only answer, or a refusal (`refusal` set). */
  | { kind: "message"; message: ChatMessage; refusal?: string }
  /** A destructive action waits for a click; `shared` when someone else must see it (two-person rule). */
  | { kind: "confirm"; message: ChatMessage; token: string; action: ConfirmableAction; shared: boolean }
  /** Work was handed to the bus; the outcome will be posted to the actor's reply target. */
  | { kind: "started"; message: ChatMessage };

const refuse = (code: string, text: string): ChatAnswer => ({
  kind: "message",
  refusal: code,
  message: { text: `:no_entry: ${text} (\`${code}\`)` },
});
/** A refused rotation, in chat's words from the one refusal table. */
const refusal = (code: BeginRefusal, credentialId: string): ChatAnswer =>
  refuse(code, BEGIN_REFUSALS[code].chat(credentialId));

/** Slack and Discord both write a user mention as `<@id>`. */
const mention = (a: Pick<Actor, "userId">) => `<@${a.userId}>`;

function allowed(services: Services, actor: Actor): boolean {
  const list = actor.platform === "slack" ? services.config.SLACK_ALLOWED_USERS : services.config.DISCORD_ALLOWED_USERS;
  return list.includes(actor.userId);
}

const NOT_ALLOWED = (actor: Actor) =>
  refuse(
    "not_allowed",
    `You are not allowed to use rekey. Ask an admin to add your user id (${actor.userId}) to ${
      actor.platform === "slack" ? "SLACK_ALLOWED_USERS" : "DISCORD_ALLOWED_USERS"
    }.`,
  );

export async function runCommand(services: Services, actor: Actor, command: ChatCommand): Promise<ChatAnswer> {
  if (!allowed(services, actor)) return NOT_ALLOWED(actor);
  switch (command.name) {
    case "help":
      return { kind: "message", message: { text: "*rekey* rotates and revokes Clarifai credentials.", lines: USAGE } };
    case "list":
      return { kind: "message", message: await listMessage(services) };
    case "plan":
      return { kind: "message", message: await planMessage(services) };
    case "status":
      return statusAnswer(services, command.credentialId);
    case "rotate":
    case "revoke": {
      const found = await services.store.getCredential(command.credentialId);
      if (!found) return refusal("credential_not_found", command.credentialId);
      if (found.value.state === "revoked") return refusal("credential_revoked", command.credentialId);
      if (command.name === "rotate" && !services.config.CHATOPS_CONFIRM_ROTATE) {
        return start(services, actor, found.value, "rotate");
      }
      return askConfirmation(services, actor, found.value, command.name);
    }
  }
}

async function askConfirmation(
  services: Services,
  actor: Actor,
  rec: CredentialRecord,
  action: ConfirmableAction,
): Promise<ChatAnswer> {
  const engine = await services.engine();
  const token = await mintConfirmation(engine.confirmationKey, actor.platform, {
    action,
    credentialId: rec.id,
    requester: actor.userId,
    fingerprintPrefix: fingerprintPrefix(rec.fingerprint),
    expiresAt: Math.floor(services.now() / 1000) + CONFIRMATION_TTL_SECONDS,
    nonce: confirmationNonce(),
  });
  const twoPerson = services.config.CHATOPS_TWO_PERSON;
  const what = action === "revoke"
    ? "revoke (delete at Clarifai, no replacement)"
    : "rotate (replace, then revoke the old value)";
  return {
    kind: "confirm",
    token,
    action,
    shared: twoPerson,
    message: {
      text: `:warning: ${mention(actor)} asks to ${what} \`${rec.id}\` (${rec.kind}, value \`${
        fingerprintPrefix(rec.fingerprint)
      }…\`).`,
      lines: [twoPerson ? "Another allowed user must confirm within 15 minutes." : "Confirm within 15 minutes."],
    },
  };
}

/**
 * `requester`: who asked, when `actor` is confirming their request (recorded as the approver).
 * A confirmed action is bound to the value it was asked for: begun only while that value is
 * still current (a rotation promoting in between must not make a revoke hit the replacement).
 */
async function start(
  services: Services,
  actor: Actor,
  rec: CredentialRecord,
  action: ConfirmableAction,
  note = "",
  requester?: string,
): Promise<ChatAnswer> {
  const begun = await requestRotation(
    services,
    rec.id,
    {
      reason: "manual",
      mode: action,
      requestedBy: `${actor.platform}:${requester ?? actor.userId}`,
      ...(requester ? { approvedBy: `${actor.platform}:${actor.userId}`, expectedFingerprint: rec.fingerprint } : {}),
    },
    { source: "/rekey/chatops", reply: actor.reply },
  );
  if (!begun.ok) return refusal(begun.code, rec.id);
  const verb = action === "revoke" ? "Revocation" : "Rotation";
  const joined = begun.joined
    ? ` (joined rotation \`${begun.rotation.id}\`, already running)`
    : ` \`${begun.rotation.id}\``;
  return {
    kind: "started",
    message: {
      text:
        `:hourglass_flowing_sand: ${verb} of \`${rec.id}\` started${joined}${note}. The result will be posted here.`,
    },
  };
}

/**
 * A Confirm or Cancel click. Order matters: the MAC first (nothing in a forged token is
 * believed), then who clicks, so that a click refused for its clicker does not burn the
 * confirmation for the colleague who may click next; then the single-use claim; then whether the
 * credential is still what the requester saw (a confirmation for a changed value can never hold
 * again, so burning it costs nothing).
 */
export async function decide(
  services: Services,
  actor: Actor,
  token: string,
  decision: "confirm" | "cancel",
): Promise<ChatAnswer> {
  const engine = await services.engine();
  const opened = await openConfirmation(
    engine.confirmationKey,
    actor.platform,
    token,
    Math.floor(services.now() / 1000),
  );
  if (!opened.ok) return refuse(opened.error.code, opened.error.message + ".");
  const c = opened.value;
  if (!allowed(services, actor)) return NOT_ALLOWED(actor);
  if (decision === "confirm" && services.config.CHATOPS_TWO_PERSON && actor.userId === c.requester) {
    return refuse("second_person_required", "Two-person rule: another allowed user must confirm your request.");
  }
  // Remembered twice as long as a confirmation lives: past that it is refused as expired anyway.
  if (!(await services.ledger.once(`chatops#confirm#${c.id}`, 2 * CONFIRMATION_TTL_SECONDS * 1000))) {
    return refuse("confirmation_used", "This confirmation was already used.");
  }
  if (decision === "cancel") {
    return {
      kind: "message",
      message: { text: `:x: ${mention(actor)} cancelled the ${c.action} of \`${c.credentialId}\`.` },
    };
  }
  const found = await services.store.getCredential(c.credentialId);
  // As its rotation's settlement leaves it, if that rotation is over (core/rotation/settle.ts).
  const rec = found ? (await readSettled(services.store, found.value)).rec : null;
  if (!rec || rec.state !== "active" || fingerprintPrefix(rec.fingerprint) !== c.fingerprintPrefix) {
    return refuse(
      "credential_changed",
      `\`${c.credentialId}\` changed since this was asked (rotated, revoked or removed); run the command again.`,
    );
  }
  // Joining would turn a confirmed revoke into someone else's rotation (the old value living on
  // through its grace period), or a confirmed rotation into a revoke: refuse until it is done.
  const running = rec.current_rotation;
  if (running && running.mode !== c.action) {
    return refuse(
      "rotation_running",
      `A ${running.mode} of \`${c.credentialId}\` is already running (\`${running.id}\`); ask again when it is done.`,
    );
  }
  const approval = actor.userId === c.requester
    ? ""
    : `, confirmed by ${mention(actor)} for ${mention({ userId: c.requester })}`;
  return start(services, actor, rec, c.action, approval, c.requester);
}

const DAY = 86_400_000;
const age = (from: string, now: number) => {
  const days = Math.floor((now - Date.parse(from)) / DAY);
  return days < 1 ? "<1d" : `${days}d`;
};

/** The sweep's own answer (core/sweep/next-actions.ts), as the dashboard shows it. */
function nextAction(rec: CredentialRecord, now: number): string {
  if (rec.current_rotation) return `rotation \`${rec.current_rotation.id}\` running`;
  const next = nextActions(rec, now);
  if (next.length === 0) return "nothing scheduled";
  return next.map((a) =>
    `${a.due ? "due now: " : ""}${a.action}${a.due ? "" : ` on ${a.at.slice(0, 10)}`} (${a.reason})`
  ).join("; ");
}

const LIST_LIMIT = 25;

async function listMessage(services: Services): Promise<ChatMessage> {
  const now = services.now();
  const page = await services.store.listCredentials({ limit: LIST_LIMIT });
  if (page.items.length === 0) return { text: "No credentials are managed yet." };
  const lines = page.items.map(
    (r) =>
      `\`${r.id}\` ${r.kind} · ${r.user_id}${r.app_id ? `/${r.app_id}` : ""} · ${r.state} · age ${
        age(r.value_created_at, now)
      } · ${r.state === "active" ? nextAction(r, now) : "—"}`,
  );
  if (page.cursor) lines.push(`…and more: see \`GET /v1/credentials\`.`);
  return { text: `*Managed credentials* (${page.items.length}${page.cursor ? "+" : ""})`, lines };
}

async function planMessage(services: Services): Promise<ChatMessage> {
  const { actions: plan, left_alone, truncated } = await planSweepReport(services.store, services.now());
  const alone = left_alone.length
    ? [
      `${left_alone.length} marked key${
        left_alone.length === 1 ? "" : "s"
      } at Clarifai left alone (not provably rekey's): see \`GET /v1/plan\`.`,
    ]
    : [];
  if (plan.length === 0) return { text: "*Next sweep:* nothing is due.", ...(alone.length ? { lines: alone } : {}) };
  const lines = plan.slice(0, LIST_LIMIT).map((a) =>
    `${a.action} \`${a.credential_id}\`${
      a.fingerprint_prefix ? ` (value \`${a.fingerprint_prefix}…\`)` : ""
    }: ${a.reason}`
  );
  if (plan.length > LIST_LIMIT || truncated) {
    lines.push(`…and ${truncated ? "" : `${plan.length - LIST_LIMIT} `}more: see \`GET /v1/plan\`.`);
  }
  lines.push(...alone);
  return {
    text: `*Next sweep* would take ${plan.length}${truncated ? "+" : ""} action${plan.length === 1 ? "" : "s"}:`,
    lines,
  };
}

async function statusAnswer(services: Services, id: string): Promise<ChatAnswer> {
  const found = await services.store.getCredential(id);
  if (!found) return refusal("credential_not_found", id);
  // A rotation that has settled but whose marker is not yet cleared shows as the last (core/rotation/settle.ts).
  const { rec, rotation: current } = await readSettled(services.store, found.value);
  const now = services.now();
  const lines = [
    `${rec.kind} · ${rec.user_id}${rec.app_id ? `/${rec.app_id}` : ""} · ${rec.state} · value \`${
      fingerprintPrefix(rec.fingerprint)
    }…\` · age ${age(rec.value_created_at, now)}`,
  ];
  if (current && current.id === rec.current_rotation?.id) {
    lines.push(
      `Current rotation \`${current.id}\`: ${current.mode}, ${current.state} at step *${current.step}* (${current.reason}, by ${current.requested_by}${
        contained(current)
      })`,
    );
  } else if (rec.last_rotation) {
    // A compromise's containment time is on its rotation record: one read, for compromises only.
    const last = rec.last_rotation.reason !== "compromise"
      ? undefined
      : current?.id === rec.last_rotation.id
      ? current
      : (await services.store.getRotation(rec.id, rec.last_rotation.id))?.value;
    lines.push(
      `Last rotation \`${rec.last_rotation.id}\`: ${rec.last_rotation.state} at ${rec.last_rotation.finished_at} (${rec.last_rotation.reason}${
        last ? contained(last) : ""
      })`,
    );
  }
  if (rec.state === "active") lines.push(`Next: ${nextAction(rec, now)}`);
  // The same newest entries the dashboard shows (core/audit/newest.ts), here the last five, oldest first.
  const trail = await newestAudit(services.audit, rec.id, 5);
  if (trail.entries.length) {
    lines.push(
      "Last events:",
      ...trail.entries.toReversed().map((e) =>
        `• ${e.time} ${e.type}${e.data.error_code ? ` \`${String(e.data.error_code)}\`` : ""}${
          e.actor ? ` by ${e.actor}` : ""
        }`
      ),
      ...(trail.newerMayBeMissing
        ? ["(the trail is longer than rekey reads here: see GET /v1/audit for newer events)"]
        : []),
    );
  }
  return { kind: "message", message: { text: `*\`${rec.id}\`*`, lines } };
}

/** ", contained in 14 ms" for a compromise whose leaked value is confirmed dead. */
function contained(r: Rotation): string {
  const ms = containmentMs(r);
  return ms === null ? "" : `, contained in ${ms} ms`;
}
