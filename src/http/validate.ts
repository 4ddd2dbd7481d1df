/**
 * Input validation with the error envelope. Only the failing paths and zod's issue codes are
 * returned: echoing the input (or zod's messages, which can quote it) could echo a secret.
 */
import type { Context } from "hono";
import type * as z from "zod";
import { AppError } from "./app-error.ts";

function invalid(error: z.ZodError): AppError {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), code: i.code }));
  return new AppError(400, "invalid_request", "The request does not match the schema", { issues });
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

export function query<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}
