import { Hono } from "hono/tiny";
import type { AppEnv } from "../../app-env.ts";
import { rotationIdSchema } from "../../core/bus/fields.ts";
import { refused } from "../../http/on-error.ts";
import { pathId } from "../../http/validate.ts";
import { rotationView } from "./views.ts";

export const rotations = new Hono<AppEnv>().get("/:id", async (c) => {
  // An id no rotation can have (a 512-byte one is past KV's key limit) is not found before storage is read.
  const notFound = refused("rotation_not_found", "No such rotation");
  const found = await c.var.services.store.findRotation(pathId(c, rotationIdSchema, notFound));
  if (!found) throw notFound;
  // The id lookup may lag; the credential's own copy is authoritative, so prefer it.
  const strong = await c.var.services.store.getRotation(found.credential_id, found.id);
  return c.json({ rotation: rotationView(strong?.value ?? found) });
});
