/**
 * Clarifai's response envelope: `{"status": {code, description, details?, req_id}, ...}` with a
 * numeric code, plus whatever list key the endpoint always returns (`keys: []`, `secrets: []`,
 * present on errors too because of `cl_show_if_empty`).
 */
import type { Context } from "hono";
import { DESCRIPTIONS, httpStatusFor } from "./status-codes.ts";

export type Extra = Record<string, unknown>;

export function reqId(c: Context): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  const prefix = c.req.header("x-clarifai-request-id-prefix");
  return prefix ? `${prefix}-${hex}` : hex;
}

export function reply(c: Context, code: number, body: Extra = {}, details?: string): Response {
  c.set("statusCode" as never, code as never);
  const status = {
    code,
    description: DESCRIPTIONS[code] ?? "Failure",
    ...(details ? { details } : {}),
    req_id: reqId(c),
  };
  return c.json({ status, ...body }, httpStatusFor(code) as 200);
}

/** An error reply that still carries the endpoint's always-present list key, if it has one. */
export function fail(c: Context, code: number, details?: string): Response {
  const listKey = c.get("listKey" as never) as string | undefined;
  return reply(c, code, listKey ? { [listKey]: [] } : {}, details);
}

export class ClarifaiFailure extends Error {
  constructor(
    readonly code: number,
    readonly details?: string,
  ) {
    super(details ?? String(code));
  }
}
