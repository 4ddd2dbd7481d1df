/**
 * The fault and reset part of an emulator's control surface (`/_emulator/faults`,
 * `/_emulator/reset`), one implementation for the Clarifai and Cloudflare emulators. These routes
 * are a contract that tests, demos and tools rely on (emulator/README.md, pinned by
 * fault-routes.test.ts): each emulator brings its own fault fields (its schema) and its own world
 * to forget; the answers are the same on both: `{"fault"}` for a fault taken, 400 `{"error"}`
 * naming the fields for a body refused, `{"faults": []}` when cleared, `{"reset": true}`.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { HeldCall } from "./state.ts";

/** A control call's JSON body read with `schema`: null when it is not JSON or not that shape. */
export async function readJson<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S> | null> {
  try {
    const parsed = schema.safeParse(await req.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * A fault as every emulator takes it: the next `count` calls matching `method` and `path` (`*`
 * matches one segment) answer `status` with the emulator's error `code`, wait `delay_ms` first,
 * or lose the connection (`drop` before serving; `drop_after` after, so the call's effect commits
 * and only its answer is lost). An emulator may `extend` it with fields of its own.
 */
export const faultSpec = z.object({
  method: z.string().min(1),
  path: z.string().startsWith("/"),
  count: z.number().int().min(1).default(1),
  status: z.number().int().min(100).max(599).optional(),
  code: z.number().int().optional(),
  delay_ms: z.number().int().min(0).max(120_000).optional(),
  drop: z.boolean().optional(),
  drop_after: z.boolean().optional(),
});
export type FaultSpec = z.output<typeof faultSpec>;

/** What the routes act on: an emulator's pending faults, and the whole world a reset forgets. */
export interface FaultTable<F> {
  faults: F[];
  /** Forgets everything the emulator holds, its pending faults included. */
  reset(): void;
}

/**
 * POST and DELETE /_emulator/faults and POST /_emulator/reset over `table`, faults read with
 * `schema`. GET /_emulator/faults (the pending faults and, from `held`, the calls a delay holds
 * open) only where the emulator has it: the Clarifai emulator does, the Cloudflare one does not.
 */
export function faultRoutes<S extends z.ZodObject>(
  table: FaultTable<z.output<S>>,
  schema: S,
  options: { held?: () => readonly HeldCall[] } = {},
) {
  const fields = Object.keys(schema.shape).map((k) => `"${k}"`).join(",");
  const routes = new Hono()
    .post("/_emulator/faults", async (c) => {
      const fault = await readJson(c.req.raw, schema);
      if (!fault) return c.json({ error: `Body must be {${fields}}` }, 400);
      table.faults.push(fault);
      return c.json({ fault });
    })
    .delete("/_emulator/faults", (c) => {
      table.faults = [];
      return c.json({ faults: [] });
    })
    .post("/_emulator/reset", (c) => {
      table.reset();
      return c.json({ reset: true });
    });
  const { held } = options;
  if (held) routes.get("/_emulator/faults", (c) => c.json({ faults: table.faults, held: held() }));
  return routes;
}
