/**
 * The emulator's own control surface under /_emulator/ (clearly not Clarifai's). Its contract is
 * relied on by tests, demos and outside checkers: keep it exactly. See emulator/README.md.
 */
import { Hono } from "hono";
import * as z from "zod";
import { keyType } from "./body.ts";
import { ClarifaiFailure } from "./envelope.ts";
import { buildKey } from "./key-routes.ts";
import { faultRoutes, faultSpec, readJson } from "./fault-routes.ts";
import type { State } from "./state.ts";
import { keyView, secretView } from "./views.ts";

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/);

/** A redirect fault: `location`, with a 3xx `status` if any (the default is 307). */
const clarifaiFault = faultSpec.extend({ location: z.url().optional() }).refine((f) =>
  f.location === undefined || f.status === undefined || (f.status >= 300 && f.status < 400)
);

export function controlRoutes(state: State) {
  const bad = (c: { json: (b: unknown, s: 400 | 404) => Response }, message: string, status: 400 | 404 = 400) =>
    c.json({ error: message }, status);
  return new Hono()
    .post("/_emulator/users", async (c) => {
      const b = await readJson(c.req.raw, z.object({ id }));
      if (!b) return bad(c, 'Body must be {"id"}');
      return c.json({ user: state.addUser(b.id) });
    })
    .post("/_emulator/users/:user_id/apps", async (c) => {
      const b = await readJson(c.req.raw, z.object({ id }));
      if (!b) return bad(c, 'Body must be {"id"}');
      if (!state.users.has(c.req.param("user_id"))) return bad(c, "No such user", 404);
      return c.json({ app: state.addApp(c.req.param("user_id"), b.id) });
    })
    .post("/_emulator/users/:user_id/keys", async (c) => {
      const b = await readJson(
        c.req.raw,
        z.object({
          type: keyType,
          scopes: z.array(z.string()).default([]),
          apps: z.array(z.object({ id: z.string(), user_id: z.string().optional() })).default([]),
          description: z.string().default(""),
          endpoints: z.array(z.string()).optional(),
          authorized_idp_ids: z.array(z.string()).optional(),
          organization_id: z.string().optional(),
          expires_at: z.iso.datetime({ offset: true }).optional(),
          // Backdating or postdating a key: as if it had been made at another time (RFC 3339).
          created_at: z.iso.datetime({ offset: true }).optional(),
        }),
      );
      if (!b) return bad(c, 'Body must be {"type","scopes","apps","description"}');
      const user = c.req.param("user_id");
      if (!state.users.has(user)) return bad(c, "No such user", 404);
      try {
        const { created_at, ...fields } = b;
        const key = { ...buildKey(state, user, fields), ...(created_at ? { created_at } : {}) };
        state.keys.set(key.id, key);
        return c.json({ key: keyView(key) });
      } catch (error) {
        if (error instanceof ClarifaiFailure) return bad(c, error.details ?? "Invalid key");
        throw error;
      }
    })
    // POST, GET and DELETE /_emulator/faults, POST /_emulator/reset; GET lists the calls held too.
    .route("/", faultRoutes(state, clarifaiFault, { held: () => state.held }))
    .get("/_emulator/state", (c) =>
      c.json({
        users: [...state.users.values()],
        apps: [...state.apps.values()],
        keys: [...state.keys.values()].map((k) => ({ ...keyView(k), user_id: k.user_id })),
        secrets: [...state.secrets.values()].map(secretView),
        calls: state.calls,
      }));
}
