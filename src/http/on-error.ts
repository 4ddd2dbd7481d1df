import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "./app-error.ts";

export interface ErrorDescription {
  status: ContentfulStatusCode;
  code: string;
  message: string;
  /** An AppError's extra fields (e.g. validation issues), for the JSON envelope. */
  extra?: Record<string, unknown>;
}

/**
 * What a thrown error becomes, for the JSON envelope here and the dashboard's HTML error page.
 * Unknown errors become a generic 500 that says nothing about the cause: an exception message
 * may carry upstream text, so only its class name is logged (here, once), with the method and
 * the route's pattern: never the request path, which may hold a pasted token, nor any body.
 */
export function describeError(error: Error, c: Context): ErrorDescription {
  if (error instanceof AppError) {
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      ...(error.extra ? { extra: error.extra } : {}),
    };
  }
  if (error instanceof HTTPException) {
    // Hono's own middleware (e.g. a malformed request it refuses) throws these.
    const status = error.status;
    const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "bad_request";
    return { status, code, message: status === 413 ? "Request body is too large" : "Request refused" };
  }
  console.error(
    JSON.stringify({
      level: "error",
      msg: "unhandled error",
      error: error.name,
      method: c.req.method,
      route: c.req.routePath,
    }),
  );
  return { status: 500, code: "internal_error", message: "Internal error" };
}

/** Maps every thrown error to the `{"error":{"code","message"}}` envelope. */
export function onError(error: Error, c: Context): Response {
  const { status, code, message, extra } = describeError(error, c);
  return c.json({ error: { code, message, ...extra } }, status);
}

export function notFound(c: Context): Response {
  // The path is not echoed: a client that put a token in it (a mistyped URL) would get it back
  // in the body, and from there into proxies' and clients' logs.
  return c.json({ error: { code: "not_found", message: `No route for ${c.req.method} on this path` } }, 404);
}
