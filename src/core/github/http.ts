/**
 * One GitHub REST call: URL building, GitHub's required headers, a deadline, no redirects, and
 * the answer checked with zod.
 *
 * Security notes, made here because this is where tokens cross the wire:
 * - The token (an installation token, an App JWT or GITHUB_TOKEN) only ever goes into the
 *   Authorization header; a value that could not be one is refused before the call, so `fetch`
 *   never throws an error that might quote it.
 * - Path segments are percent-encoded and `.`/`..` refused, so a name cannot turn the call into
 *   another endpoint.
 * - Redirects are never followed (`redirect: "manual"`): the Authorization header would go with
 *   the request to wherever the Location names. GitHub's REST API answers a renamed repository
 *   with a 301; rekey treats it as `unexpected_redirect` (the sink or scope must be renamed too).
 * - Failures carry the operation, a kind and the HTTP status, never GitHub's message text, a URL
 *   or a body (./errors.ts).
 *
 * Headers: `Accept: application/vnd.github+json` and `X-GitHub-Api-Version: 2022-11-28`, as
 * GitHub's REST docs ask, and a `User-Agent` (GitHub refuses requests without one; workerd sends
 * none by default).
 *
 * Runtime-neutral: fetch, AbortController, setTimeout.
 */
import type * as z from "zod/mini";
import { type GithubErrorKind, githubFailure, kindOfStatus } from "./errors.ts";
import { isFailure } from "../failure.ts";

const GITHUB_API_VERSION = "2022-11-28";
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

export interface GithubHttpOptions {
  baseUrl: string;
  fetch: typeof fetch;
  timeoutMs: number;
  userAgent: string;
}

export interface GithubCall<S extends z.ZodMiniType> {
  operation: string;
  method: "GET" | "POST" | "PUT" | "PATCH";
  /** Unencoded path segments after the base URL, e.g. `["repos", owner, repo, "installation"]`. */
  path: readonly string[];
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** The bearer token (installation token, App JWT or GITHUB_TOKEN). */
  token: string;
  /** The 2xx body's schema; absent for answers without one (204). */
  schema?: S;
}

export interface GithubAnswer<T> {
  status: number;
  data: T;
  headers: Headers;
}

/** Throws a `github` Failure for every failure; resolves only with a 2xx whose body matched `schema`. */
export async function githubCall<S extends z.ZodMiniType>(
  opts: GithubHttpOptions,
  call: GithubCall<S>,
): Promise<GithubAnswer<z.output<S>>> {
  const fail = (kind: GithubErrorKind, status?: number) => githubFailure(kind, call.operation, status);
  if (!TOKEN_SHAPE.test(call.token)) throw fail("unauthorized");
  if (call.path.some((s) => s === "" || s === "." || s === "..")) throw fail("invalid");
  let url = `${opts.baseUrl.replace(/\/+$/, "")}/${call.path.map(encodeURIComponent).join("/")}`;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) params.set(k, String(v));
  if (params.size) url += `?${params}`;
  const headers: Record<string, string> = {
    accept: "application/vnd.github+json",
    "x-github-api-version": GITHUB_API_VERSION,
    "user-agent": opts.userAgent,
    authorization: `Bearer ${call.token}`,
  };
  const init: RequestInit = { method: call.method, headers, redirect: "manual" };
  if (call.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(call.body);
  }

  // One deadline over the call and the body, raced rather than trusted to the signal alone (as
  // the Clarifai transport does), so a fetch that ignores `signal` cannot hang a rotation.
  const controller = new AbortController();
  let timedOut = false;
  let onTimeout = () => {};
  const deadline = new Promise<never>((_, reject) => (onTimeout = () => reject(new Error("deadline"))));
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
    onTimeout();
  }, opts.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await Promise.race([opts.fetch(url, { ...init, signal: controller.signal }), deadline]);
    if ((res.type as string) === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
      await res.body?.cancel();
      throw fail("unexpected_redirect", res.status || undefined);
    }
    text = await Promise.race([res.text(), deadline]);
  } catch (error) {
    if (isFailure(error, "github")) throw error;
    throw fail(timedOut ? "timeout" : "network");
  } finally {
    clearTimeout(timer);
  }
  if (res.status < 200 || res.status > 299) throw fail(kindOfStatus(res.status, res.headers), res.status);
  if (!call.schema) return { status: res.status, data: undefined as z.output<S>, headers: res.headers };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw fail("unexpected", res.status);
  }
  const parsed = call.schema.safeParse(json);
  if (!parsed.success) throw fail("unexpected", res.status);
  return { status: res.status, data: parsed.data, headers: res.headers };
}
