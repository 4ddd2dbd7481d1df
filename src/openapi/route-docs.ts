/**
 * Every route rekey serves, with the zod schemas it validates with. The OpenAPI document is
 * generated from this table (./document.ts), and a test checks the table against the routes the
 * Hono app really serves, so the document cannot drift from the code.
 */
import type * as z from "zod/mini";
import { auditQuerySchema } from "../routes/v1/audit.ts";
import { registerInputSchema } from "../core/credentials/register.ts";
import { updateInputSchema } from "../core/credentials/update.ts";
import {
  credentialListResponseSchema,
  credentialResponseSchema,
  credentialUpdatedResponseSchema,
  errorResponseSchema,
  listQuerySchema,
  revokeBodySchema,
  rotateBodySchema,
  rotationResponseSchema,
} from "../routes/v1/views.ts";
import { alertAcceptedSchema, alertBodySchema } from "../routes/hooks/webhook.ts";
import { githubFeedbackSchema } from "../routes/hooks/github.ts";
import { githubAlertSchema } from "../routes/hooks/github-alert.ts";
import { githubAlertEventSchema, githubEventAnswerSchema } from "../routes/hooks/github-events.ts";
import { healthSchema } from "../routes/health.ts";
import { auditListResponseSchema } from "../routes/v1/audit.ts";
import { planResponseSchema } from "../routes/v1/plan.ts";
import { summaryQuerySchema } from "../routes/v1/summary.ts";
import { summarySchema } from "../core/summary/summary-schema.ts";
import { reencryptBodySchema, reencryptStartedSchema, reencryptStatusSchema } from "../routes/v1/maintenance.ts";
import {
  credentialPageQuerySchema,
  listPageQuerySchema,
  maintenanceQuerySchema,
  reencryptFormSchema,
  signInFormSchema,
  signInQuerySchema,
  signOutFormSchema,
  startFormSchema,
} from "../ui/schemas.ts";
import { slackAnswerSchema, slackInteractionFormSchema, slashCommandSchema } from "../routes/chatops/slack.ts";
import { interactionResponseSchema, interactionSchema } from "../routes/chatops/discord.ts";

export type Security =
  | "admin"
  | "github_signature"
  | "github_webhook_signature"
  | "standard_webhooks"
  | "slack_signature"
  | "discord_signature"
  | "ui_session"
  | "none";

export interface RouteDoc {
  method: "get" | "post" | "patch" | "delete";
  /** OpenAPI path syntax: `{id}`. */
  path: string;
  summary: string;
  security: Security;
  query?: z.ZodMiniType;
  body?: z.ZodMiniType;
  /** How the body is encoded: JSON unless said otherwise (Slack posts forms). */
  bodyType?: "json" | "form";
  /** Status → schema of the JSON body. */
  responses: Record<number, { description: string; schema?: z.ZodMiniType }>;
  tag: string;
}

const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [c, { description: "Error envelope with a machine-readable code", schema: errorResponseSchema }]),
  );

export const routeDocs: RouteDoc[] = [
  {
    method: "get",
    path: "/healthz",
    summary: "Liveness, version and whether Clarifai is the local emulator",
    security: "none",
    tag: "ops",
    responses: { 200: { description: "Healthy", schema: healthSchema }, ...errors(503) },
  },
  {
    method: "post",
    path: "/v1/credentials",
    summary: "Register a credential (validated against Clarifai first)",
    security: "admin",
    tag: "credentials",
    body: registerInputSchema,
    responses: {
      201: { description: "Registered", schema: credentialResponseSchema },
      ...errors(400, 401, 409, 413, 415, 422, 503),
    },
  },
  {
    method: "get",
    path: "/v1/credentials",
    summary: "List credentials",
    security: "admin",
    tag: "credentials",
    query: listQuerySchema,
    responses: { 200: { description: "A page", schema: credentialListResponseSchema }, ...errors(400, 401) },
  },
  {
    method: "get",
    path: "/v1/credentials/{id}",
    summary: "One credential's metadata",
    security: "admin",
    tag: "credentials",
    responses: { 200: { description: "The credential", schema: credentialResponseSchema }, ...errors(401, 404) },
  },
  {
    method: "patch",
    path: "/v1/credentials/{id}",
    summary:
      "Change description, policy (fields merged into the stored policy), sinks or consumers; validated and pre-flighted as registration is",
    security: "admin",
    tag: "credentials",
    body: updateInputSchema,
    responses: {
      200: { description: "Changed (or already so)", schema: credentialUpdatedResponseSchema },
      ...errors(400, 401, 404, 409, 413, 415, 422, 503),
    },
  },
  {
    method: "delete",
    path: "/v1/credentials/{id}",
    summary: "Stop managing (revokes nothing)",
    security: "admin",
    tag: "credentials",
    responses: { 200: { description: "Forgotten" }, ...errors(401, 404, 409) },
  },
  {
    method: "post",
    path: "/v1/credentials/{id}/rotate",
    summary: "Start or join a rotation",
    security: "admin",
    tag: "credentials",
    body: rotateBodySchema,
    responses: { 202: { description: "Accepted", schema: rotationResponseSchema }, ...errors(400, 401, 404, 409, 422) },
  },
  {
    method: "post",
    path: "/v1/credentials/{id}/revoke",
    summary: "Revoke now",
    security: "admin",
    tag: "credentials",
    body: revokeBodySchema,
    responses: { 202: { description: "Accepted", schema: rotationResponseSchema }, ...errors(400, 401, 404, 409) },
  },
  {
    method: "get",
    path: "/v1/rotations/{id}",
    summary: "A rotation's state and step",
    security: "admin",
    tag: "rotations",
    responses: { 200: { description: "The rotation", schema: rotationResponseSchema }, ...errors(401, 404) },
  },
  {
    method: "get",
    path: "/v1/audit",
    summary: "The audit trail",
    security: "admin",
    tag: "audit",
    query: auditQuerySchema,
    responses: { 200: { description: "A page, oldest first", schema: auditListResponseSchema }, ...errors(400, 401) },
  },
  {
    method: "get",
    path: "/v1/plan",
    summary: "What the next cron sweep would do and why (read-only)",
    security: "admin",
    tag: "sweep",
    responses: { 200: { description: "The plan", schema: planResponseSchema }, ...errors(401) },
  },
  {
    method: "get",
    path: "/v1/summary",
    summary:
      "The dashboard's figures: credentials by state, owed and overdue revocations, rotations running or failed, the last 30 days (rotations by outcome and reason, containment times with median and 95th percentile), the sweep's next 7 days, credentials by key version",
    security: "admin",
    tag: "summary",
    query: summaryQuerySchema,
    responses: { 200: { description: "The figures, from aggregates", schema: summarySchema }, ...errors(400, 401) },
  },
  {
    method: "post",
    path: "/v1/maintenance/reencrypt",
    summary: "Move every sealed value to the newest REKEY_ENCRYPTION_KEYS version (resumable job on the bus)",
    security: "admin",
    tag: "maintenance",
    body: reencryptBodySchema,
    responses: {
      202: { description: "Started, or the running job resumed", schema: reencryptStartedSchema },
      ...errors(400, 401, 503),
    },
  },
  {
    method: "get",
    path: "/v1/maintenance/reencrypt",
    summary: "The re-encryption job's progress",
    security: "admin",
    tag: "maintenance",
    responses: {
      200: { description: "The latest job (null: none yet)", schema: reencryptStatusSchema },
      ...errors(401, 503),
    },
  },
  {
    method: "post",
    path: "/hooks/github/secret-scanning",
    summary: "GitHub secret scanning partner alert",
    security: "github_signature",
    tag: "hooks",
    body: githubAlertSchema,
    responses: {
      200: { description: "Feedback per token", schema: githubFeedbackSchema },
      ...errors(400, 401, 413, 503),
    },
  },
  {
    method: "post",
    path: "/hooks/github/events",
    summary:
      "GitHub webhook (repository, organization or App): secret_scanning_alert created, reopened or publicly_leaked",
    security: "github_webhook_signature",
    tag: "hooks",
    body: githubAlertEventSchema,
    responses: {
      200: {
        description: "ping, a redelivery, or an alert matching no managed credential",
        schema: githubEventAnswerSchema,
      },
      202: {
        description:
          "accepted: contained; the alert is resolved as revoked once the value is dead. queued: GitHub did not answer the alert's fetch (unreachable, 5xx, throttled); the fetch is retried on the bus",
        schema: githubEventAnswerSchema,
      },
      204: { description: "Another event or action: nothing to do" },
      ...errors(400, 401, 413, 502, 503),
    },
  },
  {
    method: "post",
    path: "/hooks/alerts",
    summary: "Generic compromise alert (Standard Webhooks)",
    security: "standard_webhooks",
    tag: "hooks",
    body: alertBodySchema,
    responses: { 202: { description: "Accepted", schema: alertAcceptedSchema }, ...errors(400, 401, 404, 503) },
  },
  {
    method: "post",
    path: "/chatops/slack/commands",
    summary:
      "Slack /rekey slash command (refusals of signed requests are 200s with X-Rekey-Refusal, so Slack shows them)",
    security: "slack_signature",
    tag: "chatops",
    body: slashCommandSchema,
    bodyType: "form",
    responses: { 200: { description: "Block Kit answer", schema: slackAnswerSchema }, ...errors(400, 401, 413, 503) },
  },
  {
    method: "post",
    path: "/chatops/slack/interactions",
    summary: "Slack Confirm / Cancel buttons (block_actions)",
    security: "slack_signature",
    tag: "chatops",
    body: slackInteractionFormSchema,
    bodyType: "form",
    responses: {
      200: { description: "Block Kit answer, also posted to the response_url", schema: slackAnswerSchema },
      ...errors(400, 401, 413, 503),
    },
  },
  {
    method: "post",
    path: "/chatops/discord",
    summary: "Discord interactions endpoint: PING, /rekey, buttons",
    security: "discord_signature",
    tag: "chatops",
    body: interactionSchema,
    responses: {
      200: {
        description: "Interaction response (1 PONG, 4 message, 5 deferred, 7 update)",
        schema: interactionResponseSchema,
      },
      ...errors(400, 401, 413, 503),
    },
  },
  // The dashboard (src/ui): HTML pages and forms; errors are HTML pages with the same codes.
  {
    method: "get",
    path: "/ui/sign-in",
    summary: "Dashboard sign-in form",
    security: "none",
    tag: "dashboard",
    query: signInQuerySchema,
    responses: {
      200: { description: "HTML page" },
      303: { description: "Already signed in: to /ui" },
      400: { description: "HTML error page" },
    },
  },
  {
    method: "post",
    path: "/ui/sign-in",
    summary: "Exchange the admin token for a 30-minute session cookie",
    security: "none",
    tag: "dashboard",
    body: signInFormSchema,
    bodyType: "form",
    responses: {
      303: { description: "Signed in: Set-Cookie __Host-rekey_session, to /ui" },
      400: { description: "HTML error page" },
      401: { description: "Wrong token: the form again" },
      403: { description: "Cross-site request" },
      415: { description: "Not a form" },
    },
  },
  {
    method: "post",
    path: "/ui/sign-out",
    summary: "End the session (needs the CSRF token)",
    security: "ui_session",
    tag: "dashboard",
    body: signOutFormSchema,
    bodyType: "form",
    responses: {
      303: { description: "To the sign-in form" },
      401: { description: "No session" },
      403: { description: "CSRF token missing or wrong" },
    },
  },
  {
    method: "get",
    path: "/ui",
    summary:
      "Overview (headline figures, the last 30 days and the sweep's next 7 days as SVG charts, as GET /v1/summary) above the managed credentials: kind, owner, age, state, next scheduled action and why",
    security: "ui_session",
    tag: "dashboard",
    query: listPageQuerySchema,
    responses: {
      200: { description: "HTML page" },
      303: { description: "No or expired session: to the sign-in form" },
    },
  },
  {
    method: "get",
    path: "/ui/credentials/{id}",
    summary: "A credential, its rotation history and audit trail",
    security: "ui_session",
    tag: "dashboard",
    query: credentialPageQuerySchema,
    responses: {
      200: { description: "HTML page" },
      303: { description: "To the sign-in form" },
      404: { description: "HTML error page" },
    },
  },
  {
    method: "get",
    path: "/ui/credentials/{id}/rotate",
    summary: "Confirm a rotation",
    security: "ui_session",
    tag: "dashboard",
    responses: {
      200: { description: "HTML confirmation form" },
      303: { description: "To the sign-in form" },
      404: { description: "HTML error page" },
      409: { description: "Revoked" },
    },
  },
  {
    method: "post",
    path: "/ui/credentials/{id}/rotate",
    summary: "Start or join a rotation (needs the CSRF token)",
    security: "ui_session",
    tag: "dashboard",
    body: startFormSchema,
    bodyType: "form",
    responses: {
      303: { description: "To the credential's page" },
      401: { description: "No session" },
      403: { description: "CSRF token missing or wrong" },
      404: { description: "No such credential" },
      409: { description: "Revoked or changing" },
      422: { description: "A secret without generator: use the API" },
    },
  },
  {
    method: "get",
    path: "/ui/credentials/{id}/revoke",
    summary: "Confirm a revocation",
    security: "ui_session",
    tag: "dashboard",
    responses: {
      200: { description: "HTML confirmation form" },
      303: { description: "To the sign-in form" },
      404: { description: "HTML error page" },
      409: { description: "Revoked" },
    },
  },
  {
    method: "post",
    path: "/ui/credentials/{id}/revoke",
    summary: "Revoke now (needs the CSRF token)",
    security: "ui_session",
    tag: "dashboard",
    body: startFormSchema,
    bodyType: "form",
    responses: {
      303: { description: "To the credential's page" },
      401: { description: "No session" },
      403: { description: "CSRF token missing or wrong" },
      404: { description: "No such credential" },
      409: { description: "Revoked or changing" },
    },
  },
  {
    method: "get",
    path: "/ui/rotations",
    summary: "Rotations in flight or failed",
    security: "ui_session",
    tag: "dashboard",
    responses: { 200: { description: "HTML page" }, 303: { description: "To the sign-in form" } },
  },
  {
    method: "get",
    path: "/ui/plan",
    summary: "The plan of the next sweep",
    security: "ui_session",
    tag: "dashboard",
    responses: { 200: { description: "HTML page" }, 303: { description: "To the sign-in form" } },
  },
  {
    method: "get",
    path: "/ui/maintenance",
    summary: "Re-encryption: key versions, credentials under each, the job's progress, rate and estimate",
    security: "ui_session",
    tag: "dashboard",
    query: maintenanceQuerySchema,
    responses: {
      200: { description: "HTML page" },
      303: { description: "To the sign-in form" },
      503: { description: "HTML error page: the encryption keys are not configured" },
    },
  },
  {
    method: "get",
    path: "/ui/maintenance/reencrypt",
    summary: "Confirm a re-encryption",
    security: "ui_session",
    tag: "dashboard",
    responses: { 200: { description: "HTML confirmation form" }, 303: { description: "To the sign-in form" } },
  },
  {
    method: "post",
    path: "/ui/maintenance/reencrypt",
    summary: "Start (or resume) the re-encryption (needs the CSRF token)",
    security: "ui_session",
    tag: "dashboard",
    body: reencryptFormSchema,
    bodyType: "form",
    responses: {
      303: { description: "To the maintenance page" },
      401: { description: "No session" },
      403: { description: "CSRF token missing or wrong" },
      503: { description: "The encryption keys are not configured" },
    },
  },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This document",
    security: "none",
    tag: "ops",
    responses: { 200: { description: "OpenAPI 3.1" } },
  },
];
