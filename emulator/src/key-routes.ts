/** Keys (reference §4): PostKeys, ListKeys, ListAppKeys, GetKey, PatchKeys, DeleteKey. All PATAuth. */
import { type Context, Hono } from "hono";
import * as z from "zod";
import { authenticate, requirePat, requireScopes, resolveUser } from "./auth.ts";
import { appRef, body, newKey } from "./body.ts";
import { ClarifaiFailure, reply } from "./envelope.ts";
import { normaliseScope, type Operation } from "./scopes.ts";
import { queryBool } from "./query.ts";
import type { KeyRecord, State } from "./state.ts";
import { keyView, page } from "./views.ts";

function caller(state: State, c: Context, op: Operation) {
  const key = authenticate(state, c);
  requirePat(key);
  requireScopes(key, op);
  return { key, user: resolveUser(state, key, c.req.param("user_id")!) };
}

export function keyRoutes(state: State) {
  const list = (c: Context) => c.set("listKey" as never, "keys" as never);
  return new Hono()
    .post("/v2/users/:user_id/keys", async (c) => {
      list(c);
      const { user } = caller(state, c, "PostKeys");
      const req = await body(c, z.object({ keys: z.array(newKey).min(1).max(128) }));
      const made: KeyRecord[] = req.keys.map((k) => buildKey(state, user, k));
      for (const k of made) state.keys.set(k.id, k);
      return reply(c, 10000, { keys: made.map(keyView) });
    })
    .get("/v2/users/:user_id/keys", (c) => {
      list(c);
      const { user } = caller(state, c, "ListKeys");
      const q = new URL(c.req.url).searchParams;
      const type = q.get("type");
      const notExpired = queryBool(q, "not_expired");
      const scopes = q.getAll("scopes").map(normaliseScope);
      const now = state.now().getTime();
      const all = [...state.keys.values()].filter(
        (k) =>
          k.user_id === user &&
          (!type || k.type === type) &&
          (!notExpired || !k.expires_at || Date.parse(k.expires_at) > now) &&
          scopes.every((s) => k.scopes.includes(s)),
      );
      return reply(c, 10000, { keys: page(all, q).map(keyView) });
    })
    .get("/v2/users/:user_id/apps/:app_id/keys", (c) => {
      list(c);
      const { user } = caller(state, c, "ListAppKeys");
      const appId = c.req.param("app_id");
      if (!state.hasApp(user, appId)) throw new ClarifaiFailure(11101, `App "${appId}" does not exist`);
      const all = [...state.keys.values()].filter((k) => k.user_id === user && k.apps.some((a) => a.id === appId));
      return reply(c, 10000, { keys: page(all, new URL(c.req.url).searchParams).map(keyView) });
    })
    .get("/v2/users/:user_id/keys/:key_id", (c) => {
      const { user } = caller(state, c, "GetKey");
      const k = state.keys.get(c.req.param("key_id"));
      if (!k || k.user_id !== user) throw new ClarifaiFailure(11101, "Key does not exist");
      return reply(c, 10000, { key: keyView(k) });
    })
    .patch("/v2/users/:user_id/keys", async (c) => {
      list(c);
      const { user } = caller(state, c, "PatchKeys");
      const req = await body(
        c,
        z.object({
          keys: z.array(
            z.object({
              id: z.string(),
              description: z.string().optional(),
              scopes: z.array(z.string()).optional(),
              endpoints: z.array(z.string()).optional(),
              expires_at: z.iso.datetime({ offset: true }).optional(),
              apps: z.array(appRef).optional(),
            }),
          ).min(1),
          action: z.literal("overwrite").default("overwrite"),
        }),
      );
      const targets = req.keys.map((p) => {
        const k = state.keys.get(p.id);
        if (!k || k.user_id !== user) throw new ClarifaiFailure(11101, "Key does not exist");
        return [k, p] as const;
      });
      for (const [k, p] of targets) {
        if (p.description !== undefined) k.description = p.description;
        if (p.scopes !== undefined) k.scopes = p.scopes.map(normaliseScope);
        if (p.endpoints !== undefined) k.endpoints = p.endpoints;
        if (p.expires_at !== undefined) k.expires_at = p.expires_at;
      }
      return reply(c, 10000, { keys: targets.map(([k]) => keyView(k)) });
    })
    .delete("/v2/users/:user_id/keys/:key_id", (c) => {
      const { user } = caller(state, c, "DeleteKey");
      const id = c.req.param("key_id");
      const k = state.keys.get(id);
      if (!k || k.user_id !== user) throw new ClarifaiFailure(11101, "Key does not exist");
      state.keys.delete(id);
      return reply(c, 10000);
    });
}

/** Builds a key as PostKeys does; shared with the control route that mints keys without auth. */
export function buildKey(state: State, user: string, k: z.infer<typeof newKey>): KeyRecord {
  const type = k.type ?? "app_specific_key";
  const apps = (k.apps ?? []).map((a) => ({ id: a.id, user_id: a.user_id ?? user }));
  if (type === "personal_access_token" && apps.length > 0) {
    throw new ClarifaiFailure(11102, "A personal access token cannot be bound to apps");
  }
  if (type === "app_specific_key") {
    if (apps.length !== 1) throw new ClarifaiFailure(11102, "An app-specific key must name exactly one app");
    const app = apps[0]!;
    if (app.user_id !== user || !state.hasApp(user, app.id)) {
      throw new ClarifaiFailure(11101, `App "${app.id}" does not exist`);
    }
  }
  return {
    id: state.newKeyId(),
    user_id: user,
    type,
    description: k.description ?? "",
    scopes: [...new Set((k.scopes ?? []).map(normaliseScope))],
    endpoints: k.endpoints ?? [],
    apps,
    created_at: state.timestamp(),
    ...(k.expires_at ? { expires_at: k.expires_at } : {}),
    ...(k.authorized_idp_ids?.length ? { authorized_idp_ids: k.authorized_idp_ids } : {}),
    ...(k.organization_id ? { organization_id: k.organization_id } : {}),
  };
}
