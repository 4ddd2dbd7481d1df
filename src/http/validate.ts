/**
 * Input validation with the error envelope. Only the failing paths and zod's issue codes are
 * returned: echoing the input (or zod's messages, which can quote it) could echo a secret.
 *
 * Every string that comes in (JSON values and keys, query and form fields) must be well-formed
 * Unicode: JSON's `\ud800` escapes make strings with a lone UTF-16 surrogate, which TextEncoder
 * silently turns into U+FFFD, so a value would be fingerprinted, sealed or sent to Clarifai as
 * something other than what was sent. They are refused with a 400 before any schema runs.
 */
import type { Context } from "hono";
import type * as z from "zod/mini";
import type { VerifyError } from "../core/inbound/verify-common.ts";
import type { Failure } from "../core/failure.ts";
import { refused } from "./on-error.ts";

// With the u flag a well-formed pair is one code point, so only a lone surrogate matches.
const LONE_SURROGATE = /\p{Cs}/u;
// A path segment is shown only if it reads like one of our field names (snake_case words, no
// digits): object keys are the sender's, and a key could be a pasted token.
const FIELD_NAME = /^[a-z]{1,16}(_[a-z]{1,16}){0,4}$/;

/**
 * The path of the first string in `value` (an object key included) holding a lone surrogate, or
 * undefined. Iterative, so a deeply nested body cannot overflow the stack.
 */
export function loneSurrogatePath(value: unknown): string | undefined {
  const stack: [unknown, string[]][] = [[value, []]];
  const show = (path: string[]) =>
    path.map((p) => (FIELD_NAME.test(p) || /^\d{1,6}$/.test(p) ? p : "*")).join(".") || "(root)";
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      if (LONE_SURROGATE.test(v)) return show(path);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, [...path, String(i)]]));
    } else if (typeof v === "object" && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        if (LONE_SURROGATE.test(k)) return show([...path, "*"]);
        stack.push([item, [...path, k]]);
      }
    }
  }
  return undefined;
}

/**
 * Whether JSON text could hold a surrogate at all: a `\uD800`-`\uDFFF` escape or a raw surrogate
 * code unit (paired or not: no `u` flag). Text decoded from bytes has no lone raw surrogates, so
 * almost every body is cleared by this one scan and the walk below is skipped (a GitHub batch is
 * 10,000 objects to walk).
 */
const MAYBE_SURROGATE = /\\u[dD][89a-fA-F]|[\uD800-\uDFFF]/;

/** `requireWellFormed` for a value parsed from `text`. */
function requireWellFormedJson(text: string, value: unknown): void {
  if (MAYBE_SURROGATE.test(text)) requireWellFormed(value);
}

/** Throws the 400 for a lone surrogate anywhere in `value`. */
function requireWellFormed(value: unknown): void {
  const path = loneSurrogatePath(value);
  if (path !== undefined) {
    throw refused("invalid_request", "A string field is not valid Unicode (it holds a lone surrogate)", {
      issues: [{ path, code: "invalid_unicode" }],
    });
  }
}

/**
 * A path id (`/v1/credentials/:id`) checked against its schema before anything reads storage: an
 * id no record can have (512 bytes, say, past KV's key limit) is simply not found.
 */
export function pathId(c: Context, schema: z.ZodMiniType<string>, notFound: Failure<"refused">): string {
  const parsed = schema.safeParse(c.req.param("id"));
  if (!parsed.success) throw notFound;
  return parsed.data;
}

function invalid(error: z.core.$ZodError, message = "The request does not match the schema"): Failure<"refused"> {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), code: i.code }));
  return refused("invalid_request", message, { issues });
}

export async function jsonBody<S extends z.ZodMiniType>(
  c: Context,
  schema: S,
  opts: { optional?: boolean } = {},
): Promise<z.infer<S>> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text !== "" || !opts.optional) {
    if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
      throw refused("unsupported_media_type", 'The request body must be "application/json"');
    }
    try {
      raw = JSON.parse(text);
    } catch {
      throw refused("invalid_json", "The request body is not valid JSON");
    }
    requireWellFormedJson(text, raw);
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
export async function formBody<S extends z.ZodMiniType>(c: Context, schema: S): Promise<z.infer<S>> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "")) {
    throw refused("unsupported_media_type", 'The form must be sent as "application/x-www-form-urlencoded"');
  }
  const fields: Record<string, string> = {};
  // Read as bytes: workerd warns when .text() is called on a form body.
  for (const [name, value] of new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()))) {
    if (Object.hasOwn(fields, name)) throw refused("invalid_request", "A form field appears more than once");
    fields[name] = value;
  }
  requireWellFormed(fields);
  const parsed = schema.safeParse(fields);
  if (!parsed.success) throw invalid(parsed.error, "The form does not match the schema");
  return parsed.data;
}

export function query<S extends z.ZodMiniType>(c: Context, schema: S): z.infer<S> {
  const raw = c.req.query();
  requireWellFormed(raw);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}

/**
 * The four signed routes (GitHub partner alerts, Standard Webhooks alerts, Slack, Discord) verify
 * the signature over the raw bytes first, then read them with the helpers below: the same 400
 * envelope as the rest of the API, with code `invalid_request` (their contract) and the route's own
 * message. Nothing is parsed before the signature verifies, so unauthenticated input never reaches
 * a parser.
 */

/** One mapping of a signature verifier's refusal, for every signed route. `configured` names the key's variable. */
export function signatureRefused(error: VerifyError, what: string, configured: string): Failure<"refused"> {
  switch (error.code) {
    // Our own key or secret is unusable: a configuration error, not the sender's (503, so senders retry).
    case "invalid_key":
      return refused("not_configured", `Cannot serve this route: "${configured}" is not a usable key`);
    case "timestamp_out_of_window":
      return refused("stale_timestamp", `The ${what} signature's timestamp is outside the 5 minute window`);
    case "invalid_timestamp":
      return refused("invalid_timestamp", `The ${what} signature's timestamp is not a number of seconds`);
    default:
      return refused("invalid_signature", `The ${what} signature does not verify`);
  }
}

/** Verified bytes (or a verified form field) as JSON, well-formed Unicode; `message` says what was expected. */
export function signedJson(body: Uint8Array | string, message: string): unknown {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw refused("invalid_request", `${message}: the body is not JSON`);
  }
  requireWellFormedJson(text, json);
  return json;
}

/** Verified bytes as a form (application/x-www-form-urlencoded). As `formBody`, a field given twice is refused. */
export function signedForm(body: Uint8Array): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(new TextDecoder().decode(body))) {
    if (Object.hasOwn(fields, name)) throw refused("invalid_request", "A form field appears more than once");
    fields[name] = value;
  }
  requireWellFormed(fields);
  return fields;
}

/** A signed route's parsed input checked against its schema: 400 with the failing paths and zod codes. */
export function validated<S extends z.ZodMiniType>(schema: S, input: unknown, message: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalid(parsed.error, message);
  return parsed.data;
}
