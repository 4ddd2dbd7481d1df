import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError } from "./app-error.ts";

/**
 * Maps every thrown error to the `{"error":{"code","message"}}` envelope.
 * Unknown errors become a generic 500 whose body says nothing about the cause: an exception
 * message may carry upstream text, so only its class name is logged.
 */
export function onError(error: Error, c: Context): Response {
  if (error instanceof AppError) {
    return c.json({ error: { code: error.code, message: error.message, ...error.extra } }, error.status);
  }
  if (error instanceof HTTPException) {
    // Hono's own middleware (e.g. a malformed request it refuses) throws these.
    const status = error.status;
    const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "bad_request";
    return c.json({ error: { code, message: status === 413 ? "Request body is too large" : "Request refused" } }, status);
  }
  console.error(JSON.stringify({ level: "error", msg: "unhandled error", error: error.name, path: c.req.path }));
  return c.json({ error: { code: "internal_error", message: "Internal error" } }, 500);
}

export function notFound(c: Context): Response {
  // The path is not echoed: a client that put a token in it (a mistyped URL) would get it back
  // in the body, and from there into proxies' and clients' logs.
  return c.json({ error: { code: "not_found", message: `No route for ${c.req.method} on this path` } }, 404);
}
