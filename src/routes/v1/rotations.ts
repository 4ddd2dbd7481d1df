import { Hono } from "hono";
import type { AppEnv } from "../../app-env.ts";
import { AppError } from "../../http/app-error.ts";
import { rotationView } from "./views.ts";

export const rotations = new Hono<AppEnv>().get("/:id", async (c) => {
  const found = await c.var.deps.store.findRotation(c.req.param("id"));
  if (!found) throw new AppError(404, "rotation_not_found", "No such rotation");
  // The id lookup may lag; the credential's own copy is authoritative, so prefer it.
  const strong = await c.var.deps.store.getRotation(found.credential_id, found.id);
  return c.json({ rotation: rotationView(strong?.value ?? found) });
});
