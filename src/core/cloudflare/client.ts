/**
 * The few Cloudflare API calls the `cloudflare_worker_secret` sink makes
 * (https://developers.cloudflare.com/api/resources/workers/subresources/scripts/subresources/secrets/):
 * put a Worker's secret, read one back (its name and type: the API never returns a secret's text),
 * list them. `Authorization: Bearer <CLOUDFLARE_API_TOKEN>`; every answer is Cloudflare's envelope
 * `{ success, errors: [{code, message}], messages, result }`, checked with zod.
 *
 * Security notes, made here because this is where values cross the wire:
 * - The secret's text goes only into the PUT body; the token only into the Authorization header.
 * - Failures carry the HTTP status and Cloudflare's numeric codes, never its messages (which may
 *   quote what was sent) nor the URL.
 * - Redirects are never followed: a 3xx is a permanent `unexpected_redirect` (the PUT body holds
 *   the value, and no other host gets to answer for Cloudflare).
 *
 * Runtime-neutral: fetch and AbortSignal only.
 */
import * as z from "zod/mini";
import { err, type ErrorValue, ok, type Result } from "../result.ts";

/**
 * A refused call: `code` is `cloudflare_<kind>` (`unexpected_redirect` for a 3xx), `message` names
 * the status and Cloudflare's codes only.
 */
export interface CloudflareError extends ErrorValue {
  kind: "not_found" | "unauthorized" | "rate_limited" | "unavailable" | "invalid" | "redirect";
  retryable: boolean;
  /** HTTP status; 0 when no answer came (network, timeout). */
  status: number;
  /** Cloudflare's error codes (10007: the script does not exist, 10000: authentication), never its messages. */
  codes: number[];
}

const secretSchema = z.looseObject({ name: z.string(), type: z.string() });
type WorkerSecret = z.infer<typeof secretSchema>;

const envelopeSchema = z.looseObject({
  success: z.boolean(),
  errors: z._default(z.array(z.looseObject({ code: z.number() })), []),
  messages: z._default(z.array(z.unknown()), []),
  result: z.unknown(),
});

export interface CloudflareClient {
  /** Creates or replaces the secret `name` of the Worker `script` (`type: "secret_text"`). */
  putSecret(
    accountId: string,
    script: string,
    name: string,
    text: string,
  ): Promise<Result<WorkerSecret, CloudflareError>>;
  getSecret(accountId: string, script: string, name: string): Promise<Result<WorkerSecret, CloudflareError>>;
  listSecrets(accountId: string, script: string): Promise<Result<WorkerSecret[], CloudflareError>>;
}

export interface CloudflareOptions {
  /** `https://api.cloudflare.com/client/v4` (CLOUDFLARE_API_BASE). */
  baseUrl: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export function createCloudflareClient(opts: CloudflareOptions): CloudflareClient {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? fetch;
  const scriptPath = (a: string, s: string) =>
    `${base}/accounts/${encodeURIComponent(a)}/workers/scripts/${encodeURIComponent(s)}/secrets`;

  async function send<S extends z.ZodMiniType>(
    method: "GET" | "PUT",
    url: string,
    schema: S,
    body?: unknown,
  ): Promise<Result<z.output<S>, CloudflareError>> {
    const fail = (kind: CloudflareError["kind"], status: number, codes: number[] = []) =>
      err<CloudflareError>({
        code: kind === "redirect" ? "unexpected_redirect" : `cloudflare_${kind}`,
        message: `The Cloudflare API refused the Worker secret call (${
          status ? `HTTP ${status}${codes.length ? `, Cloudflare codes ${codes.join(", ")}` : ""}` : "no answer"
        })`,
        kind,
        status,
        codes,
        retryable: kind === "rate_limited" || kind === "unavailable",
      });
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        redirect: "manual",
        signal: AbortSignal.timeout(opts.timeoutMs),
        headers: {
          authorization: `Bearer ${opts.token}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      return fail("unavailable", 0);
    }
    if (res.status >= 300 && res.status < 400) return fail("redirect", res.status);
    let envelope: z.infer<typeof envelopeSchema> | undefined;
    try {
      const parsed = envelopeSchema.safeParse(await res.json());
      envelope = parsed.success ? parsed.data : undefined;
    } catch {
      envelope = undefined;
    }
    const codes = envelope?.errors.map((e) => e.code) ?? [];
    if (res.status === 429) return fail("rate_limited", res.status, codes);
    if (res.status >= 500) return fail("unavailable", res.status, codes);
    if (res.status === 404) return fail("not_found", res.status, codes);
    if (res.status === 401 || res.status === 403) return fail("unauthorized", res.status, codes);
    if (!res.ok || !envelope?.success) return fail(envelope ? "invalid" : "unavailable", res.status, codes);
    const result = schema.safeParse(envelope.result);
    return result.success ? ok(result.data) : fail("invalid", res.status, codes);
  }

  return {
    putSecret: (a, s, name, text) => send("PUT", scriptPath(a, s), secretSchema, { name, text, type: "secret_text" }),
    getSecret: (a, s, name) => send("GET", `${scriptPath(a, s)}/${encodeURIComponent(name)}`, secretSchema),
    listSecrets: (a, s) => send("GET", scriptPath(a, s), z.array(secretSchema)),
  };
}
