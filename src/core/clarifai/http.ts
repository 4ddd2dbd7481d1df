/**
 * One Clarifai REST call: URL building, `Authorization: Key <token>`, a deadline, the envelope check
 * (`status.code` must be 10000 even on HTTP 2xx), error mapping and zod parsing of the payload.
 *
 * Security notes, made here because this is where values cross the wire:
 * - The token only ever goes into the Authorization header. A token that could not be a header value
 *   is refused before the call, so `fetch` never throws a TypeError that might quote it.
 * - Path ids are percent-encoded and `.`/`..` refused: the WHATWG URL parser would otherwise resolve
 *   a key id of `..` into a request against a different endpoint.
 * - Failures carry no URL, body or server `details` (see errors.ts), and no `cause`: a runtime's
 *   network error text may quote the URL, and the URL carries key ids.
 * - Redirects are never followed (`redirect: "manual"`): a followed redirect would send the path,
 *   and with it a key id (which is the token), to whatever host the `Location` names, and the other
 *   host's answer (a 404, say) would be read as Clarifai's. Clarifai's API does not redirect, so a
 *   3xx is a permanent `unexpected_redirect`, never `not_found`: a redirected delete is not a
 *   revocation.
 *
 * Runtime-neutral: fetch, AbortController, setTimeout.
 *
 * @module
 */
import type * as z from "zod/mini";
import { err, type ErrorValue, ok, type Result } from "../result.ts";
import { type ClarifaiErrorKind, type ClarifaiFailure, clarifaiFailure, kindOf, redact } from "./errors.ts";
import { envelopeSchema } from "./schemas.ts";

const SUCCESS = 10000;
// Visible ASCII without spaces: what an HTTP header value and a Clarifai key can both hold.
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

export interface TransportOptions {
  baseUrl: string;
  fetch: typeof fetch;
  timeoutMs: number;
  requestIdPrefix?: string | undefined;
}

type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

/** One call, as the method modules describe it. */
interface Call<S extends z.ZodMiniType> {
  operation: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  token: string;
  /** Path segments after the base URL, unencoded, e.g. `["v2", "users", userId, "keys"]`. */
  path: readonly string[];
  query?: Query | undefined;
  body?: unknown;
  schema: S;
  /** Values besides the token that must not leak into an error (key ids, secret values). */
  sensitive?: readonly string[] | undefined;
}

/** Resolves to the parsed payload or a {@link ClarifaiFailure}; never rejects. */
export type Send = <S extends z.ZodMiniType>(call: Call<S>) => Promise<Result<z.output<S>, ClarifaiFailure>>;

/** A `send` function bound to one base URL, fetch and timeout. */
export function createTransport(options: TransportOptions): Send {
  const base = options.baseUrl.replace(/\/+$/, "");
  return async (call) => {
    const fail = (kind: ClarifaiErrorKind, reason?: string) =>
      err(clarifaiFailure({ kind, operation: call.operation, reason }));
    if (!TOKEN_SHAPE.test(call.token)) return fail("invalid_key", "token is empty or not a valid header value");
    const url = buildUrl(base, call.path, call.query);
    if (!url) return fail("bad_request", "an id in the path is empty or a dot segment");

    const headers: Record<string, string> = { authorization: `Key ${call.token}`, accept: "application/json" };
    if (options.requestIdPrefix) headers["x-clarifai-request-id-prefix"] = options.requestIdPrefix;
    const init: RequestInit = { method: call.method, headers, redirect: "manual" };
    if (call.body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(call.body);
    }

    const exchanged = await exchange(options, url, init);
    if (!exchanged.ok) {
      return fail(exchanged.error.code, exchanged.error.code === "timeout" ? exchanged.error.message : undefined);
    }
    if (exchanged.value.redirected) {
      // The Location is not quoted: it may echo the path, and the path carries key ids.
      return err(
        clarifaiFailure({
          kind: "unexpected_redirect",
          operation: call.operation,
          httpStatus: exchanged.value.status || undefined,
        }),
      );
    }
    return interpret(call, exchanged.value);
  };
}

function buildUrl(base: string, path: readonly string[], query: Query | undefined): string | undefined {
  if (path.some((s) => s === "" || s === "." || s === "..")) return undefined;
  let url = `${base}/${path.map(encodeURIComponent).join("/")}`;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    // Repeated fields repeat the parameter (reference §1, "GET parameters").
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, String(v));
  }
  const qs = params.toString();
  if (qs) url += `?${qs}`;
  return url;
}

interface Exchanged {
  /** A 3xx, or (where fetch follows the browser rules) an opaque redirect with status 0. */
  redirected: boolean;
  status: number;
  text: string;
}

/**
 * fetch plus reading the body, under one deadline. The deadline races the promises itself rather
 * than trusting `fetch` to honour the signal, so a fetch implementation that ignores `signal`
 * (an in-process emulator, a test double of some runtime) still cannot hang a rotation.
 */
async function exchange(
  options: TransportOptions,
  url: string,
  init: RequestInit,
): Promise<Result<Exchanged, ErrorValue<"timeout" | "network">>> {
  const controller = new AbortController();
  let timedOut = false;
  let onTimeout: () => void = () => {};
  const deadline = new Promise<never>((_, reject) => {
    onTimeout = () => reject(new Error("deadline"));
  });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
    onTimeout();
  }, options.timeoutMs);
  try {
    const res = await Promise.race([options.fetch(url, { ...init, signal: controller.signal }), deadline]);
    if (isRedirect(res)) {
      await res.body?.cancel();
      return ok({ redirected: true, status: res.status, text: "" });
    }
    const text = await Promise.race([res.text(), deadline]);
    // Retry-After is not read: a throttled call is retried by the rotation's own jittered
    // exponential backoff (core/rotation/drive.ts), bounded so a drive fits its lease.
    return ok({ redirected: false, status: res.status, text });
  } catch {
    return err(
      timedOut
        ? { code: "timeout", message: `no answer within ${options.timeoutMs} ms` }
        : { code: "network", message: "network error" },
    );
  } finally {
    clearTimeout(timer);
  }
}

// workerd types Response.type as "default" | "error"; Deno and browsers also know "opaqueredirect".
const isRedirect = (res: Response) =>
  (res.type as string) === "opaqueredirect" || (res.status >= 300 && res.status < 400);

function interpret<S extends z.ZodMiniType>(call: Call<S>, res: Exchanged): Result<z.output<S>, ClarifaiFailure> {
  const base = { operation: call.operation, httpStatus: res.status };
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch {
    json = undefined;
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    // Not Clarifai talking (a proxy page, a truncated body): only the HTTP status says anything.
    const kind = res.status === 429 ? "throttled" : res.status >= 500 ? "server" : "unexpected";
    return err(clarifaiFailure({ ...base, kind, reason: "body is not a Clarifai response" }));
  }
  const { code, description, req_id: reqId } = envelope.data.status;
  const is2xx = res.status >= 200 && res.status < 300;
  if (!is2xx || code !== SUCCESS) {
    return err(
      clarifaiFailure({
        ...base,
        kind: kindOf(res.status, code),
        clarifaiCode: code,
        reqId,
        description: description === undefined
          ? undefined
          : redact(description, [call.token, ...(call.sensitive ?? [])]),
      }),
    );
  }
  const parsed = call.schema.safeParse(json);
  if (!parsed.success) {
    // Only the path of the first issue: zod messages are safe today, but a path never holds a value.
    const where = parsed.error.issues[0]?.path.join(".") || "(root)";
    return err(
      clarifaiFailure({
        ...base,
        kind: "unexpected",
        clarifaiCode: code,
        reqId,
        reason: `field "${where}" has an unexpected shape`,
      }),
    );
  }
  return ok(parsed.data);
}
