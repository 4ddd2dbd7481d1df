/**
 * `createClarifaiClient`: the Clarifai REST client rekey uses to rotate and revoke credentials.
 * Every method takes the token explicitly because rekey acts for many credentials with one client.
 *
 * Runtime-neutral: fetch and web APIs only.
 *
 * @module
 */
import { checkMethods } from "./checks.ts";
import { createTransport } from "./http.ts";
import { keyMethods } from "./keys.ts";
import { secretMethods } from "./secrets.ts";

const DEFAULT_BASE_URL = "https://api.clarifai.com";
const DEFAULT_TIMEOUT_MS = 10_000;

export interface ClarifaiClientOptions {
  /** `CLARIFAI_API_BASE`; defaults to https://api.clarifai.com. */
  baseUrl?: string | undefined;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch | undefined;
  /** Deadline for each call, connection and body together; defaults to 10 s. */
  timeoutMs?: number | undefined;
  /** Sent as `X-Clarifai-Request-ID-Prefix`, so Clarifai's `req_id`s are recognisable. */
  requestIdPrefix?: string | undefined;
}

export type ClarifaiClient =
  & ReturnType<typeof keyMethods>
  & ReturnType<typeof secretMethods>
  & ReturnType<typeof checkMethods>;

/**
 * @throws {TypeError} if `baseUrl` is not an http(s) URL or `timeoutMs` is not a positive number
 *   (configuration errors, not call failures)
 */
export function createClarifaiClient(options: ClarifaiClientOptions = {}): ClarifaiClient {
  const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(baseUrl) || !parses(baseUrl)) {
    throw new TypeError(`Cannot create Clarifai client: base URL "${baseUrl}" is not an http(s) URL`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(
      `Cannot create Clarifai client: timeout must be a positive number: current value is ${timeoutMs}`,
    );
  }
  // Wrapped so that workerd's fetch is never called with a foreign `this` ("Illegal invocation").
  const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const send = createTransport({ baseUrl, fetch: fetchFn, timeoutMs, requestIdPrefix: options.requestIdPrefix });
  return { ...keyMethods(send), ...secretMethods(send), ...checkMethods(send) };
}

function parses(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}
