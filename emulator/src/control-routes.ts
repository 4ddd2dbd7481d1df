/**
 * The emulator's own control surface under /_emulator/ (clearly not Clarifai's). Its contract is
 * relied on by tests, demos and outside checkers: keep it exactly. See emulator/README.md.
 */
import { Hono } from "hono";
import * as z from "zod";
import { keyType } from "./body.ts";
import { ClarifaiFailure } from "./envelope.ts";
import { buildKey } from "./key-routes.ts";
import type { State } from "./state.ts";
import { keyView, secretView } from "./views.ts";

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/);

async function json<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S> | null> {
  try {
    const parsed = schema.safeParse(await req.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function controlRoutes(state: State) {
  const bad = (c: { json: (b: unknown, s: 400 | 404) => Response }, message: string, status: 400 | 404 = 400) =>
    c.json({ error: message }, status);
  return new Hono()
    .post("/_emulator/users", async (c) => {
      const b = await json(c.req.raw, z.object({ id }));
      if (!b) return bad(c, 'Body must be {"id"}');
      return c.json({ user: state.addUser(b.id) });
    })
    .post("/_emulator/users/:user_id/apps", async (c) => {
      const b = await json(c.req.raw, z.object({ id }));
      if (!b) return bad(c, 'Body must be {"id"}');
      if (!state.users.has(c.req.param("user_id"))) return bad(c, "No such user", 404);
      return c.json({ app: state.addApp(c.req.param("user_id"), b.id) });
    })
    .post("/_emulator/users/:user_id/keys", async (c) => {
      const b = await json(
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
    .post("/_emulator/faults", async (c) => {
      const b = await json(
        c.req.raw,
        z.object({
          method: z.string().min(1),
          path: z.string().startsWith("/"),
          count: z.number().int().min(1).default(1),
          status: z.number().int().min(100).max(599).optional(),
          code: z.number().int().optional(),
          delay_ms: z.number().int().min(0).max(120_000).optional(),
          drop: z.boolean().optional(),
          drop_after: z.boolean().optional(),
          location: z.url().optional(),
        }).refine((f) => f.location === undefined || f.status === undefined || (f.status >= 300 && f.status < 400)),
      );
      if (!b) {
        return bad(
          c,
          'Body must be {"method","path","count","status","code","delay_ms","drop","drop_after","location"}',
        );
      }
      state.faults.push(b);
      return c.json({ fault: b });
    })
    // Pending faults (each with the count it has left), and the calls a delay is holding open now.
    .get("/_emulator/faults", (c) => c.json({ faults: state.faults, held: state.held }))
    .delete("/_emulator/faults", (c) => {
      state.faults = [];
      return c.json({ faults: [] });
    })
    .post("/_emulator/reset", (c) => {
      state.reset();
      return c.json({ reset: true });
    })
    .get("/_emulator/state", (c) =>
      c.json({
        users: [...state.users.values()],
        apps: [...state.apps.values()],
        keys: [...state.keys.values()].map((k) => ({ ...keyView(k), user_id: k.user_id })),
        secrets: [...state.secrets.values()].map(secretView),
        calls: state.calls,
      }));
}
