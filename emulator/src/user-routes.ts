/** Credential checks (reference §8): GetUser (PAT), MyScopes (any key), MyScopesUser (PAT). */
import { Hono } from "hono";
import { authenticate, requireEndpoint, requirePat, resolveUser } from "./auth.ts";
import { ClarifaiFailure, reply } from "./envelope.ts";
import type { KeyRecord, State } from "./state.ts";

export function userRoutes(state: State) {
  const myScopes = (key: KeyRecord) => {
    const app = key.apps[0];
    return {
      scopes: key.scopes,
      endpoints: key.endpoints,
      ...(app ? { app: { id: app.id, user_id: app.user_id } } : {}),
    };
  };
  return new Hono()
    .get("/v2/users/:user_id", (c) => {
      const key = authenticate(state, c);
      requirePat(key);
      requireEndpoint(key, "GetUser");
      const user = resolveUser(state, key, c.req.param("user_id"));
      return reply(c, 10000, { user: { id: user, created_at: state.users.get(user)!.created_at } });
    })
    .get("/v2/users/:user_id/myscopes", (c) => {
      const key = authenticate(state, c);
      requirePat(key);
      resolveUser(state, key, c.req.param("user_id"));
      return reply(c, 10000, { scopes: key.scopes, endpoints: key.endpoints });
    })
    .get("/v2/users/:user_id/apps/:app_id/myscopes", (c) => {
      const key = authenticate(state, c);
      const user = c.req.param("user_id") === "me" ? key.user_id : c.req.param("user_id");
      if (!state.hasApp(user, c.req.param("app_id"))) throw new ClarifaiFailure(11101, "App does not exist");
      return reply(c, 10000, myScopes(key));
    })
    .get("/v2/myscopes", (c) => reply(c, 10000, myScopes(authenticate(state, c))))
    .get("/v2/my_scopes", (c) => reply(c, 10000, myScopes(authenticate(state, c))));
}
