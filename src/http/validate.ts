/**
 * Input validation with the error envelope. Only the failing paths and zod's issue codes are
 * returned: echoing the input (or zod's messages, which can quote it) could echo a secret.
 */
import type { Context } from "hono";
import type * as z from "zod";
import { AppError } from "./app-error.ts";

/**
 * A path id (`/v1/credentials/:id`) checked against its schema before anything reads storage: an
 * id no record can have (512 bytes, say, past KV's key limit) is simply not found.
 */
export function pathId(c: Context, schema: z.ZodType<string>, notFound: AppError): string {
  const parsed = schema.safeParse(c.req.param("id"));
  if (!parsed.success) throw notFound;
  return parsed.data;
}

function invalid(error: z.ZodError, message = "The request does not match the schema"): AppError {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), code: i.code }));
  return new AppError(400, "invalid_request", message, { issues });
}

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S, opts: { optional?: boolean } = {}): Promise<z.infer<S>> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text !== "" || !opts.optional) {
    if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
      throw new AppError(415, "unsupported_media_type", 'The request body must be "application/json"');
    }
    try {
      raw = JSON.parse(text);
    } catch {
      throw new AppError(400, "invalid_json", "The request body is not valid JSON");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}

/**
 * A form body (application/x-www-form-urlencoded), for the dashboard. A field given twice is
 * refused rather than guessed at. As above, no submitted value is echoed: the sign-in form
 * carries the admin token.
 */
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
  if (!parsed.success) throw invalid(parsed.error, "The form does not match the schema");
  return parsed.data;
}

export function query<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}
