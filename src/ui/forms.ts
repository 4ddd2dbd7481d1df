/**
 * Form bodies (application/x-www-form-urlencoded), validated with zod like every other input.
 * Errors name the failing fields and zod's issue codes only, never a submitted value: the sign-in
 * form carries the admin token.
 */
import type { Context } from "hono";
import * as z from "zod";
import { AppError } from "../http/app-error.ts";

export async function formBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "")) {
    throw new AppError(415, "unsupported_media_type", 'The form must be sent as "application/x-www-form-urlencoded"');
  }
  const fields: Record<string, string> = {};
  // Read as bytes: workerd warns when .text() is called on a form body.
  for (const [name, value] of new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()))) {
    if (Object.hasOwn(fields, name)) throw new AppError(400, "invalid_request", "A form field appears more than once");
    fields[name] = value;
  }
  const parsed = schema.safeParse(fields);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), code: i.code }));
    throw new AppError(400, "invalid_request", "The form does not match the schema", { issues });
  }
  return parsed.data;
}

export function queryOf<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw new AppError(400, "invalid_request", "The query does not match the schema");
  return parsed.data;
}

/** Credential and rotation ids in paths and queries: `cred_…`, `rot_…`. */
export const idSchema = z.string().min(1).max(64).regex(/^[a-z]{1,20}_[0-9a-z]{1,40}$/);
