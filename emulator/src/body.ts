/** Request bodies: JSON parsed and shape-checked with zod; anything off is 11100, never a 500. */
import type { Context } from "hono";
import * as z from "zod";
import { ClarifaiFailure } from "./envelope.ts";

export async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = text === "" ? {} : JSON.parse(text);
  } catch {
    throw new ClarifaiFailure(11100, "Failed to parse the request body as JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join(".") || "body";
    throw new ClarifaiFailure(11100, `Invalid value at "${where}"`);
  }
  return parsed.data;
}

export const appRef = z.object({ id: z.string().min(1), user_id: z.string().optional() });
export const keyType = z.enum(["personal_access_token", "app_specific_key"]);
export const newKey = z.object({
  description: z.string().max(1000).optional(),
  scopes: z.array(z.string()).optional(),
  endpoints: z.array(z.string()).optional(),
  apps: z.array(appRef).optional(),
  type: keyType.optional(),
  // A google.protobuf.Timestamp in proto3 JSON is RFC 3339; anything else fails to parse (11100).
  expires_at: z.iso.datetime({ offset: true }).optional(),
  authorized_idp_ids: z.array(z.string()).optional(),
  organization_id: z.string().optional(),
});
