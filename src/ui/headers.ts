/**
 * Headers on every dashboard response. The CSP allows nothing but the page's own inline
 * stylesheet (by a per-response nonce) and form posts back to rekey: no scripts at all, no
 * images, fonts or connections, no framing (clickjacking on the rotate/revoke buttons), no <base>.
 * Pages hold credential metadata, so nothing is cached.
 *
 * Written out rather than hono/secure-headers (3.3 KB minified, 1 KB gzip of the Worker for one
 * fixed set): the same headers and values that middleware sent with these options and its
 * defaults, which test/workers/ui.test.ts pins exactly.
 */
import type { MiddlewareHandler } from "hono";
import { encodeBase64 } from "../core/crypto/encoding.ts";
import type { UiEnv } from "./env.ts";

const FIXED: readonly (readonly [string, string])[] = [
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Origin-Agent-Cluster", "?1"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Frame-Options", "DENY"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

/** Sets `c.var.secureHeadersNonce` (128 random bits) before the page renders, the headers after. */
export const uiSecureHeaders: MiddlewareHandler<UiEnv> = async (c, next) => {
  const nonce = encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
  c.set("secureHeadersNonce", nonce);
  await next();
  const headers = c.res.headers;
  for (const [name, value] of FIXED) headers.set(name, value);
  headers.set(
    "Content-Security-Policy",
    `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  headers.delete("X-Powered-By");
};

export const noStore: MiddlewareHandler<UiEnv> = async (c, next) => {
  await next();
  c.res.headers.set("Cache-Control", "no-store");
};
