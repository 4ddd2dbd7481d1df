/**
 * GET /openapi.json: an OpenAPI 3.1 document generated from the zod schemas the routes validate
 * with (route-docs.ts), never written by hand. OpenAPI 3.1 uses JSON Schema 2020-12, which is what
 * zod 4's toJSONSchema emits; request bodies use the schema's input side (defaults optional),
 * responses the output side.
 */
import * as z from "zod/mini";
import { VERSION } from "../version.ts";
import { routeDocs, type Security } from "./route-docs.ts";
import { routeExamples } from "./examples.ts";

const SECURITY: Record<Exclude<Security, "none">, object> = {
  admin: { type: "http", scheme: "bearer", description: "REKEY_ADMIN_TOKEN (unless CF_ACCESS_REQUIRED=true)" },
  github_signature: {
    type: "apiKey",
    in: "header",
    name: "Github-Public-Key-Signature",
    description: "ECDSA P-256 over the raw body; key chosen by Github-Public-Key-Identifier",
  },
  github_webhook_signature: {
    type: "apiKey",
    in: "header",
    name: "X-Hub-Signature-256",
    description: "sha256= hex HMAC-SHA256 of the raw body (GITHUB_WEBHOOK_SECRET)",
  },
  standard_webhooks: {
    type: "apiKey",
    in: "header",
    name: "webhook-signature",
    description:
      "Standard Webhooks v1 HMAC over webhook-id.webhook-timestamp.body (ALERT_WEBHOOK_SECRET), 5 minute window",
  },
  slack_signature: {
    type: "apiKey",
    in: "header",
    name: "X-Slack-Signature",
    description: "v0= HMAC-SHA256 of v0:{X-Slack-Request-Timestamp}:{raw body} (SLACK_SIGNING_SECRET), 5 minute window",
  },
  discord_signature: {
    type: "apiKey",
    in: "header",
    name: "X-Signature-Ed25519",
    description: "Ed25519 over X-Signature-Timestamp + raw body (DISCORD_PUBLIC_KEY), 5 minute window",
  },
  ui_session: {
    type: "apiKey",
    in: "cookie",
    name: "__Host-rekey_session",
    description:
      "Dashboard session from POST /ui/sign-in (HttpOnly, Secure, SameSite=Strict, 30 minutes); forms also carry a CSRF token",
  },
};

/** Admin routes take the admin token or, behind Cloudflare Access, the Access assertion instead. */
const ACCESS_SCHEME = {
  type: "apiKey",
  in: "header",
  name: "Cf-Access-Jwt-Assertion",
  description:
    "Cloudflare Access JWT (RS256, iss CF_ACCESS_TEAM_DOMAIN, aud CF_ACCESS_AUD); its email or common_name is the actor",
};

const securityOf = (s: Exclude<Security, "none">) =>
  s === "admin" || s === "ui_session" ? [{ [s]: [] }, { cloudflare_access: [] }] : [{ [s]: [] }];

function schema(s: z.ZodMiniType, io: "input" | "output") {
  const { $schema: _, ...json } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return json;
}

function queryParams(s: z.ZodMiniType) {
  const json = schema(s, "input") as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, p]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    schema: p,
  }));
}

export function openApiDocument() {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routeDocs) {
    const ex = routeExamples[`${r.method} ${r.path}`];
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const op = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.security === "none" ? { security: [] } : { security: securityOf(r.security) }),
      parameters: [...params, ...(r.query ? queryParams(r.query) : [])],
      ...(r.body
        ? {
          requestBody: {
            required: (r.method === "post" && r.path === "/v1/credentials") || r.method === "patch",
            content: {
              [r.bodyType === "form" ? "application/x-www-form-urlencoded" : "application/json"]: {
                schema: schema(r.body, "input"),
                ...(ex?.body !== undefined ? { example: ex.body } : {}),
              },
            },
          },
        }
        : {}),
      responses: Object.fromEntries(
        Object.entries(r.responses).map((
          [status, res],
        ) => [status, {
          description: res.description,
          ...(res.schema
            ? {
              content: {
                "application/json": {
                  schema: schema(res.schema, "output"),
                  ...(ex?.responses?.[Number(status)] !== undefined ? { example: ex.responses[Number(status)] } : {}),
                },
              },
            }
            : {}),
        }]),
      ),
    };
    (paths[r.path] ??= {})[r.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "rekey",
      version: VERSION,
      description: "Revoke and replace leaked or aged Clarifai credentials. Responses never contain secret values.",
    },
    paths,
    components: { securitySchemes: { ...SECURITY, cloudflare_access: ACCESS_SCHEME } },
  };
}
