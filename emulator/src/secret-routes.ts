/**
 * Environment secrets (reference §5): PostSecrets, ListSecrets, GetSecret, PatchSecrets (body field
 * `secret`, singular, with `action`), DeleteSecrets (ids in a JSON body). PATAuth.
 */
import { type Context, Hono } from "hono";
import * as z from "zod";
import { authenticate, requirePat, requireScopes, resolveUser } from "./auth.ts";
import { body } from "./body.ts";
import { ClarifaiFailure, reply } from "./envelope.ts";
import type { Operation } from "./scopes.ts";
import type { SecretRecord, State } from "./state.ts";
import { page, secretView } from "./views.ts";

const EPOCH = "1970-01-01T00:00:00Z";
const secretId = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/);

export function secretRoutes(state: State) {
  // GetSecret answers a SingleSecretResponse: no list key, so its errors carry no `secrets` field.
  // Every other secret endpoint answers a MultiSecretResponse, whose `secrets` is always present.
  const caller = (c: Context, op: Operation) => {
    if (op !== "GetSecret") c.set("listKey" as never, "secrets" as never);
    const key = authenticate(state, c);
    requirePat(key);
    requireScopes(key, op);
    return resolveUser(state, key, c.req.param("user_id")!);
  };
  const find = (user: string, id: string) => {
    const s = state.secrets.get(state.secretKey(user, id));
    if (!s) throw new ClarifaiFailure(11101, `Secret "${id}" does not exist`);
    return s;
  };
  return new Hono()
    .post("/v2/users/:user_id/secrets", async (c) => {
      const user = caller(c, "PostSecrets");
      const req = await body(
        c,
        z.object({
          secrets: z.array(
            z.object({
              id: secretId,
              value: z.string().max(65536),
              description: z.string().optional(),
              expires_at: z.string().optional(),
            }),
          ).min(1),
        }),
      );
      const ids = new Set<string>();
      for (const s of req.secrets) {
        if (ids.has(s.id) || state.secrets.has(state.secretKey(user, s.id))) {
          throw new ClarifaiFailure(40010, `Secret "${s.id}" already exists`);
        }
        ids.add(s.id);
      }
      const now = state.timestamp();
      const made: SecretRecord[] = req.secrets.map((s) => ({
        id: s.id,
        user_id: user,
        value: s.value,
        version: 1,
        description: s.description ?? "",
        created_at: now,
        modified_at: now,
        expires_at: s.expires_at ?? EPOCH,
      }));
      for (const s of made) state.secrets.set(state.secretKey(user, s.id), s);
      return reply(c, 10000, { secrets: made.map(secretView) });
    })
    .get("/v2/users/:user_id/secrets", (c) => {
      const user = caller(c, "ListSecrets");
      const all = [...state.secrets.values()].filter((s) => s.user_id === user);
      return reply(c, 10000, { secrets: page(all, new URL(c.req.url).searchParams).map(secretView) });
    })
    .get("/v2/users/:user_id/secrets/:id", (c) => {
      const user = caller(c, "GetSecret");
      return reply(c, 10000, { secret: secretView(find(user, c.req.param("id"))) });
    })
    .patch("/v2/users/:user_id/secrets", async (c) => {
      const user = caller(c, "PatchSecrets");
      const req = await body(
        c,
        z.object({
          secret: z.array(
            z.object({
              id: secretId,
              value: z.string().max(65536).optional(),
              description: z.string().optional(),
              expires_at: z.string().optional(),
            }),
          ).min(1),
          action: z.enum(["overwrite", "merge", "remove"]).default("overwrite"),
        }),
      );
      const targets = req.secret.map((p) => [find(user, p.id), p] as const);
      if (req.action === "remove") {
        // Clarifai's patch semantics: "remove deletes the listed items/ids" (api-guide patching).
        for (const [s] of targets) state.secrets.delete(state.secretKey(user, s.id));
        return reply(c, 10000, { secrets: targets.map(([s]) => secretView(s)) });
      }
      // As Clarifai's published example answers an overwrite (Clarifai/docs,
      // code_snippets/api-guide/authentication/secrets_patch_output.txt): the new value and
      // description, with `version` and `modified_at` as they were (1, and created_at).
      for (const [s, p] of targets) {
        if (p.value !== undefined) s.value = p.value;
        if (p.description !== undefined) s.description = p.description;
        if (p.expires_at !== undefined) s.expires_at = p.expires_at;
      }
      return reply(c, 10000, { secrets: targets.map(([s]) => secretView(s)) });
    })
    .delete("/v2/users/:user_id/secrets", async (c) => {
      const user = caller(c, "DeleteSecrets");
      const req = await body(c, z.object({ ids: z.array(secretId).min(1) }));
      for (const id of req.ids) find(user, id);
      for (const id of req.ids) state.secrets.delete(state.secretKey(user, id));
      return reply(c, 10000, { secrets: [] });
    });
}
